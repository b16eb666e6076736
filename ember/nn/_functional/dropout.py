"""Dropout: element-wise (``dropout``), channel-wise (``dropout1d/2d/3d``) and the SELU-preserving
``alpha_dropout`` / ``feature_alpha_dropout``. Identity when not training; masks come from
ember's default generator.
"""

# ruff: noqa: A001, A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

import math
import warnings

from ember._tensor import Tensor
from ember.autograd.function import Primitive

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

_ALPHA = 1.7580993408473766  # -SELU's lower limit: scale * alpha


class Dropout(Primitive):
    """``x * mask + shift``: the mask (scale included) and shift are drawn by the caller."""

    @staticmethod
    def forward(ctx, x, mask, shift=None):
        ctx.mask = mask
        out = x * mask
        if shift is not None:
            out += shift
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        return g * Tensor._make(ctx.mask, ctx.device)


def _check_p(p) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, shape, p):
    """1.0 where an element (or channel) is kept, with probability ``1 - p``, as an array."""
    from ember.ops.random import rand

    u = rand(shape, device=input.device)._data
    return (u < 1 - p).astype(input._data.dtype)


def _dropout(input, p, training, inplace, feature, alpha, batched=True):
    """The shared implementation; ``feature``: one mask value per channel (dim 1, or dim 0 of an
    unbatched input)."""
    _check_p(p)
    if p == 0 or not training or input.numel() == 0:
        return input
    if feature:
        lead = 2 if batched else 1
        shape = tuple(input.shape[:lead]) + (1,) * (input.dim() - lead)
    else:
        shape = tuple(input.shape)
    keep = _keep_mask(input, shape, p)
    shift = None
    if p == 1:
        mask = keep  # all zeros
    elif alpha:
        a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
        shift = ((keep - 1) * (_ALPHA * a) + _ALPHA * a * p).astype(keep.dtype)
        mask = (keep * a).astype(keep.dtype)
    else:
        mask = (keep * (1.0 / (1 - p))).astype(keep.dtype)
    if inplace:
        return input._inplace(Dropout, mask=mask, shift=shift)
    return Dropout.apply(input, mask=mask, shift=shift)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``."""
    return _dropout(input, p, training, inplace, feature=False, alpha=False)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps a SELU network's mean and variance (dropped values go to -alpha')."""
    return _dropout(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """``alpha_dropout`` of whole channels (dim 1)."""
    return _dropout(input, p, training, inplace, feature=True, alpha=True)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    _check_p(p)
    inp_dim = input.dim()
    if inp_dim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {inp_dim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an optional "
                           "batch dimension (i.e. 2D or 3D inputs).")
    return _dropout(input, p, training, inplace, feature=True, alpha=False,
                    batched=inp_dim == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``."""
    _check_p(p)
    inp_dim = input.dim()
    if inp_dim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {inp_dim}-D input to dropout2d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that dropout2d "
                      "exists to provide channel-wise dropout on inputs with 2 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                      "or 4D inputs).", stacklevel=2)
    if inp_dim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape (C, "
                      "H, W). To maintain the 1D channel-wise dropout behavior, please switch to "
                      "using dropout1d instead.", stacklevel=2)
    # as torch: a 2-D input gets one mask value per (row, column), i.e. element-wise dropout
    return _dropout(input, p, training, inplace, feature=True, alpha=False)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input with probability
    ``p``."""
    _check_p(p)
    inp_dim = input.dim()
    if inp_dim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {inp_dim}-D input to dropout3d, which is deprecated "
                      "and will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead. Note that dropout3d "
                      "exists to provide channel-wise dropout on inputs with 3 spatial "
                      "dimensions, a channel dimension, and an optional batch dimension (i.e. 4D "
                      "or 5D inputs).", stacklevel=2)
    return _dropout(input, p, training, inplace, feature=True, alpha=False,
                    batched=inp_dim == 5)
