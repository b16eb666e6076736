"""examples/mnist_ddp.py runs under ``mpiexec -n 2`` (briefly, on a small torchvision-style root of
random digits) and prints the accuracy once, at rank 0."""

import gzip
import os
import re
import struct

import numpy as np
import pytest
from mpi_run import REPO, launch, needs_mpi

pytestmark = [needs_mpi, pytest.mark.timeout(120)]
pytest.importorskip("PIL", reason="the MNIST example loads images through Pillow")


def _idx(array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(
        ">" + "I" * array.ndim, *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _mnist_root(root, n_train=64, n_test=32):
    """root/MNIST/raw with random digits whose class is their brightness band (learnable)."""
    raw = os.path.join(root, "MNIST", "raw")
    os.makedirs(raw)
    rng = np.random.RandomState(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.randint(0, 10, size=n)
        images = (rng.rand(n, 28, 28) * 20 + labels[:, None, None] * 23).astype(np.uint8)
        with gzip.open(os.path.join(raw, f"{prefix}-images-idx3-ubyte.gz"), "wb") as f:
            f.write(_idx(images))
        with gzip.open(os.path.join(raw, f"{prefix}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(_idx(labels))
    return root


def test_mnist_ddp_two_ranks(tmp_path):
    root = _mnist_root(str(tmp_path))
    script = os.path.join(REPO, "examples", "mnist_ddp.py")
    proc = launch(os.path.relpath(script, os.path.dirname(__file__)), "--data", root,
                  "--batch-size", "16", "--test-batch-size", "8", n=2, timeout=100)
    assert proc.returncode == 0, proc.stdout
    assert "2 rank(s), 4 steps per epoch of 8 digits per rank" in proc.stdout, proc.stdout
    found = re.findall(r"^Test accuracy: (\d+\.\d+)%$", proc.stdout, re.M)
    assert len(found) == 1 and 0.0 <= float(found[0]) <= 100.0, proc.stdout
    assert "32 digits" in proc.stdout  # the test shards add up to the whole test set
