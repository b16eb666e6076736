"""Indexing, scattering, sorting and searching: ``x[key]``, ``x[key] = v``, gather/scatter, the
index_* and masked_* ops, take/put, sort/topk/kthvalue, unique, nonzero, searchsorted/bucketize.

Three primitives carry the differentiable part: ``Slice`` (basic indexing, a view), ``Index``
(advanced indexing, a copy) and ``IndexPut`` (values written, or added, at an index). gather,
index_select, take and masked_select are ``Index`` with a computed key; scatter, scatter_add,
index_add/copy/fill, index_put, put and masked_scatter are ``IndexPut``. Each one's backward is the
other, so gradients of gradients work.

A key is compiled once by ``parse_key`` into ``(basic, adv)``: ``basic`` is a NumPy basic index
(ints, slices, None) whose result is a view, ``adv`` (None when there is none) the advanced index
(integer arrays, boolean masks, full slices) applied to that view. PyTorch applies integers before
tensor indices (``x[0, :, [1, 2]]`` has shape (4, 2) where NumPy gives (2, 4)); splitting the key
this way gives PyTorch's semantics with NumPy's indexing.
"""

# ruff: noqa: A001, A002 - torch's argument names (``input``, ``sorted``) are part of the API

from __future__ import annotations

import numbers
import operator
import warnings

import numpy as np

from ember import _tensor, return_types
from ember._legacy_types import scalar_type_name
from ember.autograd import function as _function
from ember.autograd.function import Primitive
from ember.backend import array_module
from ember.ops._numpy_names import numpy_names
from ember.ops.arithmetic import handle_out
from ember.ops.pointwise import _maskable, _masked
from ember.ops.shape import _broadcast_shape, wrap_dim

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "index_copy", "index_fill", "index_put", "index_put_", "masked_fill", "masked_select",
           "masked_scatter", "nonzero", "argwhere", "take", "take_along_dim", "put", "sort",
           "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive", "searchsorted",
           "bucketize"]

_FULL = slice(None)
_INT64 = np.dtype(np.int64)
_INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))
_BAD_INDEX = "tensors used as indices must be long, int, byte or bool tensors"
_SEQ_WARNING = ("Using a non-tuple sequence for multidimensional indexing is deprecated and will "
                "be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 "
                "this will be interpreted as tensor index, x[torch.tensor(seq)], which will result "
                "either in an error or a different result")


# --- keys -----------------------------------------------------------------------------------------


def _sequence_as_tuple(seq: list) -> bool:
    """PyTorch's legacy rule: ``x[[0, slice(None)]]`` or ``x[[[0, 1], [1, 2]]]`` mean a tuple."""
    if len(seq) >= 32:
        return False
    T = _tensor.Tensor
    return any(k is None or k is Ellipsis or isinstance(k, (T, list, tuple, slice, np.ndarray, str))
               for k in seq)


def _check_step(step) -> None:
    step = operator.index(step)
    if step == 0:
        raise ValueError("slice step cannot be zero")
    if step < 0:
        raise ValueError("step must be greater than zero")


def _key_item(k, xp):
    """One element of a key other than int/slice/None/Ellipsis: ``(kind, value, dims used)``."""
    if isinstance(k, _tensor.Tensor):
        arr = k._data
    elif isinstance(k, np.ndarray):
        arr = k if xp is np else xp.asarray(k)
    elif isinstance(k, (bool, np.bool_)):
        return "b", bool(k), 0
    elif isinstance(k, (list, tuple, range)):
        arr = np.asarray([_plain(e) for e in k])
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.int64)
        if arr.dtype.kind in "iuf":  # PyTorch truncates float lists (not float tensors)
            arr = arr.astype(np.int64, copy=False)
        elif arr.dtype.kind != "b":
            raise IndexError(_BAD_INDEX)
        if xp is not np:
            arr = xp.asarray(arr)
    elif isinstance(k, float):
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                         "Variables are valid indices (got float)")
    else:
        try:
            return "i", operator.index(k), 1
        except TypeError:
            raise TypeError(f"only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                            f"Variables are valid indices (got {type(k).__name__})") from None
    kind = arr.dtype.kind
    if arr.ndim == 0:  # a 0-dim index is a number, as in PyTorch
        if kind in "iu":
            return "i", int(arr), 1
        if kind == "b":
            return "b", bool(arr), 0
        raise IndexError(_BAD_INDEX)
    if kind == "b":
        return "m", arr, arr.ndim
    if arr.dtype == np.uint8:
        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                      "torch.bool instead.", UserWarning, stacklevel=4)
        return "m", arr.astype(bool), arr.ndim
    if arr.dtype not in _INDEX_DTYPES:
        raise IndexError(_BAD_INDEX)
    return "a", arr, 1


def _plain(e):
    """A list element as NumPy sees it (tensors inside index lists become their values)."""
    if isinstance(e, _tensor.Tensor):
        return e.detach().numpy(force=True)
    return e


def parse_key(key, t):
    """``t[key]``'s index expression compiled to ``(basic, adv)`` (see the module docstring)."""
    if key.__class__ is tuple:  # all ints, slices, None and one `...`: NumPy's basic index as is
        for k in key:
            c = k.__class__
            if c is slice:
                if k.step is not None:
                    _check_step(k.step)
            elif c is not int and k is not None and k is not Ellipsis:
                break
        else:
            n = key.count(Ellipsis)
            if n == 0:
                return key + (Ellipsis,), None  # a 0-dim result is a view, not a NumPy scalar
            if n == 1:
                return key, None
    shape = t._data.shape
    ndim = len(shape)
    if key.__class__ is not tuple:
        if key.__class__ is list and _sequence_as_tuple(key):
            warnings.warn(_SEQ_WARNING, UserWarning, stacklevel=3)
            key = tuple(key)
        else:
            key = (key,)
    items = []
    used = 0  # how many of t's dimensions the key consumes
    xp = None
    for k in key:
        c = k.__class__
        if c is int:
            items.append(("i", k, 1))
            used += 1
        elif c is slice:
            if k.step is not None:
                _check_step(k.step)
            items.append(("s", k, 1))
            used += 1
        elif k is None:
            items.append(("n", None, 0))
        elif k is Ellipsis:
            items.append(("e", None, 0))
        else:
            if xp is None:
                xp = array_module(t._device)
            item = _key_item(k, xp)
            items.append(item)
            used += item[2]
    if used > ndim:
        if ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    basic, adv = [], []
    dim = 0
    has_adv = False
    plain = True  # basic is all full slices: the advanced index applies to t itself
    ellipsis = False
    for kind, v, n in items:
        if kind == "i":
            size = shape[dim]
            if not -size <= v < size:
                raise IndexError(f"index {v} is out of bounds for dimension {dim} with size {size}")
            basic.append(v)
            plain = False
            dim += 1
        elif kind == "s":
            basic.append(v)
            adv.append(_FULL)
            plain = plain and v.start is None and v.stop is None and v.step in (None, 1)
            dim += 1
        elif kind == "n":
            basic.append(None)
            adv.append(_FULL)
            plain = False
        elif kind == "e":
            if ellipsis:  # PyTorch accepts a second `...`; it stands for no dimension
                continue
            ellipsis = True
            rest = ndim - used
            basic.extend([_FULL] * rest)
            adv.extend([_FULL] * rest)
            dim += rest
        elif kind == "b":  # True/False: a new dimension, indexed by [0] or by []
            xp = xp or array_module(t._device)
            basic.append(None)
            adv.append(xp.arange(1) if v else xp.zeros(0, dtype=np.int64))
            has_adv, plain = True, False
        elif kind == "a":
            basic.append(_FULL)
            adv.append(v)
            has_adv = True
            dim += 1
        else:  # a boolean mask over the next n dimensions
            for j in range(n):
                if v.shape[j] != shape[dim + j]:
                    raise IndexError(f"The shape of the mask {list(v.shape)} at index {j} does not "
                                     f"match the shape of the indexed tensor {list(shape)} at "
                                     f"index {dim + j}")
            basic.extend([_FULL] * n)
            adv.append(v)
            has_adv = True
            dim += n
    if not has_adv:
        basic.append(Ellipsis)  # a 0-dim result is then a 0-dim view, not a NumPy scalar
        return tuple(basic), None
    while adv[-1] is _FULL:
        adv.pop()
    return (None if plain else tuple(basic)), tuple(adv)


