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


def _sizes(size, name: str = "zeros") -> tuple:
    """``zeros(2, 3)``, ``zeros((2, 3))`` and ``zeros([2, 3])`` all mean shape (2, 3)."""
    if not size:
        raise TypeError(f'{name}() missing 1 required positional arguments: "size"')
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    try:
        shape = tuple(operator.index(s) for s in size)
    except TypeError:
        raise TypeError(f"expected a sequence of integers or a single integer as size, got "
                        f"{size!r}") from None
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


def _to_numpy_nested(data):
    """Nested sequences that may hold tensors -> something ``np.asarray`` understands."""
    if isinstance(data, _tensor.Tensor):
        return data.detach().numpy(force=True)
    if isinstance(data, (list, tuple)):
        return [_to_numpy_nested(d) for d in data]
    return data


_SCALAR_DTYPES = {builtins.bool: lambda: _dt.bool, builtins.int: lambda: _dt.int64,
                  builtins.float: _dt.get_default_dtype,
                  builtins.complex: _dt.default_complex_dtype}


def _infer_dtype(data):
    """torch's dtype for Python data: ``promote_types`` over every element, where Python floats
    are the default dtype and tensors, arrays and NumPy scalars bring their own; None if empty.
    """
    if isinstance(data, (list, tuple)):
        result = None
        for ty in set(map(type, data)):  # one pass in C; per-element work only for odd types
            scalar = _SCALAR_DTYPES.get(ty)
            if scalar is not None:
                ds = [scalar()]
            else:
                ds = [_infer_dtype(x) for x in data if type(x) is ty]
            for d in ds:
                if d is not None:
                    result = d if result is None else _dt.promote_types(result, d)
        return result
    if isinstance(data, _tensor.Tensor):
        return data.dtype
    if isinstance(data, (np.ndarray, np.generic)):
        return _dt.from_numpy_dtype(data.dtype)
    scalar = _SCALAR_DTYPES.get(type(data))
    if scalar is None:
        for ty, scalar in _SCALAR_DTYPES.items():  # subclasses (IntEnum, ...)
            if isinstance(data, ty):
                return scalar()
        if isinstance(data, str):
            raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
        raise RuntimeError(f"Could not infer dtype of {type(data).__name__}")
    return scalar()


