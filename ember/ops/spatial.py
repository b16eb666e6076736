"""Pooling, unpooling, interpolation, unfold/fold and pixel shuffle over (N, C, *spatial) tensors.

Every op here is linear in its input once the pooling windows' argmaxes are known, so each comes
as a pair of primitives that are each other's adjoint (``MaxPoolScatter``/``MaxPoolGather``,
``AvgPool``/``AvgPoolAdjoint``, ``Unfold``/``Fold``, ``Resample`` with the transposed matrices...):
a backward is the partner's forward, and gradients of gradients come for free.
"""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from ember.autograd.function import Primitive
from ember.backend import array_module
from ember.backend import conv as K
from ember.ops.conv import _ints
from ember.ops.shape import wrap_dim

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
           "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
           "lp_pool1d", "lp_pool2d", "unfold", "fold", "interpolate", "upsample",
           "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle"]

_LARGE_WINDOW = 16  # from this many elements per window, pool by reshaping instead of by offsets


# --- primitives -----------------------------------------------------------------------------------

class MaxPool(Primitive):
    """Window maxima; the argmax (kept on ctx) routes the gradient; ``indices`` returns it too."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, pads, dilation, out, indices=False):
        geom = (kernel, stride, pads, dilation)
        ctx.geom, ctx.in_spatial, ctx.flat = geom, x.shape[2:], None
        if _reshapable(x.shape[2:], kernel, stride, pads, dilation, out):
            y, arg = _reshape_max(ctx.xp, x, kernel, out)
            # large windows: one scatter by flat index beats a pass per kernel offset
            ctx.flat = K.flat_indices(ctx.xp, arg, *geom, x.shape[2:])
        else:
            y, arg = K.max_pool(ctx.xp, x, *geom, out, bool(ctx.needs_input_grad) or indices)
        ctx.arg = arg
        if indices:
            flat = ctx.flat if ctx.flat is not None else K.flat_indices(ctx.xp, arg, *geom,
                                                                        x.shape[2:])
            return y, flat
        return y

    @staticmethod
    def backward(ctx, g, _=None):
        if ctx.flat is not None:
            return SpatialScatterAdd.apply(g, idx=ctx.flat, size=ctx.in_spatial)
        return MaxPoolScatter.apply(g, arg=ctx.arg, geom=ctx.geom, in_spatial=ctx.in_spatial)


class MaxPoolScatter(Primitive):
    """Each window's value sent to the window's argmax (the max-pool gradient)."""

    @staticmethod
    def forward(ctx, g, *, arg, geom, in_spatial):
        ctx.arg, ctx.geom = arg, geom
        return K.max_pool_scatter(ctx.xp, g, arg, *geom, in_spatial)

    @staticmethod
    def backward(ctx, h):
        return MaxPoolGather.apply(h, arg=ctx.arg, geom=ctx.geom)


class MaxPoolGather(Primitive):
    """Each window's argmax element read (the adjoint of ``MaxPoolScatter``)."""

    @staticmethod
    def forward(ctx, h, *, arg, geom):
        ctx.arg, ctx.geom, ctx.in_spatial = arg, geom, h.shape[2:]
        return K.max_pool_gather(ctx.xp, h, arg, *geom)

    @staticmethod
    def backward(ctx, g):
        return MaxPoolScatter.apply(g, arg=ctx.arg, geom=ctx.geom, in_spatial=ctx.in_spatial)


