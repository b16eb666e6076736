"""Activation functions: ``F.relu``, ``F.elu``, ``F.gelu``, ``F.softmax``, ...

Piecewise-linear activations are one primitive each whose backward multiplies by the slope mask
computed in forward. Smooth ones whose naive composition overflows (softplus, logsigmoid, elu,
silu, mish) are fused primitives with a stable forward and a backward written with Tensor ops (so
double backward works); the rest are compositions. ``relu``, ``sigmoid``, ``tanh`` and the
softmax family reach the core's primitives (``ember.relu``...).
"""

# ruff: noqa: A001, A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

import math
import warnings

from ember._legacy_types import scalar_type_name
from ember.autograd.function import Primitive

__all__ = ["threshold", "threshold_", "relu", "relu_", "relu6", "hardtanh", "hardtanh_", "elu",
           "elu_", "selu", "selu_", "celu", "celu_", "leaky_relu", "leaky_relu_", "prelu",
           "rrelu", "rrelu_", "glu", "gelu", "logsigmoid", "hardshrink", "tanhshrink", "softsign",
           "softplus", "softmin", "softmax", "log_softmax", "gumbel_softmax", "softshrink",
           "tanh", "sigmoid", "hardsigmoid", "silu", "mish", "hardswish"]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _float_only(a, name: str) -> None:
    if a.dtype.kind not in "fc":
        raise NotImplementedError(f"\"{name}\" not implemented for '{scalar_type_name(a.dtype)}'")


# --- piecewise-linear: backward = grad * slope ---------------------------------------------------

class _PiecewiseLinear(Primitive):
    """Forward keeps the slope of each element (``ctx.slope``); backward is ``grad * slope``."""

    @staticmethod
    def backward(ctx, g):
        return g * ctx.const(ctx.slope)


class Threshold(_PiecewiseLinear):
    """``x if x > threshold else value``."""

    @staticmethod
    def forward(ctx, x, threshold, value):
        keep = x > threshold
        ctx.slope = keep.astype(x.dtype)
        return ctx.xp.where(keep, x, ctx.xp.asarray(value, dtype=x.dtype))


class LeakyReLU(_PiecewiseLinear):
    @staticmethod
    def forward(ctx, x, negative_slope):
        _float_only(x, "leaky_relu")
        pos = x > 0
        ctx.slope = ctx.xp.where(pos, x.dtype.type(1), x.dtype.type(negative_slope))
        return x * ctx.slope


class RReLU(Primitive):
    """Leaky ReLU whose negative slopes are drawn from U(lower, upper) per element (training)."""

    @staticmethod
    def forward(ctx, x, noise):
        ctx.slope = ctx.xp.where(x >= 0, x.dtype.type(1), noise)
        return x * ctx.slope

    @staticmethod
    def backward(ctx, g):
        return g * ctx.const(ctx.slope), None


class Hardtanh(_PiecewiseLinear):
    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.slope = ((x > min_val) & (x < max_val)).astype(x.dtype)
        return ctx.xp.clip(x, x.dtype.type(min_val), x.dtype.type(max_val))


class Hardshrink(_PiecewiseLinear):
    @staticmethod
    def forward(ctx, x, lambd):
        keep = (x > lambd) | (x < -lambd)
        ctx.slope = keep.astype(x.dtype)
        return x * ctx.slope


class Softshrink(_PiecewiseLinear):
    @staticmethod
    def forward(ctx, x, lambd):
        if lambd < 0:
            raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
        xp = ctx.xp
        ctx.slope = ((x > lambd) | (x < -lambd)).astype(x.dtype)
        return xp.where(x > lambd, x - lambd, xp.where(x < -lambd, x + lambd, 0)).astype(x.dtype)


class Hardsigmoid(_PiecewiseLinear):
    @staticmethod
    def forward(ctx, x):
        ctx.slope = ((x > -3) & (x < 3)).astype(x.dtype) / 6
        return ctx.xp.clip(x / 6 + 0.5, 0, 1).astype(x.dtype)


