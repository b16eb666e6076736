"""Shape and movement: view, reshape, permute, squeeze, cat, split, flip, diagonal, ...

Views (``is_view = True``) return an array aliasing their input's memory, as PyTorch's views do:
view, expand, permute/transpose, squeeze/unsqueeze, slice (narrow, split, chunk), select (unbind),
diagonal, unfold and as_strided. An in-place change to a view shows in its input and the other way
round. The other ops (cat, flip, roll, repeat, tril, ...) copy, as in PyTorch.
"""
# ruff: noqa: A001, A002 - torch's argument name ``input`` is part of the API

from __future__ import annotations

import math
import operator

import numpy as np

from ember import _tensor
from ember import dtypes as _dt
from ember.autograd.function import Primitive
from ember.ops._numpy_names import numpy_names
from ember.ops.arithmetic import handle_out

__all__ = ["reshape", "permute", "transpose", "swapaxes", "swapdims", "t", "adjoint", "movedim",
           "moveaxis", "squeeze", "unsqueeze", "flatten", "unflatten", "ravel", "broadcast_to",
           "broadcast_tensors", "broadcast_shapes", "repeat_interleave", "tile", "cat", "concat",
           "concatenate", "stack", "hstack", "vstack", "row_stack", "dstack", "column_stack",
           "split", "tensor_split", "hsplit", "vsplit", "dsplit", "chunk", "unbind", "narrow",
           "select", "flip", "fliplr", "flipud", "roll", "diag", "diagonal", "diag_embed", "tril",
           "triu", "as_strided", "atleast_1d", "atleast_2d", "atleast_3d", "slice_scatter",
           "select_scatter", "diagonal_scatter"]


# --- helpers -------------------------------------------------------------------------------------


def wrap_dim(dim, ndim: int) -> int:
    """``dim`` as a non-negative axis of an ``ndim``-D tensor; IndexError like torch's."""
    dim = operator.index(dim)
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but "
                         f"got {dim})")
    return dim % ndim if ndim else 0


def _wrap_dims(dims, ndim: int) -> tuple:
    """A list of dims wrapped, refusing repeats as torch does."""
    out = []
    for d in dims:
        d = wrap_dim(d, ndim)
        if d in out:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(out)


