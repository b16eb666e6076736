"""Shape and movement: view, reshape, expand, ... (views share memory with their input)."""

from __future__ import annotations

import math

from ember.autograd.function import Primitive

__all__ = ["reshape"]


def infer_shape(shape, numel: int) -> tuple:
    """``shape`` with a ``-1`` resolved; RuntimeError when it cannot hold ``numel`` elements."""
    shape = tuple(shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class View(Primitive):
    """A reshape that never copies; RuntimeError when the strides do not allow it."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        shape = infer_shape(shape, a.size)
        out = a.view()
        try:
            out.shape = shape  # NumPy refuses (AttributeError) exactly when a copy would be needed
        except AttributeError:
            raise RuntimeError("view size is not compatible with input tensor's size and stride "
                               "(at least one dimension spans across two contiguous subspaces). "
                               "Use .reshape(...) instead.") from None
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Reshape(Primitive):
    """A copy, used by ``reshape`` only when a view is impossible."""

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        return a.reshape(infer_shape(shape, a.size))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


class Expand(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a.shape
        lead = len(shape) - a.ndim
        if lead < 0:
            raise RuntimeError(f"expand(torch.FloatTensor{{{list(a.shape)}}}, size={list(shape)}): "
                               "the number of sizes provided ({len(shape)}) must be greater or "
                               f"equal to the number of dimensions in the tensor ({a.ndim})")
        target = tuple(a.shape[i - lead] if s == -1 and i >= lead else s
                       for i, s in enumerate(shape))
        try:
            return ctx.xp.broadcast_to(a, target)
        except ValueError:
            raise RuntimeError(f"The expanded size of the tensor ({target[-1]}) must match the "
                               f"existing size ({a.shape[-1]}) at non-singleton dimension "
                               f"{len(target) - 1}.  Target sizes: {list(shape)}.  Tensor sizes: "
                               f"{list(a.shape)}") from None

    @staticmethod
    def backward(ctx, g):
        return g  # the engine sums the broadcast dimensions away


def reshape(input, shape):
    """``input`` with a new shape: a view when the memory layout allows, else a copy."""
    try:
        return View.apply(input, shape=shape)
    except RuntimeError:
        return Reshape.apply(input, shape=shape)


class ShapeMethods:
    """Tensor methods of this family."""

    __slots__ = ()

    def view(self, *shape):
        return View.apply(self, shape=_shape_args(shape))

    def reshape(self, *shape):
        return reshape(self, _shape_args(shape))

    def expand(self, *sizes):
        return Expand.apply(self, shape=_shape_args(sizes))