def _numpy_index_error(e: IndexError, ndim: int = -1, exc=IndexError) -> Exception:
    """NumPy's indexing error in PyTorch's words."""
    msg = str(e)
    if msg.startswith("too many indices"):
        if ndim == 0:
            msg = ("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                   "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        else:
            msg = f"too many indices for tensor of dimension {ndim}"
    return exc(msg.replace("for axis", "for dimension"))


def _take_key(g, key):
    """``g[key]`` for a compiled key: a view for a basic key, a copy otherwise."""
    if key[1] is None:
        return Slice.apply(g, key=key[0])
    return Index.apply(g, key=key)


def _zeros(shape, like):
    """A constant tensor of zeros with ``like``'s dtype and device."""
    xp = array_module(like._device)
    return _tensor.Tensor._make(xp.zeros(shape, dtype=like._data.dtype), like._device)


_AROUND = {}  # (shape, dim, xp) -> the coordinate arrays _along pairs an index with


def _along(index, dim: int, xp) -> tuple:
    """The advanced key that picks ``a[i][j]...`` with ``index`` replacing the ``dim`` coordinate
    (gather's and scatter's addressing), as broadcastable coordinate arrays."""
    k = (index.shape, dim, xp, getattr(index, "device", None))
    coords = _AROUND.get(k)
    if coords is None:  # built once per shape: training loops repeat the same shapes
        if len(_AROUND) > 512:
            _AROUND.clear()
        nd = index.ndim
        coords = _AROUND[k] = [xp.arange(s).reshape((1,) * i + (s,) + (1,) * (nd - i - 1))
                               for i, s in enumerate(index.shape)]
    return tuple(coords[:dim]) + (index,) + tuple(coords[dim + 1:])


def _int_key(adv, xp) -> tuple:
    """``adv`` with boolean masks as the integer arrays of their True positions."""
    out = []
    for a in adv:
        if a is not _FULL and a.dtype == bool:
            out.extend(xp.nonzero(a))
        else:
            out.append(a)
    return tuple(out)


# --- primitives -----------------------------------------------------------------------------------


class Slice(Primitive):
    """``x[key]`` for a basic key (ints, slices, None): a view sharing ``x``'s memory."""

    is_view = True

    @staticmethod
    def forward(ctx, a, key):
        ctx.key, ctx.shape = key, a.shape
        try:
            return a[key]
        except IndexError as e:
            raise _numpy_index_error(e, a.ndim) from None

    @staticmethod
    def backward(ctx, g):
        return IndexPut.apply(_zeros(ctx.shape, g), g, key=(ctx.key, None))

    def name(self) -> str:
        """PyTorch's name for the node: that of the key's last view op (``x[0]`` is a
        SelectBackward0, ``x[1:3]`` a SliceBackward0, ``x[:, None]`` an UnsqueezeBackward0)."""
        return _view_name(self.key, self.shape) + "Backward0"


def _view_name(key, shape) -> str:
    label, dim = "Alias", 0
    ellipsis = len(shape) - sum(1 for k in key if k is not None and k is not Ellipsis)
    for k in key:
        if k is None:
            label = "Unsqueeze"
        elif k is Ellipsis:
            dim += ellipsis
            ellipsis = 0
        else:
            if k.__class__ is slice:
                if k.indices(shape[dim]) != (0, shape[dim], 1):  # `:` and `0:` change nothing
                    label = "Slice"
            else:
                label = "Select"
            dim += 1
    return label


class Index(Primitive):
    """``x[key]`` for an advanced key (index arrays, masks): a copy; repeats add up in backward."""

    @staticmethod
    def forward(ctx, a, key, error=IndexError):
        ctx.key, ctx.shape = key, a.shape
        basic, adv = key
        if basic is not None:
            a = a[basic]
        try:
            return a[adv]
        except IndexError as e:  # gather reports an index out of range as a RuntimeError
            raise _numpy_index_error(e, a.ndim, error) from None

    @staticmethod
    def backward(ctx, g):
        return IndexPut.apply(_zeros(ctx.shape, g), g, key=ctx.key, accumulate=True)


class IndexPut(Primitive):
    """``x[key] = value``, or ``x[key] += value`` with duplicates adding up (``accumulate``).

    Works on a copy of ``x``, or on ``x`` itself when ``inplace`` (``Tensor._inplace`` passes either
    the tensor being changed or a fresh copy of it; backward needs neither).
    """

    @staticmethod
    def forward(ctx, a, value, key, accumulate=False, inplace=False):
        basic, adv = key
        ctx.key, ctx.accumulate = key, accumulate
        ctx.value_shape = getattr(value, "shape", ())
        if hasattr(value, "dtype") and value.dtype != a.dtype:
            if value.dtype.kind == "c" and a.dtype.kind != "c":
                warnings.warn("Casting complex values to real discards the imaginary part",
                              UserWarning, stacklevel=5)
                value = value.real
            value = value.astype(a.dtype)
        out = a if inplace else a.copy()
        try:
            if adv is None:
                if accumulate:
                    out[basic] += value
                else:
                    out[basic] = value
            else:
                region = out if basic is None else out[basic]
                if not accumulate:
                    region[adv] = value
                elif all(k is _FULL or k.dtype == bool for k in adv):
                    region[adv] += value  # no index repeats: a plain add is exact
                else:
                    _add_at(ctx.xp, region, adv, value)
        except IndexError as e:
            raise _numpy_index_error(e, a.ndim) from None
        except ValueError as e:
            raise _put_error(e, out, value, key) from None
        return out

    @staticmethod
    def backward(ctx, g):
        need_a, need_v = ctx.needs_input_grad
        ga = gv = None
        if need_a:
            ga = g if ctx.accumulate else IndexPut.apply(g, 0, key=ctx.key)
        if need_v:
            gv = _take_key(g, ctx.key)
            if not ctx.accumulate:
                last = _last_writes(ctx.xp, g._data.shape, ctx.key)
                if last is not None:
                    gv = gv * ctx.const(last.astype(g._data.dtype))
            if len(ctx.value_shape) > gv.ndim:  # value had extra leading 1s
                gv = gv.reshape(ctx.value_shape)
        return ga, gv


def _last_writes(xp, shape, key):
    """Where an index repeats, ``x[key] = v`` keeps the last write: a 0/1 array over the indexed
    region marking the writes that stay (None when nothing repeats), so that ``v``'s gradient
    counts every written position once."""
    basic, adv = key
    if adv is None or all(k is _FULL or k.dtype == bool for k in adv):
        return None
    pos = xp.arange(int(np.prod(shape))).reshape(shape)
    if basic is not None:
        pos = pos[basic]
    region = pos[adv]
    flat = region.reshape(-1)
    n = flat.size
    _, first_of_reversed = xp.unique(flat[::-1], return_index=True)
    if first_of_reversed.size == n:
        return None
    keep = xp.zeros(n, dtype=np.float32)
    keep[n - 1 - first_of_reversed] = 1
    return keep.reshape(region.shape)


def _add_at(xp, region, adv, value) -> None:
    """``region[adv] += value`` where repeated indices add up (the backward of indexing)."""
    size = getattr(value, "size", 1)
    if xp is np and region.dtype.kind == "f" and region.size <= 4 * size:
        # np.add.at is slow per element; a bincount over linear positions is several times
        # faster when the values are about as many as the region's elements
        pos = np.arange(region.size).reshape(region.shape)[adv]
        weights = np.broadcast_to(value, pos.shape).reshape(-1)
        region += np.bincount(pos.reshape(-1), weights, region.size).reshape(region.shape)
    else:
        xp.add.at(region, _int_key(adv, xp), value)


def _put_error(e: ValueError, out, value, key) -> Exception:
    if "read-only" in str(e):
        return RuntimeError("unsupported operation: more than one element of the written-to tensor "
                            "refers to a single memory location. Please clone() the tensor before "
                            "performing the operation.")
    basic, adv = key
    region = out if basic is None else out[basic]
    if adv is not None:
        region = region[adv]
    return RuntimeError(f"shape mismatch: value tensor of shape {list(np.shape(value))} cannot be "
                        f"broadcast to indexing result of shape {list(region.shape)}")


class MaskedFill(Primitive):
    """``value`` where ``mask`` is True, ``x`` elsewhere (the mask broadcasts)."""

    @staticmethod
    def forward(ctx, a, mask, value, inplace=False):
        if mask.dtype != bool:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                               f"{scalar_type_name(mask.dtype).lower()}")
        if getattr(value, "ndim", 0) != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        xp = ctx.xp
        ctx.mask = mask
        if inplace:
            if mask.shape != a.shape:
                shape = _broadcast_shape((a.shape, mask.shape), tensors=True)
                if shape != a.shape:
                    raise RuntimeError(f"output with shape {list(a.shape)} doesn't match the "
                                       f"broadcast shape {list(shape)}")
            xp.copyto(a, value, casting="unsafe", where=mask)
            return a
        if mask.shape != a.shape:
            _broadcast_shape((a.shape, mask.shape), tensors=True)
        elif type(value) in (int, float) and value == 0 and _maskable(a, mask, value):
            return _masked(a, mask, keep=False)  # every masked gradient: branch-free
        return xp.where(mask, xp.asarray(value).astype(a.dtype), a)

    @staticmethod
    def backward(ctx, g):
        need_a, _, need_v = ctx.needs_input_grad
        mask = ctx.const(ctx.mask)
        ga = g.masked_fill(mask, 0) if need_a else None
        gv = g.masked_fill(ctx.const(~ctx.mask), 0).sum() if need_v else None
        return ga, None, gv