def infer_shape(shape, numel: int) -> tuple:
    """``shape`` with a ``-1`` resolved; RuntimeError when it cannot hold ``numel`` elements."""
    shape = tuple(operator.index(s) for s in shape)
    infer = None
    for i, s in enumerate(shape):
        if s == -1:
            if infer is not None:
                raise RuntimeError("only one dimension can be inferred")
            infer = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = math.prod(s for s in shape if s != -1)
    if infer is not None:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:infer] + (numel // known,) + shape[infer + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _shape_args(shape) -> tuple:
    """``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` all mean the sizes (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _type_name(a, device) -> str:
    from ember._legacy_types import type_name

    return type_name(_dt.from_numpy_dtype(a.dtype), device).replace("ember.", "torch.")


def _as_strided(xp, a, shape, strides, writeable=True):
    """A view of ``a`` with byte ``strides``; read-only when its elements would overlap."""
    if xp is np:
        return np.lib.stride_tricks.as_strided(a, shape, strides,
                                               writeable=writeable and a.flags.writeable)
    return xp.lib.stride_tricks.as_strided(a, shape, strides)


def _tensors(tensors, name: str) -> list:
    """The tensor list of cat/stack, checked as torch checks it."""
    Tensor = _tensor.Tensor
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    for i, x in enumerate(tensors):
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(x).__name__}")
    return list(tensors)


def _promote_arrays(arrays):
    """The dtype all of ``arrays`` are cast to when joined (PyTorch's promotion table)."""
    dt = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dt:
            dt = _dt.promote_types(_dt.from_numpy_dtype(dt), _dt.from_numpy_dtype(a.dtype)).np
    return dt


# --- views ---------------------------------------------------------------------------------------


class View(Primitive):
    """A reshape that never copies; RuntimeError when the strides do not allow it."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        out = a.view()
        try:
            out.shape = shape  # NumPy refuses (AttributeError) exactly when a copy would be needed
        except AttributeError:
            infer_shape(shape, a.size)  # a bad shape is reported first, as torch does
            raise RuntimeError("view size is not compatible with input tensor's size and stride "
                               "(at least one dimension spans across two contiguous subspaces). "
                               "Use .reshape(...) instead.") from None
        except (ValueError, TypeError):
            out.shape = infer_shape(shape, a.size)  # raises torch's error for a bad shape
        if out.shape != shape:
            infer_shape(shape, a.size)  # NumPy read some negative size as -1; torch refuses it
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class ViewDtype(Primitive):
    """The same memory read as another dtype; not differentiable, as in PyTorch."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dtype):
        src, dst = a.dtype, dtype.np
        if src.itemsize != dst.itemsize:
            names = (_dt.from_numpy_dtype(src).name, dtype.name)
            if a.ndim == 0:
                raise RuntimeError(f"self.dim() cannot be 0 to view {names[0]} as {names[1]} "
                                   "(different element sizes)")
            if a.strides[-1] != a.itemsize and a.shape[-1] != 1:
                raise RuntimeError("self.stride(-1) must be 1 to view "
                                   f"{names[0]} as {names[1]} (different element sizes)")
            if dst.itemsize > src.itemsize and a.shape[-1] * src.itemsize % dst.itemsize:
                raise RuntimeError(f"self.size(-1) must be divisible by "
                                   f"{dst.itemsize // src.itemsize} to view {names[0]} as "
                                   f"{names[1]} (different element sizes), but got {a.shape[-1]}")
        out = a.view(dst)
        ctx.mark_non_differentiable(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return None


class Reshape(Primitive):
    """A copy, used by ``reshape`` only when a view is impossible."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        try:
            out = a.reshape(shape)
        except (ValueError, TypeError):
            return a.reshape(infer_shape(shape, a.size))  # raises torch's error for a bad shape
        if out.shape != shape:
            infer_shape(shape, a.size)  # NumPy read some negative size as -1; torch refuses it
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Expand(Primitive):
    """Size-1 dimensions repeated without copying (stride 0); new leading dimensions allowed."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        shape = tuple(operator.index(s) for s in shape)
        ndim = a.ndim
        lead = len(shape) - ndim
        if lead < 0:
            raise RuntimeError(f"expand({_type_name(a, ctx.device)}{{{list(a.shape)}}}, "
                               f"size={list(shape)}): the number of sizes provided "
                               f"({len(shape)}) must be greater or equal to the number of "
                               f"dimensions in the tensor ({ndim})")
        target = list(shape)
        plain = True  # no dimension is actually broadcast: a reshape view suffices
        for i, s in enumerate(shape):
            if i < lead:
                if s < 0:
                    raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                       f"leading, non-existing dimension {i}")
                plain = plain and s == 1
                continue
            n = a.shape[i - lead]
            if s == -1:
                target[i] = n
            elif s != n:
                if n != 1 or s < 0:
                    raise RuntimeError(f"The expanded size of the tensor ({s}) must match the "
                                       f"existing size ({n}) at non-singleton dimension {i}.  "
                                       f"Target sizes: {list(shape)}.  Tensor sizes: "
                                       f"{list(a.shape)}")
                plain = False
        if plain:
            return a.reshape(target) if lead else a.view()
        if ctx.xp is np and (a.flags.c_contiguous or a.flags.f_contiguous):
            # The same view as np.broadcast_to at a fraction of its Python overhead.
            st = a.strides
            strides = (0,) * lead + tuple(0 if n != s else st[i] for i, (n, s) in
                                          enumerate(zip(a.shape, target[lead:])))
            out = np.ndarray(target, a.dtype, a, 0, strides)
            out.flags.writeable = False  # read-only, as writes would overlap
            return out
        return ctx.xp.broadcast_to(a, tuple(target))  # read-only, as writes would overlap

    @staticmethod
    def backward(ctx, g):
        return g  # the engine sums the broadcast dimensions away


class Permute(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.permute(inverse)


class Transpose(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, a, dim0, dim1):
        ctx.dims = dim0, dim1
        return a.swapaxes(dim0, dim1)

    @staticmethod
    def backward(ctx, g):
        return g.transpose(*ctx.dims)


class T(Transpose):
    """``t()``: a Transpose of dims 0 and 1 that names its node as torch does (TBackward0)."""


class Squeeze(Primitive):
    """Drops the size-1 dimensions among ``dims`` (already wrapped); others are kept."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dims=None):
        ctx.in_shape = shape = a.shape
        if dims is None:
            return a.squeeze()
        if not shape:
            return a.view()
        return a.squeeze(tuple(d for d in dims if shape[d] == 1))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Unsqueeze(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return a[(slice(None),) * dim + (None,)]  # basic indexing: a view, cheaper than expand_dims

    @staticmethod
    def backward(ctx, g):
        return g.squeeze(ctx.dim)


class Slice(Primitive):
    """``a[..., start:stop:step, ...]`` along ``dim`` (indices already checked); narrow, split."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim, start, stop, step=1):
        ctx.in_shape, ctx.attrs = a.shape, {"dim": dim, "start": start, "stop": stop, "step": step}
        return a[(slice(None),) * dim + (slice(start, stop, step),)]

    @staticmethod
    def backward(ctx, g):
        return ViewScatter.apply(None, g, view=Slice, attrs=ctx.attrs, shape=ctx.in_shape)


class Select(Primitive):
    """``a[..., index, ...]`` along ``dim``: one dimension fewer (index already wrapped)."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.in_shape, ctx.attrs = a.shape, {"dim": dim, "index": index}
        return a[(slice(None),) * dim + (index,)]

    @staticmethod
    def backward(ctx, g):
        return ViewScatter.apply(None, g, view=Select, attrs=ctx.attrs, shape=ctx.in_shape)


class Diagonal(Primitive):
    """The diagonal of dims ``dim1``/``dim2`` (wrapped, distinct), moved last, as a view."""

    is_view = True

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.in_shape, ctx.attrs = a.shape, {"offset": offset, "dim1": dim1, "dim2": dim2}
        out = a.diagonal(offset, dim1, dim2)
        if ctx.xp is np and a.flags.writeable:
            out.flags.writeable = True  # NumPy hands out diagonals read-only; torch's are writable
        return out

    @staticmethod
    def backward(ctx, g):
        return ViewScatter.apply(None, g, view=Diagonal, attrs=ctx.attrs, shape=ctx.in_shape)


class ViewScatter(Primitive):
    """A copy of ``base`` (zeros of ``shape`` when None) whose region ``view(**attrs)`` is ``src``.

    The backward of slice/select/diagonal, and slice_scatter/select_scatter/diagonal_scatter.
    """

    @staticmethod
    def forward(ctx, base, src, view, attrs, shape=None):
        ctx.view, ctx.attrs = view, attrs
        xp = ctx.xp
        if base is None:
            out = xp.zeros(shape, dtype=src.dtype)
        else:
            out = base.copy()
        sub = object.__new__(view)  # a scratch ctx: the view's forward only needs xp
        sub.xp = xp
        region = view.forward(sub, out, **attrs)
        if src is None:
            region[...] = 0
        else:
            if region.shape != src.shape:
                raise RuntimeError(f"expected src to have a size equal to the slice of self. src "
                                   f"size = {list(src.shape)}, slice size = {list(region.shape)}")
            region[...] = src
        return out

    @staticmethod
    def backward(ctx, g):
        need_base, need_src = ctx.needs_input_grad
        g_base = ViewScatter.apply(g, None, view=ctx.view, attrs=ctx.attrs) if need_base else None
        g_src = ctx.view.apply(g, **ctx.attrs) if need_src else None
        return g_base, g_src


class Unfold(Primitive):
    """Windows of ``size`` every ``step`` along ``dim``, as a new last dimension (a view)."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim, size, step):
        ctx.in_shape, ctx.dim, ctx.size, ctx.step = a.shape, dim, size, step
        if a.ndim == 0:
            return a.reshape(1)[:size]  # torch: a 0-D tensor gives one window of its element
        n = a.shape[dim]
        count = (n - size) // step + 1
        shape = a.shape[:dim] + (count,) + a.shape[dim + 1:] + (size,)
        st = a.strides
        strides = st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],)
        return _as_strided(ctx.xp, a, shape, strides, writeable=step >= size)

    @staticmethod
    def backward(ctx, g):
        if len(ctx.in_shape) == 0:
            return g.sum()
        return UnfoldBackward.apply(g, shape=ctx.in_shape, dim=ctx.dim, size=ctx.size,
                                    step=ctx.step)


class UnfoldBackward(Primitive):
    """The sum of every window's gradient into the positions it was taken from."""

    @staticmethod
    def forward(ctx, g, shape, dim, size, step):
        ctx.dim, ctx.size, ctx.step = dim, size, step
        out = ctx.xp.zeros(shape, dtype=g.dtype)
        count = g.shape[dim]
        lead = (slice(None),) * dim
        if size <= count:  # loop over the positions inside a window
            for k in range(size):
                out[lead + (slice(k, k + step * (count - 1) + 1, step),)] += g[..., k]
        else:  # loop over the windows
            for i in range(count):
                win = ctx.xp.moveaxis(g[lead + (i,)], -1, dim)
                out[lead + (slice(i * step, i * step + size),)] += win
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg.unfold(ctx.dim, ctx.size, ctx.step)


def _storage(xp, a):
    """The array owning ``a``'s memory (through NumPy's view chain) and ``a``'s offset in it."""
    root = a
    while True:
        b = root.base
        if b is not None and not isinstance(b, xp.ndarray):
            # as_strided's DummyArray keeps the array in .base, a memoryview in .obj
            b = getattr(b, "base", None) if hasattr(b, "base") else getattr(b, "obj", None)
        if not isinstance(b, xp.ndarray):
            break
        root = b
    if not root.flags.c_contiguous or root.dtype.itemsize != a.dtype.itemsize:
        raise NotImplementedError("as_strided on a tensor whose memory is not a contiguous array "
                                  "of its own element size is not supported")
    ptr = a.__array_interface__["data"][0] if isinstance(a, np.ndarray) else a.data.ptr
    rptr = root.__array_interface__["data"][0] if isinstance(root, np.ndarray) else root.data.ptr
    return root.reshape(-1), (ptr - rptr) // a.dtype.itemsize


def _strided_indices(xp, n, shape, strides, offset):
    """The storage index of every element of a (shape, strides, offset) view of ``n`` elements."""
    idx = xp.arange(n, dtype=np.int64)[offset:]
    return _as_strided(xp, idx, shape, tuple(s * 8 for s in strides), writeable=False)


class AsStrided(Primitive):
    """Any (size, stride, storage_offset) window on the input's memory, as ``torch.as_strided``."""

    is_view = True

    @staticmethod
    def forward(ctx, a, size, stride, storage_offset=None):
        flat, a_off = _storage(ctx.xp, a)
        off = a_off if storage_offset is None else storage_offset
        if len(size) != len(stride):
            raise RuntimeError("mismatch in length of strides and shape")
        if any(s < 0 for s in stride) or any(s < 0 for s in size):
            raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, "
                               f"got strides: {list(stride)}")
        need = off + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else 0
        if need > flat.size:
            raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                               f"offset {off}, and itemsize {a.itemsize} requiring a storage size "
                               f"of {need * a.itemsize} are out of bounds for storage of size "
                               f"{flat.size * a.itemsize}")
        isz = a.itemsize
        ctx.n = flat.size
        ctx.in_geom = (a.shape, tuple(s // isz for s in a.strides), a_off)
        ctx.out_geom = (tuple(size), tuple(stride), off)
        return _as_strided(ctx.xp, flat[off:], tuple(size), tuple(s * isz for s in stride))

    @staticmethod
    def backward(ctx, g):
        return Restride.apply(g, src=ctx.out_geom, dst=ctx.in_geom, n=ctx.n)


class Restride(Primitive):
    """Scatter-add ``x`` into a storage of ``n`` zeros by geometry ``src``, read it back by ``dst``.

    as_strided's backward; its own backward is the same op with the geometries swapped.
    """

    @staticmethod
    def forward(ctx, x, src, dst, n):
        ctx.src, ctx.dst, ctx.n = src, dst, n
        xp = ctx.xp
        storage = xp.zeros(n, dtype=x.dtype)
        xp.add.at(storage, _strided_indices(xp, n, *src).reshape(-1), x.reshape(-1))
        return storage[_strided_indices(xp, n, *dst)]

    @staticmethod
    def backward(ctx, g):
        return Restride.apply(g, src=ctx.dst, dst=ctx.src, n=ctx.n)


# --- copies --------------------------------------------------------------------------------------


class Flip(Primitive):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return ctx.xp.flip(a, dims).copy()  # NumPy's flip is a view; torch's is a copy

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dims)


class Roll(Primitive):
    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return ctx.xp.roll(a, shifts, dims)

    @staticmethod
    def backward(ctx, g):
        shifts = ctx.shifts
        back = -shifts if isinstance(shifts, int) else tuple(-s for s in shifts)
        return Roll.apply(g, shifts=back, dims=ctx.dims)


class Repeat(Primitive):
    """``a`` tiled ``repeats`` times along each dimension (new leading ones allowed)."""

    @staticmethod
    def forward(ctx, a, repeats):
        ctx.in_shape = a.shape
        lead = len(repeats) - a.ndim
        if lead < 0:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        shape = (1,) * lead + a.shape
        ctx.padded = shape
        out_shape = [r * n for r, n in zip(repeats, shape)]
        if any(r < 0 for r in repeats):
            bad = next(s for s in out_shape if s < 0)
            raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: "
                               f"{out_shape}")
        ctx.repeats = repeats
        return ctx.xp.tile(a.reshape(shape), repeats)

    @staticmethod
    def backward(ctx, g):
        split = []
        for r, n in zip(ctx.repeats, ctx.padded):
            split += [r, n]
        return g.reshape(split).sum(tuple(range(0, len(split), 2))).reshape(ctx.in_shape)


