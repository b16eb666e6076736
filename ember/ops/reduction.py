"""Reductions over ``dim`` (an int or a tuple) with ``keepdim``: sum, mean, max, var, norm, ...,
the scans (cumsum, cumprod, cummax), and softmax/log_softmax.

Forwards compute on arrays; backwards are Tensor expressions (so gradients of gradients work).
Masks that only select elements (which element was the max, where a value was zero) are constants
of the backward: they are built from the saved arrays there, not in the forward.
"""
# ruff: noqa: A002 - torch's signatures call the tensor argument ``input``

from __future__ import annotations

import builtins
import math
import operator
import warnings

import numpy as np

from ember import _tensor
from ember import dtypes as _dt
from ember import return_types as _rt
from ember._legacy_types import scalar_type_name
from ember.autograd.function import Primitive
from ember.autograd.grad_mode import _state
from ember.backend import array_module
from ember.ops._numpy_names import numpy_names
from ember.ops.arithmetic import handle_out

__all__ = ["sum", "nansum", "mean", "nanmean", "prod", "max", "min", "amax", "amin", "argmax",
           "argmin", "aminmax", "std", "var", "std_mean", "var_mean", "norm", "logsumexp", "all",
           "any", "cumsum", "cumprod", "cummax", "cummin", "count_nonzero", "median", "nanmedian",
           "mode", "softmax", "log_softmax", "trace"]

_INF = float("inf")


def normalize_dims(dim, ndim: int):
    """``dim`` (None, an int or a sequence) as a sorted tuple of non-negative axes.

    None and an empty sequence mean every dimension, as in torch's reductions. A 0-d tensor accepts
    dims 0 and -1 and has no axes to reduce: the result is ``()``.
    """
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int) or hasattr(dim, "__index__"):
        dims = (dim,)
    elif isinstance(dim, (tuple, list)):
        dims = tuple(dim)
    else:
        raise TypeError(f"dim must be an int or a tuple of ints, not {type(dim).__name__}")
    if not dims:
        return tuple(range(ndim))
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    out = []
    for d in dims:
        if not isinstance(d, int):
            try:
                d = operator.index(d)  # NumPy integers, integer tensors
            except TypeError:
                raise TypeError("dim must be an int or a tuple of ints, not "
                                f"{type(d).__name__}") from None
        if not lo <= d <= hi:
            raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                             f"but got {d})")
        d = d % ndim if ndim else 0
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out)) if ndim else ()


def _one_dim(dim, ndim: int):
    """A single ``dim`` as an axis; None for a 0-d tensor (which has none)."""
    if not isinstance(dim, int) and not hasattr(dim, "__index__"):
        raise TypeError(f"dim must be an int, not {type(dim).__name__}")
    axes = normalize_dims(dim, ndim)
    return axes[0] if axes else None


_BF16 = _dt.np_bfloat16
_HALF = (np.dtype(np.float16), _BF16)


def _inexact(np_dtype) -> bool:
    """Floating or complex, bfloat16 included (ml_dtypes gives it NumPy kind 'V')."""
    return np_dtype.kind in "fc" or np_dtype == _BF16


def _acc_dtype(dt):
    """The dtype to accumulate a ``dt`` result in: float32 for half precision, as in torch."""
    return np.float32 if dt in _HALF else dt


def _upcast(a):
    """Half-precision floats as float32 (torch's accumulation type); other arrays as they are."""
    return a.astype(np.float32) if a.dtype in _HALF else a


def _save_meta(ctx, a, axes, keepdim) -> None:
    ctx.shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim


def _keep_shape(ctx) -> tuple:
    return tuple(1 if i in ctx.axes else n for i, n in enumerate(ctx.shape))


def _unreduce(g, ctx):
    """``g`` with the reduced dims put back as size 1, so that it broadcasts against the input."""
    if ctx.keepdim or not ctx.axes:
        return g
    return g.reshape(_keep_shape(ctx))


def _check_nonempty(a, axes, dim, name: str) -> None:
    """torch's errors for a reduction with no identity (max, amin, median...) over no elements."""
    if a.size:
        return
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    for ax in axes:
        if a.shape[ax] == 0:
            shown = dim if isinstance(dim, int) else ax
            raise IndexError(f"{name}(): Expected reduction dim {shown} to have non-zero size.")


def _iota(xp, shape, axis: int):
    """0, 1, 2... along ``axis`` of an array broadcastable to ``shape``."""
    return xp.arange(shape[axis]).reshape((-1,) + (1,) * (len(shape) - axis - 1))


def _tie_weights(xp, a, out_keep, axes):
    """1/count at the elements equal to the result (NaN matching NaN), 0 elsewhere: the gradient of
    max/min/median without a dim and of amax/amin is split evenly among ties, as torch does."""
    mask = a == out_keep
    if _inexact(a.dtype):
        mask |= xp.isnan(a) & xp.isnan(out_keep)
    return (mask / mask.sum(axis=axes, keepdims=True)).astype(a.dtype, copy=False)


def _selected_grad(ctx, g):
    """Gradient of a reduction that picked one element per slice (``ctx.idx``, kept dims)."""
    if ctx.axis is None:
        return g
    shape = ctx.shape
    onehot = (_iota(ctx.xp, shape, ctx.axis) == ctx.idx).astype(ctx.dtype)
    return _unreduce(g, ctx) * ctx.const(onehot)


def _values_indices(ctx, a, idx, axis, keepdim):
    """(values at ``idx``, idx) with or without the reduced dim; keeps what backward needs."""
    ctx.shape, ctx.axis, ctx.axes, ctx.keepdim, ctx.dtype = a.shape, axis, (axis,), keepdim, a.dtype
    ctx.idx = idx
    values = ctx.xp.take_along_axis(a, idx, axis)
    if not keepdim:
        values, idx = values.squeeze(axis), idx.squeeze(axis)
    return values, idx


