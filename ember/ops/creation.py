"""Creating tensors: from data (``tensor``, ``as_tensor``, ``from_numpy``), filled (``zeros``,
``ones``, ``full``, ``empty`` and their ``_like`` forms), and ranges (``arange``, ``linspace``,
``logspace``, ``eye``). Random creation lives in ``ops/random.py``."""

from __future__ import annotations

import builtins
import math
import operator
import warnings

import numpy as np

from ember import _tensor
from ember import dtypes as _dt
from ember.backend import CPU, array_module, canonical_device, to_device

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "empty_like", "arange", "linspace", "logspace",
           "eye", "scalar_tensor", "complex", "polar"]


def _finish(data, dev, requires_grad):
    t = _tensor.Tensor._make(data, dev)
    if requires_grad:
        t.requires_grad = True
    return t


def _sizes(size) -> tuple:
    """``zeros(2, 3)``, ``zeros((2, 3))`` and ``zeros([2, 3])`` all mean shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"expected a sequence of integers or a single integer as size, got "
                        f"{size!r}") from None
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    return shape


def _to_numpy_nested(data):
    """Nested sequences that may hold tensors -> something ``np.asarray`` understands."""
    if isinstance(data, _tensor.Tensor):
        return data.detach().numpy(force=True)
    if isinstance(data, (list, tuple)):
        return [_to_numpy_nested(d) for d in data]
    return data


def _infer_dtype(arr: np.ndarray, from_python: bool) -> _dt.dtype:
    if not from_python:
        return _dt.from_numpy_dtype(arr.dtype)
    kind = arr.dtype.kind
    if kind == "b":
        return _dt.bool
    if kind in "iu":
        return _dt.int64
    if kind == "f":
        return _dt.get_default_dtype()
    if kind == "c":
        return _dt.default_complex_dtype()
    raise TypeError(f"Could not infer dtype of {arr.dtype}")


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False):
    """A new tensor holding a copy of ``data`` (numbers, nested sequences, arrays or tensors)."""
    dev = canonical_device(device)
    if isinstance(data, _tensor.Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.clone().detach() or sourceTensor.clone().detach()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        src_dev = data._device if device is None else dev
        t = data.detach().to(src_dev, dtype=dtype, copy=True)
        return _finish(t._data, t._device, requires_grad)
    from_python = not isinstance(data, (np.ndarray, np.generic))
    if hasattr(data, "__cuda_array_interface__"):
        data, from_python = to_device(data, CPU), False
    try:
        arr = np.array(_to_numpy_nested(data))
    except ValueError as e:
        raise ValueError(f"expected sequence of equal-length sequences: {e}") from None
    if arr.dtype == object:
        raise TypeError(f"Could not infer dtype of {type(data).__name__}")
    d = _dt.to_dtype(dtype) if dtype is not None else _infer_dtype(arr, from_python)
    arr = arr.astype(d.np, copy=False)
    return _finish(to_device(arr, dev), dev, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory with a NumPy array or tensor when dtype and device allow."""
    if isinstance(data, _tensor.Tensor):
        return data.to(device=device, dtype=dtype) if (device or dtype) else data
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_dtype(dtype).np == data.dtype):
        t = from_numpy(data)
        return t if device is None else t.to(device)
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(ndarray: np.ndarray):
    """A tensor sharing ``ndarray``'s memory: a change to either shows in the other."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if any(s < 0 for s in ndarray.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors "
                         "with negative strides are not currently supported. (You can probably "
                         "work around this by making a copy of your array  with array.copy().) ")
    _dt.from_numpy_dtype(ndarray.dtype)  # raises TypeError for unsupported dtypes
    if not ndarray.dtype.isnative:
        raise TypeError("given numpy array has byte order different from the native byte order. "
                        "Conversion between byte orders is currently not supported.")
    return _tensor.Tensor._make(ndarray, CPU)


def _filled(shape, value, dtype, device, requires_grad):
    dev = canonical_device(device)
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    xp = array_module(dev)
    if value is None:
        data = xp.empty(shape, dtype=d.np)
    elif value == 0:
        data = xp.zeros(shape, dtype=d.np)
    else:
        data = xp.full(shape, value, dtype=d.np)
    return _finish(data, dev, requires_grad)


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _with_out(_filled(_sizes(size), 0, dtype, device, requires_grad), out)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _with_out(_filled(_sizes(size), 1, dtype, device, requires_grad), out)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    return _with_out(_filled(_sizes(size), None, dtype, device, requires_grad), out)


def _scalar_dtype(value):
    if isinstance(value, builtins.bool):
        return _dt.bool
    if isinstance(value, builtins.int):
        return _dt.int64
    if isinstance(value, builtins.complex):
        return _dt.default_complex_dtype()
    return _dt.get_default_dtype()


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """A tensor of shape ``size`` filled with ``fill_value`` (its type picks the dtype)."""
    if isinstance(fill_value, _tensor.Tensor):
        fill_value = fill_value.item()
    shape = _sizes((size,) if isinstance(size, (tuple, list)) else (size,))
    dtype = _scalar_dtype(fill_value) if dtype is None else dtype
    return _with_out(_filled(shape, fill_value, dtype, device, requires_grad), out)


def _with_out(result, out):
    if out is None:
        return result
    from ember.ops.arithmetic import handle_out

    return handle_out(result, out, "creation")


def _like(input, dtype, device):
    return (input.dtype if dtype is None else dtype), (input.device if device is None else device)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    d, dev = _like(input, dtype, device)
    return _filled(input.shape, 0, d, dev, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    d, dev = _like(input, dtype, device)
    return _filled(input.shape, 1, d, dev, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    d, dev = _like(input, dtype, device)
    return _filled(input.shape, None, d, dev, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    d, dev = _like(input, dtype, device)
    return _filled(input.shape, fill_value, d, dev, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return _filled((), s, dtype or _dt.get_default_dtype(), device, requires_grad)


def _number(v):
    return v.item() if isinstance(v, _tensor.Tensor) else v


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """Values from ``start`` up to (not including) ``end`` by ``step``; int64 unless one is a float."""
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        is_int = all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
        d = _dt.int64 if is_int else _dt.get_default_dtype()
    else:
        d = _dt.to_dtype(dtype)
    n = builtins.max(math.ceil((end - start) / step), 0)
    dev = canonical_device(device)
    xp = array_module(dev)
    if d.is_floating_point or not builtins.all(isinstance(v, builtins.int) for v in (start, step)):
        data = (start + xp.arange(n, dtype=np.float64) * step).astype(d.np)
    else:
        data = xp.arange(start, start + n * step, step, dtype=d.np)[:n]
    return _with_out(_finish(data, dev, requires_grad), out)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    start, end = _number(start), _number(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    dev = canonical_device(device)
    xp = array_module(dev)
    if steps == 1:
        data = xp.full((1,), start, dtype=np.float64)
    else:
        # PyTorch's symmetric formula: the first half counts up from start, the second half down
        # from end, so both ends are exact.
        step = (end - start) / (steps - 1)
        i = xp.arange(steps, dtype=np.float64)
        half = steps // 2
        data = xp.where(i < half, start + step * i, end - step * (steps - 1 - i))
    if not d.is_floating_point and not d.is_complex:
        data = xp.trunc(data)
    return _with_out(_finish(data.astype(d.np), dev, requires_grad), out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """``base ** linspace(start, end, steps)``."""
    exps = linspace(start, end, steps, dtype=_dt.float64, device=device)
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    data = (np.float64(base) ** exps._data).astype(d.np)
    return _with_out(_finish(data, exps.device, requires_grad), out)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """An ``n x m`` matrix with ones on the diagonal."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {builtins.min(n, m or 0)}")
    dev = canonical_device(device)
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    data = array_module(dev).eye(n, n if m is None else m, dtype=d.np)
    return _with_out(_finish(data, dev, requires_grad), out)


def complex(real, imag, *, out=None):  # noqa: A001 - torch.complex
    """A complex tensor from real and imaginary parts (float32 -> complex64, float64 -> complex128)."""
    if real.dtype is not imag.dtype or not real.dtype.is_floating_point:
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got "
                           f"{real.dtype} and {imag.dtype}")
    return real + imag * 1j


def polar(abs, angle, *, out=None):  # noqa: A002
    return complex(abs * angle.cos(), abs * angle.sin())