class AvgPool(Primitive):
    """Window sums divided by ``div`` (PyTorch's divisor per window, or ``divisor_override``)."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, pads, out, div):
        ctx.params, ctx.in_spatial = dict(kernel=kernel, stride=stride, pads=pads, div=div), \
            x.shape[2:]
        if _reshapable(x.shape[2:], kernel, stride, pads, (1,) * len(kernel), out):
            y = _blocks(x, kernel, out).sum(axis=tuple(range(3, 2 + 2 * len(kernel), 2)))
        else:
            y = K.window_sum(ctx.xp, x, kernel, stride, pads, out)
        if y.dtype.kind in "iu":  # C++ integer division truncates
            return ctx.xp.trunc(y / div).astype(y.dtype)
        y /= div
        return y

    @staticmethod
    def backward(ctx, g):
        return AvgPoolAdjoint.apply(g, in_spatial=ctx.in_spatial, **ctx.params)


class AvgPoolAdjoint(Primitive):
    """``g / div`` spread back over every window (the average-pool gradient)."""

    @staticmethod
    def forward(ctx, g, *, kernel, stride, pads, div, in_spatial):
        ctx.params, ctx.out = dict(kernel=kernel, stride=stride, pads=pads, div=div), g.shape[2:]
        return K.window_sum_adjoint(ctx.xp, g / div, kernel, stride, pads, in_spatial)

    @staticmethod
    def backward(ctx, h):
        return AvgPool.apply(h, out=ctx.out, **ctx.params)


class SpatialScatter(Primitive):
    """(N, C, *in) values written at flat positions ``idx`` of (N, C, *size) zeros."""

    @staticmethod
    def forward(ctx, g, *, idx, size):
        ctx.idx = idx
        xp = ctx.xp
        N, C = g.shape[:2]
        S = math.prod(size)
        out = xp.zeros((N * C, S), dtype=g.dtype)
        rows = xp.arange(N * C).reshape(-1, 1)
        out[rows, idx.reshape(N * C, -1)] = g.reshape(N * C, -1)
        return out.reshape((N, C) + tuple(size))

    @staticmethod
    def backward(ctx, h):
        return SpatialGather.apply(h, idx=ctx.idx)


class SpatialGather(Primitive):
    """(N, C, *size) read at flat positions ``idx`` (N, C, *out) of each plane."""

    @staticmethod
    def forward(ctx, x, *, idx):
        ctx.idx, ctx.size = idx, x.shape[2:]
        N, C = x.shape[:2]
        flat = ctx.xp.take_along_axis(x.reshape(N, C, -1), idx.reshape(N, C, -1), axis=2)
        return flat.reshape(idx.shape)

    @staticmethod
    def backward(ctx, g):
        return SpatialScatterAdd.apply(g, idx=ctx.idx, size=ctx.size)


class SpatialScatterAdd(Primitive):
    """Like ``SpatialScatter`` but repeated positions add up: the gradient of a gather."""

    @staticmethod
    def forward(ctx, g, *, idx, size):
        ctx.idx = idx
        xp = ctx.xp
        N, C = g.shape[:2]
        S = math.prod(size)
        flat = (idx.reshape(N * C, -1) + xp.arange(N * C).reshape(-1, 1) * S).ravel()
        out = xp.zeros(N * C * S, dtype=g.dtype)
        xp.add.at(out, flat, g.ravel())
        return out.reshape((N, C) + tuple(size))

    @staticmethod
    def backward(ctx, h):
        return SpatialGather.apply(h, idx=ctx.idx)


class Resample(Primitive):
    """Each spatial axis multiplied by its own matrix ``(out, in)``; ``idx`` marks a plain gather.

    Interpolation (every mode) and adaptive average pooling are separable, so this one linear
    primitive, with the transposed matrices as its backward, covers them all.
    """

    @staticmethod
    def forward(ctx, x, *, mats):
        ctx.mats, ctx.in_spatial = mats, x.shape[2:]
        xp = ctx.xp
        for i, (M, idx) in enumerate(mats):
            if M is None:
                continue
            a = 2 + i
            if idx is not None:
                x = xp.take(x, xp.asarray(idx), axis=a)
                continue
            M = xp.asarray(M, dtype=x.dtype)
            shape = x.shape
            B, L, A = math.prod(shape[:a]), shape[a], math.prod(shape[a + 1:])
            if A == 1:
                x = x.reshape(B, L) @ M.T
            else:
                x = xp.matmul(M, x.reshape(B, L, A))
            x = x.reshape(shape[:a] + (M.shape[0],) + shape[a + 1:])
        return xp.ascontiguousarray(x)

    @staticmethod
    def backward(ctx, g):
        mats = tuple((None, None) if M is None else (M.T, None) for M, _ in ctx.mats)
        return Resample.apply(g, mats=mats)


class Unfold(Primitive):
    """Sliding blocks (N, C * prod(kernel), L): im2col, as ``F.unfold``."""

    @staticmethod
    def forward(ctx, x, *, kernel, stride, pads, dilation, out):
        ctx.params, ctx.in_spatial = (kernel, stride, pads, dilation), x.shape[2:]
        cols = K._im2col(ctx.xp, x, kernel, stride, pads, dilation, out, False)
        return cols.reshape(x.shape[0], -1, math.prod(out))

    @staticmethod
    def backward(ctx, g):
        kernel, stride, pads, dilation = ctx.params
        return Fold.apply(g, kernel=kernel, stride=stride, pads=pads, dilation=dilation,
                          size=ctx.in_spatial)


class Fold(Primitive):
    """Sliding blocks summed back into (N, C, *size): col2im, as ``F.fold``."""

    @staticmethod
    def forward(ctx, cols, *, kernel, stride, pads, dilation, size):
        xp = ctx.xp
        out = tuple(K.out_size(n, k, s, lo, hi, d)
                    for n, k, s, (lo, hi), d in zip(size, kernel, stride, pads, dilation))
        ctx.params = (kernel, stride, pads, dilation, out)
        N = cols.shape[0]
        C = cols.shape[1] // math.prod(kernel)
        padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
        buf = xp.zeros((N, C) + padded, dtype=cols.dtype)
        K.col2im(xp, cols.reshape((N, C) + tuple(kernel) + out), buf, stride, dilation, out)
        return xp.ascontiguousarray(K._crop(buf, size, pads))

    @staticmethod
    def backward(ctx, g):
        kernel, stride, pads, dilation, out = ctx.params
        return Unfold.apply(g, kernel=kernel, stride=stride, pads=pads, dilation=dilation, out=out)


class PixelShuffle(Primitive):
    """(*, C r^2, H, W) -> (*, C, H r, W r), or the inverse with ``inverse=True``."""

    @staticmethod
    def forward(ctx, x, *, r, inverse=False):
        ctx.r, ctx.inverse = r, inverse
        lead, (C, H, W) = x.shape[:-3], x.shape[-3:]
        n = len(lead)
        if inverse:
            y = x.reshape(lead + (C, H // r, r, W // r, r))
            y = y.transpose(tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
            return ctx.xp.ascontiguousarray(y).reshape(lead + (C * r * r, H // r, W // r))
        y = x.reshape(lead + (C // (r * r), r, r, H, W))
        y = y.transpose(tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
        return ctx.xp.ascontiguousarray(y).reshape(lead + (C // (r * r), H * r, W * r))

    @staticmethod
    def backward(ctx, g):
        return PixelShuffle.apply(g, r=ctx.r, inverse=not ctx.inverse)


def _reshapable(in_spatial, kernel, stride, pads, dilation, out) -> bool:
    """Large non-overlapping windows tiling the input exactly: pool by a reshape + reduction."""
    return (math.prod(kernel) >= _LARGE_WINDOW and tuple(kernel) == tuple(stride)
            and not any(lo or hi for lo, hi in pads) and all(d == 1 for d in dilation)
            and all(k * n == size for k, n, size in zip(kernel, out, in_spatial)))


def _blocks(x, kernel, out):
    """(N, C, o1, k1, o2, k2, ...) view of an input tiled exactly by its windows."""
    return x.reshape(x.shape[:2] + tuple(v for o, k in zip(out, kernel) for v in (o, k)))


def _reshape_max(xp, x, kernel, out):
    nd = len(kernel)
    b = _blocks(x, kernel, out)
    order = (0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2))
    w = xp.ascontiguousarray(b.transpose(order)).reshape(x.shape[:2] + tuple(out) + (-1,))
    arg = w.argmax(axis=-1)
    y = xp.take_along_axis(w, arg[..., None], axis=-1)[..., 0]
    return y, arg.astype(xp.int32)


# --- argument handling, with PyTorch's wording ----------------------------------------------------

def _tup(value, n: int, fn: str, name: str) -> tuple:
    """Convolution's ``_ints``, with pooling's wording for a wrong count."""
    try:
        return _ints(value, n, name, fn)
    except RuntimeError:
        raise RuntimeError(f"{fn}: {name} must either be a single int, or a tuple of {n} ints"
                           ) from None


def _batch(input, nd: int, fn: str):
    """(input with a batch dimension, whether it had none); PyTorch's error for other ranks."""
    if input.ndim == nd + 1:
        return input.reshape((1,) + tuple(input.shape)), True
    if input.ndim != nd + 2:
        raise RuntimeError(f"{fn}: non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected "
                           f"for input, but got input of size: {list(input.shape)}")
    return input, False