# --- sums and means ---------------------------------------------------------------------------


def _sum_dtype(a, dtype):
    """torch.sum's result dtype: integers and bools accumulate in int64 unless told otherwise."""
    if dtype is not None:
        return _dt.to_dtype(dtype).np
    return _dt.int64.np if a.dtype.kind in "biu" else a.dtype


class _ByDim:
    """Node names as torch's: ``SumBackward0`` for the whole tensor, ``SumBackward1`` over dims."""

    by_dim = False

    def name(self) -> str:
        return type(self).__name__ + ("Backward1" if self.by_dim else "Backward0")


class Sum(_ByDim, Primitive):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        axes = normalize_dims(dim, a.ndim)
        _save_meta(ctx, a, axes, keepdim)
        ctx.by_dim = dim is not None
        dt = _sum_dtype(a, dtype)
        if dt in _HALF:
            return a.sum(axis=axes, keepdims=keepdim, dtype=np.float32).astype(dt)
        return a.sum(axis=axes, keepdims=keepdim, dtype=dt)

    @staticmethod
    def backward(ctx, g):
        return _unreduce(g, ctx).expand(ctx.shape)


class Nansum(Primitive):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        axes = normalize_dims(dim, a.ndim)
        _save_meta(ctx, a, axes, keepdim)
        ctx.save_for_backward(a)
        dt = _sum_dtype(a, dtype)
        out = ctx.xp.nansum(a, axis=axes, keepdims=keepdim, dtype=_acc_dtype(dt))
        return out if out.dtype == dt else out.astype(dt)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        keep = ~ctx.xp.isnan(a._data)
        return _unreduce(g, ctx) * ctx.const(keep.astype(a._data.dtype))


def _mean_dtype(a, dtype, name: str):
    if dtype is None:
        if not _inexact(a.dtype):
            raise RuntimeError(f"{name}(): could not infer output dtype. Input dtype must be "
                               "either a floating point or complex dtype. Got: "
                               f"{scalar_type_name(a.dtype)}")
        return a.dtype
    dt = _dt.to_dtype(dtype)
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{name}(): could not infer output dtype. Optional dtype must be "
                           f"either a floating point or complex dtype. Got: {scalar_type_name(dt)}")
    return dt.np


class Mean(_ByDim, Primitive):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        dt = _mean_dtype(a, dtype, "mean")
        axes = normalize_dims(dim, a.ndim)
        _save_meta(ctx, a, axes, keepdim)
        ctx.by_dim = dim is not None
        n = ctx.n = math.prod(a.shape[i] for i in axes)
        # sum / n: NumPy's mean costs twice as much for the same arithmetic
        total = a.sum(axis=axes, keepdims=keepdim, dtype=_acc_dtype(dt))
        if n == 0:  # torch: nan, without NumPy's warning
            with np.errstate(invalid="ignore"):
                return (total / 0).astype(dt, copy=False)
        out = total / n
        return out if out.dtype == dt else out.astype(dt)

    @staticmethod
    def backward(ctx, g):
        g = _unreduce(g, ctx)
        return (g / ctx.n if ctx.n else g).expand(ctx.shape)


@numpy_names
def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A001 - torch.sum
    """The sum of all elements, or over ``dim``; integers and bools sum to int64."""
    return handle_out(Sum.apply(input, dim=dim, keepdim=keepdim, dtype=dtype), out, "sum")


@numpy_names
def nansum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """``sum`` treating NaN as zero."""
    return handle_out(Nansum.apply(input, dim=dim, keepdim=keepdim, dtype=dtype), out, "nansum")


@numpy_names
def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """The mean of all elements, or over ``dim``; RuntimeError for integer input without dtype."""
    return handle_out(Mean.apply(input, dim=dim, keepdim=keepdim, dtype=dtype), out, "mean")


