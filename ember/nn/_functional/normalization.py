"""Normalisation: ``batch_norm`` and ``layer_norm`` (fused primitives: they sit in every CNN and
transformer), and ``instance_norm``/``group_norm`` as batch norm over a reshaped input, as torch
defines them; ``local_response_norm``, ``normalize``, ``rms_norm`` are compositions.

The fused backward runs on the arrays when no graph is being recorded (the usual ``backward()``)
and as Tensor ops under ``create_graph=True``, so gradients of gradients work.
"""

# ruff: noqa: A001, A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

import math

from ember._tensor import Tensor
from ember.autograd.function import Primitive
from ember.autograd.grad_mode import _state

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "local_response_norm",
           "normalize", "rms_norm"]


def _mean(a, axes):
    # sum * (1/n): ndarray.mean's Python wrapper costs more than the reduction on small arrays
    n = 1
    for ax in axes:
        n *= a.shape[ax]
    return a.sum(axes, keepdims=True) * a.dtype.type(1 / n)


def _norm_grad_arrays(gxhat, xhat, invstd, axes):
    """d(loss)/dx of ``xhat = (x - mean(x)) * invstd`` with batch statistics, on arrays."""
    return invstd * (gxhat - _mean(gxhat, axes) - xhat * _mean(gxhat * xhat, axes))


def _norm_grad_tensors(g_xhat, x, axes, eps):
    """The same, written with Tensor ops from ``x`` itself (differentiable again)."""
    mean = x.mean(axes, keepdim=True)
    xc = x - mean
    invstd = ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = xc * invstd
    gx = invstd * (g_xhat - g_xhat.mean(axes, keepdim=True)
                   - xhat * (g_xhat * xhat).mean(axes, keepdim=True))
    return gx, xhat


def _channel_sums(xp, ndim):
    """``(sum_c(a), sum_c(a * b))`` over every dim but 1, via einsum: its reduction loops are
    several times faster than ``ndarray.sum`` over non-trailing axes."""
    letters = "abcdefghij"[:ndim]
    one, two = f"{letters}->b", f"{letters},{letters}->b"
    return (lambda a: xp.einsum(one, a)), (lambda a, b: xp.einsum(two, a, b))


class BatchNorm(Primitive):
    """``(x - mean) / sqrt(var + eps) * w + b`` per channel (dim 1); in training the statistics
    are the batch's (biased variance) and the running ones are updated in place.

    Fused for speed: forward and backward each take a handful of passes over the input, with
    the per-channel factors folded together (backward: ``gx = g*a + xc*b + c`` per channel).
    """

    @staticmethod
    def forward(ctx, x, w, b, running_mean, running_var, training, momentum, eps):
        xp = ctx.xp
        c = x.shape[1]
        n = x.size // c if c else 0
        bshape = (1, c) + (1,) * (x.ndim - 2)
        sum1, sum2 = _channel_sums(xp, x.ndim)
        ctx.axes, ctx.bshape, ctx.training, ctx.eps, ctx.n = (0,) + tuple(range(2, x.ndim)), \
            bshape, training, eps, n
        if training:
            mean = sum1(x) * x.dtype.type(1 / n)
            xc = x - mean.reshape(bshape)
            var = sum2(xc, xc) * x.dtype.type(1 / n)
            invstd = 1 / xp.sqrt(var + eps)
            if running_mean is not None:
                _update_running(running_mean, mean, momentum)
                _update_running(running_var, var * (n / max(n - 1, 1)), momentum)
        else:
            mean = running_mean._data
            invstd = 1 / xp.sqrt(running_var._data + eps)
            xc = x - mean.reshape(bshape)
            ctx.mean = mean.reshape(bshape)
        invstd = invstd.astype(x.dtype, copy=False)
        ctx.xc, ctx.invstd = xc, invstd
        ctx.save_for_backward(x, w)
        scale = invstd * w if w is not None else invstd
        out = xc * scale.reshape(bshape)
        if b is not None:
            out += b.reshape(bshape)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        axes, bshape = ctx.axes, ctx.bshape
        need_w, need_b = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        if _state.enabled:  # create_graph: Tensor ops all the way
            g_xhat = g * w.reshape(bshape) if w is not None else g
            if ctx.training:
                gx, xhat = _norm_grad_tensors(g_xhat, x, axes, ctx.eps)
            else:
                invstd = Tensor._make(ctx.invstd.reshape(bshape), ctx.device)
                xhat = (x - Tensor._make(ctx.mean, ctx.device)) * invstd
                gx = g_xhat * invstd
            gw = (g * xhat).sum(axes) if need_w else None
            gb = g.sum(axes) if need_b else None
            return gx, gw, gb
        ga, xc, invstd, dev = g._data, ctx.xc, ctx.invstd, ctx.device
        sum1, sum2 = _channel_sums(ctx.xp, ga.ndim)
        sum_g = sum1(ga) if (need_b or ctx.training) else None
        sum_gxc = sum2(ga, xc) if (need_w or ctx.training) else None
        gx = None
        if ctx.needs_input_grad[0]:
            a = invstd * w._data if w is not None else invstd
            gx = ga * a.reshape(bshape)
            if ctx.training:
                inv_n = ga.dtype.type(1 / ctx.n)
                gx -= xc * (a * invstd * invstd * sum_gxc * inv_n).reshape(bshape)
                gx -= (a * sum_g * inv_n).reshape(bshape)
            gx = Tensor._make(gx, dev)
        gw = Tensor._make(sum_gxc * invstd, dev) if need_w else None
        gb = Tensor._make(sum_g, dev) if need_b else None
        return gx, gw, gb