def _unbatch(t, unbatched):
    return t.reshape(tuple(t.shape[1:])) if unbatched else t


def _pool_out(size, k, s, p, d, ceil_mode) -> int:
    """PyTorch's pooling output size (``pooling_output_shape``)."""
    n = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (n - 1) * s >= size + p:
        n -= 1
    return n


def _pool_geometry(fn, nd, x, kernel_size, stride, padding, dilation, ceil_mode):
    k = _tup(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _tup(
        stride, nd, fn, "stride")
    p = _tup(padding, nd, fn, "padding")
    d = _tup(dilation, nd, fn, "dilation")
    if any(v == 0 for v in s):
        raise RuntimeError("stride should not be zero")
    if any(v <= 0 for v in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got {list(k)}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(d)}")
    for pi, ki, di in zip(p, k, d):
        if pi < 0 or pi > (di * (ki - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pi}, kernel_size={ki} and dilation={di}")
    in_spatial = tuple(x.shape[2:])
    out = tuple(_pool_out(n, *v, ceil_mode) for n, *v in zip(in_spatial, k, s, p, d))
    if any(n < 1 for n in out):
        raise RuntimeError(f"Given input size: ({'x'.join(map(str, x.shape[1:]))}). Calculated "
                           f"output size: ({'x'.join(map(str, (x.shape[1],) + out))}). Output size "
                           "is too small")
    return k, s, p, d, out


def _check_dtype(x, fn, allow_int=True):
    if x.dtype.name == "bool" or x.dtype.is_complex or (not allow_int and not
                                                         x.dtype.is_floating_point):
        raise NotImplementedError(f'"{fn}" not implemented for '
                                  f"'{x.dtype.name.capitalize()}'")


# --- max pooling ---------------------------------------------------------------------------------

def _max_pool(fn, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched = _batch(input, nd, fn)
    _check_dtype(x, fn)
    k, s, p, d, out = _pool_geometry(fn, nd, x, kernel_size, stride, padding, dilation, ceil_mode)
    pads = K.pool_pads(tuple(x.shape[2:]), k, s, p, d, out)
    r = MaxPool.apply(x, kernel=k, stride=s, pads=pads, dilation=d, out=out,
                      indices=return_indices)
    if return_indices:
        return _unbatch(r[0], unbatched), _unbatch(r[1], unbatched)
    return _unbatch(r, unbatched)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling over (N, C, L) or (C, L); ``return_indices`` adds flat argmax positions."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling over (N, C, H, W) or (C, H, W); ``stride`` defaults to ``kernel_size``.

    Args:
        padding: implicit -inf on both sides, at most half the (dilated) kernel.
        ceil_mode: round the output size up (a last, partial window when it starts in the input).
        return_indices: also return each maximum's position in the flattened H*W plane.
    """
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# --- average pooling ------------------------------------------------------------------------------

def _avg_pool(fn, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    x, unbatched = _batch(input, nd, fn)
    _check_dtype(x, fn)
    k, s, p, _, out = _pool_geometry(fn, nd, x, kernel_size, stride, padding, 1, ceil_mode)
    in_spatial = tuple(x.shape[2:])
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        div = x._data.dtype.type(divisor_override)
    else:
        div = K.avg_divisor(array_module(x.device), in_spatial, k, s, p, out, count_include_pad,
                            x._data.dtype)
    pads = K.pool_pads(in_spatial, k, s, p, (1,) * nd, out)
    y = AvgPool.apply(x, kernel=k, stride=s, pads=pads, out=out, div=div)
    return _unbatch(y, unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling over (N, C, L) or (C, L)."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """2-D average pooling over (N, C, H, W) or (C, H, W).

    Args:
        count_include_pad: whether the zero padding counts in each window's divisor.
        divisor_override: divide every window's sum by this instead.
    """
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W)."""
    return _avg_pool("avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: ``(sum x^p)^(1/p)`` over each window, as PyTorch composes it."""
    if norm_type == float("inf"):
        return max_pool1d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool1d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    k = _tup(kernel_size, 1, "lp_pool1d", "kernel_size")[0]
    return (out.sign() * out.abs().relu()).mul(k).pow(1.0 / norm_type)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """2-D power-average pooling: ``(sum x^p)^(1/p)`` over each window."""
    if norm_type == float("inf"):
        return max_pool2d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool2d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    kh, kw = _tup(kernel_size, 2, "lp_pool2d", "kernel_size")
    out = avg_pool2d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(kh * kw).pow(1.0 / norm_type)


# --- adaptive pooling ----------------------------------------------------------------------------

def _adaptive_size(fn, nd, x, output_size) -> tuple:
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * nd
    if len(size) != nd:
        raise RuntimeError(f"{fn}: output_size must be {nd}")
    return tuple(x.shape[2 + i] if v is None else operator.index(v) for i, v in enumerate(size))


def _adaptive_bounds(size: int, n: int):
    """PyTorch's adaptive windows along one dimension: [floor(i L / n), ceil((i + 1) L / n))."""
    i = np.arange(n)
    return (i * size) // n, -((-(i + 1) * size) // n)


def _adaptive_avg(fn, nd, input, output_size):
    x, unbatched = _batch(input, nd, fn)
    _check_dtype(x, fn, allow_int=False)
    out = _adaptive_size(fn, nd, x, output_size)
    in_spatial = tuple(x.shape[2:])
    if all(n > 0 and size % n == 0 for size, n in zip(in_spatial, out)):
        k = tuple(size // n for size, n in zip(in_spatial, out))
        div = x._data.dtype.type(math.prod(k))
        y = AvgPool.apply(x, kernel=k, stride=k, pads=((0, 0),) * nd, out=out, div=div)
        return _unbatch(y, unbatched)
    mats = []
    for size, n in zip(in_spatial, out):
        start, end = _adaptive_bounds(size, n)
        M = np.zeros((n, size))
        for i in range(n):
            M[i, start[i]:end[i]] = 1.0 / (end[i] - start[i])
        mats.append((M, None))
    return _unbatch(Resample.apply(x, mats=tuple(mats)), unbatched)


def adaptive_avg_pool1d(input, output_size):
    """Average pooling to a fixed output length (windows as PyTorch cuts them)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed (H, W); ``None`` keeps that input size; 1 is global pooling."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input, output_size):
    """Average pooling to a fixed (D, H, W)."""
    return _adaptive_avg("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max(fn, nd, input, output_size, return_indices):
    x, unbatched = _batch(input, nd, fn)
    _check_dtype(x, fn, allow_int=False)
    out = _adaptive_size(fn, nd, x, output_size)
    in_spatial = tuple(x.shape[2:])
    if all(n > 0 and size % n == 0 for size, n in zip(in_spatial, out)):
        k = tuple(size // n for size, n in zip(in_spatial, out))
        r = MaxPool.apply(x, kernel=k, stride=k, pads=((0, 0),) * nd, dilation=(1,) * nd, out=out,
                          indices=return_indices)
    else:
        idx = _adaptive_argmax(x, in_spatial, out)
        y = SpatialGather.apply(x, idx=idx)
        r = (y, x.__class__._make(idx, x.device)) if return_indices else y
    if return_indices:
        return _unbatch(r[0], unbatched), _unbatch(r[1], unbatched)
    return _unbatch(r, unbatched)


def _adaptive_argmax(x, in_spatial, out):
    """Flat positions of the maxima of PyTorch's adaptive windows (which vary in size)."""
    from ember.backend import array_module

    xp = array_module(x.device)
    nd = len(out)
    gathers = []
    for size, n in zip(in_spatial, out):
        start, end = _adaptive_bounds(size, n)
        width = int((end - start).max())
        # windows padded to a common width by repeating their last element: maxima unchanged
        gathers.append(np.minimum(start[:, None] + np.arange(width), end[:, None] - 1))
    data = x._data
    v = data
    for i, g in enumerate(gathers):  # (N, C, o1, k1, o2, k2, ...)
        a = 2 + 2 * i
        v = xp.take(v, xp.asarray(g.ravel()), axis=a)
        v = v.reshape(v.shape[:a] + g.shape + v.shape[a + 1:])
    order = (0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2))
    w = v.transpose(order).reshape(data.shape[:2] + tuple(out) + (-1,))
    if data.dtype.kind == "f":  # NaN is the maximum, as in PyTorch
        w = xp.where(xp.isnan(w), xp.inf, w)
    arg = w.argmax(axis=-1)
    widths = [g.shape[1] for g in gathers]
    idx = xp.zeros(arg.shape, dtype=xp.int64)
    rem = arg
    for i in range(nd - 1, -1, -1):  # kernel offset per dimension -> input position
        off = rem % widths[i]
        rem = rem // widths[i]
        pos = xp.asarray(gathers[i])[xp.arange(out[i]).reshape((-1,) + (1,) * (nd - 1 - i)), off]
        idx += pos * math.prod(in_spatial[i + 1:])
    return idx


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max pooling to a fixed output length; ``return_indices`` adds the argmax positions."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed (H, W)."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max pooling to a fixed (D, H, W)."""
    return _adaptive_max("adaptive_max_pool3d", 3, input, output_size, return_indices)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=True):
    return adaptive_max_pool3d(input, output_size, True)


# --- unpooling ------------------------------------------------------------------------------------

def _max_unpool(fn, nd, input, indices, kernel_size, stride, padding, output_size):
    k = _tup(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None else _tup(stride, nd, fn, "stride")
    p = _tup(padding, nd, fn, "padding")
    default = [(input.shape[-nd + i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(nd)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)
        if len(size) == nd + 2:
            size = size[2:]
        if len(size) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                             f"elements, but it has a length of '{len(size)}'")
        for i in range(nd):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < size[i] < hi:
                raise ValueError(f'invalid output_size "{output_size}" (dim {i} must be between '
                                 f"{lo} and {hi})")
    x, unbatched = _batch(input, nd, fn)
    idx = indices._data.reshape(x.shape)
    total = math.prod(size)
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        bad = idx.max() if idx.max() >= total else idx.min()
        raise RuntimeError(f"Found an invalid max index: {int(bad)} (output volumes are of size "
                           f"{'x'.join(map(str, size))}")
    y = SpatialScatter.apply(x, idx=idx, size=tuple(size))
    return _unbatch(y, unbatched)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool1d``: values put back at their indices, zeros elsewhere."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool2d``: values put back at their indices, zeros elsewhere."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                       output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of ``max_pool3d``."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                       output_size)


# --- unfold / fold -------------------------------------------------------------------------------

def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a (N, C, H, W) or (C, H, W) input: (N, C * kH * kW, L) (im2col)."""
    if input.ndim < 3:  # PyTorch indexes dimension 2 before it checks the rank
        wrap_dim(2, input.ndim)
    if input.ndim != 4 and input.ndim != 3:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and "
                           f"other non-zero dimensions for input, but got: {list(input.shape)}")
    x, unbatched = _batch(input, 2, "unfold")
    k, d = _tup(kernel_size, 2, "unfold", "kernel_size"), _tup(dilation, 2, "unfold", "dilation")
    p, s = _tup(padding, 2, "unfold", "padding"), _tup(stride, 2, "unfold", "stride")
    _check_blocks("unfold", k, d, p, s)
    out = tuple(K.out_size(n, ki, si, pi, pi, di) for n, ki, si, pi, di in
                zip(x.shape[2:], k, s, p, d))
    if any(n < 1 for n in out):
        raise RuntimeError(f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size={k}, "
                           f"dilation={d}, padding={p}, calculated shape of the array of sliding "
                           f"blocks as {out}, but its components must be at least one.")
    y = Unfold.apply(x, kernel=k, stride=s, pads=tuple((v, v) for v in p), dilation=d, out=out)
    return _unbatch(y, unbatched)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks (N, C * kH * kW, L) summed into (N, C, *output_size) (col2im)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch "
                           f"size and non-zero dimensions for input, but got: {list(input.shape)}")
    x, unbatched = (input.reshape((1,) + tuple(input.shape)), True) if input.ndim == 2 else (
        input, False)
    size = _tup(output_size, 2, "fold", "output_size")
    k, d = _tup(kernel_size, 2, "fold", "kernel_size"), _tup(dilation, 2, "fold", "dilation")
    p, s = _tup(padding, 2, "fold", "padding"), _tup(stride, 2, "fold", "stride")
    _check_blocks("fold", k, d, p, s)
    if x.shape[1] % math.prod(k):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size={k}.")
    out = tuple(K.out_size(n, ki, si, pi, pi, di) for n, ki, si, pi, di in zip(size, k, s, p, d))
    if math.prod(out) != x.shape[2]:
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {out[0]} * {out[1]} = "
                           f"{math.prod(out)}, but got input.size(2)={x.shape[2]}.")
    y = Fold.apply(x, kernel=k, stride=s, pads=tuple((v, v) for v in p), dilation=d, size=size)
    return _unbatch(y, unbatched)


def _check_blocks(fn, k, d, p, s):
    if any(v <= 0 for v in k):
        raise RuntimeError(f"{fn}: kernel size should be greater than zero, but got {k}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"{fn}: dilation should be greater than zero, but got {d}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"{fn}: padding should be non-negative, but got {p}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"{fn}: stride should be greater than zero, but got {s}")


# --- interpolation -------------------------------------------------------------------------------

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_MODE_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def _compute_dtype(x):
    """The dtype PyTorch computes interpolation weights in: float, or double for double."""
    return np.float64 if x.dtype.name == "float64" else np.float32


def _nearest_index(size, n, scale, exact):
    """PyTorch's nearest source index per output position (float32 arithmetic, as its kernel)."""
    dst = np.arange(n)
    if not exact and n == size:
        return dst
    if not exact and n == 2 * size:
        return dst >> 1
    f32 = np.float32
    s = f32(1.0 / scale) if scale is not None and scale > 0 else f32(size) / f32(n)
    if exact:
        src = np.floor((dst + 0.5) * np.float64(s)).astype(np.int64)
    else:
        src = np.floor(dst.astype(f32) * s).astype(np.int64)
    return np.minimum(src, size - 1)


def _source_coords(size, n, scale, align_corners, cubic, dt):
    """Real-valued source coordinates (``area_pixel_compute_source_index``)."""
    dst = np.arange(n, dtype=dt)
    if align_corners:
        s = dt(size - 1) / dt(n - 1) if n > 1 else dt(0)
        return s * dst
    s = dt(1.0 / scale) if scale is not None and scale > 0 else dt(size) / dt(n)
    src = s * (dst + dt(0.5)) - dt(0.5)
    return src if cubic else np.maximum(src, dt(0))


def _linear_matrix(size, n, scale, align_corners, dt):
    src = _source_coords(size, n, scale, align_corners, False, dt)
    i0 = src.astype(np.int64)
    i1 = i0 + (i0 < size - 1)
    l1 = np.clip(src - i0, 0, 1).astype(dt)
    M = np.zeros((n, size), dtype=dt)
    rows = np.arange(n)
    np.add.at(M, (rows, i0), dt(1) - l1)
    np.add.at(M, (rows, i1), l1)
    return M


def _cubic_matrix(size, n, scale, align_corners, dt):
    src = _source_coords(size, n, scale, align_corners, True, dt)
    i0 = np.floor(src).astype(np.int64)
    t = (src - i0).astype(dt)
    A = dt(-0.75)

    def conv1(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def conv2(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    coeffs = (conv2(t + 1), conv1(t), conv1(1 - t), conv2(2 - t))
    M = np.zeros((n, size), dtype=dt)
    rows = np.arange(n)
    for j, c in enumerate(coeffs):
        np.add.at(M, (rows, np.clip(i0 - 1 + j, 0, size - 1)), c.astype(dt))
    return M


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, *spatial) by ``size`` or ``scale_factor`` with PyTorch's sampling rules.

    Args:
        mode: 'nearest' | 'nearest-exact' | 'linear' (3-D) | 'bilinear' | 'bicubic' (4-D) |
            'trilinear' (5-D) | 'area' (adaptive average pooling).
        align_corners: for the linear and cubic modes: map corner pixels onto corner pixels.
        recompute_scale_factor: compute the sampling scale from the output size, not the factor.
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    nd = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        if isinstance(size, (list, tuple)):
            if len(size) != nd:
                raise ValueError(f"Input and output must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{list(input.shape[2:])} and output size of {size}. Please "
                                 "provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                                 "size in (o1, o2, ...,oK) format.")
            if not all(isinstance(v, (int, np.integer)) for v in size):
                raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, int] "
                                f"or Tuple[int, int, int], but got size with types "
                                f"{[type(v) for v in size]}")
            out = [int(v) for v in size]
        else:
            out = [int(size)] * nd
        scales = [None] * nd
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != nd:
                raise ValueError(f"Input and scale_factor must have the same number of spatial "
                                 f"dimensions, but got input with spatial dimensions of "
                                 f"{list(input.shape[2:])} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, "
                                 "...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(v) for v in scale_factor]
        else:
            scales = [float(scale_factor)] * nd
        out = None
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not implemented in ember")
    if mode not in _MODES or nd not in (1, 2, 3):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.ndim}D) for the modes: nearest | linear | bilinear | "
                                  f"bicubic | trilinear | area | nearest-exact (got {mode})")
    want = _MODE_DIMS.get(mode)
    if want is not None and input.ndim != want:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {want}D input")
    in_spatial = tuple(input.shape[2:])
    if out is None:
        out = [int(math.floor(n * s)) for n, s in zip(in_spatial, scales)]
        if recompute_scale_factor or mode == "area":
            scales = [None] * nd
    if any(n <= 0 for n in out) or any(n <= 0 for n in in_spatial):
        names = ("D", "H", "W")[3 - nd:]
        raise RuntimeError(
            "Input and output sizes should be greater than 0, but got input ("
            + ", ".join(f"{a}: {b}" for a, b in zip(names, in_spatial)) + ") and output ("
            + ", ".join(f"{a}: {b}" for a, b in zip(names, out)) + ")")
    if mode == "area":
        return _adaptive_avg(f"adaptive_avg_pool{nd}d", nd, input, tuple(out))
    if not input.dtype.is_floating_point:
        kind = "nearest" if mode.startswith("nearest") else (
            "cubic" if mode == "bicubic" else "linear")
        raise NotImplementedError(f'"compute_indices_weights_{kind}" not implemented for '
                                  f"'{input.dtype.name.capitalize()}'")
    dt = _compute_dtype(input)
    mats = []
    for size_i, n, s in zip(in_spatial, out, scales):
        if mode in ("nearest", "nearest-exact"):
            idx = _nearest_index(size_i, n, s, mode == "nearest-exact")
            if n == size_i and mode == "nearest":
                mats.append((None, None))
                continue
            M = np.zeros((n, size_i), dtype=dt)
            M[np.arange(n), idx] = 1
            mats.append((M, idx))
        elif mode == "bicubic":
            mats.append((_cubic_matrix(size_i, n, s, align_corners, dt), None))
        else:
            mats.append((_linear_matrix(size_i, n, s, align_corners, dt), None))
    return Resample.apply(input, mats=tuple(mats))


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of ``interpolate``."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# --- pixel shuffle -------------------------------------------------------------------------------

def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): sub-pixel convolution's rearrangement."""
    r = operator.index(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    if input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible "
                           f"by the square of upscale_factor, but input.size(-3)="
                           f"{input.shape[-3]} is not divisible by {r * r}")
    return PixelShuffle.apply(input, r=r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of ``pixel_shuffle``."""
    r = operator.index(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    for name, i in (("height", -2), ("width", -1)):
        if input.shape[i] % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({i})={input.shape[i]} is not "
                               f"divisible by {r}")
    return PixelShuffle.apply(input, r=r, inverse=True)