@numpy_names
def nanmean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """The mean of the non-NaN elements (``nansum / count``, as torch composes it)."""
    if not _inexact(input.dtype.np):
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but "
                           f"got {scalar_type_name(input.dtype.np)}")
    xp = array_module(input.device)
    axes = normalize_dims(dim, input.ndim)
    count = (~xp.isnan(input._data)).sum(axis=axes, keepdims=keepdim)
    total = Nansum.apply(input, dim=dim, keepdim=keepdim, dtype=dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        result = total / _tensor.Tensor._make(count.astype(total._data.dtype), input.device)
    return handle_out(result, out, "nanmean")


# --- products and scans -----------------------------------------------------------------------


class Prod(_ByDim, Primitive):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        axes = normalize_dims(dim, a.ndim)
        _save_meta(ctx, a, axes, keepdim)
        ctx.by_dim = dim is not None
        xp = ctx.xp
        dt = _sum_dtype(a, dtype)
        out = xp.asarray(a.prod(axis=axes, keepdims=keepdim, dtype=_acc_dtype(dt)), dtype=dt)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if x.ndim == 0:
            return g
        g, out = _unreduce(g, ctx), _unreduce(out, ctx)
        if x._data.all():
            return g * (out / x)
        # Zeros: the product's gradient is the gradient of cumprod's last element.
        if len(ctx.axes) == 1:
            xs, gs, axis = x, g, ctx.axes[0]
        else:  # the whole tensor: along its flattening
            xs, gs, axis = x.reshape(-1), g.reshape(1), 0
        last = (_iota(ctx.xp, xs.shape, axis) == xs.shape[axis] - 1).astype(x._data.dtype)
        gx = _cumprod_grad(xs, Cumprod.apply(xs, dim=axis), gs * ctx.const(last), axis, ctx)
        return gx.reshape(ctx.shape)


def _scan_input(ctx, a, dim, dtype):
    """The scan's axis (None for 0-d) and its input cast to the result dtype."""
    axis = _one_dim(dim, a.ndim)
    dt = _sum_dtype(a, dtype)
    ctx.axis = axis
    return axis, (a if a.dtype == dt else a.astype(dt))


def _scan(a, axis: int, product: bool = False):
    """cumsum/cumprod along ``axis``; half-precision floats accumulate in float32, as in torch."""
    acc = np.float32 if a.dtype in _HALF else None
    out = a.cumprod(axis, dtype=acc) if product else a.cumsum(axis, dtype=acc)
    return out if acc is None else out.astype(a.dtype)


class Cumsum(Primitive):
    """Running sums along ``dim``; ``reverse=True`` sums from the end (cumsum's own gradient)."""

    @staticmethod
    def forward(ctx, a, dim, dtype=None, reverse=False):
        axis, a = _scan_input(ctx, a, dim, dtype)
        ctx.reverse = reverse
        if axis is None:
            return a.copy()
        if reverse:
            xp = ctx.xp
            return xp.flip(_scan(xp.flip(a, axis), axis), axis)
        return _scan(a, axis)

    @staticmethod
    def backward(ctx, g):
        if ctx.axis is None:
            return g
        return Cumsum.apply(g, dim=ctx.axis, reverse=not ctx.reverse)


class Cumprod(Primitive):
    @staticmethod
    def forward(ctx, a, dim, dtype=None):
        axis, a = _scan_input(ctx, a, dim, dtype)
        out = a.copy() if axis is None else _scan(a, axis, product=True)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if ctx.axis is None:
            return g
        return _cumprod_grad(x, out, g, ctx.axis, ctx)


def _cumprod_grad(x, out, g, axis: int, ctx):
    """d(sum(g * cumprod(x)))/dx along ``axis``, exact where ``x`` has zeros (torch's formula)."""
    xd = x._data
    n = xd.shape[axis]
    if xd.size <= 1 or n == 1:
        return g
    if xd.all():
        return Cumsum.apply(g * out, dim=axis, reverse=True) / x
    if not _state.enabled:
        return ctx.const(_cumprod_grad_zeros(ctx.xp, xd, out._data, g._data, axis))
    # Differentiable (create_graph) form, O(n^2) along the axis: entry [k, j] of ``prods`` is the
    # product of x[i] for i <= j, i != k; the gradient at k sums g[j] * prods[k, j] over j >= k.
    xp, shape, dt = ctx.xp, tuple(xd.shape), xd.dtype
    after = (1,) * (len(shape) - axis - 1)
    eye = xp.eye(n, dtype=dt).reshape((n, n) + after)
    upper = xp.triu(xp.ones((n, n), dtype=dt)).reshape((n, n) + after)
    wide = shape[:axis] + (1,) + shape[axis:]
    prods = (x.reshape(wide) * ctx.const(1 - eye) + ctx.const(eye)).cumprod(axis + 1)
    return (prods * ctx.const(upper) * g.reshape(wide)).sum(axis + 1)


def _cumprod_grad_zeros(xp, x, out, g, axis: int):
    """``_cumprod_grad`` on arrays, O(n): only elements up to the first zero get a gradient."""
    x, out, g = (xp.moveaxis(t, axis, -1) for t in (x, out, g))
    is_zero = x == 0
    zeros_before = is_zero.cumsum(-1)
    before = zeros_before == 0
    w = out * g  # zero from the first zero on
    rev = xp.flip(xp.cumsum(xp.flip(w, -1), -1), -1)
    grad = xp.where(before, rev / xp.where(before, x, 1), 0).astype(x.dtype)
    # At the first zero z: out[z - 1] * sum over j in [z, next zero) of g[j] * prod(x[z+1..j]).
    first_run = zeros_before == 1
    run_prods = xp.where(first_run & ~is_zero, x, 1).cumprod(-1)
    inner = (run_prods * xp.where(first_run, g, 0)).sum(-1, keepdims=True)
    z = xp.argmax(is_zero, -1)[..., None]
    prev = xp.take_along_axis(out, xp.maximum(z - 1, 0), -1)
    prev = xp.where(z == 0, 1, prev)
    grad = xp.where(first_run & is_zero, prev * inner, grad).astype(x.dtype)
    return xp.moveaxis(grad, -1, axis)


class CumExtreme(Primitive):
    """cummax / cummin: running extreme and the index it came from (the latest on ties)."""

    @staticmethod
    def forward(ctx, a, dim, largest=True):
        xp = ctx.xp
        ctx.largest = largest
        axis = ctx.axis = _one_dim(dim, a.ndim)
        ctx.shape = a.shape
        if axis is None or a.size == 0:
            ctx.idx = xp.zeros(a.shape, dtype=np.int64)
            return a.copy(), ctx.idx
        values = (xp.maximum if largest else xp.minimum).accumulate(a, axis)
        # An element is where the running extreme comes from when it equals it (or is NaN).
        source = a == values
        if _inexact(a.dtype):
            source |= xp.isnan(a)
        idx = xp.where(source, _iota(xp, a.shape, axis), 0)
        ctx.idx = xp.maximum.accumulate(idx, axis)
        return values, ctx.idx

    def name(self) -> str:
        return "CummaxBackward0" if self.largest else "CumminBackward0"

    @staticmethod
    def backward(ctx, g, _):
        if ctx.axis is None:
            return g
        from ember.ops.creation import zeros

        idx = ctx.const(ctx.idx)
        return zeros(ctx.shape, dtype=g.dtype, device=ctx.device).scatter_add(ctx.axis, idx, g)


@numpy_names
def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """The product of all elements, or along one ``dim``; integers and bools give int64."""
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    return handle_out(Prod.apply(input, dim=dim, keepdim=keepdim, dtype=dtype), out, "prod")


@numpy_names
def cumsum(input, dim, *, dtype=None, out=None):
    """Running sums along ``dim``; integers and bools give int64."""
    return handle_out(Cumsum.apply(input, dim=dim, dtype=dtype), out, "cumsum")


@numpy_names
def cumprod(input, dim, *, dtype=None, out=None):
    """Running products along ``dim``; the gradient is exact where the input has zeros."""
    return handle_out(Cumprod.apply(input, dim=dim, dtype=dtype), out, "cumprod")


@numpy_names
def cummax(input, dim):
    """``(values, indices)`` of the running maximum along ``dim``."""
    return _rt.cummax(CumExtreme.apply(input, dim=dim, largest=True))


@numpy_names
def cummin(input, dim):
    """``(values, indices)`` of the running minimum along ``dim``."""
    return _rt.cummin(CumExtreme.apply(input, dim=dim, largest=False))


# --- extremes -------------------------------------------------------------------------------------


class Amax(Primitive):
    """amax/amin, and max()/min() without a dim: ties share the gradient evenly."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, largest=True, name="amax"):
        axes = normalize_dims(dim, a.ndim)
        _check_nonempty(a, axes, dim, name)
        _save_meta(ctx, a, axes, keepdim)
        ctx.op = name
        out = ctx.xp.asarray(a.max(axis=axes, keepdims=keepdim) if largest
                             else a.min(axis=axes, keepdims=keepdim))
        ctx.save_for_backward(a, out)
        return out

    def name(self) -> str:
        # torch: max() and min() are overload 1 of max/min (overload 0 has a dim)
        return self.op.capitalize() + ("Backward1" if self.op in ("max", "min") else "Backward0")

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        keep = out._data.reshape(_keep_shape(ctx))
        return _unreduce(g, ctx) * ctx.const(_tie_weights(ctx.xp, a._data, keep, ctx.axes))


class MaxDim(Primitive):
    """max/min along one dim: ``(values, indices)``; the gradient goes to the index."""

    @staticmethod
    def forward(ctx, a, dim, keepdim=False, largest=True, name="max"):
        xp = ctx.xp
        axis = _one_dim(dim, a.ndim)
        ctx.axis, ctx.op = axis, name
        if axis is None:
            return a.copy(), xp.zeros((), dtype=np.int64)
        _check_nonempty(a, (axis,), dim, name)
        find = xp.argmax if largest else xp.argmin
        return _values_indices(ctx, a, find(a, axis=axis, keepdims=True), axis, keepdim)

    def name(self) -> str:
        return self.op.capitalize() + "Backward0"

    @staticmethod
    def backward(ctx, g, _):
        return _selected_grad(ctx, g)


class ArgExtreme(Primitive):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, largest=True, name="argmax"):
        xp = ctx.xp
        find = xp.argmax if largest else xp.argmin
        if dim is None:
            if a.size == 0:
                raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                                 "input.numel() == 0.")
            idx = find(a)
            return xp.full((1,) * a.ndim if keepdim else (), idx, dtype=np.int64)
        axis = _one_dim(dim, a.ndim)
        if axis is None:
            return xp.zeros((), dtype=np.int64)
        _check_nonempty(a, (axis,), dim, name)
        return find(a, axis=axis, keepdims=keepdim).astype(np.int64, copy=False)


def _extreme(input, dim, keepdim, other, out, largest: bool):
    name = "max" if largest else "min"
    if isinstance(dim, _tensor.Tensor) or other is not None:
        from ember.ops import pointwise

        pair = pointwise.maximum if largest else pointwise.minimum
        other = dim if other is None else other
        return pair(input, other) if out is None else pair(input, other, out=out)
    if dim is None:
        return handle_out(Amax.apply(input, dim=None, largest=largest, name=name), out, name)
    values, indices = MaxDim.apply(input, dim=dim, keepdim=keepdim, largest=largest, name=name)
    if out is not None:
        values, indices = handle_out(values, out[0], name), handle_out(indices, out[1], name)
    return (_rt.max if largest else _rt.min)((values, indices))


@numpy_names
def max(input, dim=None, keepdim=False, *, other=None, out=None):  # noqa: A001 - torch.max
    """``max(input)``: the largest element; ``max(input, dim)``: ``(values, indices)``;
    ``max(input, other)``: the elementwise maximum."""
    return _extreme(input, dim, keepdim, other, out, True)


@numpy_names
def min(input, dim=None, keepdim=False, *, other=None, out=None):  # noqa: A001 - torch.min
    """``min(input)``, ``min(input, dim)`` -> ``(values, indices)``, ``min(input, other)``."""
    return _extreme(input, dim, keepdim, other, out, False)


@numpy_names
def amax(input, dim=(), keepdim=False, *, out=None):
    """The largest elements over ``dim`` (all by default); ties share the gradient evenly."""
    return handle_out(Amax.apply(input, dim=dim, keepdim=keepdim, largest=True, name="amax"),
                      out, "amax")


@numpy_names
def amin(input, dim=(), keepdim=False, *, out=None):
    """The smallest elements over ``dim`` (all by default); ties share the gradient evenly."""
    return handle_out(Amax.apply(input, dim=dim, keepdim=keepdim, largest=False, name="amin"),
                      out, "amin")


@numpy_names
def argmax(input, dim=None, keepdim=False):
    """The index of the largest element: of the flattened tensor, or along ``dim``."""
    return ArgExtreme.apply(input, dim=dim, keepdim=keepdim, largest=True, name="argmax")


@numpy_names
def argmin(input, dim=None, keepdim=False):
    """The index of the smallest element: of the flattened tensor, or along ``dim``."""
    return ArgExtreme.apply(input, dim=dim, keepdim=keepdim, largest=False, name="argmin")


@numpy_names
def aminmax(input, *, dim=None, keepdim=False):
    """``(min, max)`` of all elements, or along one ``dim``."""
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
    if input.numel() == 0:
        if dim is None:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                               "operation has no identity.")
        if input.ndim and input.shape[dim] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {dim} to have non-zero size.")
    return _rt.aminmax((Amax.apply(input, dim=dim, keepdim=keepdim, largest=False, name="aminmax"),
                        Amax.apply(input, dim=dim, keepdim=keepdim, largest=True, name="aminmax")))


# --- medians and modes ----------------------------------------------------------------------------


class MedianAll(Primitive):
    """The lower median of all elements (NaN if any is NaN, unless ``ignore_nan``)."""

    @staticmethod
    def forward(ctx, a, ignore_nan=False):
        xp = ctx.xp
        flat = a.reshape(-1)
        if _inexact(a.dtype):
            nans = xp.isnan(flat)
            if ignore_nan:
                flat = flat[~nans]
            elif nans.any():
                flat = flat[:0]
        ctx.shape, ctx.axes, ctx.keepdim = a.shape, tuple(range(a.ndim)), False
        ctx.ignore_nan = ignore_nan
        if flat.size == 0:  # torch gives NaN (and the dtype's minimum for integers)
            fill = np.nan if _inexact(a.dtype) else np.iinfo(a.dtype).min
            out = xp.full((), fill, dtype=a.dtype)
        else:
            k = (flat.size - 1) // 2
            out = xp.asarray(xp.partition(flat, k)[k])
        ctx.save_for_backward(a, out)
        return out

    def name(self) -> str:
        return "NanmedianBackward0" if self.ignore_nan else "MedianBackward0"

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return g * ctx.const(_tie_weights(ctx.xp, a._data, out._data, ctx.axes))


class MedianDim(Primitive):
    """The lower median along one dim: ``(values, indices)``, the index a stable sort gives."""

    @staticmethod
    def forward(ctx, a, dim, keepdim=False, ignore_nan=False, name="median"):
        xp = ctx.xp
        axis = ctx.axis = _one_dim(dim, a.ndim)
        ctx.ignore_nan = ignore_nan
        if axis is None:
            return a.copy(), xp.zeros((), dtype=np.int64)
        _check_nonempty(a, (axis,), dim, name)
        order = xp.argsort(a, axis=axis, kind="stable")  # NaNs sort last
        n = a.shape[axis]
        if _inexact(a.dtype):
            nans = xp.isnan(a)
            if ignore_nan:
                count = n - nans.sum(axis=axis, keepdims=True)
                k = xp.maximum((count - 1) // 2, 0)
                idx = xp.take_along_axis(order, k, axis)
            else:
                idx = xp.take(order, [(n - 1) // 2], axis=axis)
                first_nan = xp.argmax(nans, axis=axis, keepdims=True)
                idx = xp.where(nans.any(axis=axis, keepdims=True), first_nan, idx)
        else:
            idx = xp.take(order, [(n - 1) // 2], axis=axis)
        return _values_indices(ctx, a, idx, axis, keepdim)

    def name(self) -> str:
        return "NanmedianBackward1" if self.ignore_nan else "MedianBackward1"

    @staticmethod
    def backward(ctx, g, _):
        return _selected_grad(ctx, g)


class Mode(Primitive):
    """The most frequent value along one dim (the smallest on ties) and its last index."""

    @staticmethod
    def forward(ctx, a, dim=-1, keepdim=False):
        xp = ctx.xp
        axis = ctx.axis = _one_dim(dim, a.ndim)
        if axis is None:
            return a.copy(), xp.zeros((), dtype=np.int64)
        _check_nonempty(a, (axis,), dim, "mode")
        order = xp.argsort(a, axis=axis, kind="stable")
        s = xp.take_along_axis(a, order, axis)
        head, tail = [slice(None)] * a.ndim, [slice(None)] * a.ndim
        head[axis], tail[axis] = slice(1, None), slice(None, -1)
        same = s[tuple(head)] == s[tuple(tail)]  # NaNs are unequal: each counts once, as in torch
        first = xp.ones(a.shape[:axis] + (1,) + a.shape[axis + 1:], dtype=bool)
        starts = xp.concatenate([first, ~same], axis=axis)
        pos = _iota(xp, a.shape, axis)
        run = pos - xp.maximum.accumulate(xp.where(starts, pos, 0), axis)
        # The end of the first longest run: the smallest most frequent value, and (the sort being
        # stable) its last position in the input.
        end = xp.argmax(run, axis=axis, keepdims=True)
        return _values_indices(ctx, a, xp.take_along_axis(order, end, axis), axis, keepdim)

    @staticmethod
    def backward(ctx, g, _):
        return _selected_grad(ctx, g)


@numpy_names
def median(input, dim=None, keepdim=False, *, out=None):
    """``median(input)``: the lower median; ``median(input, dim)``: ``(values, indices)``."""
    if dim is None:
        return handle_out(MedianAll.apply(input), out, "median")
    return _rt.median(MedianDim.apply(input, dim=dim, keepdim=keepdim))


@numpy_names
def nanmedian(input, dim=None, keepdim=False, *, out=None):
    """``median`` ignoring NaNs (NaN only where a slice is all NaN)."""
    if dim is None:
        return handle_out(MedianAll.apply(input, ignore_nan=True), out, "nanmedian")
    return _rt.nanmedian(MedianDim.apply(input, dim=dim, keepdim=keepdim, ignore_nan=True,
                                         name="nanmedian"))


@numpy_names
def mode(input, dim=-1, keepdim=False):
    """``(values, indices)``: the most frequent value along ``dim``, the smallest on ties.

    The index is the value's last position; torch's is unspecified for rows longer than 16.
    """
    return _rt.mode(Mode.apply(input, dim=dim, keepdim=keepdim))


# --- variance and norms ---------------------------------------------------------------------------


def _correction(name: str, unbiased, correction):
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}() received both 'unbiased' and 'correction'; pass only one")
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


class Var(Primitive):
    """var, or std with ``sqrt=True`` (torch's own backward for each)."""

    @staticmethod
    def forward(ctx, a, dim=None, correction=1, keepdim=False, sqrt=False):
        if not _inexact(a.dtype):
            raise RuntimeError("std and var only support floating point and complex dtypes")
        xp = ctx.xp
        axes = normalize_dims(dim, a.ndim)
        _save_meta(ctx, a, axes, keepdim)
        n = math.prod(a.shape[i] for i in axes)
        dof = ctx.dof = builtins.max(n - correction, 0)
        if dof <= 0:
            warnings.warn(f"{'std' if sqrt else 'var'}(): degrees of freedom is <= 0. Correction "
                          "should be strictly less than the reduction factor (input numel "
                          "divided by output numel).", UserWarning, stacklevel=4)
        x = _upcast(a)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = x - x.sum(axis=axes, keepdims=True) / n
            sq = d.real * d.real + d.imag * d.imag if a.dtype.kind == "c" else d * d
            out = sq.sum(axis=axes, keepdims=keepdim) / dof
        out = xp.asarray(xp.sqrt(out) if sqrt else out)
        if x is not a:
            out = out.astype(a.dtype)
        ctx.sqrt = sqrt
        ctx.save_for_backward(a, out)
        return out

    def name(self) -> str:
        return "StdBackward0" if self.sqrt else "VarBackward0"

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = _unreduce(g, ctx)
        if ctx.sqrt:  # d std = d var / (2 std); torch sets it to 0 where std == 0
            out = _unreduce(out, ctx)
            g = g / (2 * (out + ctx.const((out._data == 0).astype(out._data.dtype))))
        scale = 2.0 / ctx.dof if ctx.dof > 0 else _INF
        return scale * g * (x - Mean.apply(x, dim=ctx.axes, keepdim=True))


def _var_args(name, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # the legacy form var(input, unbiased)
        dim, unbiased = None, dim
    return dim, _correction(name, unbiased, correction), keepdim


@numpy_names
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """The variance over ``dim`` with ``correction`` (1 by default: Bessel's; ``unbiased=False``
    is 0); also torch's positional forms ``var(input, dim, unbiased, keepdim)``, ``var(input, u)``.
    """
    dim, c, keepdim = _var_args("var", dim, unbiased, keepdim, correction)
    return handle_out(Var.apply(input, dim=dim, correction=c, keepdim=keepdim), out, "var")


@numpy_names
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, out=None):
    """The standard deviation over ``dim``; arguments as ``var``."""
    dim, c, keepdim = _var_args("std", dim, unbiased, keepdim, correction)
    return handle_out(Var.apply(input, dim=dim, correction=c, keepdim=keepdim, sqrt=True), out,
                      "std")


@numpy_names
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim`` (a plain tuple, as in torch)."""
    dim, c, keepdim = _var_args("var_mean", dim, unbiased, keepdim, correction)
    return (Var.apply(input, dim=dim, correction=c, keepdim=keepdim),
            Mean.apply(input, dim=dim, keepdim=keepdim))


@numpy_names
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim`` (a plain tuple, as in torch)."""
    dim, c, keepdim = _var_args("std_mean", dim, unbiased, keepdim, correction)
    return (Var.apply(input, dim=dim, correction=c, keepdim=keepdim, sqrt=True),
            Mean.apply(input, dim=dim, keepdim=keepdim))


class LinalgVectorNorm(Primitive):
    """``(sum |x|^p)^(1/p)`` over ``dim``; p may be 0 (a count), inf and -inf (max/min of |x|)."""

    @staticmethod
    def forward(ctx, a, p=2.0, dim=None, keepdim=False):
        xp = ctx.xp
        if not _inexact(a.dtype):
            raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor "
                               f"as input. Got {scalar_type_name(a.dtype)}")
        axes = normalize_dims(dim, a.ndim)
        _save_meta(ctx, a, axes, keepdim)
        ctx.p = p = float(p)
        x = _upcast(a)
        absa = xp.abs(x) if a.dtype.kind == "c" or p not in (2.0, 0.0) else x
        if abs(p) == _INF:
            if a.size == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {'' if p > 0 else '-'}"
                                   "inf norm on an empty tensor because the operation does not "
                                   "have an identity")
            out = (absa.max if p > 0 else absa.min)(axis=axes, keepdims=keepdim)
        elif p == 0:
            out = (x != 0).sum(axis=axes, keepdims=keepdim).astype(absa.real.dtype)
        elif p == 1:
            out = absa.sum(axis=axes, keepdims=keepdim)
        elif p == 2:
            out = xp.sqrt((absa * absa).sum(axis=axes, keepdims=keepdim))
        else:
            with np.errstate(divide="ignore", over="ignore"):
                out = (absa ** p).sum(axis=axes, keepdims=keepdim) ** (1.0 / p)
        out = xp.asarray(out if x is a else out.astype(a.dtype))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, norm = ctx.saved_tensors
        p, xp, xd = ctx.p, ctx.xp, x._data
        g, norm = _unreduce(g, ctx), _unreduce(norm, ctx)
        if p == 0:
            return None
        sign = xp.sign(xd)
        if p == 1:
            return g * ctx.const(sign)
        nd = norm._data
        if abs(p) == _INF:
            return g * ctx.const(sign * _tie_weights(xp, xp.abs(xd), nd, ctx.axes))
        # Where the norm is 0, torch's gradient is 0: divide by 1 there (x is all 0 anyway).
        safe = norm + ctx.const((nd == 0).astype(nd.dtype))
        if p == 2:
            return g * x / safe
        absx = x * ctx.const(sign)
        if p < 1:  # |x|^(p-1) is infinite at 0, where torch's gradient is 0
            zero = (xd == 0).astype(xd.dtype)
            scaled = (absx + ctx.const(zero)) ** (p - 1) * ctx.const(sign)
            return scaled * g * norm ** (1 - p)
        if p < 2:
            return absx ** (p - 1) * ctx.const(sign) * (g / safe ** (p - 1))
        return x * absx ** (p - 2) * (g / safe ** (p - 1))


