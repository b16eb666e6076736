"""Copies and casts: clone, detach, dtype and device casts, ``copy_``, ``fill_``, and the node that
writes an in-place result back into a view's base (PyTorch's CopySlices)."""

from __future__ import annotations

from ember import dtypes as _dt
from ember.autograd.function import Primitive
from ember.backend import to_device

_F64, _F32 = _dt.float64.np, _dt.float32.np

__all__ = ["clone"]


class Clone(Primitive):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, g):
        return g


class Cast(Primitive):
    def name(self) -> str:
        return "ToCopyBackward0"  # torch's node for dtype and device casts (grad_fn=<...>)

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.src = _dt.from_numpy_dtype(a.dtype)
        if dtype is _dt.float16 and a.dtype == _F64:
            a = a.astype(_F32)  # torch's double -> half goes through float (rounds twice)
        return a.astype(dtype.np)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.src) if ctx.src.is_floating_point or ctx.src.is_complex else None


class ToDevice(Primitive):
    def name(self) -> str:
        return "ToCopyBackward0"

    @staticmethod
    def forward(ctx, a, device):
        return to_device(a, device)

    @staticmethod
    def backward(ctx, g):
        return g.to(ctx.device)


class Copy(Primitive):
    """``dst.copy_(src)``: the new value is ``src`` broadcast to ``dst``'s shape and dtype."""

    @staticmethod
    def forward(ctx, dst, src):
        xp = ctx.xp
        if not isinstance(src, xp.ndarray):
            src = to_device(src, ctx.device) if hasattr(src, "shape") else xp.asarray(src)
        out = xp.empty_like(dst)
        try:
            out[...] = xp.broadcast_to(src, dst.shape)
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({dst.shape[-1] if dst.ndim else 1}) must "
                               f"match the size of tensor b ({src.shape[-1] if src.ndim else 1}) "
                               "at non-singleton dimension "
                               f"{dst.ndim - 1 if dst.ndim else 0}") from None
        return out

    @staticmethod
    def backward(ctx, g):
        return None, g


class Fill(Primitive):
    """``fill_(value)``: every element becomes ``value`` (a number or a 0-dim tensor)."""

    @staticmethod
    def forward(ctx, a, value):
        return ctx.xp.full_like(a, value.item() if hasattr(value, "item") else value)

    @staticmethod
    def backward(ctx, g):
        return None, g.sum()


class CopySlices(Primitive):
    """The base of a view that was changed in place: the view's region comes from ``src``, the
    rest from the base's previous value."""

    @staticmethod
    def forward(ctx, base, src, view):
        ctx.view = view
        return base

    @staticmethod
    def backward(ctx, g):
        g_base = g.clone()
        region = ctx.view._replay_view(g_base)
        region.zero_()
        return g_base, ctx.view._replay_view(g)


def clone(input, *, memory_format=None):
    """A copy of ``input`` with its own memory; gradients flow back to ``input``."""
    return Clone.apply(input)


class CopyMethods:
    __slots__ = ()

    def copy_(self, src, non_blocking: bool = False):
        """Copy ``src`` (broadcast, cast to this dtype and device) into this tensor."""
        if hasattr(src, "_device") and src._device != self._device:
            src = src.to(self._device)
        return self._inplace(Copy, src)

    def fill_(self, value):
        if hasattr(value, "dim") and value.dim() != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.dim()} dimensions.")
        return self._inplace(Fill, value)

    def zero_(self):
        return self._inplace(Fill, 0)

    # new_*: created with this tensor's dtype and device unless told otherwise.

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False, layout=None,
                  pin_memory: bool = False):
        """Zeros of ``size`` with this tensor's dtype and device by default."""
        from ember.ops.creation import zeros

        return zeros(*size, dtype=self.dtype if dtype is None else dtype,
                     device=self._device if device is None else device,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False, layout=None,
                 pin_memory: bool = False):
        """Ones of ``size`` with this tensor's dtype and device by default."""
        from ember.ops.creation import ones

        return ones(*size, dtype=self.dtype if dtype is None else dtype,
                    device=self._device if device is None else device,
                    requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False, layout=None,
                  pin_memory: bool = False):
        """An uninitialised tensor of ``size`` with this tensor's dtype and device by default."""
        from ember.ops.creation import empty

        return empty(*size, dtype=self.dtype if dtype is None else dtype,
                     device=self._device if device is None else device,
                     requires_grad=requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False,
                 layout=None, pin_memory: bool = False):
        """``fill_value`` in every element of ``size``, with this tensor's dtype and device."""
        from ember.ops.creation import full

        if not isinstance(size, (tuple, list)):
            raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, not "
                            f"{type(size).__name__}")
        return full(size, fill_value, dtype=self.dtype if dtype is None else dtype,
                    device=self._device if device is None else device,
                    requires_grad=requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad: bool = False,
                   layout=None, pin_memory: bool = False):
        """A copy of ``data`` with this tensor's dtype and device by default."""
        from ember.ops.creation import tensor

        return tensor(data, dtype=self.dtype if dtype is None else dtype,
                      device=self._device if device is None else device,
                      requires_grad=requires_grad)