class ScatterReduce(Primitive):
    """``scatter_reduce`` (sum, prod, mean, amax, amin; ``include_self``) and the legacy
    ``scatter(..., reduce='add'|'multiply')``, which PyTorch does not differentiate."""

    @staticmethod
    def forward(ctx, a, index, src, dim, reduce, include_self=True, legacy=False, inplace=False):
        xp = ctx.xp
        coords = _along(index, dim, xp)
        if hasattr(src, "shape") and src.shape != index.shape:
            src = src[tuple(slice(0, s) for s in index.shape)]
        ctx.coords, ctx.dim, ctx.reduce, ctx.include_self, ctx.legacy = (
            coords, dim, reduce, include_self, legacy)
        keep = not legacy and reduce in ("amax", "amin", "prod") and any(ctx.needs_input_grad)
        out = a if inplace and not keep else a.copy()  # backward of these needs the old values
        if reduce in ("sum", "add", "mean"):
            ufunc, identity = xp.add, 0
        elif reduce in ("prod", "multiply"):
            ufunc, identity = xp.multiply, 1
        elif reduce == "amax":
            ufunc = xp.maximum
            identity = -np.inf if a.dtype.kind == "f" else _dt_limits(a.dtype)[0]
        else:
            ufunc = xp.minimum
            identity = np.inf if a.dtype.kind == "f" else _dt_limits(a.dtype)[1]
        if not include_self:
            out[coords] = identity
        ufunc.at(out, coords, src)
        if reduce == "mean":
            count = xp.full(a.shape, 1 if include_self else 0, dtype=a.dtype)
            xp.add.at(count, coords, 1)
            count[count == 0] = 1
            ctx.count = count
            if a.dtype.kind == "f":
                out /= count
            else:
                out //= count
        if keep:
            ctx.save_for_backward(a, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.legacy:
            raise RuntimeError("derivative for aten::scatter is not implemented")
        need_a, _, need_src = ctx.needs_input_grad
        coords, reduce = ctx.coords, ctx.reduce
        key = (None, coords)
        ga = gs = None
        if reduce == "sum":
            ga, gs = g, _take_key(g, key)
        elif reduce == "mean":
            gd = g / ctx.const(ctx.count)
            ga, gs = gd, _take_key(gd, key)
        elif reduce in ("amax", "amin"):
            a, src, out = ctx.saved_tensors
            self_hit = (a._data == out._data).astype(g._data.dtype)
            src_hit = (src._data == out._data[coords]).astype(g._data.dtype)
            n = self_hit.copy()
            ctx.xp.add.at(n, coords, src_hit)
            gd = g / ctx.const(n)
            ga = gd * ctx.const(self_hit)
            gs = _take_key(gd, key) * ctx.const(src_hit)
        else:  # prod: the product of the other factors, exact when some of them are zero
            a, src, out = ctx.saved_tensors
            self_zero = a._data == 0
            masked_self = a.masked_fill(ctx.const(self_zero), 1)
            ga = g * ScatterReduce.apply(masked_self, ctx.const(coords[ctx.dim]), src,
                                         dim=ctx.dim, reduce="prod") / masked_self
            src_zero = src._data == 0
            zeros_at = ctx.xp.zeros(a.shape, dtype=np.int64)
            ctx.xp.add.at(zeros_at, coords, src_zero.astype(np.int64))
            single = src_zero & (zeros_at[coords] == 1)
            masked_src = src.masked_fill(ctx.const(single), 1)
            others_if_zero = _take_key(g * ScatterReduce.apply(
                a, ctx.const(coords[ctx.dim]), masked_src, dim=ctx.dim, reduce="prod",
                include_self=ctx.include_self), key)
            others = _take_key(g * out, key) / src.masked_fill(ctx.const(src_zero), 1)
            gs = (others_if_zero.masked_fill(ctx.const(~single), 0)
                  + others.masked_fill(ctx.const(single), 0))
        if need_a and not ctx.include_self:
            ga = IndexPut.apply(ga, 0, key=key)
        return (ga if need_a else None), None, (gs if need_src else None)


def _dt_limits(np_dtype):
    if np_dtype.kind == "b":
        return False, True
    info = np.iinfo(np_dtype)
    return info.min, info.max


def _argsort(xp, a, dim: int, descending: bool):
    """Stable argsort along ``dim``; descending keeps equal elements in order, NaN first."""
    if not descending:
        return xp.argsort(a, axis=dim, kind="stable")
    n = a.shape[dim]
    rev = (_FULL,) * dim + (slice(None, None, -1),)  # a reversing view (cheaper than xp.flip)
    idx = xp.argsort(a[rev], axis=dim, kind="stable")
    return (n - 1) - idx[rev]


class _PickAlong(Primitive):
    """Base of sort, topk and kthvalue: values picked from the input along ``dim``, and where from.

    The forward sets ``ctx.index`` (positions, shaped like the values with ``dim`` kept),
    ``ctx.dim`` and ``ctx.shape``; the gradient goes back to the picked positions.
    """

    @staticmethod
    def backward(ctx, gv, gi=None):
        index = ctx.index
        if gv.shape != index.shape:  # kthvalue without keepdim, 0-dim inputs
            gv = gv.reshape(index.shape)
        if len(ctx.shape) == 0:
            return gv.reshape(())
        key = (None, _along(index, ctx.dim, ctx.xp))
        return IndexPut.apply(_zeros(ctx.shape, gv), gv, key=key)


def _pick(ctx, a, idx, dim):
    ctx.index, ctx.dim, ctx.shape = idx, dim, a.shape
    return a[_along(idx, dim, ctx.xp)]  # NumPy's take_along_axis, without its argument checks


def _pick_whole(ctx, a):
    """A 0-d input picked whole: itself, from index 0."""
    ctx.index, ctx.shape = ctx.xp.zeros((), dtype=np.int64), ()
    return a.copy(), ctx.index.copy()


def _sortable(a, name: str):
    if a.dtype.kind == "c":
        raise RuntimeError(f"{name} does not support complex dtypes on CPU")


class Sort(_PickAlong):
    @staticmethod
    def forward(ctx, a, dim=-1, descending=False):
        _sortable(a, "Sort")
        if a.ndim == 0:
            return _pick_whole(ctx, a)
        dim = wrap_dim(dim, a.ndim)
        idx = _argsort(ctx.xp, a, dim, descending)
        return _pick(ctx, a, idx, dim), idx


class Topk(_PickAlong):
    @staticmethod
    def forward(ctx, a, k, dim=-1, largest=True):
        _sortable(a, "topk")
        xp = ctx.xp
        dim = wrap_dim(dim, a.ndim)
        n = a.shape[dim] if a.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError("selected index k out of range")
        if a.ndim == 0:
            return _pick_whole(ctx, a)
        lead = (slice(None),) * dim
        if 0 < k < n // 8:  # few of many: partition first, then sort only the k candidates
            part = xp.argpartition(a, n - k if largest else k - 1, axis=dim)
            cand = part[lead + ((slice(n - k, n) if largest else slice(0, k)),)]
            coords = _along(cand, dim, xp)
            order = _argsort(xp, a[coords], dim, largest)
            idx = cand[coords[:dim] + (order,) + coords[dim + 1:]]
        else:
            idx = _argsort(xp, a, dim, largest)[lead + (slice(0, k),)]
        return _pick(ctx, a, idx, dim), idx


class Kthvalue(_PickAlong):
    @staticmethod
    def forward(ctx, a, k, dim=-1, keepdim=False):
        _sortable(a, "kthvalue()")
        xp = ctx.xp
        dim = wrap_dim(dim, a.ndim)
        n = a.shape[dim] if a.ndim else 1
        if not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim}")
        if a.ndim == 0:
            return _pick_whole(ctx, a)
        part = xp.argpartition(a, k - 1, axis=dim)
        idx = part[(slice(None),) * dim + (slice(k - 1, k),)]
        values = _pick(ctx, a, idx, dim)
        if not keepdim:
            values, idx = values.squeeze(dim), idx.squeeze(dim)
        return values, idx