class RepeatInterleave(Primitive):
    """Each element repeated along ``dim`` (``repeats`` an int or a 1-D integer array)."""

    @staticmethod
    def forward(ctx, a, repeats, dim):
        ctx.dim, ctx.repeats, ctx.in_shape = dim, repeats, a.shape
        return ctx.xp.repeat(a, repeats, axis=dim)

    @staticmethod
    def backward(ctx, g):
        dim, r = ctx.dim, ctx.repeats
        if isinstance(r, int):
            shape = ctx.in_shape
            return g.reshape(shape[:dim] + (shape[dim], r) + shape[dim + 1:]).sum(dim + 1), None
        return SegmentSum.apply(g, r, dim=dim, n=ctx.in_shape[dim]), None


class SegmentSum(Primitive):
    """Sums of consecutive runs of ``counts[i]`` entries along ``dim``: repeat_interleave's
    backward."""

    @staticmethod
    def forward(ctx, g, counts, dim, n):
        xp = ctx.xp
        ctx.dim, ctx.counts = dim, counts
        shape = g.shape[:dim] + (n,) + g.shape[dim + 1:]
        out = xp.zeros(shape, dtype=g.dtype)
        owner = xp.repeat(xp.arange(n), counts)
        xp.add.at(xp.moveaxis(out, dim, 0), owner, xp.moveaxis(g, dim, 0))
        return out

    @staticmethod
    def backward(ctx, gg):
        return RepeatInterleave.apply(gg, ctx.counts, dim=ctx.dim), None


