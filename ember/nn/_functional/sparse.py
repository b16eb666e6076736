"""Embeddings: ``embedding`` (a row lookup whose backward scatters into the weight),
``embedding_bag`` (sums, means or maxima of bags of rows) and ``one_hot``.

``sparse=True`` is accepted; the weight's gradient is dense (ember has no sparse tensors).
"""

# ruff: noqa: A001, A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

from ember._tensor import Tensor
from ember.autograd.function import Primitive
from ember.autograd.grad_mode import _state, no_grad

__all__ = ["embedding", "embedding_bag", "one_hot"]


def _check_indices(idx, name: str) -> None:
    if idx.dtype.kind not in "iu" or idx.dtype.itemsize < 4:
        from ember._legacy_types import type_name
        from ember.backend import CPU
        from ember.dtypes import _FROM_NP

        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"{type_name(_FROM_NP[idx.dtype], CPU)} "
                           f"instead (while checking arguments for {name})")


def _check_range(idx, n: int) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")


def _scatter_rows(ctx, shape, idx, rows):
    """``zeros(shape)`` with ``rows[i]`` added into row ``idx[i]`` (repeated indices add up)."""
    xp = ctx.xp
    out = xp.zeros(shape, dtype=rows.dtype)
    xp.add.at(out, idx, rows)
    return out


class Embedding(Primitive):
    """``weight[indices]``; the weight's gradient adds each output row back into its row."""

    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq):
        _check_indices(indices, "embedding")
        _check_range(indices, weight.shape[0])
        ctx.indices, ctx.padding_idx, ctx.scale = indices, padding_idx, scale_grad_by_freq
        ctx.wshape = weight.shape
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        idx = ctx.indices.reshape(-1)
        n, d = ctx.wshape[0], ctx.wshape[1:]
        xp = ctx.xp
        scale = None
        if ctx.padding_idx >= 0 or ctx.scale:
            scale = xp.ones(idx.shape, dtype=g._data.dtype)
            if ctx.scale:
                scale = scale / xp.bincount(idx, minlength=n)[idx]
            if ctx.padding_idx >= 0:
                scale[idx == ctx.padding_idx] = 0
            scale = scale.reshape((-1,) + (1,) * len(d))
        if _state.enabled:  # create_graph: Tensor ops (linear in g)
            from ember.ops.creation import zeros

            g2 = g.reshape((-1,) + tuple(d))
            if scale is not None:
                g2 = g2 * Tensor._make(scale.astype(g._data.dtype), ctx.device)
            gw = zeros(ctx.wshape, dtype=g.dtype, device=g.device).index_add(
                0, Tensor._make(idx, ctx.device), g2)
            return gw, None
        g2 = g._data.reshape((-1,) + tuple(d))
        if scale is not None:
            g2 = g2 * scale
        return Tensor._make(_scatter_rows(ctx, ctx.wshape, idx, g2), ctx.device), None


