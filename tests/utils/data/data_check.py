"""Helpers for the data-loading tests: comparing nested batches of ember and torch, and the
shared-memory files a DataLoader leaves behind."""

from __future__ import annotations

import os

import numpy as np
import torch

import ember
from ember.utils.data import _worker


def assert_same_batch(e, t) -> None:
    """ember batch ``e`` has torch batch ``t``'s structure, container types, dtypes and values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), f"expected an ember.Tensor, got {type(e)}"
        assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
        assert e.dtype.name == str(t.dtype).split(".")[1], (e.dtype, t.dtype)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
        return
    if isinstance(t, dict):
        assert type(e).__name__ == type(t).__name__ and list(e) == list(t), (e, t)
        for k in t:
            assert_same_batch(e[k], t[k])
        return
    if isinstance(t, (list, tuple)):
        # Same container type (namedtuples by name: the classes are the same object here).
        assert type(e) is type(t), (type(e), type(t))
        assert len(e) == len(t), (e, t)
        for a, b in zip(e, t):
            assert_same_batch(a, b)
        return
    if isinstance(t, np.ndarray):
        np.testing.assert_array_equal(e, t)
        return
    assert type(e) is type(t) and e == t, (e, t)


def shm_files(prefix: str = "ember_dl_") -> list:
    """This process's DataLoader shared-memory files still present."""
    mine = f"{prefix}{os.getpid()}_"
    return sorted(n for n in os.listdir(_worker.SHM_DIR) if n.startswith(mine))