def _ragged_message(data) -> str:
    """torch's wording for nested sequences whose lengths differ."""
    sizes, seq = [], data
    while isinstance(seq, (list, tuple)):
        sizes.append(len(seq))
        seq = seq[0] if len(seq) else None

    def walk(seq, dim):
        if dim >= len(sizes):
            return None
        if not isinstance(seq, (list, tuple)) or len(seq) != sizes[dim]:
            got = len(seq) if isinstance(seq, (list, tuple)) else type(seq).__name__
            return f"expected sequence of length {sizes[dim]} at dim {dim} (got {got})"
        for x in seq:
            msg = walk(x, dim + 1)
            if msg:
                return msg
        return None

    return walk(data, 0) or "expected sequence of equal-length sequences"


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
    if hasattr(data, "__cuda_array_interface__"):
        data = to_device(data, CPU)
    if isinstance(data, (np.ndarray, np.generic)):
        d = _dt.from_numpy_dtype(data.dtype) if dtype is None else _dt.to_dtype(dtype)
        if d is _dt.float16 and data.dtype == np.float64:
            data = data.astype(np.float32)  # torch's double -> half goes through float
        arr = np.array(data, dtype=d.np)
    else:
        inferred = _infer_dtype(data)  # also rejects what torch rejects (str, None, ...)
        d = (_dt.to_dtype(dtype) if dtype is not None
             else inferred if inferred is not None else _dt.get_default_dtype())
        try:
            arr = np.array(_to_numpy_nested(data))
        except ValueError:
            raise ValueError(_ragged_message(data)) from None
        if arr.dtype == object:
            raise ValueError(_ragged_message(data))
        if d is _dt.float16 and arr.dtype == np.float64:
            arr = arr.astype(np.float32)  # torch's double -> half goes through float
        arr = arr.astype(d.np, copy=False)
    return _finish(to_device(arr, dev), dev, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory with a NumPy array or tensor when dtype and device
    allow."""
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
    if not ndarray.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte "
                         "order. Conversion between byte orders is currently not supported.")
    _dt.from_numpy_dtype(ndarray.dtype)  # raises TypeError for unsupported dtypes
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
        if d is _dt.float16 and isinstance(value, builtins.float):
            value = np.float32(value)  # torch's double -> half goes through float
        data = xp.full(shape, value, dtype=d.np)
    return _finish(data, dev, requires_grad)


def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _with_out(_filled(_sizes(size), 0, dtype, device, requires_grad), out)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    return _with_out(_filled(_sizes(size, "ones"), 1, dtype, device, requires_grad), out)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, memory_format=None):
    return _with_out(_filled(_sizes(size, "empty"), None, dtype, device, requires_grad), out)


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


def _like(input, dtype, device):  # noqa: A002 - torch's argument name
    return (input.dtype if dtype is None else dtype), (input.device if device is None else device)


def zeros_like(input, *, dtype=None, layout=None, device=None,  # noqa: A002
               requires_grad=False, memory_format=None):
    d, dev = _like(input, dtype, device)
    return _filled(input.shape, 0, d, dev, requires_grad)


def ones_like(input, *, dtype=None, layout=None, device=None,  # noqa: A002
              requires_grad=False, memory_format=None):
    d, dev = _like(input, dtype, device)
    return _filled(input.shape, 1, d, dev, requires_grad)


def empty_like(input, *, dtype=None, layout=None, device=None,  # noqa: A002
               requires_grad=False, memory_format=None):
    d, dev = _like(input, dtype, device)
    return _filled(input.shape, None, d, dev, requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None,  # noqa: A002
              requires_grad=False, memory_format=None):
    d, dev = _like(input, dtype, device)
    return _filled(input.shape, fill_value, d, dev, requires_grad)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    return _filled((), s, dtype or _dt.get_default_dtype(), device, requires_grad)


def _number(v):
    return v.item() if isinstance(v, _tensor.Tensor) else v


def _fma(a, b, c):
    """``a * b + c`` rounded once (a fused multiply-add), elementwise in float64.

    torch's CPU range kernels are compiled with FMA contraction; this reproduces their last bit.
    ``b`` holds integers below 2**26, so Dekker's split makes the product exact as ``p + err``.
    """
    t = 134217729.0 * a  # Veltkamp split of a into 26-bit halves
    a_hi = t - (t - a)
    a_lo = a - a_hi
    p = a * b
    err = (a_hi * b - p) + a_lo * b
    s = p + c  # TwoSum: s + e2 == p + c exactly
    bb = s - p
    e2 = (p - (s - bb)) + (c - bb)
    return s + (e2 + err)


def _range_values(xp, start, step, n, d):
    """``start + step * i`` for i < n, bit for bit as torch's CPU arange kernel writes them.

    The kernel accumulates in double (float for half types) with fused multiply-adds, and fills
    all but the tail in vectors of 32 bytes: each vector's first value is computed, rounded to
    the dtype, and the others are ``base + k * step`` from that rounded base.
    """
    half = d.itemsize < 4
    acc = np.float32 if half else np.float64
    st = np.float64(acc(step))
    s0 = np.float64(acc(start))

    def line(idx, base):  # base + step * idx in the accumulation type
        if half:
            return (base + st * idx.astype(np.float32)).astype(np.float32)
        return _fma(st, idx, base)

    i = xp.arange(n, dtype=np.float64)
    out = line(i, s0).astype(d.np)
    width = 32 // d.itemsize
    nvec = (n // (2 * width)) * 2 * width  # torch's loop takes two vectors at a time
    if nvec:
        k = xp.arange(nvec) % width
        base = line(i[:nvec] - k, s0).astype(d.np).astype(np.float64)
        out[:nvec] = line(k.astype(np.float64), base).astype(d.np)
    return out


def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           requires_grad=False):
    """Values from ``start`` up to (not including) ``end`` by ``step``; int64 unless one is a float.

    Float values are bit for bit torch's (CPU kernel, one thread: above 32768 elements torch
    splits the range between threads, which can change the last bit of some values).
    """
    start, end, step = _number(start), _number(end), _number(step)
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (builtins.int, np.integer)) for v in (start, end, step))
        d = _dt.int64 if is_int else _dt.get_default_dtype()
    else:
        d = _dt.to_dtype(dtype)
    dstart, dend, dstep = builtins.float(start), builtins.float(end), builtins.float(step)
    if not (dstep > 0 or dstep < 0):
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(dstart) and math.isfinite(dend)):
        raise RuntimeError(f"unsupported range: {dstart:g} -> {dend:g}")
    if not ((dstep > 0 and dend >= dstart) or (dstep < 0 and dend <= dstart)):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    dev = canonical_device(device)
    xp = array_module(dev)
    if d.is_floating_point or d.is_complex:
        n = math.ceil((dend - dstart) / dstep)
        data = _range_values(xp, dstart, dstep, n, d)
    else:
        # integer dtypes work on the bounds truncated to integers, as torch does
        xs, xe, xst = builtins.int(start), builtins.int(end), builtins.int(step)
        if d is _dt.int64:
            if xst == 0:
                raise ValueError("step must be nonzero")
            sgn = (xst > 0) - (xst < 0)
            n = builtins.int((xe - xs + xst - sgn) / xst)
        else:
            n = math.ceil((dend - dstart) / dstep)
        data = (xs + xst * xp.arange(n, dtype=np.int64)).astype(d.np)
    return _with_out(_finish(data, dev, requires_grad), out)


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive, bit for bit as torch.

    torch computes in the result dtype: the first half counts up from ``start``, the second half
    down from ``end`` (so both ends are exact), each value ``start + step * i`` rounded once.
    """
    start, end = _number(start), _number(end)
    if not isinstance(steps, (builtins.int, np.integer)) or isinstance(steps, builtins.bool):
        raise TypeError(f"linspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    dev = canonical_device(device)
    xp = array_module(dev)
    if steps <= 1:
        data = xp.full((steps,), start).astype(d.np)
        return _with_out(_finish(data, dev, requires_grad), out)
    i = xp.arange(steps, dtype=np.float64)
    k = (steps - 1) - i
    lower = i < steps // 2
    if d.is_complex:
        step = (end - start) / (steps - 1)
        data = xp.where(lower, start + step * i, end - step * k).astype(d.np)
    elif not d.is_floating_point:  # integers: bounds cast to the dtype, a double step
        s_, e_ = np.float64(builtins.int(start)), np.float64(builtins.int(end))
        step = (e_ - s_) / (steps - 1)
        data = xp.where(lower, _fma(step, i, s_), _fma(-step, k, e_))
        data = xp.trunc(data).astype(d.np)
    elif d.itemsize < 4:  # half types: every operation rounds to the dtype
        h = d.np.type
        s_, e_ = h(start), h(end)
        step = h(h(e_ - s_) / h(steps - 1))
        data = xp.where(lower, s_ + (step * i.astype(d.np)).astype(d.np),
                        e_ - (step * k.astype(d.np)).astype(d.np)).astype(d.np)
    else:
        f = d.np.type
        s_, e_ = f(start), f(end)
        step = f(f(e_ - s_) / f(steps - 1))
        if d.itemsize == 4:  # float32 FMA: the product is exact in float64, rounded once
            i32, k32 = i.astype(np.float32), k.astype(np.float32)
            data = xp.where(lower, np.float64(s_) + np.float64(step) * i32,
                            np.float64(e_) - np.float64(step) * k32).astype(np.float32)
        else:
            data = xp.where(lower, _fma(step, i, s_), _fma(-step, k, e_))
    return _with_out(_finish(data, dev, requires_grad), out)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """``base ** linspace(start, end, steps)``, bit for bit as torch's CPU kernel.

    torch casts the bounds to the dtype, steps in double from each end, and rounds
    ``pow(base, exponent)`` (computed in double) to the dtype.
    """
    start, end = _number(start), _number(end)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    dev = canonical_device(device)
    xp = array_module(dev)
    b = builtins.float(base)
    if steps <= 1:
        exps = xp.full((steps,), builtins.float(start))
    else:
        cast = builtins.int if not (d.is_floating_point or d.is_complex) else d.np.type
        s_, e_ = cast(start), cast(end)
        step = np.float64(e_ - s_) / (steps - 1)  # the difference in the dtype, as torch
        i = xp.arange(steps, dtype=np.float64)
        k = (steps - 1) - i
        # no fused multiply-add here: this kernel is not built with FMA
        exps = xp.where(i < steps // 2, np.float64(s_) + step * i, np.float64(e_) - step * k)
    if xp is np:  # C's pow, as torch calls it: NumPy's SIMD power can differ in the last bit
        data = np.array([math.pow(b, x) for x in exps.tolist()], dtype=np.float64)
    else:
        data = xp.power(b, exps)
    if not (d.is_floating_point or d.is_complex):
        data = xp.trunc(data)
    elif d.itemsize < 4:  # half types are built from float: double -> float -> half
        data = data.astype(np.float32)
    return _with_out(_finish(data.astype(d.np), dev, requires_grad), out)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False):
    """An ``n x m`` matrix with ones on the diagonal."""
    if n < 0 or (m is not None and m < 0):
        raise RuntimeError(f"n must be greater or equal to 0, got {builtins.min(n, m or 0)}")
    dev = canonical_device(device)
    d = _dt.get_default_dtype() if dtype is None else _dt.to_dtype(dtype)
    data = array_module(dev).eye(n, n if m is None else m, dtype=d.np)
    return _with_out(_finish(data, dev, requires_grad), out)


def complex(real, imag, *, out=None):  # noqa: A001 - torch.complex
    """A complex tensor from real and imaginary parts (float32 -> complex64, float64 ->
    complex128)."""
    if real.dtype is not imag.dtype or not real.dtype.is_floating_point:
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got "
                           f"{real.dtype} and {imag.dtype}")
    return real + imag * 1j


def polar(abs, angle, *, out=None):  # noqa: A002
    return complex(abs * angle.cos(), abs * angle.sin())
