"""``ember.cuda``: whether a CUDA device is usable, how many (False, 0 without CuPy or a GPU)."""

from __future__ import annotations

from ember.backend import cuda_available, cuda_device_count

__all__ = ["is_available", "device_count"]


def is_available() -> bool:
    return cuda_available()


def device_count() -> int:
    return cuda_device_count()