@numpy_names
def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):
    """torch.norm: a vector p-norm over ``dim`` (all elements by default); 'fro' over at most two
    dims is the 2-norm; 'nuc' and other matrix norms are ``ember.linalg.matrix_norm``'s."""
    if isinstance(dim, int):
        dim = (dim,)
    if isinstance(p, str):
        if p == "fro" and (dim is None or len(dim) <= 2):
            p = 2.0
        else:
            from ember import linalg

            dims = tuple(range(input.ndim)) if dim is None else dim
            return handle_out(linalg.matrix_norm(input, p, dims, keepdim, dtype=dtype), out,
                              "norm")
    if p is None:
        p = 2.0
    x = input if dtype is None else input.to(dtype)
    return handle_out(LinalgVectorNorm.apply(x, p=p, dim=dim, keepdim=keepdim), out, "norm")


# --- logsumexp, softmax ---------------------------------------------------------------------------


class Logsumexp(Primitive):
    """``log(sum(exp(x)))`` over ``dim``, shifted by the max so that it does not overflow."""

    @staticmethod
    def forward(ctx, a, dim, keepdim=False):
        xp = ctx.xp
        rdt = _dt.get_default_dtype().np if a.dtype.kind in "biu" else a.dtype
        x = _upcast(a.astype(rdt))
        axes = normalize_dims(dim, a.ndim)
        _save_meta(ctx, a, axes, keepdim)
        if a.size == 0:
            with np.errstate(divide="ignore"):
                out = xp.log(xp.exp(x).sum(axis=axes, keepdims=keepdim))
        else:
            m = x.max(axis=axes, keepdims=True)
            if xp.isfinite(m).all():
                s = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True))
            else:  # torch: an infinite max is not subtracted (log(0) = -inf is no error)
                m = xp.where(xp.isinf(m), 0, m).astype(x.dtype)
                with np.errstate(divide="ignore"):
                    s = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True))
            out = (s + m) if keepdim else (s + m).squeeze(axes)
        out = xp.asarray(out, dtype=rdt)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return _unreduce(g, ctx) * (x - _unreduce(out, ctx)).exp()


