"""Arrays and devices: which array module a device uses, and moving arrays between devices.

Every op computes with ``xp = array_module(device)``: NumPy for ``cpu``, CuPy for ``cuda``. This
is the only place that knows which module backs which device, so a second device is a second
module, not a second code path.
"""

from __future__ import annotations

import numpy as np

__all__ = ["device", "array_module", "cuda_available", "cuda_device_count", "to_device", "CPU"]


class device:
    """Where a tensor lives: ``ember.device('cpu')``, ``device('cuda')``, ``device('cuda', 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index: int | None = None):  # noqa: A002 - torch's argument name
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if isinstance(type, int):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got {type!r}")
        if ":" in type:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in ("cpu", "cuda", "meta"):
            raise RuntimeError(
                f"Expected one of cpu, cuda, meta device type at start of device string: {type}")
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type, self.index = type, index

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")

_cupy = None


def _import_cupy():
    """CuPy, imported only when a CUDA device is first asked for; None when unusable."""
    global _cupy
    if _cupy is None:
        try:
            import cupy

            _cupy = cupy if cupy.cuda.runtime.getDeviceCount() > 0 else False
        except Exception:  # no CuPy, no driver or no GPU: all mean "no CUDA here"
            _cupy = False
    return _cupy or None


def cuda_available() -> bool:
    return _import_cupy() is not None


def cuda_device_count() -> int:
    cp = _import_cupy()
    return cp.cuda.runtime.getDeviceCount() if cp is not None else 0


def canonical_device(d) -> device:
    """A device from what users pass (``'cuda'``, ``0``, a device); CUDA must exist to be named."""
    if d is None:
        return CPU
    if not isinstance(d, device):
        d = device(d)
    if d.type == "cpu":
        return CPU
    if d.type == "cuda":
        if not cuda_available():
            raise RuntimeError(
                "Torch not compiled with CUDA enabled: ember found no usable CUDA device "
                "(install ember[cuda] with CuPy on a machine with an NVIDIA GPU), or use "
                "device='cpu'.")
        return device("cuda", d.index or 0)
    raise RuntimeError(f"ember has no backend for device type '{d.type}'")


def array_module(d: device):
    """The array module (``numpy`` or ``cupy``) that computes on device ``d``."""
    if d.type == "cpu":
        return np
    return _import_cupy()


def device_of(array) -> device:
    if isinstance(array, np.ndarray):
        return CPU
    return device("cuda", array.device.id)


def to_device(array, d: device):
    """``array`` moved (copied) to device ``d``; the same array when it is already there."""
    if d.type == "cpu":
        if isinstance(array, np.ndarray):
            return array
        return array.get()
    cp = _import_cupy()
    with cp.cuda.Device(d.index or 0):
        return cp.asarray(array)