class Hardswish(Primitive):
    """``x * relu6(x + 3) / 6``; its slope x/3 + 1/2 in (-3, 3) depends on x (double backward)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x * ctx.xp.clip(x + 3, 0, 6) / 6).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        a = x._data
        mid = ctx.const(((a >= -3) & (a <= 3)).astype(a.dtype))
        high = ctx.const((a > 3).astype(a.dtype))
        return g * ((x / 3 + 0.5) * mid + high)


class PReLU(Primitive):
    """``x if x >= 0 else weight * x`` with one weight (or one per channel, dim 1)."""

    @staticmethod
    def forward(ctx, x, w):
        ctx.save_for_backward(x, w)
        ctx.wshape = (-1,) + (1,) * (x.ndim - 2) if w.size > 1 else w.shape
        wb = w.reshape(ctx.wshape) if w.size > 1 else w.reshape(())
        return ctx.xp.where(x > 0, x, wb * x).astype(ctx.xp.result_type(x, w))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        pos = ctx.const((x._data > 0).astype(g._data.dtype))
        neg = 1 - pos
        wb = w.reshape(ctx.wshape) if w.numel() > 1 else w.reshape(())
        gx = g * (pos + neg * wb) if ctx.needs_input_grad[0] else None
        gw = None
        if ctx.needs_input_grad[1]:
            gxw = g * x * neg
            if w.numel() > 1:
                dims = tuple(i for i in range(x.ndim) if i != 1)
                gw = gxw.sum(dims) if dims else gxw
            else:
                gw = gxw.sum().reshape(w.shape)
        return gx, gw


# --- smooth, fused for stability: backward with Tensor ops -----------------------------------

class ELU(Primitive):
    """``scale * (x if x > 0 else alpha * (exp(input_scale * x) - 1))`` (elu, selu, celu)."""

    @staticmethod
    def forward(ctx, x, alpha, scale, input_scale):
        _float_only(x, "elu")
        xp = ctx.xp
        ctx.alpha, ctx.scale, ctx.input_scale = alpha, scale, input_scale
        ctx.save_for_backward(x)
        neg = alpha * xp.expm1(xp.minimum(x, 0) * input_scale)
        return (scale * xp.where(x > 0, x, neg)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        pos = ctx.const((x._data > 0).astype(x._data.dtype))
        neg_part = (x * (1 - pos) * ctx.input_scale).exp() * (
            ctx.scale * ctx.alpha * ctx.input_scale)
        return g * (pos * ctx.scale + (1 - pos) * neg_part)


class Softplus(Primitive):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold`` (no overflow)."""

    @staticmethod
    def forward(ctx, x, beta, threshold):
        _float_only(x, "softplus")
        xp = ctx.xp
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        bx = x * beta
        soft = xp.logaddexp(0, bx) / beta
        return xp.where(bx > threshold, x, soft).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        lin = ctx.const((x._data * ctx.beta > ctx.threshold).astype(x._data.dtype))
        return g * ((x * ctx.beta).sigmoid() * (1 - lin) + lin)


class LogSigmoid(Primitive):
    """``-softplus(-x)``, computed without overflow."""

    @staticmethod
    def forward(ctx, x):
        _float_only(x, "log_sigmoid_forward")
        ctx.save_for_backward(x)
        return (-ctx.xp.logaddexp(0, -x)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (-x).sigmoid()


class SiLU(Primitive):
    """``x * sigmoid(x)``."""

    @staticmethod
    def forward(ctx, x):
        _float_only(x, "silu")
        ctx.save_for_backward(x)
        return (x * _np_sigmoid(ctx.xp, x)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return g * (s * (1 + x * (1 - s)))


class Mish(Primitive):
    """``x * tanh(softplus(x))``."""

    @staticmethod
    def forward(ctx, x):
        _float_only(x, "mish")
        xp = ctx.xp
        ctx.save_for_backward(x)
        return (x * xp.tanh(xp.logaddexp(0, x))).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        t = softplus(x).tanh()
        return g * (t + x * x.sigmoid() * (1 - t * t))


def _np_sigmoid(xp, x):
    # exp of a non-positive number only: no overflow for large |x|
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


# --- functions ---------------------------------------------------------------------------------

def threshold(input, threshold, value, inplace=False):
    """``input`` where it is above ``threshold``, else ``value``."""
    if inplace:
        return input._inplace(Threshold, threshold=threshold, value=value)
    return Threshold.apply(input, threshold=threshold, value=value)


def threshold_(input, threshold, value):
    return input._inplace(Threshold, threshold=threshold, value=value)


def relu(input, inplace=False):
    """``max(input, 0)``."""
    return input.relu_() if inplace else input.relu()


def relu_(input):
    return input.relu_()


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``input`` clamped to ``[min_val, max_val]``."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return input._inplace(Hardtanh, min_val=min_val, max_val=max_val)
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """``min(max(input, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def elu(input, alpha=1.0, inplace=False):
    """``input`` if positive, else ``alpha * (exp(input) - 1)``."""
    if inplace:
        return input._inplace(ELU, alpha=alpha, scale=1.0, input_scale=1.0)
    return ELU.apply(input, alpha=alpha, scale=1.0, input_scale=1.0)


def elu_(input, alpha=1.0):
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """``scale * elu(input, alpha)`` with the self-normalising constants."""
    if inplace:
        return input._inplace(ELU, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)
    return ELU.apply(input, alpha=_SELU_ALPHA, scale=_SELU_SCALE, input_scale=1.0)


def selu_(input):
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    if inplace:
        return input._inplace(ELU, alpha=alpha, scale=1.0, input_scale=1.0 / alpha)
    return ELU.apply(input, alpha=alpha, scale=1.0, input_scale=1.0 / alpha)


def celu_(input, alpha=1.0):
    return celu(input, alpha, inplace=True)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` if positive, else ``negative_slope * input``."""
    if inplace:
        return input._inplace(LeakyReLU, negative_slope=negative_slope)
    return LeakyReLU.apply(input, negative_slope=negative_slope)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input, weight):
    """``input`` if positive, else ``weight * input`` (``weight``: one value or one per channel)."""
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if input.ndim == 0 or weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{channels}.")
    return PReLU.apply(input, weight)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Leaky ReLU with random slopes from U(lower, upper) in training, their mean in eval."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    from ember.ops.creation import empty

    noise = empty(input.shape, dtype=input.dtype, device=input.device).uniform_(lower, upper)
    if inplace:
        return input._inplace(RReLU, noise)
    return RReLU.apply(input, noise)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, inplace=True)