class Nonzero(Primitive):
    @staticmethod
    def forward(ctx, a, as_tuple=False):
        xp = ctx.xp
        if a.ndim == 0:
            hit = xp.nonzero(a.reshape(1))[0].astype(np.int64, copy=False)
            return (hit,) if as_tuple else xp.zeros((hit.size, 0), dtype=np.int64)
        nz = tuple(i.astype(np.int64, copy=False) for i in xp.nonzero(a))
        return nz if as_tuple else xp.stack(nz, axis=1)

    @staticmethod
    def backward(ctx, *grads):
        return None


class Unique(Primitive):
    @staticmethod
    def forward(ctx, a, dim=None):
        xp = ctx.xp
        if dim is None:
            out, inverse, counts = xp.unique(a.reshape(-1), return_inverse=True,
                                             return_counts=True, equal_nan=False)
            inverse = inverse.reshape(a.shape)
        else:
            dim = wrap_dim(dim, a.ndim)
            out, inverse, counts = xp.unique(a, return_inverse=True, return_counts=True, axis=dim,
                                             equal_nan=False)
            inverse = inverse.reshape(-1)
        return out, inverse.astype(np.int64, copy=False), counts.astype(np.int64, copy=False)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("derivative for aten::_unique2 is not implemented")


class UniqueConsecutive(Primitive):
    @staticmethod
    def forward(ctx, a, dim=None):
        xp = ctx.xp
        if dim is None:
            rows = a.reshape(-1, 1)
        else:
            dim = wrap_dim(dim, a.ndim)
            rows = xp.moveaxis(a, dim, 0).reshape(a.shape[dim], -1)
        n = rows.shape[0]
        starts = xp.ones(n, dtype=bool)
        if n > 1:
            starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
        first = xp.nonzero(starts)[0]
        out = a.reshape(-1)[first] if dim is None else xp.take(a, first, axis=dim)
        inverse = xp.cumsum(starts) - 1
        counts = xp.diff(xp.concatenate([first, xp.asarray([n])]))
        if dim is None:
            inverse = inverse.reshape(a.shape)
        return out, inverse.astype(np.int64), counts.astype(np.int64)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("derivative for aten::unique_consecutive is not implemented")