class Cat(Primitive):
    """Arrays joined along ``dim`` in the promoted dtype; 1-D empty arrays are skipped, as torch
    skips them."""

    @staticmethod
    def forward(ctx, *arrays, dim):
        keep = [a for a in arrays if a.ndim != 1 or a.shape[0] != 0]
        if not keep:
            keep = [arrays[0]]
        ref = keep[0]
        if ref.ndim == 0:
            raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
        dim = wrap_dim(dim, ref.ndim)
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] if (a.ndim != 1 or a.shape[0] != 0) else None for a in arrays]
        dtype = _promote_arrays(arrays)
        try:
            return ctx.xp.concatenate(keep, axis=dim, dtype=dtype, casting="unsafe")
        except ValueError:
            _cat_error(arrays, ref, dim)
            raise

    @staticmethod
    def backward(ctx, g):
        grads, start = [], 0
        for n in ctx.sizes:
            if n is None:  # a skipped 1-D empty input: an empty gradient, as torch gives it
                grads.append(_tensor.Tensor._make(ctx.xp.zeros(0, dtype=g._data.dtype), g.device))
                continue
            grads.append(Slice.apply(g, dim=ctx.dim, start=start, stop=start + n, step=1))
            start += n
        return tuple(grads)


def _cat_error(arrays, ref, dim):
    """torch's message for the first array that cannot be joined to ``ref``."""
    for i, a in enumerate(arrays):
        if a.ndim == 1 and a.shape[0] == 0:
            continue
        if a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
        if a.ndim != ref.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref.ndim} and "
                               f"{a.ndim}")
        for d in range(ref.ndim):
            if d != dim and a.shape[d] != ref.shape[d]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. "
                                   f"Expected size {ref.shape[d]} but got size {a.shape[d]} for "
                                   f"tensor number {i} in the list.")


class Stack(Primitive):
    """Equal-shaped arrays joined along a new dimension ``dim``, in the promoted dtype."""

    @staticmethod
    def forward(ctx, *arrays, dim):
        shape = arrays[0].shape
        for i, a in enumerate(arrays):
            if a.shape != shape:
                raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                                   f"{list(shape)} at entry 0 and {list(a.shape)} at entry {i}")
        dim = wrap_dim(dim, len(shape) + 1)
        ctx.dim = dim
        # concatenate of size-1 views: the result of xp.stack at less Python overhead
        new = (slice(None),) * dim + (None,)
        return ctx.xp.concatenate([a[new] for a in arrays], axis=dim,
                                  dtype=_promote_arrays(arrays), casting="unsafe")

    @staticmethod
    def backward(ctx, g):
        return tuple(Select.apply(g, dim=ctx.dim, index=i) for i in range(g.shape[ctx.dim]))


class Tril(Primitive):
    @staticmethod
    def forward(ctx, a, diagonal):
        if a.ndim < 2:
            raise RuntimeError("tril: input tensor must have at least 2 dimensions")
        ctx.k = diagonal
        return ctx.xp.tril(a, diagonal)

    @staticmethod
    def backward(ctx, g):
        return g.tril(ctx.k)


class Triu(Primitive):
    @staticmethod
    def forward(ctx, a, diagonal):
        if a.ndim < 2:
            raise RuntimeError("triu: input tensor must have at least 2 dimensions")
        ctx.k = diagonal
        return ctx.xp.triu(a, diagonal)

    @staticmethod
    def backward(ctx, g):
        return g.triu(ctx.k)


class DiagEmbed(Primitive):
    """The last dimension of ``a`` on the (offset) diagonal of new dims ``dim1``/``dim2``."""

    @staticmethod
    def forward(ctx, a, offset, dim1, dim2):
        ctx.attrs = (offset, dim1, dim2)
        n = (a.shape[-1] if a.ndim else 1) + abs(offset)
        rest = iter(a.shape[:-1])
        shape = tuple(n if i in (dim1, dim2) else next(rest) for i in range(max(a.ndim, 1) + 1))
        out = ctx.xp.zeros(shape, dtype=a.dtype)
        diag = out.diagonal(offset, dim1, dim2)
        if ctx.xp is np:
            diag.flags.writeable = True
        diag[...] = a
        return out

    @staticmethod
    def backward(ctx, g):
        return g.diagonal(*ctx.attrs)


# --- view functions ------------------------------------------------------------------------------