def _softmax_input(a, axes, name):
    if not _inexact(a.dtype):
        kernel = "lastdim_kernel_impl" if axes and axes[0] == a.ndim - 1 else "kernel_impl"
        raise NotImplementedError(f'"{name}_{kernel}" not implemented for '
                                  f"'{scalar_type_name(a.dtype)}'")


class Softmax(Primitive):
    """``exp(x - max) / sum(exp(x - max))`` along ``dim``; fused backward (speed)."""

    @staticmethod
    def forward(ctx, a, dim):
        xp = ctx.xp
        axes = ctx.axes = normalize_dims(dim, a.ndim)
        _softmax_input(a, axes, "softmax")
        if a.size == 0:
            e = a.copy()
            ctx.save_for_backward(e)
            return e
        x = _upcast(a)
        m = x.max(axis=axes, keepdims=True)
        with np.errstate(invalid="ignore"):  # an infinite max makes NaNs, as in torch
            e = xp.exp(x - m)
            e /= e.sum(axis=axes, keepdims=True)
        e = xp.asarray(e, dtype=a.dtype)
        ctx.save_for_backward(e)
        return e

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved_tensors
        return s * (g - (g * s).sum(ctx.axes, keepdim=True))


class LogSoftmax(Primitive):
    """``x - max - log(sum(exp(x - max)))`` along ``dim``; fused backward (stability and speed)."""

    @staticmethod
    def forward(ctx, a, dim):
        xp = ctx.xp
        axes = ctx.axes = normalize_dims(dim, a.ndim)
        _softmax_input(a, axes, "log_softmax")
        if a.size == 0:
            out = a.copy()
            ctx.save_for_backward(out)
            return out
        x = _upcast(a)
        with np.errstate(invalid="ignore", divide="ignore"):  # an infinite max, as in softmax
            shifted = x - x.max(axis=axes, keepdims=True)
            shifted -= xp.log(xp.exp(shifted).sum(axis=axes, keepdims=True))
        out = xp.asarray(shifted, dtype=a.dtype)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - out.exp() * g.sum(ctx.axes, keepdim=True)


