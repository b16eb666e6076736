"""Reductions over ``dim`` (an int or a tuple) with ``keepdim``: sum, mean, ... ."""

from __future__ import annotations

from ember import dtypes as _dt
from ember.autograd.function import Primitive

__all__ = ["sum"]


def normalize_dims(dim, ndim: int):
    """``dim`` (None, an int or a sequence) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    out = []
    for d in dims:
        if not lo <= d <= hi:
            raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                             f"but got {d})")
        d = d % ndim if ndim else 0
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out))


def _sum_dtype(a, dtype):
    """torch.sum's result dtype: integers and bools accumulate in int64 unless told otherwise."""
    if dtype is not None:
        return _dt.to_dtype(dtype).np
    return _dt.int64.np if a.dtype.kind in "biu" else a.dtype


class Sum(Primitive):
    @staticmethod
    def forward(ctx, a, dim=None, keepdim=False, dtype=None):
        axes = normalize_dims(dim, a.ndim)
        ctx.shape, ctx.axes, ctx.keepdim = a.shape, axes, keepdim
        if a.ndim == 0:
            return a.astype(_sum_dtype(a, dtype), copy=True)
        return a.sum(axis=axes, keepdims=keepdim, dtype=_sum_dtype(a, dtype))

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdim and ctx.axes:
            g = g.reshape(tuple(1 if i in ctx.axes else n for i, n in enumerate(ctx.shape)))
        return g.expand(ctx.shape)


def sum(input, dim=None, keepdim=False, *, dtype=None):  # noqa: A001 - torch.sum
    """The sum of all elements, or over ``dim``."""
    return Sum.apply(input, dim=dim, keepdim=keepdim, dtype=dtype)


class ReductionMethods:
    """Tensor methods of this family."""

    __slots__ = ()

    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return Sum.apply(self, dim=dim, keepdim=keepdim, dtype=dtype)
