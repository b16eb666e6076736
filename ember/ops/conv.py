"""Convolutions: conv1d/2d/3d and conv_transpose1d/2d/3d, with stride, padding, dilation, groups.

Three primitives are the three partial derivatives of one trilinear form ``<conv(x, w), g>``:
``Conv`` (d/dg: the convolution), ``ConvInput`` (d/dx: the input gradient, which is also the
transposed convolution) and ``ConvWeight`` (d/dw). Each one's backward is made of the other two,
so gradients of gradients work to any order. The arithmetic lives in ``ember.backend.conv``.
"""

from __future__ import annotations

import operator

from ember._legacy_types import c_type_name
from ember.autograd.function import Primitive
from ember.backend import conv as K

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d"]


def _spatial_sum_dims(ndim: int) -> tuple:
    return (0,) + tuple(range(2, ndim))


class Conv(Primitive):
    """``conv(x, w) + b``; ``out`` fixes the output size when a backward asks for one."""

    @staticmethod
    def forward(ctx, x, w, b=None, *, stride, pads, dilation, groups, out=None):
        y = K.conv_forward(ctx.xp, x, w, stride, pads, dilation, groups, out)
        if b is not None:
            y += b.reshape((-1,) + (1,) * (y.ndim - 2))
        ctx.save_for_backward(x, w)
        ctx.params = dict(stride=stride, pads=pads, dilation=dilation, groups=groups)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad + (False,) * (3 - len(ctx.needs_input_grad))
        p = ctx.params
        gx = ConvInput.apply(g, w, in_spatial=tuple(x.shape[2:]), **p) if nx else None
        gw = ConvWeight.apply(x, g, kernel=tuple(w.shape[2:]), **p) if nw else None
        gb = g.sum(_spatial_sum_dims(g.ndim)) if nb else None
        return gx, gw, gb


class ConvInput(Primitive):
    """The gradient of ``conv(x, w)`` with respect to ``x`` (+ ``b``): a transposed convolution."""

    @staticmethod
    def forward(ctx, g, w, b=None, *, in_spatial, stride, pads, dilation, groups):
        y = K.conv_input_grad(ctx.xp, g, w, in_spatial, stride, pads, dilation, groups)
        if b is not None:
            y += b.reshape((-1,) + (1,) * (y.ndim - 2))
        ctx.save_for_backward(g, w)
        ctx.params = dict(stride=stride, pads=pads, dilation=dilation, groups=groups)
        return y

    @staticmethod
    def backward(ctx, h):
        g, w = ctx.saved_tensors
        ng, nw, nb = ctx.needs_input_grad + (False,) * (3 - len(ctx.needs_input_grad))
        p = ctx.params
        dg = Conv.apply(h, w, out=tuple(g.shape[2:]), **p) if ng else None
        dw = ConvWeight.apply(h, g, kernel=tuple(w.shape[2:]), **p) if nw else None
        db = h.sum(_spatial_sum_dims(h.ndim)) if nb else None
        return dg, dw, db


class ConvWeight(Primitive):
    """The gradient of ``conv(x, w)`` with respect to ``w`` (of spatial size ``kernel``)."""

    @staticmethod
    def forward(ctx, x, g, *, kernel, stride, pads, dilation, groups):
        ctx.save_for_backward(x, g)
        ctx.params = dict(stride=stride, pads=pads, dilation=dilation, groups=groups)
        return K.conv_weight_grad(ctx.xp, x, g, kernel, stride, pads, dilation, groups)

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad
        p = ctx.params
        dx = ConvInput.apply(g, h, in_spatial=tuple(x.shape[2:]), **p) if nx else None
        dg = Conv.apply(x, h, out=tuple(g.shape[2:]), **p) if ng else None
        return dx, dg


# --- argument checks, with PyTorch's wording ------------------------------------------------------

def _ints(value, n: int, name: str, fn: str) -> tuple:
    """``value`` (an int or a sequence of 1 or ``n`` ints) as a tuple of ``n`` ints."""
    seq = value if isinstance(value, (tuple, list)) else (value,)
    try:
        seq = tuple(operator.index(v) for v in seq)
    except TypeError:
        raise TypeError(f"{fn}(): argument '{name}' must be tuple of ints, not "
                        f"{type(value).__name__}") from None
    if len(seq) == 1:
        return seq * n
    if len(seq) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values "
                           f"to match the convolution dimensions, but got {name}={list(seq)}")
    return seq