def _renorm_(weight, indices, max_norm, norm_type) -> None:
    """Scale the rows ``indices`` of ``weight`` whose ``norm_type``-norm exceeds ``max_norm``
    down to ``max_norm``, in place (as torch's ``embedding_renorm_``)."""
    from ember.backend import array_module

    xp = array_module(weight.device)
    with no_grad():
        rows = xp.unique(indices._data.reshape(-1))
        w = weight._data
        sel = w[rows]
        norms = xp.linalg.norm(sel.reshape(len(rows), -1), ord=norm_type, axis=1)
        big = norms > max_norm
        if big.any():
            factor = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)
            w[rows[big]] = sel[big] * factor.reshape((-1,) + (1,) * (w.ndim - 1))
            weight._bump_version()


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by the integer ``input``: output shape ``input.shape + (D,)``.

    Args:
        padding_idx: this row gets no gradient.
        max_norm: rows looked up are first renormalised in place to at most this norm.
        scale_grad_by_freq: divide each row's gradient by its count in ``input``.
        sparse: accepted; the gradient is dense.
    """
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -weight.size(0):
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx = weight.size(0) + padding_idx
    else:
        padding_idx = -1
    if max_norm is not None:
        input = input.contiguous()
        _renorm_(weight, input, max_norm, norm_type)
    return Embedding.apply(weight, input, padding_idx=padding_idx,
                           scale_grad_by_freq=scale_grad_by_freq)


class EmbeddingBag(Primitive):
    """Reduce bags of rows of ``weight``: bag ``b`` holds ``indices[starts[b]:ends[b]]``."""

    @staticmethod
    def forward(ctx, weight, indices, psw, bag, mode, num_bags, padding_idx):
        xp = ctx.xp
        n, d = weight.shape
        _check_range(indices, n)
        valid = indices != padding_idx if padding_idx >= 0 else xp.ones(indices.shape, bool)
        ctx.bag, ctx.indices, ctx.mode, ctx.wshape = bag, indices, mode, weight.shape
        ctx.padding_idx = padding_idx
        rows = weight[indices]
        if mode == "max":
            out = xp.full((num_bags, d), -xp.inf, dtype=weight.dtype)
            arg = xp.full((num_bags, d), -1, dtype=xp.int64)
            for j in xp.nonzero(valid)[0].tolist():  # bags of a few rows: a loop is fine
                b = bag[j]
                better = rows[j] > out[b]
                out[b] = xp.where(better, rows[j], out[b])
                arg[b] = xp.where(better, j, arg[b])
            empty = arg[:, 0] < 0
            out[empty] = 0
            ctx.arg = arg
            return out
        scale = valid.astype(weight.dtype)
        if psw is not None:
            scale = scale * psw
            ctx.save_for_backward(weight, psw)
        if mode == "mean":
            counts = xp.bincount(bag[valid], minlength=num_bags).astype(weight.dtype)
            scale = scale / xp.maximum(counts, 1)[bag]
        ctx.scale = scale
        out = xp.zeros((num_bags, d), dtype=weight.dtype)
        xp.add.at(out, bag, rows * scale[:, None])
        return out

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        bag, idx, dev = ctx.bag, ctx.indices, ctx.device
        if ctx.mode == "max":
            arg = ctx.arg
            hit = arg >= 0
            rows = idx[xp.where(hit, arg, 0)]
            cols = xp.broadcast_to(xp.arange(arg.shape[1]), arg.shape)
            if _state.enabled:
                from ember.ops.creation import zeros

                gw = zeros(ctx.wshape, dtype=g.dtype, device=dev).index_put(
                    (Tensor._make(rows[hit], dev), Tensor._make(cols[hit], dev)),
                    g[Tensor._make(hit, dev)], accumulate=True)
                return gw, None, None
            gw = xp.zeros(ctx.wshape, dtype=g._data.dtype)
            xp.add.at(gw, (rows[hit], cols[hit]), g._data[hit])
            return Tensor._make(gw, dev), None, None
        scale_t = Tensor._make(ctx.scale, dev)
        bag_t, idx_t = Tensor._make(bag, dev), Tensor._make(idx, dev)
        gpsw = None
        if ctx.needs_input_grad[2]:
            weight, psw = ctx.saved_tensors
            gpsw = (g.index_select(0, bag_t) * weight.index_select(0, idx_t)).sum(-1)
            valid = (idx != ctx.padding_idx) if ctx.padding_idx >= 0 else None
            if valid is not None:
                gpsw = gpsw * Tensor._make(valid.astype(ctx.scale.dtype), dev)
        if not ctx.needs_input_grad[0]:
            return None, None, gpsw
        if _state.enabled:
            from ember.ops.creation import zeros

            gw = zeros(ctx.wshape, dtype=g.dtype, device=dev).index_add(
                0, idx_t, g.index_select(0, bag_t) * scale_t.unsqueeze(1))
            return gw, None, gpsw
        rows = g._data[bag] * ctx.scale[:, None]
        return Tensor._make(_scatter_rows(ctx, ctx.wshape, idx, rows), dev), None, gpsw


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False,
                  mode="mean", sparse=False, per_sample_weights=None, include_last_offset=False,
                  padding_idx=None):
    """Sums, means or maxima of bags of embedding rows, without building the per-row result.

    ``input`` 2-D ``(B, N)``: B bags of N indices; 1-D with ``offsets``: bag ``b`` starts at
    ``offsets[b]``. ``per_sample_weights`` (mode 'sum' only) weighs each row.
    """
    import warnings

    from ember import dtypes

    if weight.dtype == dtypes.int64 and input.is_floating_point():
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage "
                      "`embedding_bag(weight, input, ...)` is deprecated, and should now be "
                      "`embedding_bag(input, weight, ...)`.", stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and input.size() != per_sample_weights.size():
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is "
                         f"not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.dim()}")
    _check_indices(input._data, "embedding_bag")
    xp = _xp(input)
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is "
                             "a mini-batch of fixed length sequences. However, found offsets of "
                             f"type {type(offsets)}")
        num_bags, length = input.shape
        idx = input._data.reshape(-1)
        bag = xp.repeat(xp.arange(num_bags), length)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        idx = input._data
        off = offsets._data.astype(xp.int64)
        if off.size and off[0] != 0:
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the "
                               "mini-batch has to start from position 0. However, got "
                               f"{int(off[0])}")
        if off.size and off[-1] > idx.size:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {idx.size} "
                               f"but got offsets[-1] of {int(off[-1])}")
        if include_last_offset:
            num_bags = max(off.size - 1, 0)
            end = int(off[-1]) if off.size else 0
            starts = off[:num_bags]
        else:
            num_bags, end, starts = off.size, idx.size, off
        pos = xp.arange(idx.size)
        bag = xp.searchsorted(starts, pos, side="right") - 1
        keep = (pos < end) & (bag >= 0)
        if not keep.all():
            idx, bag = idx[keep], bag[keep]
            if per_sample_weights is not None:
                per_sample_weights = per_sample_weights[Tensor._make(keep, input.device)]
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if max_norm is not None:
        _renorm_(weight, Tensor._make(idx, input.device), max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. "
                                  "per_sample_weights is only supported for mode='sum' (got "
                                  f"mode='{mode}'). Please open a feature request on GitHub.")
    if padding_idx is not None:
        padding_idx = padding_idx + weight.size(0) if padding_idx < 0 else padding_idx
    else:
        padding_idx = -1
    return EmbeddingBag.apply(weight, Tensor._make(idx, input.device), per_sample_weights,
                              bag=bag, mode=mode, num_bags=num_bags, padding_idx=padding_idx)


def _xp(t):
    from ember.backend import array_module

    return array_module(t.device)


def one_hot(tensor, num_classes=-1):
    """``(*, num_classes)`` int64 one-hot rows of the int64 class indices ``tensor``
    (``num_classes=-1``: the largest index + 1)."""
    from ember import dtypes

    if tensor.dtype != dtypes.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = _xp(tensor)
    a = tensor._data
    if num_classes == -1:
        if a.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(a.max()) + 1
    if a.size:
        if a.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if a.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = (a[..., None] == xp.arange(num_classes)).astype(xp.int64)
    return Tensor._make(out, tensor.device)
