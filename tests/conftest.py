"""Shared test set-up: the torch reference is required; the acceptance programs' folder is found."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # for `import reference`

SHARED = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
MNIST_DIR = os.environ.get("EMBER_MNIST_DIR") or os.path.join(SHARED, "data", "mnist")


@pytest.fixture
def mnist_dir():
    """The real MNIST test set's folder; the test is skipped (with the reason) when it is absent."""
    if not os.path.isfile(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"real MNIST test set not found in {MNIST_DIR} (set EMBER_MNIST_DIR)")
    return MNIST_DIR