def reshape(input, shape):
    """``input`` with a new shape: a view when the memory layout allows, else a copy."""
    try:
        return View.apply(input, shape=shape)
    except RuntimeError:
        return Reshape.apply(input, shape=shape)


def _permute_dims(dims, ndim: int) -> tuple:
    if sorted(dims) == list(range(ndim)):
        return dims  # the common case: already a valid permutation of non-negative dims
    if len(dims) != ndim:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not "
                           "match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {ndim} is not equal to len(dims) = {len(dims)}")
    out = tuple(wrap_dim(d, ndim) for d in dims)
    if len(set(out)) != len(out):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return out


def permute(input, dims):
    """A view with the dimensions reordered: output dim ``i`` is input dim ``dims[i]``."""
    return Permute.apply(input, dims=_permute_dims(tuple(dims), input.ndim))


def transpose(input, dim0: int, dim1: int):
    """A view with dimensions ``dim0`` and ``dim1`` swapped."""
    n = input.ndim
    return Transpose.apply(input, dim0=wrap_dim(dim0, n), dim1=wrap_dim(dim1, n))


def swapaxes(input, axis0: int, axis1: int):
    """``transpose`` with NumPy's argument names."""
    return transpose(input, axis0, axis1)


def swapdims(input, dim0: int, dim1: int):
    """``transpose`` under another name."""
    return transpose(input, dim0, dim1)


def t(input):
    """The transpose of a matrix; 0-D and 1-D tensors come back as they are (a view)."""
    n = input.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    if n < 2:
        return Permute.apply(input, dims=tuple(range(n)))
    return T.apply(input, dim0=0, dim1=1)


def adjoint(input):
    """The conjugate transpose of the last two dimensions (a view for real tensors)."""
    if input.ndim < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.ndim}-D tensor.")
    out = transpose(input, -2, -1)
    return out.conj() if input.is_complex() else out


def _dim_list(d) -> list:
    return [d] if isinstance(d, int) or not hasattr(d, "__len__") else list(d)


def movedim(input, source, destination):
    """A view with dims ``source`` moved to positions ``destination``, the rest in order."""
    n = input.ndim
    src, dst = _dim_list(source), _dim_list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    src_w = [wrap_dim(d, n) for d in src]
    dst_w = [wrap_dim(d, n) for d in dst]
    if len(set(src_w)) != len(src_w):
        raise RuntimeError(f"movedim: repeated dim in `source` ({src})")
    if len(set(dst_w)) != len(dst_w):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({dst})")
    order = [-1] * n
    for s, d in zip(src_w, dst_w):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src_w)
    order = [next(rest) if o == -1 else o for o in order]
    return Permute.apply(input, dims=tuple(order))


moveaxis = movedim


@numpy_names
def squeeze(input, dim=None):
    """A view without size-1 dimensions (all, or those among ``dim``: an int or a tuple)."""
    n = input.ndim
    if dim is None:
        dims = None
    elif isinstance(dim, (tuple, list)):
        dims = _wrap_dims(dim, n)
    else:
        dims = (wrap_dim(dim, n),)
    return Squeeze.apply(input, dims=dims)


@numpy_names
def unsqueeze(input, dim: int):
    """A view with a size-1 dimension inserted at ``dim``."""
    return Unsqueeze.apply(input, dim=wrap_dim(dim, input.ndim + 1))


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Dimensions ``start_dim..end_dim`` merged into one (a view when the layout allows)."""
    n = input.ndim
    if n == 0:
        return reshape(input, (1,))
    if start_dim == 0 and end_dim == -1 and n > 1:
        return reshape(input, (-1,))
    start, end = wrap_dim(start_dim, n), wrap_dim(end_dim, n)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    shape = input.shape
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(input, dim: int, sizes):
    """Dimension ``dim`` split into ``sizes`` (one may be -1): always a view."""
    dim = wrap_dim(dim, input.ndim)
    sizes = tuple(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = input.shape[dim]
    known = math.prod(s for s in sizes if s != -1)
    if (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({n}) in the input tensor")
    shape = input.shape
    return View.apply(input, shape=shape[:dim] + sizes + shape[dim + 1:])


def ravel(input):
    """A 1-D tensor of the elements (a view when the layout allows)."""
    return reshape(input, (-1,))


def _broadcast_shape(shapes, tensors: bool) -> tuple:
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for k, s in enumerate(shapes):
        for i, n in enumerate(s):
            j = ndim - len(s) + i
            if n == out[j] or n == 1:
                continue
            if out[j] == 1:
                out[j] = n
                continue
            if tensors:
                raise RuntimeError(f"The size of tensor a ({out[j]}) must match the size of "
                                   f"tensor b ({n}) at non-singleton dimension {j}")
            raise RuntimeError(f"Attempting to broadcast a dimension of length {n} at "
                               f"{j - ndim}! Mismatching argument at index {k} had {tuple(s)}; "
                               f"but expected shape should be broadcastable to {out}")
    return tuple(out)


def broadcast_shapes(*shapes):
    """The shape that all ``shapes`` (tuples or ints) broadcast to."""
    from ember._size import Size

    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    for s in shapes:
        for n in s:
            if n < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {n}: "
                                   f"{list(s)}")
    return Size(_broadcast_shape(shapes, tensors=False))


def broadcast_to(input, size):
    """``input`` expanded to ``size`` (a view)."""
    return Expand.apply(input, shape=tuple(size))


def broadcast_tensors(*tensors):
    """All ``tensors`` expanded to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    shape = _broadcast_shape([x.shape for x in tensors], tensors=True)
    return tuple(Expand.apply(x, shape=shape) for x in tensors)


def _slice_checked(input, dim: int, start: int, length: int):
    return Slice.apply(input, dim=dim, start=start, stop=start + length, step=1)


def narrow(input, dim: int, start, length: int):
    """A view of ``length`` entries of ``dim`` from ``start`` (negative counts from the end)."""
    n = input.ndim
    if n == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    dim = wrap_dim(dim, n)
    size = input.shape[dim]
    start = operator.index(start)
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but "
                         f"got {start})")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return _slice_checked(input, dim, start, length)