@numpy_names
def logsumexp(input, dim, keepdim=False, *, out=None):
    """``log(sum(exp(input)))`` over ``dim``, computed stably; integers give the default float."""
    return handle_out(Logsumexp.apply(input, dim=dim, keepdim=keepdim), out, "logsumexp")


@numpy_names
def softmax(input, dim, dtype=None):
    """``exp(input)`` normalised to sum to 1 along ``dim`` (``dtype``: cast the input first)."""
    return Softmax.apply(input if dtype is None else input.to(dtype), dim=dim)


@numpy_names
def log_softmax(input, dim, dtype=None):
    """``log(softmax(input, dim))``, computed stably."""
    return LogSoftmax.apply(input if dtype is None else input.to(dtype), dim=dim)


# --- logical and counting reductions --------------------------------------------------------------


class Logical(Primitive):
    """all / any: bool results (uint8 for uint8 input, as torch)."""

    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, every=True):
        axes = normalize_dims(dim, a.ndim)
        out = a.all(axis=axes, keepdims=keepdim) if every else a.any(axis=axes, keepdims=keepdim)
        return out.astype(np.uint8) if a.dtype == np.uint8 else out


class CountNonzero(Primitive):
    @staticmethod
    def forward(ctx, a, dim=None):
        axes = normalize_dims(dim, a.ndim)
        return ctx.xp.asarray((a != 0).sum(axis=axes), dtype=np.int64)


