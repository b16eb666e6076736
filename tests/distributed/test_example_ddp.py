"""examples/mnist_ddp.py runs under ``mpiexec -n 2`` (briefly, on a small torchvision-style root of
random digits) and prints the accuracy once, at rank 0."""

import os
import re

import pytest
from idx_files import learnable_mnist_root
from mpi_run import REPO, launch, needs_mpi

pytestmark = [needs_mpi, pytest.mark.timeout(120)]
pytest.importorskip("PIL", reason="the MNIST example loads images through Pillow")


def test_mnist_ddp_two_ranks(tmp_path):
    root = learnable_mnist_root(str(tmp_path))
    script = os.path.join(REPO, "examples", "mnist_ddp.py")
    proc = launch(os.path.relpath(script, os.path.dirname(__file__)), "--data", root,
                  "--batch-size", "16", "--test-batch-size", "8", n=2, timeout=100)
    assert proc.returncode == 0, proc.stdout
    assert "2 rank(s), 4 steps per epoch of 8 digits per rank" in proc.stdout, proc.stdout
    found = re.findall(r"^Test accuracy: (\d+\.\d+)%$", proc.stdout, re.M)
    assert len(found) == 1 and 0.0 <= float(found[0]) <= 100.0, proc.stdout
    assert "32 digits" in proc.stdout  # the test shards add up to the whole test set