def _update_running(stat: Tensor, batch_value, momentum) -> None:
    """``stat <- (1 - momentum) * stat + momentum * batch_value``, in place (a buffer)."""
    data = stat._data
    data *= 1 - momentum
    data += (momentum * batch_value).astype(data.dtype, copy=False)
    stat._bump_version()


def _verify_batch_size(size) -> None:
    size_prods = size[0]
    for i in range(len(size) - 2):
        size_prods *= size[i + 2]
    if size_prods == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                         f"{size}")


def _check_channels(name, t, c) -> None:
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def _check_dtypes(x, *others) -> None:
    for t in others:
        if t is not None and t.dtype != x.dtype:
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over dim 1 of ``(N, C, *)`` input.

    Args:
        running_mean, running_var: buffers used in eval and updated in training (or None).
        training: normalise with the batch's statistics (and update the running ones).
        momentum: weight of the new batch in the running averages.
    """
    if training:
        _verify_batch_size(input.size())
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    c = input.shape[1] if input.dim() > 1 else input.size(1)
    _check_channels("running_mean", running_mean, c)
    _check_channels("running_var", running_var, c)
    _check_channels("weight", weight, c)
    _check_channels("bias", bias, c)
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean must be defined in evaluation mode")
    _check_dtypes(input, running_mean, running_var, weight, bias)
    return BatchNorm.apply(input, weight, bias, running_mean=running_mean,
                           running_var=running_var, training=training, momentum=momentum, eps=eps)


def _verify_spatial_size(size) -> None:
    if math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{size}")


def _affine(y, weight, bias, ndim):
    """``y * weight + bias`` with one weight and bias per channel (dim 1)."""
    shape = (-1,) + (1,) * (ndim - 2)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each channel of each sample over its spatial dimensions (``(N, C, *)``)."""
    from ember.ops.creation import tensor as _tensor_fn

    if use_input_stats:
        _verify_spatial_size(input.size())
    n, c = input.shape[0], input.shape[1]
    _check_channels("weight", weight, c)
    _check_channels("bias", bias, c)
    # torch's definition: batch norm of the (1, N*C, *) view, the running stats repeated per sample
    rm = rv = None
    if running_mean is not None:
        if running_mean.numel() != c:
            raise RuntimeError(f"running_mean should contain {n * c} elements not "
                               f"{n * running_mean.numel()}")
        xp = _xp(input)
        rm = _tensor_fn(xp.tile(running_mean._data, n), device=input.device)
        rv = _tensor_fn(xp.tile(running_var._data, n), device=input.device)
    y = batch_norm(input.reshape((1, n * c) + tuple(input.shape[2:])), rm, rv, None, None,
                   use_input_stats, momentum, eps)
    if running_mean is not None and use_input_stats:
        running_mean._data[...] = rm._data.reshape(n, c).mean(0)
        running_var._data[...] = rv._data.reshape(n, c).mean(0)
        running_mean._bump_version()
        running_var._bump_version()
    return _affine(y.reshape(input.shape), weight, bias, input.dim())