class Searchsorted(Primitive):
    @staticmethod
    def forward(ctx, seq, values, right=False, sorter=None, out_int32=False):
        xp = ctx.xp
        side = "right" if right else "left"
        values = xp.asarray(values)
        if seq.ndim <= 1:
            out = xp.searchsorted(seq.reshape(-1), values, side=side, sorter=sorter)
        else:
            if seq.shape[:-1] != values.shape[:-1]:
                raise RuntimeError(
                    "torch.searchsorted(): boundaries tensor should be 1 dimension or the first "
                    "N-1 dimensions of boundaries tensor and input value tensor must match, but we "
                    f"got boundaries tensor {list(seq.shape)} and input value tensor "
                    f"{list(values.shape)}")
            rows = seq.reshape(-1, seq.shape[-1])
            vals = values.reshape(rows.shape[0], -1)
            order = None if sorter is None else sorter.reshape(rows.shape)
            out = xp.stack([xp.searchsorted(rows[i], vals[i], side=side,
                                            sorter=None if order is None else order[i])
                            for i in range(rows.shape[0])]).reshape(values.shape)
        return out.astype(np.int32 if out_int32 else np.int64)

    @staticmethod
    def backward(ctx, *grads):
        return None


# --- checks on index arguments --------------------------------------------------------------------


def _array(index):
    """The array behind an index argument (a tensor, or a sequence of ints)."""
    if isinstance(index, _tensor.Tensor):
        return index._data
    return np.asarray(index)


def _check_bounds(idx, size: int, dim: int, exc=RuntimeError, prefix: str = "",
                  negative: bool = False) -> None:
    """Every index in ``[0, size)`` (``[-size, size)`` with ``negative``), else PyTorch's error."""
    if idx.size == 0:
        return
    lo, hi = int(idx.min()), int(idx.max())
    low = -size if negative else 0
    if lo < low or hi >= size:
        bad = lo if lo < low else hi
        raise exc(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {size}")


def _dim_index(input, dim, index, name: str):
    """For the index_* ops: the wrapped dim and the index as a 1-D array, checked like PyTorch."""
    d = wrap_dim(dim, input.ndim)
    idx = _array(index)
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector, but got dim: {idx.ndim} "
                         f"with type: {scalar_type_name(idx.dtype)} and size: {list(idx.shape)}")
    return d, idx.reshape(-1)


def _dim_key(d: int, idx) -> tuple:
    return None, (_FULL,) * d + (idx,)


def _same_dtype(a, b, msg: str) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(msg.format(scalar_type_name(a.dtype), scalar_type_name(b.dtype)))


# --- gather / scatter -----------------------------------------------------------------------------


def _gather_key(input, dim, index, name: str):
    d = wrap_dim(dim, input.ndim)
    idx = _array(index)
    if idx.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index")
    a = input._data
    if idx.ndim != a.ndim and not (idx.ndim <= 1 and a.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    return d, idx



def _along_key(input, idx, d: int) -> tuple:
    """gather's/scatter's compiled key (0-dim inputs and indices included)."""
    if idx.ndim == 0:
        return None, ((idx,) if input.ndim == 1 else ())
    return None, _along(idx, d, array_module(input._device))


def _check_sizes(input, idx, d: int, src=None, upper: bool = True) -> None:
    """gather's/scatter's shape and bounds checks (``upper=False``: the caller lets NumPy find
    indices past the end)."""
    a = input._data
    for i in range(min(a.ndim, idx.ndim)):
        too_big = src is not None and idx.shape[i] > src.shape[i]
        if (i != d and idx.shape[i] > a.shape[i]) or too_big:
            if src is None:
                raise RuntimeError(f"Size does not match at dimension {i} expected index "
                                   f"{list(idx.shape)} to be no larger than self {list(a.shape)} "
                                   f"apart from dimension {d}")
            raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self "
                               f"{list(a.shape)} apart from dimension {d} and to be no larger "
                               f"size than src {list(src.shape)}")
    size = a.shape[d] if a.ndim else 1
    if upper:
        _check_bounds(idx, size, d)
    elif idx.size and idx.min() < 0:  # NumPy would wrap these around
        raise RuntimeError(f"index {int(idx.min())} is out of bounds for dimension {d} with size "
                           f"{size}")


def gather(input, dim, index, *, sparse_grad=False, out=None):
    """``out[i][j][k] = input[i][index[i][j][k]][k]`` (for ``dim=1``)."""
    d, idx = _gather_key(input, dim, index, "gather")
    _check_sizes(input, idx, d, upper=False)
    result = Index.apply(input, key=_along_key(input, idx, d), error=RuntimeError)
    return handle_out(result, out, "gather")


def _scatter_src(input, idx, src, name: str):
    """scatter's ``src`` checked, and cut to the index's shape (a view, so gradients flow)."""
    if not isinstance(src, _tensor.Tensor):
        return src
    if src._data.dtype != input._data.dtype:
        raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
    if src.shape != idx.shape and idx.ndim:
        src = Slice.apply(src, key=tuple(slice(0, s) for s in idx.shape) + (Ellipsis,))
    return src


def _scatter(input, dim, index, src, reduce, accumulate, inplace, name: str):
    d, idx = _gather_key(input, dim, index, name)
    _check_sizes(input, idx, d, src if isinstance(src, _tensor.Tensor) else None)
    src = _scatter_src(input, idx, src, name)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if isinstance(src, _tensor.Tensor):
            warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and "
                          "will be removed in a future PyTorch release. Use torch.scatter_reduce "
                          "instead for more reduction options.", UserWarning, stacklevel=3)
        if inplace:
            return input._inplace(ScatterReduce, idx, src, dim=d, reduce=reduce, legacy=True,
                                  inplace=True)
        return ScatterReduce.apply(input, idx, src, dim=d, reduce=reduce, legacy=True)
    key = _along_key(input, idx, d)
    if inplace:
        return input._inplace(IndexPut, src, key=key, accumulate=accumulate, inplace=True)
    return IndexPut.apply(input, src, key=key, accumulate=accumulate)


def _scatter_value(src, value):
    if src is None:
        if value is None:
            raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
        return value
    return src


def scatter(input, dim, index, src=None, value=None, *, reduce=None):
    """A copy of ``input`` with ``src`` (a tensor, or a number ``value``) written at ``index``
    along ``dim``: ``out[i][index[i][j]] = src[i][j]`` for ``dim=1``."""
    return _scatter(input, dim, index, _scatter_value(src, value), reduce, False, False, "scatter")