def _check_common(fn, nd, input, weight, bias, stride, dilation, groups):
    """Dimensions, dtypes and positive parameters, shared by convolutions and their transposes."""
    from ember._tensor import Tensor

    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        bad = input if not isinstance(input, Tensor) else weight
        raise TypeError(f"{fn}() received an invalid combination of arguments - got "
                        f"{type(bad).__name__} where a Tensor was expected")
    if input.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {fn}, "
                           f"but got input of size: {list(input.shape)}")
    nk = weight.ndim - 2
    stride = _ints(stride, nd, "stride", fn)
    dilation = _ints(dilation, nd, "dilation", fn)
    if nk != nd:
        raise RuntimeError(f"expected stride to be a single integer value or a list of {nk} values "
                           f"to match the convolution dimensions, but got stride={list(stride)}")
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"{fn}(): argument 'groups' must be int, not {type(groups).__name__}")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"Input type ({input.type()}) and weight type ({weight.type()}) should "
                           "be the same")
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"Input type ({c_type_name(input.dtype)}) and bias type "
                           f"({c_type_name(bias.dtype)}) should be the same")
    if input.dtype.name == "bool" or input.dtype.is_complex:
        raise NotImplementedError(f'"slow_conv{nd}d_cpu" not implemented for '
                                  f"'{input.dtype.name.capitalize()}'")
    return stride, dilation


def _check_weight_groups(weight, groups):
    O = weight.shape[0]
    if O == 0 and groups == 1:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(weight.shape)} instead")
    if O % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at "
                           f"dimension 0, but got weight of size [{list(weight.shape)}] instead")


def _check_bias(bias, n: int, weight, transposed: bool):
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != n):
        pre = "Given transposed=1, weight" if transposed else "Given weight"
        raise RuntimeError(f"{pre} of size {list(weight.shape)}, expected bias to be 1-dimensional "
                           f"with {n} elements, but got bias of size {list(bias.shape)} instead")


def _batched(input, nd):
    if input.ndim == nd + 1:
        return input.reshape((1,) + tuple(input.shape)), True
    return input, False


def _conv(fn, nd, input, weight, bias, stride, padding, dilation, groups):
    stride, dilation = _check_common(fn, nd, input, weight, bias, stride, dilation, groups)
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            pads = tuple((t // 2, t - t // 2) for t in total)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        p = _ints(padding, nd, "padding", fn)
        if any(v < 0 for v in p):
            raise RuntimeError("negative padding is not supported")
        pads = tuple((v, v) for v in p)
    x, unbatched = _batched(input, nd)
    _check_weight_groups(weight, groups)
    C = x.shape[1]
    if C != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {weight.shape[1] * groups} channels, but "
                           f"got {C} channels instead")
    _check_bias(bias, weight.shape[0], weight, False)
    padded = [n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads)]
    span = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    if any(p < s for p, s in zip(padded, span)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, span))}). Kernel size can't be greater than "
                           "actual input size")
    y = Conv.apply(x, weight, bias, stride=stride, pads=pads, dilation=dilation, groups=groups)
    return y.reshape(tuple(y.shape[1:])) if unbatched else y


def _conv_transpose(fn, nd, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    stride, dilation = _check_common(fn, nd, input, weight, bias, stride, dilation, groups)
    if isinstance(padding, str):
        raise TypeError(f"{fn}(): argument 'padding' must be tuple of ints, not str")
    pad = _ints(padding, nd, "padding", fn)
    opad = _ints(output_padding, nd, "output_padding", fn)
    if any(v < 0 for v in pad):
        raise RuntimeError("negative padding is not supported")
    if any(v < 0 for v in opad):
        raise RuntimeError("negative output_padding is not supported")
    if any(op >= s and op >= d for op, s, d in zip(opad, stride, dilation)):
        names = ("depth", "height", "width")[3 - nd:] if nd > 1 else ("width",)
        parts = [f"output_padding_{n}: {v}" for n, v in zip(names, opad)]
        parts += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
        parts += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           + " ".join(parts))
    x, unbatched = _batched(input, nd)
    _check_weight_groups(weight, groups)
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {weight.shape[0]} channels, but got "
                           f"{x.shape[1]} channels instead")
    _check_bias(bias, weight.shape[1] * groups, weight, True)
    kernel = tuple(weight.shape[2:])
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
                 zip(x.shape[2:], stride, pad, dilation, kernel, opad))
    if any(n <= 0 for n in size):
        raise RuntimeError(f"{fn}: the output size {list(size)} computed from input size "
                           f"{list(x.shape[2:])} is too small (padding={list(pad)})")
    y = ConvInput.apply(x, weight, bias, in_spatial=size, stride=stride,
                        pads=tuple((p, p) for p in pad), dilation=dilation, groups=groups)
    return y.reshape(tuple(y.shape[1:])) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) over (N, C, L) or unbatched (C, L) input."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) over (N, C, H, W) or unbatched (C, H, W) input.

    Args:
        padding: an int, a tuple, ``'valid'`` (none) or ``'same'`` (output size = input size,
            stride 1 only; odd totals put the extra zero at the end, as PyTorch does).
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution (cross-correlation) over (N, C, D, H, W) or unbatched (C, D, H, W) input."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution; ``weight`` is (C_in, C_out / groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (deconvolution); ``weight`` is (C_in, C_out / groups, kH, kW)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """3-D transposed convolution; ``weight`` is (C_in, C_out / groups, kD, kH, kW)."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)
