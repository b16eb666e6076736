"""SVHN, the Street View House Numbers (cropped 32x32 digits), as ``torchvision.datasets.SVHN``."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ember.vision._pil import require_pil
from ember.vision.datasets.utils import check_integrity, download_url, verify_str_arg
from ember.vision.datasets.vision import VisionDataset

__all__ = ["SVHN"]


class SVHN(VisionDataset):
    """SVHN digits: 32x32 colour images, targets 0-9 (the files' label 10 for a 0 becomes 0).

    Args:
        root: folder holding ``train_32x32.mat``, ``test_32x32.mat`` or ``extra_32x32.mat``.
        split: ``train``, ``test`` or ``extra``.
        transform: applied to each PIL image (mode ``RGB``).
        target_transform: applied to each target (an int).
        download: fetch the split's ``.mat`` file first if it is not in ``root``.

    Reading the MATLAB files needs SciPy. ``data`` is a uint8 array (N, 3, 32, 32) and ``labels``
    an int64 array (N,).
    """

    split_list = {
        "train": ["http://ufldl.stanford.edu/housenumbers/train_32x32.mat", "train_32x32.mat",
                  "e26dedcc434d2e4c54c9b2d4a06d8373"],
        "test": ["http://ufldl.stanford.edu/housenumbers/test_32x32.mat", "test_32x32.mat",
                 "eb5a983be6a315427106f1b164d9cef3"],
        "extra": ["http://ufldl.stanford.edu/housenumbers/extra_32x32.mat", "extra_32x32.mat",
                  "a93ce644f1a588dc4d68dda5feec44a7"],
    }

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.split = verify_str_arg(split, "split", tuple(self.split_list.keys()))
        self.url = self.split_list[split][0]
        self.filename = self.split_list[split][1]
        self.file_md5 = self.split_list[split][2]

        if download:
            self.download()

        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. "
                               "You can use download=True to download it")

        try:
            import scipy.io as sio
        except ImportError as e:
            raise ImportError("SVHN reads MATLAB files with SciPy: pip install scipy") from e

        path = os.path.join(self.root, self.filename)
        try:
            loaded_mat = sio.loadmat(path)
            self.data = loaded_mat["X"]
            # int64 labels: the file stores uint8; torchvision widens them the same way
            self.labels = loaded_mat["y"].astype(np.int64).squeeze()
        except (ValueError, KeyError, OSError) as e:
            raise RuntimeError(f"{path} is truncated or corrupt ({e}). "
                               "Delete it and download it again.") from e

        # the files label the digit 0 as 10; torchvision maps it back to 0
        np.place(self.labels, self.labels == 10, 0)
        self.data = np.transpose(self.data, (3, 2, 0, 1))

    def __getitem__(self, index: int):
        """``(image, target)``: the PIL image (transformed) and the digit (an int)."""
        img, target = self.data[index], int(self.labels[index])

        # a PIL image, consistent with all other datasets
        img = require_pil().fromarray(np.transpose(img, (1, 2, 0)))

        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        md5 = self.split_list[self.split][2]
        return check_integrity(os.path.join(self.root, self.filename), md5)

    def download(self) -> None:
        """Download the split's ``.mat`` file (verified by MD5)."""
        md5 = self.split_list[self.split][2]
        download_url(self.url, self.root, self.filename, md5)

    def extra_repr(self) -> str:
        return f"Split: {self.split}"