def scatter_add(input, dim, index, src):
    """Like ``scatter``, but values sent to the same place add up."""
    return _scatter(input, dim, index, src, None, True, False, "scatter_add")


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def _scatter_reduce(input, dim, index, src, reduce, include_self, inplace):
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d, idx = _gather_key(input, dim, index, "scatter_reduce")
    _check_sizes(input, idx, d, src)
    if src._data.dtype != input._data.dtype:
        raise RuntimeError("scatter_reduce(): Expected self.dtype to be equal to src.dtype")
    if idx.ndim == 0:  # one element: as a 1-element scatter
        input1, src1, idx1 = input.reshape(-1), src.reshape(-1), idx.reshape(1)
        out = ScatterReduce.apply(input1, idx1, src1, dim=0, reduce=reduce,
                                  include_self=include_self)
        out = out.reshape(input.shape)
        return input.copy_(out) if inplace else out
    if inplace:
        return input._inplace(ScatterReduce, idx, src, dim=d, reduce=reduce,
                              include_self=include_self, inplace=True)
    return ScatterReduce.apply(input, idx, src, dim=d, reduce=reduce, include_self=include_self)


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """``src`` reduced into a copy of ``input`` at ``index`` along ``dim`` with ``reduce``
    ('sum', 'prod', 'mean', 'amax', 'amin'); ``include_self=False`` leaves ``input``'s values out
    where something is scattered."""
    return _scatter_reduce(input, dim, index, src, reduce, include_self, False)


# --- index_* --------------------------------------------------------------------------------------


def index_select(input, dim, index, *, out=None):
    """The entries of ``input`` at ``index`` (a vector) along ``dim``."""
    d = wrap_dim(dim, input.ndim)
    idx = _array(index)
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if idx.dtype not in _INDEX_DTYPES:
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    idx = idx.reshape(-1)
    size = input._data.shape[d] if input.ndim else 1
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        if d == 0:  # PyTorch's two kernels word (and type) this differently
            raise IndexError("index out of range in self")
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"INDICES element is out of DATA bounds, id={bad} axis_dim={size}")
    if input.ndim == 0:
        return handle_out(Index.apply(input.reshape(1), key=(None, (idx,))), out, "index_select")
    return handle_out(Index.apply(input, key=_dim_key(d, idx)), out, "index_select")


def _index_source(input, d, idx, source, name: str, sep: str = ":"):
    if source.ndim and input.ndim and idx.size != source.shape[d]:
        raise (IndexError if name == "index_copy_" else RuntimeError)(
            f"{name}(): Number of indices ({idx.size}) should be equal to source.size(dim){sep} "
            f"({source.shape[d]})" + (f", for dim: {d}" if name == "index_add_" else ""))


def _index_add(input, dim, index, source, alpha, inplace):
    d, idx = _dim_index(input, dim, index, "index_add_")
    if idx.dtype not in _INDEX_DTYPES:
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{scalar_type_name(idx.dtype)}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_add_(): self ({scalar_type_name(input.dtype)}) and source "
                           f"({scalar_type_name(source.dtype)}) must have the same scalar type")
    _index_source(input, d, idx, source, "index_add_")
    shape_ok = source.ndim == input.ndim and all(
        s == n for i, (s, n) in enumerate(zip(source.shape, input.shape)) if i != d)
    if not shape_ok and source.ndim and input.ndim:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(input.shape)} "
                           f"source.shape = {list(source.shape)}")
    _check_bounds(idx, input.shape[d] if input.ndim else 1, d)
    if alpha != 1:
        source = source * alpha
    key = _dim_key(d, idx) if input.ndim else (None, ())
    if source.ndim == 0 and input.ndim:
        source = source.reshape(1)
    if inplace:
        return input._inplace(IndexPut, source, key=key, accumulate=True, inplace=True)
    return IndexPut.apply(input, source, key=key, accumulate=True)


def index_add(input, dim, index, source, *, alpha=1, out=None):
    """A copy of ``input`` with ``alpha * source`` added at ``index`` along ``dim``."""
    return handle_out(_index_add(input, dim, index, source, alpha, False), out, "index_add")


def _index_copy(input, dim, index, source, inplace):
    d, idx = _dim_index(input, dim, index, "index_copy_")
    if idx.dtype != _INT64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{scalar_type_name(idx.dtype)}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but "
                           f"got (self) {scalar_type_name(input._data.dtype)} and (source) "
                           f"{scalar_type_name(source._data.dtype)}")
    _index_source(input, d, idx, source, "index_copy_", sep="")
    _check_bounds(idx, input.shape[d] if input.ndim else 1, d, IndexError, "index_copy_(): ")
    key = _dim_key(d, idx) if input.ndim else (None, ())
    if inplace:
        return input._inplace(IndexPut, source, key=key, inplace=True)
    return IndexPut.apply(input, source, key=key)


def index_copy(input, dim, index, source, *, out=None):
    """A copy of ``input`` with ``source``'s slices written at ``index`` along ``dim``."""
    return handle_out(_index_copy(input, dim, index, source, False), out, "index_copy")


def _scalar_on(value, t):
    """A 0-dim tensor value moved to ``t``'s device (PyTorch takes CPU scalars anywhere)."""
    if isinstance(value, _tensor.Tensor) and value._device is not t._device and value.ndim == 0:
        return value.to(t._device)
    return value


def _index_fill(input, dim, index, value, inplace):
    d = wrap_dim(dim, input.ndim)
    idx = _array(index)
    if idx.dtype != _INT64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if idx.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, _tensor.Tensor) and value.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value.ndim} dimension(s).")
    idx = idx.reshape(-1)
    value = _scalar_on(value, input)
    size = input.shape[d] if input.ndim else 1
    _check_bounds(idx, size, d, IndexError, negative=True)
    key = _dim_key(d, idx) if input.ndim else (None, ())
    if inplace:
        return input._inplace(IndexPut, value, key=key, inplace=True)
    return IndexPut.apply(input, value, key=key)


def index_fill(input, dim, index, value):
    """A copy of ``input`` with ``value`` at ``index`` along ``dim``."""
    return _index_fill(input, dim, index, value, False)


