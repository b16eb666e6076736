"""MNIST and its relatives (FashionMNIST, KMNIST, EMNIST, QMNIST), as ``torchvision.datasets``.

The raw IDX files are read directly (torchvision's current behaviour): ``root/<Class>/raw/
{train,t10k}-{images-idx3,labels-idx1}-ubyte``. ember also reads the ``.gz`` files as downloaded
when the extracted copies are absent.
"""

from __future__ import annotations

import gzip
import os
import shutil
import string
import warnings
from collections.abc import Callable
from urllib.error import URLError

import numpy as np

from ember._tensor import Tensor
from ember.dtypes import uint8
from ember.ops.creation import from_numpy
from ember.vision._pil import require_pil
from ember.vision.datasets.utils import (
    check_integrity,
    download_and_extract_archive,
    extract_archive,
    verify_str_arg,
)
from ember.vision.datasets.vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "read_sn3_pascalvincent_tensor",
           "read_image_file", "read_label_file"]


class MNIST(VisionDataset):
    """The MNIST handwritten digits: 28x28 grayscale images, targets 0-9.

    Args:
        root: folder holding ``MNIST/raw/train-images-idx3-ubyte`` and the other raw files.
        train: the training set (60,000) if True, else the test set (10,000).
        transform: applied to each PIL image (mode ``L``), e.g. ``transforms.ToTensor()``.
        target_transform: applied to each target (an int).
        download: fetch the files from ``mirrors`` first if they are not in ``root``.

    ``data`` is a uint8 tensor (N, 28, 28) and ``targets`` an int64 tensor (N,).
    """

    # class attributes, so a subclass (or a user) can point them elsewhere, as in torchvision
    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]

    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]

    training_file = "training.pt"
    test_file = "test.pt"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    @property
    def train_labels(self):
        warnings.warn("train_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def test_labels(self):
        warnings.warn("test_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def train_data(self):
        warnings.warn("train_data has been renamed data", stacklevel=2)
        return self.data

    @property
    def test_data(self):
        warnings.warn("test_data has been renamed data", stacklevel=2)
        return self.data

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train  # training set or test set

        if download:
            self.download()

        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")

        self.data, self.targets = self._load_data()

    def _load_data(self):
        prefix = os.path.join(self.raw_folder, "train" if self.train else "t10k")
        data = read_image_file(_raw_or_gz(f"{prefix}-images-idx3-ubyte"))
        targets = read_label_file(_raw_or_gz(f"{prefix}-labels-idx1-ubyte"))
        if len(data) != len(targets):
            raise RuntimeError(f"{self.raw_folder} holds {len(data)} images but {len(targets)} "
                               "labels; a file is corrupt or from another dataset")
        return data, targets

    def __getitem__(self, index: int):
        """``(image, target)``: the PIL image (transformed) and the class index (an int)."""
        data, targets = self.data, self.targets
        img = data.numpy()[index] if isinstance(data, Tensor) else np.asarray(data[index])
        target = int(targets[index])

        # a PIL image (mode "L", inferred from the uint8 2-D array), as every dataset returns
        img = require_pil().fromarray(img)

        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {_class: i for i, _class in enumerate(self.classes)}

    def _check_exists(self) -> bool:
        return all(_raw_or_gz_exists(os.path.join(self.raw_folder, os.path.splitext(name)[0]))
                   for name, _ in self.resources)

    def download(self) -> None:
        """Download the raw files from ``mirrors`` (trying each in turn) unless they are present."""
        if self._check_exists():
            return

        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    print(f"Downloading {url}")
                    download_and_extract_archive(url, download_root=self.raw_folder,
                                                 filename=filename, md5=md5)
                except URLError as error:
                    print(f"Failed to download (trying next):\n{error}")
                    continue
                finally:
                    print()
                break
            else:
                raise RuntimeError(f"Error downloading {filename}")

    def extra_repr(self) -> str:
        split = "Train" if self.train is True else "Test"
        return f"Split: {split}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grayscale clothing images, 10 classes; MNIST's layout."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]

    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28x28 cursive Japanese characters, 10 classes; MNIST's layout."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]

    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """EMNIST letters and digits, in one of six splits.

    Args:
        root: folder holding ``EMNIST/raw/emnist-<split>-<train|test>-images-idx3-ubyte``.
        split: ``byclass``, ``bymerge``, ``balanced``, ``letters``, ``digits`` or ``mnist``.
        **kwargs: MNIST's ``train``, ``transform``, ``target_transform``, ``download``.

    As in torchvision, the images are stored transposed in the raw files and returned as stored.
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    # the merged classes assume the same shape for the upper- and lower-case letter
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y", "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str | os.PathLike, split: str, **kwargs) -> None:
        self.split = verify_str_arg(split, "split", self.splits)
        self.training_file = self._training_file(split)
        self.test_file = self._test_file(split)
        super().__init__(root, **kwargs)
        self.classes = self.classes_split_dict[self.split]

    @staticmethod
    def _training_file(split: str) -> str:
        return f"training_{split}.pt"

    @staticmethod
    def _test_file(split: str) -> str:
        return f"test_{split}.pt"

    @property
    def _file_prefix(self) -> str:
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    @property
    def images_file(self) -> str:
        return os.path.join(self.raw_folder, f"{self._file_prefix}-images-idx3-ubyte")

    @property
    def labels_file(self) -> str:
        return os.path.join(self.raw_folder, f"{self._file_prefix}-labels-idx1-ubyte")

    def _load_data(self):
        return (read_image_file(_raw_or_gz(self.images_file)),
                read_label_file(_raw_or_gz(self.labels_file)))

    def _check_exists(self) -> bool:
        return all(_raw_or_gz_exists(file) for file in (self.images_file, self.labels_file))

    def download(self) -> None:
        """Download the EMNIST archive and unpack every split's files into ``raw_folder``."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for gzip_file in os.listdir(gzip_folder):
            if gzip_file.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, gzip_file), self.raw_folder)
        shutil.rmtree(gzip_folder)


