"""``ember.utils.safetensors``: the ``.safetensors`` format (no pickle, so nothing to run), through
the ``safetensors`` package's NumPy API (``pip install safetensors``; imported on first use).

The functions mirror ``safetensors.torch``: ``save_file(tensors, filename, metadata=None)``,
``load_file(filename, device='cpu')``, ``save(tensors, metadata=None) -> bytes`` and
``load(data) -> dict``. ``save_file`` writes atomically, as ``ember.save`` does.
"""

from __future__ import annotations

import os

import numpy as np

from ember import dtypes as _dt
from ember._tensor import Tensor
from ember.backend import CPU, canonical_device, to_device

__all__ = ["save_file", "load_file", "save", "load"]

# safetensors' dtype codes -> ember dtype names
_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
           "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
           "BOOL": "bool", "C64": "complex64"}


def _safetensors():
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError("ember.utils.safetensors needs the safetensors package: "
                          "pip install safetensors") from None
    return safetensors


def _root(a):
    """The array owning ``a``'s memory (views share it)."""
    cls = np.ndarray if isinstance(a, np.ndarray) else type(a)
    while isinstance(a.base, cls):
        a = a.base
    return a


def _to_arrays(tensors: dict) -> dict[str, np.ndarray]:
    if not isinstance(tensors, dict):
        raise ValueError(f"Expected a dict of [str, Tensor] but received {type(tensors)}")
    out, owners = {}, {}
    for k, v in tensors.items():
        if not isinstance(k, str) or not isinstance(v, Tensor):
            raise ValueError(f"Key `{k}` is invalid, expected str but received {type(k)}"
                             if not isinstance(k, str) else
                             f"Key `{k}` is invalid, expected Tensor but received {type(v)}")
        if not v.is_contiguous():
            raise ValueError(f"You are trying to save a non contiguous tensor: `{k}` which is not "
                             "allowed. It either means you are trying to save tensors which are "
                             "reference of each other in which case it's recommended to save only "
                             "the full tensors, and reslice at load time, or simply call "
                             "`.contiguous()` on your tensor to pack it before saving.")
        if v.dtype is _dt.complex128:
            raise ValueError(f"Tensor `{k}` is complex128, which the safetensors format cannot "
                             "store")
        owners.setdefault(id(_root(v._data)), []).append(k)
        out[k] = to_device(v._data, CPU)
    shared = [set(names) for names in owners.values() if len(names) > 1]
    if shared:
        raise RuntimeError(f"Some tensors share memory, this will lead to duplicate memory on disk "
                           f"and potential differences when loading them again: {shared}. A "
                           "potential way to correctly save your model is to save clones of them.")
    return out


def save(tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The ``.safetensors`` bytes of ``tensors`` (a dict of names to contiguous tensors)."""
    return _safetensors().numpy.save(_to_arrays(tensors), metadata=metadata)


def save_file(tensors: dict[str, Tensor], filename: str | os.PathLike,
              metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` to ``filename`` in the safetensors format, atomically."""
    from ember._fileio import atomic_open

    data = save(tensors, metadata)
    with atomic_open(os.fspath(filename)) as fh:
        fh.write(data)


def load(data: bytes) -> dict[str, Tensor]:
    """Tensors (on the CPU) from ``.safetensors`` bytes."""
    out = {}
    for name, info in _safetensors().deserialize(data):
        code = info["dtype"]
        dt = _dt._BY_NAME.get(_DTYPES.get(code, ""))
        if dt is None:
            hint = " (install ml_dtypes for bfloat16)" if code == "BF16" else ""
            raise TypeError(f"tensor `{name}` has safetensors dtype {code}, which ember has no "
                            f"dtype for{hint}")
        buf = info["data"]  # a bytearray: the arrays are writable and own their memory
        arr = np.frombuffer(buf, dtype=dt.np).reshape(info["shape"])
        out[name] = Tensor._make(arr, CPU)
    return out


def load_file(filename: str | os.PathLike, device="cpu") -> dict[str, Tensor]:
    """Tensors from a ``.safetensors`` file, on ``device``."""
    with open(filename, "rb") as fh:
        tensors = load(fh.read())
    dev = canonical_device(device)
    if dev.type != "cpu":
        tensors = {k: v.to(dev) for k, v in tensors.items()}
    return tensors