def glu(input, dim=-1):
    """``a * sigmoid(b)`` where ``a, b`` are the two halves of ``input`` along ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = dim % input.dim() if -input.dim() <= dim < input.dim() else dim
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size "
                           f"{input.shape[d]}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def gelu(input, approximate="none"):
    """``x * Phi(x)``; ``approximate='tanh'`` uses the tanh approximation."""
    if approximate == "none":
        return input * 0.5 * (1 + (input * (1 / math.sqrt(2.0))).erf())
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * 0.5 * (1 + inner.tanh())
    raise RuntimeError(f"approximate argument must be either none or tanh.")  # noqa: F541


def logsigmoid(input):
    """``log(sigmoid(input))``, stable for large ``|input|``."""
    return LogSigmoid.apply(input)


def hardshrink(input, lambd=0.5):
    """``input`` where ``|input| > lambd``, else 0."""
    return Hardshrink.apply(input, lambd=lambd)


def tanhshrink(input):
    """``input - tanh(input)``."""
    return input - input.tanh()


def softsign(input):
    """``input / (1 + |input|)``."""
    return input / (input.abs() + 1)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, and ``x`` where ``beta * x > threshold``."""
    return Softplus.apply(input, beta=beta, threshold=threshold)


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """``softmax(-input)``."""
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    return (-input).softmax(dim) if dtype is None else (-input).softmax(dim, dtype=dtype)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``exp(x) / sum(exp(x))`` along ``dim`` (without ``dim``: torch's legacy choice, warned)."""
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return input.softmax(dim) if dtype is None else input.softmax(dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """``log(softmax(input))``, computed stably."""
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return input.log_softmax(dim) if dtype is None else input.log_softmax(dim, dtype=dtype)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """A sample from the Gumbel-softmax distribution; ``hard``: one-hot, with soft gradients."""
    from ember.ops.creation import empty_like, zeros_like

    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -empty_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def softshrink(input, lambd=0.5):
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    return Softshrink.apply(input, lambd=lambd)


def tanh(input):
    """``tanh(input)``."""
    return input.tanh()


def sigmoid(input):
    """``1 / (1 + exp(-input))``."""
    return input.sigmoid()


def hardsigmoid(input, inplace=False):
    """``clamp(x / 6 + 1/2, 0, 1)``."""
    if inplace:
        return input._inplace(Hardsigmoid)
    return Hardsigmoid.apply(input)


def silu(input, inplace=False):
    """``x * sigmoid(x)`` (swish)."""
    if inplace:
        return input._inplace(SiLU)
    return SiLU.apply(input)


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``."""
    if inplace:
        return input._inplace(Mish)
    return Mish.apply(input)


def hardswish(input, inplace=False):
    """``x * relu6(x + 3) / 6``."""
    if inplace:
        return input._inplace(Hardswish)
    return Hardswish.apply(input)