def _index_put(input, indices, values, accumulate, inplace):
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"index_put(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    adv = []
    used = 0
    for i, k in enumerate(indices):
        if not isinstance(k, _tensor.Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(k).__name__}")
        arr = k._data
        if arr.dtype == bool or arr.dtype == np.uint8:
            adv.append(arr.astype(bool, copy=False))
            used += arr.ndim
        elif arr.dtype in _INDEX_DTYPES:  # 0-dim ones too: here they broadcast, as tensors do
            adv.append(arr)
            used += 1
        else:
            raise IndexError(_BAD_INDEX)
    if used > input.ndim:
        raise IndexError(f"too many indices for tensor of dimension {input.ndim}")
    if isinstance(values, _tensor.Tensor) and values._data.dtype != input._data.dtype:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{scalar_type_name(input._data.dtype)} for the destination and "
                           f"{scalar_type_name(values._data.dtype)} for the source.")
    key = (None, tuple(adv))
    if inplace:
        return input._inplace(IndexPut, values, key=key, accumulate=accumulate, inplace=True)
    return IndexPut.apply(input, values, key=key, accumulate=accumulate)


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate``, where
    repeated indices add up)."""
    return _index_put(input, indices, values, accumulate, False)


def index_put_(input, indices, values, accumulate=False):
    """``input[indices] = values`` in place (``+=`` with ``accumulate``)."""
    return _index_put(input, indices, values, accumulate, True)


# --- masks ----------------------------------------------------------------------------------------


def masked_fill(input, mask, value):
    """``value`` where ``mask`` (bool, broadcast) is True, ``input`` elsewhere."""
    return MaskedFill.apply(input, mask, _scalar_on(value, input))


def _bool_mask(mask, msg: str):
    if mask._data.dtype != bool:
        raise RuntimeError(msg.format(scalar_type_name(mask._data.dtype)))


def masked_select(input, mask, *, out=None):
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor (both broadcast)."""
    _bool_mask(mask, "masked_select: expected BoolTensor for mask")
    m = mask._data
    if m.shape != input.shape:
        shape = _broadcast_shape((input.shape, m.shape), tensors=True)
        if input.shape != shape:
            input = input.expand(shape)
        if m.shape != shape:
            m = array_module(input._device).broadcast_to(m, shape)
    if input.ndim == 0:
        input, m = input.reshape(1), m.reshape(1)
    return handle_out(Index.apply(input, key=(None, (m,))), out, "masked_select")


def _masked_scatter(input, mask, source, inplace):
    _bool_mask(mask, "masked_scatter_ only supports boolean masks, but got mask with dtype {}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{scalar_type_name(input.dtype)} and {scalar_type_name(source.dtype)}")
    if input.ndim == 0 and mask.ndim == 0:  # as a 1-element tensor
        out = _masked_scatter(input.reshape(1), mask.reshape(1), source, False).reshape(())
        return input.copy_(out) if inplace else out
    m = mask._data
    if m.shape != input.shape:
        shape = _broadcast_shape((input.shape, m.shape), tensors=True)
        if input.shape != shape:
            if inplace:
                raise RuntimeError(f"output with shape {list(input.shape)} doesn't match the "
                                   f"broadcast shape {list(shape)}")
            input = input.expand(shape)
        m = array_module(input._device).broadcast_to(m, shape)
    count = int(m.sum())
    if count > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    values = source.reshape(-1)
    if count != values.shape[0]:
        values = Slice.apply(values, key=(slice(0, count), Ellipsis))
    if inplace:
        return input._inplace(IndexPut, values, key=(None, (m,)), inplace=True)
    return IndexPut.apply(input, values, key=(None, (m,)))


def masked_scatter(input, mask, source):
    """A copy of ``input`` with ``source``'s first elements written, in order, where ``mask`` is
    True."""
    return _masked_scatter(input, mask, source, False)


# --- take / put -----------------------------------------------------------------------------------


def _flat_index(input, index, name: str):
    idx = _array(index)
    if idx.dtype != _INT64:
        raise RuntimeError(f"{name}(): Expected a long tensor for index, but got "
                           f"{scalar_type_name(idx.dtype)}")
    n = input.numel()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min()) if idx.min() < -n else int(idx.max())
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} elements.")
    return idx


def take(input, index):
    """The elements of ``input`` (read as 1-D) at ``index``, shaped like ``index``."""
    idx = _flat_index(input, index, "take")
    return Index.apply(input.reshape(-1), key=(None, (idx,)))


def take_along_dim(input, indices, dim=None, *, out=None):
    """``gather`` with ``indices`` and ``input`` broadcast against each other (but along ``dim``);
    with ``dim=None``, ``take`` from the flattened input."""
    if dim is None:
        return handle_out(gather(input.reshape(-1), 0, indices.reshape(-1)), out,
                          "take_along_dim")
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, and "
                           f"{indices.ndim} dimensions for indices")
    if indices._data.dtype != _INT64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{scalar_type_name(indices._data.dtype)}")
    d = wrap_dim(dim, input.ndim)
    sizes = list(input.shape)
    sizes[d] = indices.shape[d]
    shape = _broadcast_shape((tuple(sizes), indices.shape), tensors=True)
    idx = indices._data
    if idx.shape != shape:
        idx = array_module(input._device).broadcast_to(idx, shape)
    sizes = list(shape)
    sizes[d] = input.shape[d]
    if tuple(sizes) != input.shape:
        input = input.expand(sizes)
    return handle_out(gather(input, d, idx), out, "take_along_dim")


def _put(input, index, source, accumulate, inplace):
    idx = _flat_index(input, index, "put_")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {scalar_type_name(input._data.dtype)} and source.dtype = "
                           f"{scalar_type_name(source._data.dtype)}")
    if source.numel() != idx.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source.numel()}, index.numel() = "
                         f"{idx.size}")
    xp = array_module(input._device)
    n = input.numel()
    flat = xp.where(idx < 0, idx + n, idx).reshape(-1)
    key = (None, xp.unravel_index(flat, input.shape)) if input.ndim else (None, ())
    values = source.reshape(-1) if input.ndim else source.reshape(())
    if inplace:
        return input._inplace(IndexPut, values, key=key, accumulate=accumulate, inplace=True)
    return IndexPut.apply(input, values, key=key, accumulate=accumulate)


def put(input, index, source, accumulate=False):
    """A copy of ``input`` (read as 1-D) with ``source`` written at ``index`` (added with
    ``accumulate``)."""
    return _put(input, index, source, accumulate, False)


# --- nonzero --------------------------------------------------------------------------------------


def nonzero(input, *, out=None, as_tuple=False):
    """The indices of the non-zero elements: an ``(n, ndim)`` int64 tensor, or with ``as_tuple``
    one 1-D tensor per dimension."""
    if as_tuple:
        return Nonzero.apply(input, as_tuple=True)
    return handle_out(Nonzero.apply(input), out, "nonzero")


def argwhere(input):
    """The indices of the non-zero elements as an ``(n, ndim)`` int64 tensor."""
    return Nonzero.apply(input)


# --- sorting --------------------------------------------------------------------------------------


def _tuple_out(result, out, name: str):
    if out is None:
        return result
    for r, o in zip(result, out):
        handle_out(r, o, name)
    return type(result)(*out)


@numpy_names
def sort(input, dim=-1, descending=False, *, stable=False, out=None):
    """``(values, indices)`` of ``input`` sorted along ``dim``. Always stable in ember (equal
    elements keep their order); NaN sorts as the largest value, as in PyTorch."""
    return _tuple_out(return_types.sort(Sort.apply(input, dim=dim, descending=descending)), out,
                      "sort")


@numpy_names
def argsort(input, dim=-1, descending=False, *, stable=False):
    """The indices that sort ``input`` along ``dim``."""
    return Sort.apply(input, dim=dim, descending=descending)[1]


def msort(input, *, out=None):
    """``input`` sorted along its first dimension."""
    return handle_out(Sort.apply(input, dim=0)[0], out, "msort")


