"""Loss functions. ``cross_entropy`` (log_softmax and nll in one pass), ``nll_loss``,
``mse_loss``, ``binary_cross_entropy`` and the smooth-L1 family are fused primitives (speed or
stability); the other losses are compositions of Tensor ops.

A fused backward runs on the arrays during an ordinary ``backward()`` and as Tensor ops under
``create_graph=True`` (gradients of gradients).
"""

# ruff: noqa: A001, A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

import math
import warnings

import numpy as np

from ember._legacy_types import scalar_type_name
from ember._tensor import Tensor
from ember.autograd.function import Primitive
from ember.autograd.grad_mode import _state
from ember.nn._functional.activation import logsigmoid, softplus
from ember.nn._functional.distance import pairwise_distance

__all__ = ["nll_loss", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "kl_div", "poisson_nll_loss", "gaussian_nll_loss", "l1_loss", "mse_loss",
           "smooth_l1_loss", "huber_loss", "margin_ranking_loss", "hinge_embedding_loss",
           "multilabel_margin_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "cosine_embedding_loss", "multi_margin_loss", "triplet_margin_loss",
           "triplet_margin_with_distance_loss"]

_REDUCTIONS = ("none", "mean", "sum")


def _get_reduction(reduction: str) -> str:
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", stacklevel=3)
        return "mean"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _legacy_reduction(size_average, reduce) -> str:
    """The reduction the deprecated ``size_average``/``reduce`` pair means (torch's warning)."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if size_average and reduce else ("sum" if reduce else "none")
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' "
                  "instead.", stacklevel=3)
    return ret


def _resolve(size_average, reduce, reduction) -> str:
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    return _get_reduction(reduction)


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _warn_size(input, target) -> None:
    if target.size() != input.size():
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input size "
                      f"({input.size()}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)


# --- classification: nll_loss and cross_entropy -------------------------------------------------

def _class_layout(input, target, weight, ignore_index, probs=False):
    """Check ``input``/``target`` as nll_loss_nd does; return the input's class dim and the shape of
    the per-element loss."""
    from ember import dtypes

    ndim = input.dim()
    if ndim == 0:
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {scalar_type_name(target.dtype)}")
    if target.dtype not in (dtypes.int64, dtypes.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{scalar_type_name(target.dtype)}")
    c = input.shape[1] if ndim >= 2 else input.shape[0]
    if ndim == 1:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.dim() == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{target.shape[0]}")
        out_shape = tuple(target.shape)
    else:
        if target.dim() == 0 or target.shape[0] != input.shape[0]:
            tb = target.shape[0] if target.dim() else 1
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({tb}).")
        expected = (input.shape[0],) + tuple(input.shape[2:])
        if ndim == 2 and target.dim() != 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if tuple(target.shape) != expected:
            raise RuntimeError(f"Expected target size {list(expected)}, got "
                               f"{list(target.shape)}")
        out_shape = expected
    if weight is not None and (weight.dim() != 1 or weight.numel() != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    return c, out_shape


def _rows(a, ndim):
    """``(N, C, d1, ...)`` (or ``(C,)``) as ``(M, C)`` rows, the classes last."""
    if ndim == 1:
        return a.reshape(1, -1)
    if ndim == 2:
        return a
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _unrows(r, shape):
    """The inverse of ``_rows`` for a ``(M, C)`` array and the original ``shape``."""
    if len(shape) <= 2:
        return r.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return np.moveaxis(r.reshape(moved), -1, 1)


def _target_weights(xp, t, c, w, ignore_index, dtype):
    """Per-row class index (ignored ones -> 0), validity mask and weight ``w[t]`` (0 if ignored)."""
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if bad.any():
        raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
    tt = xp.where(valid, t, 0)
    wt = valid.astype(dtype) if w is None else xp.where(valid, w[tt], 0).astype(dtype)
    return tt, valid, wt


def _weighted_reduce(ctx, losses, wt, reduction: str, out_shape, dtype):
    """nll's reduction of the per-element ``losses``: 'mean' divides by the summed target weights
    ``wt`` (kept as ``ctx.denom`` for backward)."""
    xp = ctx.xp
    if reduction == "none":
        return losses.reshape(out_shape).astype(dtype, copy=False)
    total = losses.sum()
    if reduction == "sum":
        return xp.asarray(total, dtype=dtype)
    ctx.denom = wt.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.asarray(total / ctx.denom, dtype=dtype)


class NLLLoss(Primitive):
    """``-weight[t] * input[t]`` per element (input: log-probabilities), then reduced."""

    @staticmethod
    def forward(ctx, x, w, target, ignore_index, reduction, out_shape):
        xp = ctx.xp
        x2 = _rows(x, x.ndim)
        t = target.reshape(-1).astype(xp.int64, copy=False)
        tt, valid, wt = _target_weights(xp, t, x2.shape[1], w, ignore_index, x.dtype)
        rows = xp.arange(x2.shape[0])
        losses = -x2[rows, tt] * wt
        ctx.tt, ctx.wt, ctx.xshape, ctx.reduction, ctx.out_shape = tt, wt, x.shape, reduction, \
            out_shape
        return _weighted_reduce(ctx, losses, wt, reduction, out_shape, x.dtype)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        m = ctx.tt.shape[0]
        c = ctx.xshape[1] if len(ctx.xshape) >= 2 else ctx.xshape[0]
        coef = -ctx.wt
        if ctx.reduction == "mean":
            # every target ignored: torch's loss is nan but its gradient zero
            coef = coef / ctx.denom if ctx.denom != 0 else coef * 0
        onehot = xp.zeros((m, c), dtype=coef.dtype)
        onehot[xp.arange(m), ctx.tt] = 1
        if _state.enabled:  # create_graph: linear in g
            gr = g.reshape(-1, 1) if ctx.reduction == "none" else g.reshape(1, 1)
            d = gr * ctx.const(onehot * coef[:, None])
            return _tensor_unrows(d, ctx.xshape), None
        ga = g._data.reshape(-1, 1) if ctx.reduction == "none" else g._data.reshape(1, 1)
        d = (onehot * coef[:, None] * ga).astype(g._data.dtype, copy=False)
        return Tensor._make(_unrows(d, ctx.xshape), ctx.device), None


def _tensor_unrows(t, shape):
    """``_unrows`` with Tensor ops (differentiable)."""
    if len(shape) <= 2:
        return t.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return t.reshape(moved).movedim(-1, 1)


def _tensor_rows(t, ndim):
    if ndim == 1:
        return t.reshape(1, -1)
    if ndim == 2:
        return t
    return t.movedim(1, -1).reshape(-1, t.shape[1])


def _log_softmax_rows(xp, x2):
    m = x2.max(1, keepdims=True)
    shifted = x2 - m
    e = xp.exp(shifted)
    s = e.sum(1, keepdims=True)
    return shifted - xp.log(s), e / s


class CrossEntropy(Primitive):
    """log_softmax over the class dim and the (label-smoothed) nll in one op; class-index
    targets."""

    @staticmethod
    def forward(ctx, x, w, target, ignore_index, reduction, label_smoothing, out_shape):
        xp = ctx.xp
        x2 = _rows(x, x.ndim)
        c = x2.shape[1]
        t = target.reshape(-1).astype(xp.int64, copy=False)
        tt, valid, wt = _target_weights(xp, t, c, w, ignore_index, x.dtype)
        logp, p = _log_softmax_rows(xp, x2)
        rows = xp.arange(x2.shape[0])
        ls = label_smoothing
        losses = -logp[rows, tt] * wt
        # a[i, c] = d(loss_i)/d(logp[i, c]); the input gradient is a - p * sum(a)
        a = xp.zeros_like(logp)
        a[rows, tt] = -wt
        if ls > 0:
            wc = xp.ones(c, dtype=x.dtype) if w is None else w.astype(x.dtype, copy=False)
            smooth = -(logp * wc).sum(1) * valid
            losses = (1 - ls) * losses + (ls / c) * smooth
            a = (1 - ls) * a - (ls / c) * (wc[None, :] * valid[:, None])
        ctx.a, ctx.p, ctx.xshape, ctx.reduction = a, p, x.shape, reduction
        ctx.save_for_backward(x)
        return _weighted_reduce(ctx, losses, wt, reduction, out_shape, x.dtype)

    @staticmethod
    def backward(ctx, g):
        a, p = ctx.a, ctx.p
        denom = ctx.denom if ctx.reduction == "mean" else None
        if denom == 0:  # every target ignored: torch's loss is nan but its gradient zero
            a, denom = a * 0, 1.0
        if _state.enabled:  # create_graph: p from x with Tensor ops, so the result differentiates
            (x,) = ctx.saved_tensors
            pt = _tensor_rows(x, x.ndim).softmax(-1)
            gr = g.reshape(-1, 1) if ctx.reduction == "none" else g.reshape(1, 1)
            if denom is not None:
                gr = gr / float(denom)
            d = gr * (ctx.const(a) - pt * ctx.const(a.sum(1, keepdims=True)))
            return _tensor_unrows(d, ctx.xshape), None
        ctx.saved_tensors  # noqa: B018 - checks the input was not modified in place
        ga = g._data.reshape(-1, 1) if ctx.reduction == "none" else g._data.reshape(1, 1)
        if denom is not None:
            ga = ga / denom
        d = ((a - p * a.sum(1, keepdims=True)) * ga).astype(g._data.dtype, copy=False)
        return Tensor._make(_unrows(d, ctx.xshape), ctx.device), None


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """The negative log likelihood of class ``target`` under log-probabilities ``input``.

    Shape: input ``(N, C)``, ``(C,)`` or ``(N, C, d1, ...)``; target ``(N,)``, ``()`` or
    ``(N, d1, ...)``. Targets equal to ``ignore_index`` contribute nothing (nor to the mean's
    denominator, which is the sum of the targets' class weights).
    """
    reduction = _resolve(size_average, reduce, reduction)
    _, out_shape = _class_layout(input, target, weight, ignore_index)
    return NLLLoss.apply(input, weight, target=target._data, ignore_index=ignore_index,
                         reduction=reduction, out_shape=out_shape)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """``nll_loss(log_softmax(input, 1), target)``, in one fused op for class-index targets.

    ``target`` may also hold class probabilities (a float tensor shaped like ``input``).
    ``label_smoothing`` mixes the target with the uniform distribution.
    """
    reduction = _resolve(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if input.dim() > 0 and target.is_floating_point() and target.shape == input.shape:
        return _cross_entropy_probs(input, target, weight, ignore_index, reduction,
                                    label_smoothing)
    if input.dim() == 0 and target.is_floating_point():
        raise RuntimeError("cross_entropy(): input must have at least one dimension")
    c, out_shape = _class_layout(input, target, weight, ignore_index)
    return CrossEntropy.apply(input, weight, target=target._data, ignore_index=ignore_index,
                              reduction=reduction, label_smoothing=label_smoothing,
                              out_shape=out_shape)


def _cross_entropy_probs(input, target, weight, ignore_index, reduction, label_smoothing):
    if ignore_index != -100:
        raise RuntimeError("ignore_index is not supported for floating point target")
    class_dim = 0 if input.dim() == 1 else 1
    c = input.shape[class_dim]
    if weight is not None and (weight.dim() != 1 or weight.numel() != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    logp = input.log_softmax(class_dim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((-1,) + (1,) * (input.dim() - class_dim - 1))
    losses = -prod.sum(class_dim)
    if reduction == "mean":
        return losses.sum() / (input.numel() / c)
    return _reduce(losses, reduction)


# --- binary -----------------------------------------------------------------------------------

class BinaryCrossEntropy(Primitive):
    """``-(t log x + (1 - t) log(1 - x))`` with the logs clamped at -100, as torch."""

    @staticmethod
    def forward(ctx, x, t, w, reduction):
        xp = ctx.xp
        if x.size and ((x < 0) | (x > 1)).any():
            raise RuntimeError("all elements of input should be between 0 and 1")
        if t.size and ((t < 0) | (t > 1)).any():
            raise RuntimeError("all elements of target should be between 0 and 1")
        with np.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100)
            log_1mx = xp.maximum(xp.log1p(-x), -100)
        losses = -(t * log_x + (1 - t) * log_1mx)
        if w is not None:
            losses = losses * w
        ctx.reduction, ctx.n = reduction, x.size
        ctx.log_x, ctx.log_1mx = log_x, log_1mx
        ctx.save_for_backward(x, t, w)
        losses = losses.astype(x.dtype, copy=False)
        if reduction == "none":
            return losses
        return xp.asarray(losses.sum() if reduction == "sum" else losses.mean(), dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        if ctx.reduction == "mean":
            g = g / ctx.n
        gx = gt = None
        if ctx.needs_input_grad[0]:
            # torch's EPSILON keeps x = 0 or 1 finite
            gx = g * (x - t) / ((1 - x) * x).clamp_min(1e-12)
            if w is not None:
                gx = gx * w
        if ctx.needs_input_grad[1]:
            gt = g * ctx.const(ctx.log_1mx - ctx.log_x)
            if w is not None:
                gt = gt * w
        return gx, gt, None


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross entropy between probabilities ``input`` and targets in [0, 1]."""
    reduction = _resolve(size_average, reduce, reduction)
    if target.size() != input.size():
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input "
                         f"size ({input.size()}) is deprecated. Please ensure they have the same "
                         "size.")
    if weight is not None:
        weight = weight.expand(input.shape)
    return BinaryCrossEntropy.apply(input, target, weight, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """``binary_cross_entropy(sigmoid(input), target)``, computed stably from the logits;
    ``pos_weight`` weighs the positive term per class."""
    reduction = _resolve(size_average, reduce, reduction)
    if target.size() != input.size():
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    # -log(sigmoid(x)) = softplus(-x) and -log(1 - sigmoid(x)) = x + softplus(-x)
    sp = -logsigmoid(input)
    if pos_weight is not None:
        loss = (1 - target) * input + ((pos_weight - 1) * target + 1) * sp
    else:
        loss = (1 - target) * input + sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# --- regression -------------------------------------------------------------------------------

class MSELoss(Primitive):
    """``(x - t)^2``, reduced (fused: one op instead of sub, mul and mean)."""

    @staticmethod
    def forward(ctx, x, t, reduction):
        from ember.ops.arithmetic import promoted

        xp = ctx.xp
        ctx.save_for_backward(x, t)
        x, t, _ = promoted(x, t)
        d = x - t
        ctx.d, ctx.reduction = d, reduction
        sq = d * d
        if reduction == "none":
            return sq
        return xp.asarray(sq.sum() if reduction == "sum" else sq.mean(), dtype=sq.dtype)

    @staticmethod
    def backward(ctx, g):
        d = ctx.d
        scale = 2.0 / d.size if ctx.reduction == "mean" else 2.0
        if _state.enabled:  # create_graph: d from the inputs, so the result differentiates
            x, t = ctx.saved_tensors
            gx = g * (x - t) * scale
        else:
            gx = Tensor._make((g._data * d * scale).astype(d.dtype, copy=False), ctx.device)
        return gx, -gx


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """The mean (or sum) squared error; mismatched shapes broadcast, with torch's warning."""
    _warn_size(input, target)
    reduction = _resolve(size_average, reduce, reduction)
    if weight is not None:
        if weight.size() != input.size():
            raise ValueError("Weights and input must have the same size.")
        sq = (input - target) ** 2 * weight
        if reduction == "mean":
            return sq.sum() / weight.sum()
        return _reduce(sq, reduction)
    return MSELoss.apply(input, target, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """The mean (or sum) absolute error."""
    _warn_size(input, target)
    reduction = _resolve(size_average, reduce, reduction)
    err = (input - target).abs()
    if weight is not None:
        if weight.size() != input.size():
            raise ValueError("Weights and input must have the same size.")
        err = err * weight
        if reduction == "mean":
            return err.sum() / weight.sum()
    return _reduce(err, reduction)


class SmoothL1(Primitive):
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``, times ``scale``
    (huber: ``scale = beta = delta``)."""

    @staticmethod
    def forward(ctx, x, t, beta, scale, reduction):
        from ember.ops.arithmetic import promoted

        xp = ctx.xp
        x, t, _ = promoted(x, t)
        d = x - t
        ad = xp.abs(d)
        inside = ad < beta
        ctx.inside, ctx.sign, ctx.beta, ctx.scale, ctx.reduction = inside, xp.sign(d), beta, \
            scale, reduction
        ctx.save_for_backward(x, t)
        losses = xp.where(inside, 0.5 * d * d / beta, ad - 0.5 * beta) * scale
        losses = losses.astype(d.dtype, copy=False)
        ctx.n = losses.size
        if reduction == "none":
            return losses
        return xp.asarray(losses.sum() if reduction == "sum" else losses.mean(), dtype=d.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        if ctx.reduction == "mean":
            g = g / ctx.n
        inside = ctx.const(ctx.inside.astype(ctx.sign.dtype))
        outside = ctx.const(((~ctx.inside) * ctx.sign).astype(ctx.sign.dtype))
        # d/dd: d / beta inside (depends on x: kept as Tensor ops), sign(d) outside
        gd = g * ((x - t) * inside * (ctx.scale / ctx.beta) + outside * ctx.scale)
        return gd, -gd


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Quadratic below ``beta``, linear above (``beta=0``: L1)."""
    _warn_size(input, target)
    reduction = _resolve(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return _reduce((input - target).abs(), reduction)
    return SmoothL1.apply(input, target, beta=beta, scale=1.0, reduction=reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Quadratic below ``delta``, ``delta``-sloped linear above."""
    _warn_size(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is None:
        return SmoothL1.apply(input, target, beta=delta, scale=delta,
                              reduction=_get_reduction(reduction))
    if weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")
    loss = SmoothL1.apply(input, target, beta=delta, scale=delta, reduction="none") * weight
    if reduction not in _REDUCTIONS:
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', "
                         "'sum'.")
    return _reduce(loss, reduction)


# --- distributions ----------------------------------------------------------------------------

def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence ``target * (log target - input)`` with ``input`` in log space
    (``log_target``: ``target`` too)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    else:
        if reduction == "mean":
            warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                          "support size.'batchmean' divides only by the batch size, and aligns "
                          "with the KL div math definition.'mean' will be changed to behave the "
                          "same as 'batchmean' in the next major release.", stacklevel=2)
        if reduction != "batchmean":
            reduction = _get_reduction(reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target.xlogy(target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.size(0) if input.dim() != 0 else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Negative log likelihood of Poisson-distributed ``target`` with rate ``input`` (or
    ``exp(input)`` with ``log_input``); ``full`` adds the Stirling term."""
    reduction = _resolve(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log likelihood of ``target`` under N(input, var); ``var`` is clamped at ``eps``."""
    from ember.ops.creation import ones_like

    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif (var < 0).any():
        raise ValueError("var has negative entry/entries")
    if var.size() != input.size():
        if input.size()[:-1] == var.size():
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and sum(
                y for x, y in zip(input.size(), var.size()) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    from ember.autograd.grad_mode import no_grad

    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# --- margins and embeddings -------------------------------------------------------------------

def _host(t):
    """A small index tensor's values as a NumPy array (built on the host, then moved)."""
    from ember.backend import CPU, to_device

    return to_device(t._data, CPU)


def _host_const(array, dev) -> Tensor:
    """A NumPy array as a constant tensor on ``dev``."""
    from ember.backend import to_device

    return Tensor._make(to_device(array, dev), dev)


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _resolve(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.size()}, input2: {input2.size()}, "
                           f"target: {target.size()} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``."""
    reduction = _resolve(size_average, reduce, reduction)
    margin_clamp = (margin - input).clamp_min(0)
    loss = margin_clamp.masked_fill(target == 1, 0) + input.masked_fill(target == -1, 0)
    return _reduce(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """``log(1 + exp(-target * input))``."""
    reduction = _resolve(size_average, reduce, reduction)
    return _reduce(softplus(-target * input), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Per-class logistic losses averaged over the classes (the last dim)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(dim=class_dim) / input.size(class_dim)
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Hinge losses between each target class (``target`` rows: class indices, ended by -1) and
    each non-target class, averaged over the classes."""
    reduction = _resolve(size_average, reduce, reduction)
    ndim = input.dim()
    if ndim > 2 or tuple(target.shape) != tuple(input.shape) or ndim == 0 and target.dim() != 0:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    x = input.reshape(1, -1) if ndim <= 1 else input
    tgt = _host(target).reshape(tuple(x.shape))
    c = x.shape[1]
    counts = np.zeros(tuple(x.shape), dtype=np.int64)
    for i, row in enumerate(tgt.tolist()):
        for j in row:
            if j < 0:
                break
            if j >= c:
                raise RuntimeError("target out of range")
            counts[i, j] += 1
    is_target = counts > 0
    pair = counts[:, :, None] * (~is_target)[:, None, :]  # (target j, non-target k)
    dt = input._data.dtype
    margins = (1 - x.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0)
    loss = (margins * _host_const(pair.astype(dt), input.device)).sum((1, 2)) / c
    if ndim <= 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """``sum_{j != y} max(0, margin - x[y] + x[j])^p / C`` per sample (``weight[y]`` scales it)."""
    reduction = _resolve(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    ndim = input.dim()
    x = input.reshape(1, -1) if ndim <= 1 else input
    n, c = x.shape
    t = _host(target).reshape(-1)
    if t.shape[0] != n or ndim > 2:
        raise RuntimeError(f"inconsistent target size, expected {n} but got "
                           f"{list(target.shape)}")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise RuntimeError("target out of range")
    dev = input.device
    t_col = _host_const(t.reshape(-1, 1), dev)
    x_y = x.gather(1, t_col)
    z = (margin - x_y + x).clamp_min(0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight.index_select(0, _host_const(t, dev)).unsqueeze(1)
    others = np.ones((n, c), dtype=input.dtype.np)
    others[np.arange(n), t] = 0
    loss = (z * _host_const(others, dev)).sum(1) / c
    if ndim <= 1:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where -1."""
    reduction = _resolve(size_average, reduce, reduction)
    dim = input1.dim() - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    pos = (1 - cos).masked_fill(target != 1, 0)
    neg = (cos - margin).clamp_min(0).masked_fill(target != -1, 0)
    return _reduce(pos + neg, reduction)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """``max(0, margin + d(anchor, positive) - d(anchor, negative))`` with p-norm distances."""
    reduction = _resolve(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.ndim, positive.ndim, negative.ndim
    if not (a_dim == p_dim and p_dim == n_dim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a_dim}D, positive "
                           f"{p_dim}D, and negative {n_dim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """``triplet_margin_loss`` with any ``distance_function`` (default: pairwise_distance)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a_dim, p_dim, n_dim = anchor.ndim, positive.ndim, negative.ndim
    if not (a_dim == p_dim and p_dim == n_dim):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a_dim}D, positive "
                           f"{p_dim}D, and negative {n_dim}D inputs")
    if distance_function is None:
        distance_function = pairwise_distance
    d_pos = distance_function(anchor, positive)
    d_neg = distance_function(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(distance_function(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)

