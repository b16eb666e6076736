"""Where the MNIST examples get their digits, in order of preference:

1. MNIST in ``--data DIR``: torchvision's layout (``DIR/MNIST/raw/...``) or the IDX files
   (``.gz`` or extracted) directly in ``DIR``;
2. with ``--download``, MNIST downloaded into ``DIR`` from torchvision's mirrors;
3. the folder named by ``EMBER_MNIST_DIR``: the full set, or only the 10,000-digit test set
   (``t10k-*``), split as the acceptance suite does: the first 8,000 for training, the last
   2,000 for testing;
4. offline and without files: scikit-learn's bundled 8x8 handwritten digits (1,797 real digits
   that ship inside the package), upsampled to MNIST's format. The examples say so.

Every source yields the same kind of dataset: 28x28 uint8 digits returned as PIL images through
the given transform, exactly as ``ember.vision.datasets.MNIST`` returns them.
"""

from __future__ import annotations

import os
import urllib.error

import numpy as np

import ember
from ember.utils.data import Dataset
from ember.vision import datasets
from ember.vision.datasets.mnist import read_image_file, read_label_file
from ember.vision.transforms import functional as F

N_TRAIN_FROM_TEST_SET = 8000  # the acceptance suite's split of the 10,000 test digits


class Digits(Dataset):
    """28x28 uint8 digits and their labels, served like ``datasets.MNIST``: (PIL image -> transform,
    int label)."""

    def __init__(self, data, targets, transform=None) -> None:
        self.data = data          # uint8 tensor (N, 28, 28)
        self.targets = targets    # int64 tensor (N,)
        self.transform = transform

    def __getitem__(self, index: int):
        from PIL import Image
        img = Image.fromarray(self.data.numpy()[index])
        if self.transform is not None:
            img = self.transform(img)
        return img, int(self.targets[index])

    def __len__(self) -> int:
        return len(self.data)


def _idx_path(folder: str, name: str) -> str | None:
    for candidate in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.isfile(candidate):
            return candidate
    return None


def _read_split(folder: str, prefix: str):
    images = _idx_path(folder, f"{prefix}-images-idx3-ubyte")
    labels = _idx_path(folder, f"{prefix}-labels-idx1-ubyte")
    if images is None or labels is None:
        return None
    return read_image_file(images), read_label_file(labels)


def _from_idx_folder(folder: str, transform):
    """(train, test, description) from a folder of IDX files, or None when it has none."""
    test = _read_split(folder, "t10k")
    if test is None:
        return None
    train = _read_split(folder, "train")
    if train is not None:
        return (Digits(*train, transform), Digits(*test, transform),
                f"MNIST from {folder} ({len(train[0])} training, {len(test[0])} test digits)")
    x, y = test
    n = N_TRAIN_FROM_TEST_SET
    return (Digits(x[:n], y[:n], transform), Digits(x[n:], y[n:], transform),
            f"the real MNIST test set from {folder}, split as the acceptance suite does: the first "
            f"{n} digits for training, the last {len(x) - n} for testing")


def _from_torchvision_root(root: str, transform):
    try:
        train = datasets.MNIST(root, train=True, transform=transform)
        test = datasets.MNIST(root, train=False, transform=transform)
    except RuntimeError:
        return None
    return train, test, f"MNIST from {os.path.join(root, 'MNIST', 'raw')}"


def _download(root: str, transform):
    try:
        train = datasets.MNIST(root, train=True, transform=transform, download=True)
        test = datasets.MNIST(root, train=False, transform=transform)
    except (RuntimeError, urllib.error.URLError, OSError) as e:
        print(f"Could not download MNIST ({e}).")
        return None
    return train, test, f"MNIST downloaded into {os.path.join(root, 'MNIST', 'raw')}"


def sklearn_digits(transform, test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's 8x8 digits as MNIST-like 28x28 images: intensities 0..16 scaled to 0..255,
    each digit upsampled (bilinear) to 20x20 and centred in a 28x28 frame with a 4-pixel border,
    as MNIST centres its digits in a 20x20 box; a seeded shuffle splits train and test."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise RuntimeError("No MNIST files and no download: the offline fallback needs "
                           "scikit-learn (pip install -e '.[examples]')") from e
    bunch = load_digits()
    images = ember.from_numpy((bunch.images * (255.0 / 16.0)).astype(np.float32))  # (N, 8, 8)
    big = F.resize(images, [20, 20], antialias=False)  # bilinear upsampling of every digit
    big = F.pad(big, 4)  # (N, 28, 28)
    data = big.round().clamp(0, 255).to(ember.uint8)
    targets = ember.from_numpy(bunch.target.astype(np.int64))
    order = ember.from_numpy(np.random.RandomState(seed).permutation(len(targets)))
    data, targets = data[order], targets[order]
    n_test = int(len(targets) * test_fraction)
    return (Digits(data[n_test:], targets[n_test:], transform),
            Digits(data[:n_test], targets[:n_test], transform),
            f"scikit-learn's bundled handwritten digits ({len(targets)} real 8x8 digits "
            f"upsampled to 28x28; {len(targets) - n_test} training, {n_test} test)")


def load_mnist(data_dir: str, download: bool, transform, verbose: bool = True):
    """(train dataset, test dataset, description) from the first available source (see the
    module's docstring); prints which one is used."""
    source = (_from_torchvision_root(data_dir, transform)
              or (_from_idx_folder(data_dir, transform) if os.path.isdir(data_dir) else None))
    if source is None and download:
        source = _download(data_dir, transform)
    env_dir = os.environ.get("EMBER_MNIST_DIR")
    if source is None and env_dir:
        source = _from_idx_folder(env_dir, transform)
        if source is None and verbose:
            print(f"EMBER_MNIST_DIR={env_dir} holds no MNIST IDX files.")
    if source is None:
        if verbose:
            print(f"MNIST is not available (no files in {data_dir}"
                  + ("" if download else "; use --download to fetch it")
                  + "): falling back to scikit-learn's bundled 8x8 digits.")
        source = sklearn_digits(transform)
    if verbose:
        print(f"Data: {source[2]}")
    return source