@numpy_names
def topk(input, k, dim=-1, largest=True, sorted=True, *, out=None):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices; ember always
    returns them sorted."""
    return _tuple_out(return_types.topk(Topk.apply(input, k=k, dim=dim, largest=largest)), out,
                      "topk")


@numpy_names
def kthvalue(input, k, dim=-1, keepdim=False, *, out=None):
    """The ``k``-th smallest element along ``dim`` and its index."""
    return _tuple_out(return_types.kthvalue(Kthvalue.apply(input, k=k, dim=dim, keepdim=keepdim)),
                      out, "kthvalue")


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements (or slices along ``dim``), sorted; optionally the inverse indices
    (where each input element went) and the counts."""
    out, inverse, counts = Unique.apply(input, dim=dim)
    if not (return_inverse or return_counts):
        return out
    return (out,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """The first element of each run of equal consecutive elements (or slices along ``dim``)."""
    out, inverse, counts = UniqueConsecutive.apply(input, dim=dim)
    if not (return_inverse or return_counts):
        return out
    return (out,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, out=None,
                 sorter=None):
    """Where each value of ``input`` would go in ``sorted_sequence`` (1-D, or one row per leading
    index of ``input``) to keep it sorted; ``right``/``side='right'`` puts it after equal ones."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got "
                               f"{side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    result = Searchsorted.apply(sorted_sequence, input, right=right, sorter=sorter,
                                out_int32=out_int32)
    return handle_out(result, out, "searchsorted")


def bucketize(input, boundaries, *, out_int32=False, right=False, out=None):
    """The bucket of each element of ``input`` given 1-D ``boundaries``: ``right=False`` puts
    ``x`` in bucket ``i`` when ``boundaries[i-1] < x <= boundaries[i]``."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    result = Searchsorted.apply(boundaries, input, right=right, out_int32=out_int32)
    return handle_out(result, out, "bucketize")


# --- Tensor methods -------------------------------------------------------------------------------


def _check_value(value, t) -> None:
    """PyTorch assigns numbers and tensors only (not lists or arrays)."""
    if isinstance(value, (_tensor.Tensor, numbers.Number, np.generic)):
        return
    tp = type(value)
    name = tp.__name__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__name__}"
    raise TypeError(f"can't assign a {name} to a {t.type()}")


class IndexingMethods:
    """Tensor methods of this family."""

    __slots__ = ()

    def __getitem__(self, key):
        if key.__class__ is int:  # x[i], the most common index: no parsing
            data = self._data
            shape = data.shape
            if shape and -shape[0] <= key < shape[0]:
                key = (key, Ellipsis)
                if (self._requires_grad or _function._trace_hook is not None
                        or (self._base is not None and self._view_version != self._vc[0])):
                    return Slice.apply(self, key=key)
                # No graph to record (a dataset's rows, say): the view made directly, as
                # Slice.apply would make it, at a third of the cost.
                out = _tensor.Tensor._make(data[key], self._device)
                out._make_view_of(self, Slice, (), {"key": key})
                return out
        basic, adv = parse_key(key, self)
        if adv is None:
            return Slice.apply(self, key=basic)
        return Index.apply(self, key=(basic, adv))

    def __setitem__(self, key, value):
        c = value.__class__
        if c is _tensor.Tensor:
            value = _scalar_on(value, self)
        elif c is not float and c is not int:
            _check_value(value, self)
        self._inplace(IndexPut, value, key=parse_key(key, self), inplace=True)

    def gather(self, dim, index, *, sparse_grad=False):
        return gather(self, dim, index)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return _scatter(self, dim, index, _scatter_value(src, value), reduce, False, False,
                        "scatter")

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        return _scatter(self, dim, index, _scatter_value(src, value), reduce, False, True,
                        "scatter")

    def scatter_add(self, dim, index, src):
        return _scatter(self, dim, index, src, None, True, False, "scatter_add")

    def scatter_add_(self, dim, index, src):
        return _scatter(self, dim, index, src, None, True, True, "scatter_add")

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return _scatter_reduce(self, dim, index, src, reduce, include_self, False)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return _scatter_reduce(self, dim, index, src, reduce, include_self, True)

    def index_select(self, dim, index):
        return index_select(self, dim, index)

    def index_add(self, dim, index, source, *, alpha=1):
        return _index_add(self, dim, index, source, alpha, False)

    def index_add_(self, dim, index, source, *, alpha=1):
        return _index_add(self, dim, index, source, alpha, True)

    def index_copy(self, dim, index, source):
        return _index_copy(self, dim, index, source, False)

    def index_copy_(self, dim, index, source):
        return _index_copy(self, dim, index, source, True)

    def index_fill(self, dim, index, value):
        return _index_fill(self, dim, index, value, False)

    def index_fill_(self, dim, index, value):
        return _index_fill(self, dim, index, value, True)

    def index_put(self, indices, values, accumulate=False):
        return _index_put(self, indices, values, accumulate, False)

    def index_put_(self, indices, values, accumulate=False):
        return _index_put(self, indices, values, accumulate, True)

    def masked_fill(self, mask, value):
        return MaskedFill.apply(self, mask, _scalar_on(value, self))

    def masked_fill_(self, mask, value):
        return self._inplace(MaskedFill, mask, _scalar_on(value, self), inplace=True)

    def masked_select(self, mask):
        return masked_select(self, mask)

    def masked_scatter(self, mask, source):
        return _masked_scatter(self, mask, source, False)

    def masked_scatter_(self, mask, source):
        return _masked_scatter(self, mask, source, True)

    def nonzero(self, *, as_tuple=False):
        return Nonzero.apply(self, as_tuple=as_tuple)

    def argwhere(self):
        return Nonzero.apply(self)

    def take(self, index):
        return take(self, index)

    def take_along_dim(self, indices, dim=None):
        return take_along_dim(self, indices, dim)

    def put(self, index, source, accumulate=False):
        return _put(self, index, source, accumulate, False)

    def put_(self, index, source, accumulate=False):
        return _put(self, index, source, accumulate, True)

    @numpy_names
    def sort(self, dim=-1, descending=False, *, stable=False):
        return return_types.sort(Sort.apply(self, dim=dim, descending=descending))

    @numpy_names
    def argsort(self, dim=-1, descending=False, *, stable=False):
        return Sort.apply(self, dim=dim, descending=descending)[1]

    def msort(self):
        return Sort.apply(self, dim=0)[0]

    @numpy_names
    def topk(self, k, dim=-1, largest=True, sorted=True):
        return return_types.topk(Topk.apply(self, k=k, dim=dim, largest=largest))

    @numpy_names
    def kthvalue(self, k, dim=-1, keepdim=False):
        return return_types.kthvalue(Kthvalue.apply(self, k=k, dim=dim, keepdim=keepdim))

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return unique(self, sorted, return_inverse, return_counts, dim)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return unique_consecutive(self, return_inverse, return_counts, dim)