def select(input, dim: int, index: int):
    """A view of entry ``index`` of dimension ``dim`` (which disappears)."""
    n = input.ndim
    if n == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, n)
    size = input.shape[dim]
    index = operator.index(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    return Select.apply(input, dim=dim, index=index % size)


@numpy_names
def split(tensor, split_size_or_sections, dim: int = 0):
    """Views of consecutive pieces along ``dim``: of ``split_size`` each, or of the listed sizes."""
    dim = wrap_dim(dim, tensor.ndim)
    n = tensor.shape[dim]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [operator.index(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes):
            raise RuntimeError("split_with_sizes expects split_sizes have only non-negative "
                               f"entries, but got split_sizes={sizes}")
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} "
                               f"(input tensor's size at dimension {dim}), but got "
                               f"split_sizes={sizes}")
    else:
        size = operator.index(split_size_or_sections)
        if size < 0:
            raise RuntimeError("split expects split_size be non-negative, but got "
                               f"split_size={size}")
        if size == 0 and n != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {n}")
        count = max(-(-n // size), 1) if size else 1
        sizes = [size] * (count - 1) + [n - size * (count - 1)]
    name = "SplitWithSizes" if isinstance(split_size_or_sections, (list, tuple)) else "Split"
    out, start = [], 0
    for i, s in enumerate(sizes):
        piece = _slice_checked(tensor, dim, start, s)
        piece._multi_view = (name, i)  # torch refuses in-place changes to it under autograd
        out.append(piece)
        start += s
    return tuple(out)


def tensor_split(input, indices_or_sections, dim: int = 0):
    """Views split into ``sections`` near-equal pieces, or at the listed ``indices``."""
    if isinstance(indices_or_sections, _tensor.Tensor):
        t_ = indices_or_sections
        if t_.dtype.is_floating_point or t_.dtype is _dt.bool or t_.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a zero-"
                               "dimensional or one-dimensional tensor, but got a tensor with "
                               f"{t_.ndim} dims")
        indices_or_sections = t_.item() if t_.ndim == 0 else t_.tolist()
    dim = wrap_dim(dim, input.ndim)
    n = input.shape[dim]
    if isinstance(indices_or_sections, (list, tuple)):
        bounds = [min(max(operator.index(i) + (n if i < 0 else 0), 0), n)
                  for i in indices_or_sections]
    else:
        sections = operator.index(indices_or_sections)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        small, extra = divmod(n, sections)
        bounds, pos = [], 0
        for i in range(sections - 1):
            pos += small + (1 if i < extra else 0)
            bounds.append(pos)
    out, start = [], 0
    for b in bounds + [n]:
        out.append(_slice_checked(input, dim, start, max(b - start, 0)))
        start = b  # torch slices input[prev:b]: a smaller index gives an empty piece, not a clamp
    return tuple(out)


def _split_even(input, sections, dim: int, name: str):
    if isinstance(sections, int):
        n = input.shape[dim]
        if sections == 0 or n % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {n} is not divisible by the split_size "
                               f"{sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input, indices_or_sections):
    """tensor_split along dim 1 (dim 0 for 1-D); an int must divide the size evenly."""
    if input.ndim < 1:
        raise RuntimeError("torch.hsplit requires a tensor with at least 1 dimension, but got a "
                           "tensor with 0 dimensions!")
    return _split_even(input, indices_or_sections, 1 if input.ndim > 1 else 0, "hsplit")


def vsplit(input, indices_or_sections):
    """tensor_split along dim 0; an int must divide the size evenly."""
    if input.ndim < 2:
        raise RuntimeError(f"torch.vsplit requires a tensor with at least 2 dimension, but got a "
                           f"tensor with {input.ndim} dimensions!")
    return _split_even(input, indices_or_sections, 0, "vsplit")


def dsplit(input, indices_or_sections):
    """tensor_split along dim 2; an int must divide the size evenly."""
    if input.ndim < 3:
        raise RuntimeError(f"torch.dsplit requires a tensor with at least 3 dimension, but got a "
                           f"tensor with {input.ndim} dimensions!")
    return _split_even(input, indices_or_sections, 2, "dsplit")


@numpy_names
def chunk(input, chunks: int, dim: int = 0):
    """At most ``chunks`` views of equal size (the last may be smaller) along ``dim``."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = wrap_dim(dim, input.ndim)
    n = input.shape[dim]
    size = -(-n // chunks)
    if size == 0 and n == 0:
        return split(input, [0] * chunks, dim)
    return split(input, size, dim)


@numpy_names
def unbind(input, dim: int = 0):
    """Views of every entry of ``dim`` (which disappears)."""
    n = input.ndim
    if n == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    dim = wrap_dim(dim, n)
    out = []
    for i in range(input.shape[dim]):
        piece = Select.apply(input, dim=dim, index=i)
        piece._multi_view = ("Unbind", i)  # torch refuses in-place changes to it under autograd
        out.append(piece)
    return tuple(out)


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """A view of the diagonal of ``dim1``/``dim2`` (moved to the end)."""
    n = input.ndim
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset=offset, dim1=d1, dim2=d2)


def as_strided(input, size, stride, storage_offset=None):
    """A view of the input's memory with any sizes and strides (in elements), as torch's."""
    return AsStrided.apply(input, size=tuple(size), stride=tuple(stride),
                           storage_offset=storage_offset)


def _unfold(input, dimension: int, size: int, step: int):
    n = input.ndim
    dim = wrap_dim(dimension, n)
    length = input.shape[dim] if n else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {length} but size is "
                           f"{size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply(input, dim=dim, size=size, step=step)


def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1):
    """A copy of ``input`` whose slice ``start:end:step`` of ``dim`` is ``src``."""
    dim = wrap_dim(dim, input.ndim)
    start, stop, step = slice(start, end, step).indices(input.shape[dim])
    return ViewScatter.apply(input, src, view=Slice,
                             attrs={"dim": dim, "start": start, "stop": stop, "step": step})


def select_scatter(input, src, dim: int, index: int):
    """A copy of ``input`` whose entry ``index`` of ``dim`` is ``src``."""
    dim = wrap_dim(dim, input.ndim)
    size = input.shape[dim]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {dim}")
    return ViewScatter.apply(input, src, view=Select, attrs={"dim": dim, "index": index % size})


def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """A copy of ``input`` whose diagonal (as ``diagonal`` takes it) is ``src``."""
    n = input.ndim
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return ViewScatter.apply(input, src, view=Diagonal,
                             attrs={"offset": offset, "dim1": d1, "dim2": d2})


# --- copying functions ---------------------------------------------------------------------------


@numpy_names
def cat(tensors, dim: int = 0, *, out=None):
    """``tensors`` joined along ``dim`` in their promoted dtype (1-D empty tensors are skipped)."""
    tensors = _tensors(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    return handle_out(Cat.apply(*tensors, dim=dim), out, "cat")


@numpy_names
def concat(tensors, dim: int = 0, *, out=None):
    return cat(tensors, dim, out=out)


def concatenate(tensors, axis: int = 0, out=None):
    return cat(tensors, axis, out=out)


@numpy_names
def stack(tensors, dim: int = 0, *, out=None):
    """Equal-shaped ``tensors`` joined along a new dimension ``dim``."""
    tensors = _tensors(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    return handle_out(Stack.apply(*tensors, dim=dim), out, "stack")


def _nonempty(tensors, name: str) -> list:
    tensors = _tensors(tensors, name)
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return tensors


def hstack(tensors, *, out=None):
    """Joined column-wise: along dim 1, or dim 0 for 1-D tensors."""
    tensors = atleast_1d(_nonempty(tensors, "hstack"))
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1, out=out)


def vstack(tensors, *, out=None):
    """Joined row-wise: along dim 0, 1-D tensors becoming rows."""
    return cat(atleast_2d(_nonempty(tensors, "vstack")), 0, out=out)


row_stack = vstack


def dstack(tensors, *, out=None):
    """Joined depth-wise: along dim 2 of the tensors made at least 3-D."""
    return cat(atleast_3d(_nonempty(tensors, "dstack")), 2, out=out)


def column_stack(tensors, *, out=None):
    """0-D and 1-D tensors as columns, joined with the 2-D ones along dim 1."""
    tensors = _nonempty(tensors, "column_stack")
    cols = [reshape(x, (x.numel(), 1)) if x.ndim <= 1 else x for x in tensors]
    return cat(cols, 1, out=out)


def _atleast(tensors, fn):
    if len(tensors) == 1:
        if isinstance(tensors[0], (list, tuple)):
            return tuple(fn(x) for x in tensors[0])
        return fn(tensors[0])
    return tuple(fn(x) for x in tensors)


def _at_1d(x):
    return View.apply(x, shape=(1,)) if x.ndim == 0 else x


def _at_2d(x):
    if x.ndim == 0:
        return View.apply(x, shape=(1, 1))
    return Unsqueeze.apply(x, dim=0) if x.ndim == 1 else x


def _at_3d(x):
    if x.ndim == 0:
        return View.apply(x, shape=(1, 1, 1))
    if x.ndim == 1:
        return View.apply(x, shape=(1, x.shape[0], 1))
    return Unsqueeze.apply(x, dim=2) if x.ndim == 2 else x


def atleast_1d(*tensors):
    """Each tensor viewed with at least 1 dimension (one result, or a tuple for several)."""
    return _atleast(tensors, _at_1d)


def atleast_2d(*tensors):
    """Each tensor viewed with at least 2 dimensions (1-D ``n`` becomes ``1 x n``)."""
    return _atleast(tensors, _at_2d)


def atleast_3d(*tensors):
    """Each tensor viewed with at least 3 dimensions (``n`` -> ``1 x n x 1``, ``m x n`` ->
    ``m x n x 1``)."""
    return _atleast(tensors, _at_3d)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element repeated ``repeats`` times (an int or one count per entry) along ``dim``.

    ``repeat_interleave(counts)`` alone repeats ``arange(len(counts))`` by ``counts``.
    """
    Tensor = _tensor.Tensor
    if repeats is None:
        from ember.ops.creation import arange

        counts = input
        return repeat_interleave(arange(counts.shape[0] if counts.ndim else 1,
                                        device=counts.device), counts, 0)
    if dim is None:
        input, dim = reshape(input, (-1,)), 0
    else:
        dim = wrap_dim(dim, input.ndim)
    n = input.shape[dim] if input.ndim else 1
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.dtype.is_floating_point or repeats.dtype.is_complex:
            raise RuntimeError("repeat_interleave only accepts integral repeats, got "
                               f"{repeats.dtype}")
        if repeats.numel() == 1:
            repeats = int(repeats.item())
        elif repeats.shape[0] != n:
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {repeats.shape[0]} and input.size({dim}) = {n}")
    if isinstance(repeats, Tensor):
        if bool((repeats._data < 0).any()):
            raise RuntimeError("repeats can not be negative")
        return RepeatInterleave.apply(input, repeats, dim=dim)
    repeats = operator.index(repeats)
    if repeats < 0:
        raise RuntimeError("Repeats must be non-negative")
    if input.ndim == 0:
        input = View.apply(input, shape=(1,))
    return RepeatInterleave.apply(input, repeats, dim=dim)


def tile(input, dims):
    """``input`` repeated ``dims`` times per dimension (missing leading entries count as 1)."""
    dims = tuple(dims)
    if len(dims) < input.ndim:
        dims = (1,) * (input.ndim - len(dims)) + dims
    return Repeat.apply(input, repeats=dims)


@numpy_names
def flip(input, dims):
    """A copy with the order of entries reversed along ``dims``."""
    return Flip.apply(input, dims=_wrap_dims(_dim_list(dims), input.ndim))


def fliplr(input):
    """``flip(input, (1,))``, for tensors of at least 2 dimensions."""
    if input.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return Flip.apply(input, dims=(1,))


def flipud(input):
    """``flip(input, (0,))``, for tensors of at least 1 dimension."""
    if input.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return Flip.apply(input, dims=(0,))


@numpy_names
def roll(input, shifts, dims=None):
    """Entries shifted circularly by ``shifts`` along ``dims`` (the flattened tensor if None)."""
    shifts = tuple(_dim_list(shifts))
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return Roll.apply(input, shifts=shifts[0], dims=None)
    dims = tuple(_dim_list(dims))
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    return Roll.apply(input, shifts=shifts, dims=tuple(wrap_dim(d, input.ndim) for d in dims))


def diag(input, diagonal: int = 0, *, out=None):
    """1-D: a matrix with ``input`` on diagonal ``diagonal``. 2-D: a copy of that diagonal."""
    if input.ndim == 1:
        result = DiagEmbed.apply(input, offset=diagonal, dim1=0, dim2=1)
    elif input.ndim == 2:
        result = Diagonal.apply(input, offset=diagonal, dim1=0, dim2=1).clone()
    else:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")
    return handle_out(result, out, "diag")


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """The last dimension of ``input`` on the diagonals of new dims ``dim1``/``dim2``."""
    n = input.ndim + 1
    d1, d2 = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbed.apply(input, offset=offset, dim1=d1, dim2=d2)


def tril(input, diagonal: int = 0, *, out=None):
    """The lower triangle (on and below ``diagonal``) of the last two dims; zeros above."""
    return handle_out(Tril.apply(input, diagonal=diagonal), out, "tril")


def triu(input, diagonal: int = 0, *, out=None):
    """The upper triangle (on and above ``diagonal``) of the last two dims; zeros below."""
    return handle_out(Triu.apply(input, diagonal=diagonal), out, "triu")


# --- Tensor methods ------------------------------------------------------------------------------


class ShapeMethods:
    """Tensor methods of this family."""

    __slots__ = ()

    def view(self, *shape, size=None, dtype=None):
        if dtype is None and len(shape) == 1 and isinstance(shape[0], _dt.dtype):
            dtype = shape[0]
        if dtype is not None:
            return ViewDtype.apply(self, dtype=_dt.to_dtype(dtype))
        return View.apply(self, shape=tuple(size) if size is not None else _shape_args(shape))

    def view_as(self, other):
        return View.apply(self, shape=other.shape)

    def reshape(self, *args, shape=None):
        return reshape(self, tuple(shape) if shape is not None else _shape_args(args))

    def reshape_as(self, other):
        return reshape(self, other.shape)

    def expand(self, *sizes, size=None):
        return Expand.apply(self, shape=tuple(size) if size is not None else _shape_args(sizes))

    def expand_as(self, other):
        return Expand.apply(self, shape=other.shape)

    def broadcast_to(self, size):
        return Expand.apply(self, shape=tuple(size))

    def permute(self, *args, dims=None):
        if dims is not None:
            return permute(self, tuple(dims))
        if not args:
            raise TypeError('permute() missing 1 required positional arguments: "dims"')
        return permute(self, _shape_args(args))

    def transpose(self, dim0, dim1):
        return transpose(self, dim0, dim1)

    def swapaxes(self, axis0, axis1):
        return transpose(self, axis0, axis1)

    def swapdims(self, dim0, dim1):
        return transpose(self, dim0, dim1)

    def t(self):
        return t(self)

    def adjoint(self):
        return adjoint(self)

    def movedim(self, source, destination):
        return movedim(self, source, destination)

    moveaxis = movedim

    @numpy_names
    def squeeze(self, dim=None):
        return squeeze(self, dim)

    @numpy_names
    def unsqueeze(self, dim):
        return unsqueeze(self, dim)

    def flatten(self, start_dim=0, end_dim=-1):
        return flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        return unflatten(self, dim, sizes)

    def ravel(self):
        return reshape(self, (-1,))

    def repeat(self, *sizes, repeats=None):
        sizes = tuple(repeats) if repeats is not None else _shape_args(sizes)
        return Repeat.apply(self, repeats=tuple(operator.index(s) for s in sizes))

    def repeat_interleave(self, repeats, dim=None, *, output_size=None):
        return repeat_interleave(self, repeats, dim, output_size=output_size)

    def tile(self, *args, dims=None):
        return tile(self, tuple(dims) if dims is not None else _shape_args(args))

    @numpy_names
    def split(self, split_size, dim=0):
        return split(self, split_size, dim)

    def tensor_split(self, indices_or_sections, dim=0):
        return tensor_split(self, indices_or_sections, dim)

    def hsplit(self, indices_or_sections):
        return hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections):
        return vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections):
        return dsplit(self, indices_or_sections)

    @numpy_names
    def chunk(self, chunks, dim=0):
        return chunk(self, chunks, dim)

    @numpy_names
    def unbind(self, dim=0):
        return unbind(self, dim)

    def narrow(self, dim, start, length):
        return narrow(self, dim, start, length)

    def select(self, dim, index):
        return select(self, dim, index)

    @numpy_names
    def flip(self, *args, dims=None):
        return flip(self, tuple(dims) if dims is not None else _shape_args(args))

    def fliplr(self):
        return fliplr(self)

    def flipud(self):
        return flipud(self)

    @numpy_names
    def roll(self, shifts, dims=None):
        return roll(self, shifts, dims)

    def diag(self, diagonal=0):
        return diag(self, diagonal)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return diag_embed(self, offset, dim1, dim2)

    def tril(self, diagonal=0):
        return Tril.apply(self, diagonal=diagonal)

    def triu(self, diagonal=0):
        return Triu.apply(self, diagonal=diagonal)

    def tril_(self, diagonal=0):
        return self._inplace(Tril, diagonal=diagonal)

    def triu_(self, diagonal=0):
        return self._inplace(Triu, diagonal=diagonal)

    def unfold(self, dimension, size, step):
        return _unfold(self, dimension, size, step)

    def as_strided(self, size, stride, storage_offset=None):
        return as_strided(self, size, stride, storage_offset)