class QMNIST(MNIST):
    """QMNIST, the reconstructed MNIST with 60,000 extra test digits and full NIST metadata.

    Args:
        root: folder holding ``QMNIST/raw/``.
        what: ``train``, ``test``, ``test10k``, ``test50k`` or ``nist``; default from ``train``.
        compat: targets are class indices (as MNIST's) if True, else 8-column metadata rows.
        train: picks ``train``/``test`` when ``what`` is None.
        **kwargs: ``transform``, ``target_transform``, ``download``.
    """

    subsets = {"train": "train", "test": "test", "test10k": "test", "test50k": "test",
               "nist": "nist"}
    _base = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"
    resources = {
        "train": [
            (_base + "qmnist-train-images-idx3-ubyte.gz", "ed72d4157d28c017586c42bc6afe6370"),
            (_base + "qmnist-train-labels-idx2-int.gz", "0058f8dd561b90ffdd0f734c6a30e5e4"),
        ],
        "test": [
            (_base + "qmnist-test-images-idx3-ubyte.gz", "1394631089c404de565df7b7aeaf9412"),
            (_base + "qmnist-test-labels-idx2-int.gz", "5b5b05890a5e13444e108efe57b788aa"),
        ],
        "nist": [
            (_base + "xnist-images-idx3-ubyte.xz", "7f124b3b8ab81486c9d8c2749c17f834"),
            (_base + "xnist-labels-idx2-int.xz", "5ed0e788978e45d4a8bd4b7caec3d79d"),
        ],
    }
    classes = MNIST.classes

    def __init__(self, root: str | os.PathLike, what: str | None = None, compat: bool = True,
                 train: bool = True, **kwargs) -> None:
        if what is None:
            what = "train" if train else "test"
        self.what = verify_str_arg(what, "what", tuple(self.subsets.keys()))
        self.compat = compat
        self.data_file = what + ".pt"
        self.training_file = self.data_file
        self.test_file = self.data_file
        super().__init__(root, train, **kwargs)

    @property
    def images_file(self) -> str:
        (url, _), _ = self.resources[self.subsets[self.what]]
        return os.path.join(self.raw_folder, os.path.splitext(os.path.basename(url))[0])

    @property
    def labels_file(self) -> str:
        _, (url, _) = self.resources[self.subsets[self.what]]
        return os.path.join(self.raw_folder, os.path.splitext(os.path.basename(url))[0])

    def _check_exists(self) -> bool:
        return all(check_integrity(file) for file in (self.images_file, self.labels_file))

    def _load_data(self):
        data = read_sn3_pascalvincent_tensor(self.images_file)
        if data.ndim != 3:
            raise ValueError(f"data should have 3 dimensions instead of {data.ndim}")
        targets = read_sn3_pascalvincent_tensor(self.labels_file).long()
        if targets.ndim != 2:
            raise ValueError(f"targets should have 2 dimensions instead of {targets.ndim}")
        if self.what == "test10k":
            data, targets = data[0:10000].clone(), targets[0:10000].clone()
        elif self.what == "test50k":
            data, targets = data[10000:].clone(), targets[10000:].clone()
        return data, targets

    def download(self) -> None:
        """Download only the subset asked for (``what``)."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for url, md5 in self.resources[self.subsets[self.what]]:
            download_and_extract_archive(url, self.raw_folder, md5=md5)

    def __getitem__(self, index: int):
        img = require_pil().fromarray(self.data.numpy()[index])  # mode "L"
        target = self.targets[index]
        if self.transform is not None:
            img = self.transform(img)
        if self.compat:
            target = int(target[0])
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def extra_repr(self) -> str:
        return f"Split: {self.what}"


# --- IDX ("SN3 Pascal Vincent") files ------------------------------------------------------------

# type code -> big-endian NumPy dtype, as in the IDX format's specification
_IDX_DTYPES = {8: np.dtype(np.uint8), 9: np.dtype(np.int8), 11: np.dtype(">i2"),
               12: np.dtype(">i4"), 13: np.dtype(">f4"), 14: np.dtype(">f8")}


def _raw_or_gz(path: str) -> str:
    """``path`` if it exists, else ``path + '.gz'`` (the file as downloaded)."""
    return path if os.path.isfile(path) or not os.path.isfile(path + ".gz") else path + ".gz"


def _raw_or_gz_exists(path: str) -> bool:
    return check_integrity(path) or check_integrity(path + ".gz")


def read_sn3_pascalvincent_tensor(path: str, strict: bool = True):
    """Read an IDX file (optionally ``.gz``) into a tensor of its stored dtype and shape.

    Raises:
        RuntimeError: naming the file when it is not an IDX file, cannot be decompressed, or holds
            fewer values than its header declares (a truncated download).
    """
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except (OSError, EOFError) as e:
        raise RuntimeError(f"Could not read {path}: {e}. The file is corrupt; delete it and "
                           "download it again.") from e

    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES \
            or not 1 <= data[3] <= 3:
        raise RuntimeError(f"{path} is not an IDX file (bad magic number {data[:4].hex()}); it is "
                           "corrupt or of another format. Delete it and download it again.")
    dtype, nd = _IDX_DTYPES[data[2]], data[3]
    offset = 4 * (nd + 1)
    if len(data) < offset:
        raise RuntimeError(f"{path} is truncated: its header is incomplete.")
    shape = tuple(int.from_bytes(data[4 * (i + 1):4 * (i + 2)], "big") for i in range(nd))
    count = (len(data) - offset) // dtype.itemsize
    expected = int(np.prod(shape))
    if count < expected or (strict and count != expected):
        raise RuntimeError(f"{path} is truncated or corrupt: its header declares shape {shape} "
                           f"({expected} values) but it holds {count}. Delete it and download it "
                           "again.")
    # bytearray: a writable buffer, so the tensor supports in-place ops as torch's does
    parsed = np.frombuffer(bytearray(data), dtype=dtype, count=expected, offset=offset)
    return from_numpy(parsed.astype(dtype.newbyteorder("="), copy=False).reshape(shape))


def read_label_file(path: str):
    """An IDX label file as an int64 tensor (N,)."""
    x = read_sn3_pascalvincent_tensor(path, strict=False)
    if x.dtype != uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"x should have 1 dimension instead of {x.ndim}")
    return x.long()


def read_image_file(path: str):
    """An IDX image file as a uint8 tensor (N, H, W)."""
    x = read_sn3_pascalvincent_tensor(path, strict=False)
    if x.dtype != uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {x.dtype}")
    if x.ndim != 3:
        raise ValueError(f"x should have 3 dimension instead of {x.ndim}")
    return x