def _xp(t):
    from ember.backend import array_module

    return array_module(t.device)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise each sample's channels in ``num_groups`` groups, then scale and shift per
    channel."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    for t in (weight, bias):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            raise RuntimeError(f"Expected weight to be a vector of size equal to the number of "
                               f"channels in input, but got weight of shape {list(t.shape)} and "
                               f"input of shape {list(input.shape)}")
    _verify_batch_size([n * c // num_groups, num_groups] + list(input.shape[2:]))
    y = BatchNorm.apply(input.reshape(1, n * num_groups, -1), None, None, running_mean=None,
                        running_var=None, training=True, momentum=0.0, eps=eps)
    return _affine(y.reshape(input.shape), weight, bias, input.dim())


class LayerNorm(Primitive):
    """``(x - mean) / sqrt(var + eps) * w + b`` over the trailing ``len(w.shape)`` dimensions."""

    @staticmethod
    def forward(ctx, x, w, b, normalized_ndim, eps):
        xp = ctx.xp
        axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        ctx.axes, ctx.eps = axes, eps
        xc = x - _mean(x, axes)
        invstd = 1 / xp.sqrt(_mean(xc * xc, axes) + eps)
        xhat = xc * invstd
        ctx.xhat, ctx.invstd = xhat, invstd
        ctx.save_for_backward(x, w)
        out = xhat * w if w is not None else xhat.copy()
        if b is not None:
            out += b
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        axes = ctx.axes
        need_w, need_b = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        lead = tuple(range(g.ndim - len(axes)))
        if _state.enabled:
            g_xhat = g * w if w is not None else g
            gx, xhat = _norm_grad_tensors(g_xhat, x, axes, ctx.eps)
            gw = (g * xhat).sum(lead) if need_w and lead else (g * xhat if need_w else None)
            gb = (g.sum(lead) if lead else g) if need_b else None
            return gx, gw, gb
        ga, xhat, dev = g._data, ctx.xhat, ctx.device
        gx = None
        if ctx.needs_input_grad[0]:
            gxhat = ga * w._data if w is not None else ga
            gx = Tensor._make(_norm_grad_arrays(gxhat, xhat, ctx.invstd, axes)
                              .astype(ga.dtype, copy=False), dev)
        gw = Tensor._make((ga * xhat).sum(lead), dev) if need_w else None
        gb = Tensor._make(ga.sum(lead), dev) if need_b else None
        return gx, gw, gb


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the trailing ``normalized_shape`` dimensions, then scale and shift
    element-wise."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or tuple(input.shape[input.dim() - k:]) != normalized_shape or input.dim() < k:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(str(s) for s in normalized_shape)}], but got "
                           f"input of size{list(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got "
                               f"{name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(normalized_shape)}")
    return LayerNorm.apply(input, weight, bias, normalized_ndim=k, eps=eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """``x / sqrt(mean(x^2) + eps) * weight`` over the trailing ``normalized_shape``
    dimensions (``eps`` defaults to the dtype's machine epsilon)."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    k = len(normalized_shape)
    if tuple(input.shape[input.dim() - k:]) != tuple(normalized_shape):
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(str(s) for s in normalized_shape)}], but got "
                           f"input of size{list(input.shape)}")
    if eps is None:
        from ember.dtypes import finfo

        eps = finfo(input.dtype).eps
    axes = tuple(range(input.dim() - k, input.dim()))
    y = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """``x / (k + alpha * mean of x^2 over `size` neighbouring channels) ^ beta``."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input "
                         f"(got {dim} dimensions)")
    if input.numel() == 0:
        return input
    from ember.ops.creation import zeros

    # sum of squares over a window of channels: a cumulative sum along the channel axis
    c = input.shape[1]
    sq = input * input
    lo, hi = size // 2, (size - 1) // 2
    pad_before = zeros((input.shape[0], lo) + tuple(input.shape[2:]), dtype=input.dtype,
                       device=input.device)
    pad_after = zeros((input.shape[0], hi) + tuple(input.shape[2:]), dtype=input.dtype,
                      device=input.device)
    from ember import cat

    padded = cat([pad_before, sq, pad_after], 1)
    window = padded.narrow(1, 0, c)
    for i in range(1, size):
        window = window + padded.narrow(1, i, c)
    div = (window * (alpha / size) + k) ** beta
    return input / div


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """``input / max(||input||_p, eps)`` along ``dim``."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    from ember.ops.arithmetic import div

    return div(input, denom, out=out)
