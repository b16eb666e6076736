"""IDX files (MNIST's format) for tests: serialising arrays, and small MNIST roots on disk."""

import gzip
import os
import struct

import numpy as np

_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
              np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(array):
    """``array`` serialised as an IDX file (big-endian header and values)."""
    array = np.asarray(array)
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    code = _IDX_CODES[np.dtype(big.dtype)]
    header = struct.pack(">HBB", 0, code, array.ndim)
    header += struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + np.ascontiguousarray(big).tobytes()


def write_idx(path, array, gz=True, raw=True):
    """Write ``path`` (extracted) and/or ``path.gz`` (as downloaded)."""
    payload = idx_bytes(array)
    if gz:
        with gzip.open(path + ".gz", "wb") as f:
            f.write(payload)
    if raw:
        with open(path, "wb") as f:
            f.write(payload)


def learnable_mnist_root(root, n_train=64, n_test=32):
    """root/MNIST/raw (gzipped, as downloaded) with random digits whose class is their brightness
    band, so that a model can learn them a little; returns ``root``."""
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw)
    rng = np.random.RandomState(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.randint(0, 10, size=n)
        images = (rng.rand(n, 28, 28) * 20 + labels[:, None, None] * 23).astype(np.uint8)
        write_idx(os.path.join(raw, f"{prefix}-images-idx3-ubyte"), images, raw=False)
        write_idx(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"), labels.astype(np.uint8),
                  raw=False)
    return root