class Trace(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {a.ndim}")
        if a.dtype == np.bool_:
            raise NotImplementedError("\"trace\" not implemented for 'Bool'")
        ctx.shape, ctx.dtype = a.shape, a.dtype
        return a.trace(dtype=_sum_dtype(a, None))

    @staticmethod
    def backward(ctx, g):
        return g * ctx.const(ctx.xp.eye(*ctx.shape, dtype=ctx.dtype))


@numpy_names
def all(input, dim=None, keepdim=False, *, out=None):  # noqa: A001 - torch.all
    """Whether every element (over ``dim``) is nonzero."""
    return handle_out(Logical.apply(input, dim=dim, keepdim=keepdim, every=True), out, "all")


@numpy_names
def any(input, dim=None, keepdim=False, *, out=None):  # noqa: A001 - torch.any
    """Whether some element (over ``dim``) is nonzero."""
    return handle_out(Logical.apply(input, dim=dim, keepdim=keepdim, every=False), out, "any")


@numpy_names
def count_nonzero(input, dim=None):
    """The number of nonzero elements (over ``dim``), as int64."""
    return CountNonzero.apply(input, dim=dim)


def trace(input):
    """The sum of a matrix's diagonal; integers give int64."""
    return Trace.apply(input)


class ReductionMethods:
    """Tensor methods of this family."""

    __slots__ = ()

    @numpy_names
    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return Sum.apply(self, dim=dim, keepdim=keepdim, dtype=dtype)

    @numpy_names
    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return Nansum.apply(self, dim=dim, keepdim=keepdim, dtype=dtype)

    @numpy_names
    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return Mean.apply(self, dim=dim, keepdim=keepdim, dtype=dtype)

    @numpy_names
    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        return nanmean(self, dim, keepdim, dtype=dtype)

    @numpy_names
    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return prod(self, dim, keepdim, dtype=dtype)

    @numpy_names
    def cumsum(self, dim, *, dtype=None):
        return Cumsum.apply(self, dim=dim, dtype=dtype)

    def cumsum_(self, dim, *, dtype=None):
        return self._inplace(Cumsum, dim=dim, dtype=dtype)

    @numpy_names
    def cumprod(self, dim, *, dtype=None):
        return Cumprod.apply(self, dim=dim, dtype=dtype)

    def cumprod_(self, dim, *, dtype=None):
        return self._inplace(Cumprod, dim=dim, dtype=dtype)

    @numpy_names
    def cummax(self, dim):
        return cummax(self, dim)

    @numpy_names
    def cummin(self, dim):
        return cummin(self, dim)

    @numpy_names
    def max(self, dim=None, keepdim=False, *, other=None):
        return _extreme(self, dim, keepdim, other, None, True)

    @numpy_names
    def min(self, dim=None, keepdim=False, *, other=None):
        return _extreme(self, dim, keepdim, other, None, False)

    @numpy_names
    def amax(self, dim=(), keepdim=False):
        return Amax.apply(self, dim=dim, keepdim=keepdim, largest=True, name="amax")

    @numpy_names
    def amin(self, dim=(), keepdim=False):
        return Amax.apply(self, dim=dim, keepdim=keepdim, largest=False, name="amin")

    @numpy_names
    def argmax(self, dim=None, keepdim=False):
        return argmax(self, dim, keepdim)

    @numpy_names
    def argmin(self, dim=None, keepdim=False):
        return argmin(self, dim, keepdim)

    @numpy_names
    def aminmax(self, *, dim=None, keepdim=False):
        return aminmax(self, dim=dim, keepdim=keepdim)

    @numpy_names
    def median(self, dim=None, keepdim=False):
        return median(self, dim, keepdim)

    @numpy_names
    def nanmedian(self, dim=None, keepdim=False):
        return nanmedian(self, dim, keepdim)

    @numpy_names
    def mode(self, dim=-1, keepdim=False):
        return mode(self, dim, keepdim)

    @numpy_names
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return var(self, dim, unbiased, keepdim, correction=correction)

    @numpy_names
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return std(self, dim, unbiased, keepdim, correction=correction)

    @numpy_names
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return norm(self, p, dim, keepdim, dtype=dtype)

    @numpy_names
    def logsumexp(self, dim, keepdim=False):
        return Logsumexp.apply(self, dim=dim, keepdim=keepdim)

    @numpy_names
    def softmax(self, dim, dtype=None):
        return softmax(self, dim, dtype)

    @numpy_names
    def log_softmax(self, dim, dtype=None):
        return log_softmax(self, dim, dtype)

    @numpy_names
    def all(self, dim=None, keepdim=False):
        return Logical.apply(self, dim=dim, keepdim=keepdim, every=True)

    @numpy_names
    def any(self, dim=None, keepdim=False):
        return Logical.apply(self, dim=dim, keepdim=keepdim, every=False)

    @numpy_names
    def count_nonzero(self, dim=None):
        return CountNonzero.apply(self, dim=dim)

    def trace(self):
        return Trace.apply(self)
