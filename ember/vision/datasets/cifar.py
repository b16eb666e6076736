"""CIFAR-10 and CIFAR-100 (the "python version" pickles), as ``torchvision.datasets``."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable

import numpy as np

from ember.vision._pil import require_pil
from ember.vision.datasets.utils import check_integrity, download_and_extract_archive
from ember.vision.datasets.vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]


class CIFAR10(VisionDataset):
    """CIFAR-10: 32x32 colour images in 10 classes, 50,000 for training and 10,000 for testing.

    Args:
        root: folder holding ``cifar-10-batches-py`` (or where it is downloaded to).
        train: the five training batches if True, else the test batch.
        transform: applied to each PIL image (mode ``RGB``), e.g. ``transforms.ToTensor()``.
        target_transform: applied to each target (an int).
        download: fetch and extract the archive first if the batches are not in ``root``.

    ``data`` is a uint8 NumPy array (N, 32, 32, 3) and ``targets`` a list of ints. The files'
    MD5 sums are class attributes (``train_list``, ``test_list``, ``meta``); a subclass may set
    an entry's sum to ``None`` to skip its check.
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [
        ["test_batch", "40351d587109b95175f43aff81a1287e"],
    ]
    meta = {
        "filename": "batches.meta",
        "key": "label_names",
        "md5": "5ff9c542aee3614f3951f8cda6e48888",
    }

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train  # training set or test set

        if download:
            self.download()

        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. "
                               "You can use download=True to download it")

        downloaded_list = self.train_list if self.train else self.test_list
        data: list[np.ndarray] = []
        self.targets: list[int] = []
        for file_name, _ in downloaded_list:
            entry = _load_pickle(os.path.join(self.root, self.base_folder, file_name))
            if "data" not in entry or not ("labels" in entry or "fine_labels" in entry):
                raise RuntimeError(f"{os.path.join(self.root, self.base_folder, file_name)} is not "
                                   "a CIFAR batch (no 'data' and 'labels' entries)")
            data.append(np.asarray(entry["data"], dtype=np.uint8))
            self.targets.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])

        # the batches store rows of 3072 bytes, channel-major (R plane, G plane, B plane)
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))  # to HWC
        self._load_meta()

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        if not check_integrity(path, self.meta["md5"]):
            raise RuntimeError("Dataset metadata file not found or corrupted. "
                               "You can use download=True to download it")
        self.classes = _load_pickle(path)[self.meta["key"]]
        self.class_to_idx = {_class: i for i, _class in enumerate(self.classes)}

    def __getitem__(self, index: int):
        """``(image, target)``: the PIL image (transformed) and the class index (an int)."""
        img, target = self.data[index], self.targets[index]

        # a PIL image, consistent with all other datasets
        img = require_pil().fromarray(img)

        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        for filename, md5 in self.train_list + self.test_list:
            fpath = os.path.join(self.root, self.base_folder, filename)
            if not check_integrity(fpath, md5):
                return False
        return True

    def download(self) -> None:
        """Download and extract the archive unless the verified batches are already present."""
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.tgz_md5)

    def extra_repr(self) -> str:
        split = "Train" if self.train is True else "Test"
        return f"Split: {split}"


class CIFAR100(CIFAR10):
    """CIFAR-100: as CIFAR-10 with 100 fine classes (``targets`` are the fine labels)."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [
        ["train", "16019d7e3df5f24257cddd939b257f8d"],
    ]
    test_list = [
        ["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"],
    ]
    meta = {
        "filename": "meta",
        "key": "fine_label_names",
        "md5": "7973b15100ade9c7d40fb424638fde48",
    }


# what a CIFAR batch needs: NumPy arrays (as Python 2 pickled them, and as Python 3 does with
# protocols 2-5); anything else in a pickle is refused, not run
_ALLOWED_GLOBALS = {("numpy.core.multiarray", "_reconstruct"),
                    ("numpy._core.multiarray", "_reconstruct"),
                    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
                    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}


class _ArrayUnpickler(pickle.Unpickler):
    """Loads plain containers and NumPy arrays only (a downloaded pickle could name any code)."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in CIFAR data")
        return super().find_class(module, name)


def _load_pickle(path: str) -> dict:
    """A CIFAR pickle (written by Python 2) with str keys; a clear error naming a corrupt file."""
    try:
        with open(path, "rb") as f:
            return _ArrayUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError) as e:
        raise RuntimeError(f"{path} is truncated or corrupt ({type(e).__name__}: {e}). "
                           "Delete it and download it again.") from e
