"""Arithmetic: + - * / // % ** with broadcasting and PyTorch's type promotion, unary minus, abs.

Each primitive's forward works on arrays (or Python numbers, which NumPy treats as weak scalars,
like PyTorch) and its backward on Tensors. Broadcasting is undone by the engine, not here.
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.autograd.function import Primitive
from ember.autograd.grad_mode import _state
from ember.ops.creation import full_like, zeros_like

_BF16 = _dt.np_bfloat16
_BOOL = np.dtype(np.bool_)

__all__ = ["add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide",
           "floor_divide", "remainder", "fmod", "pow", "neg", "negative", "abs", "absolute",
           "rsub", "promoted", "handle_out"]


_INT_RANGE = {np.dtype(t): (int(np.iinfo(t).min), int(np.iinfo(t).max))
              for t in (np.int8, np.int16, np.int32, np.int64, np.uint8)}


def wrap_int(v: int, r):
    """A Python int outside integer dtype ``r``'s range, wrapped as a C cast does (torch converts
    the scalar to the tensor's dtype; NumPy 2 refuses it)."""
    lo, hi = _INT_RANGE[r]
    if lo <= v <= hi:
        return v
    return np.array(v).astype(r)[()]  # OverflowError beyond int64, as torch's


def promoted(a, b):
    """``a`` and ``b`` (arrays or Python numbers) cast to PyTorch's result dtype for ``a op b``."""
    da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
    if da is not None and da == db:
        return a, b, da
    r = _dt.result_type(a, b).np
    if da is not None and da != r:
        a = a.astype(r)
    if db is not None and db != r:
        b = b.astype(r)
    if r.kind in "iu":
        if type(a) is int:
            a = wrap_int(a, r)
        if type(b) is int:
            b = wrap_int(b, r)
    elif r == _BF16:  # NumPy widens bfloat16 with a Python float; torch keeps bfloat16
        a = a if da is not None else r.type(a)
        b = b if db is not None else r.type(b)
    return a, b, r


def _float_promoted(a, b):
    """Like ``promoted``, but integer results become the default float dtype (true division)."""
    a, b, r = promoted(a, b)
    if r.kind in "biu":
        f = _dt.get_default_dtype().np
        a = a.astype(f) if hasattr(a, "astype") else a
        b = b.astype(f) if hasattr(b, "astype") else b
        if not hasattr(a, "astype") and not hasattr(b, "astype"):
            a = f.type(a)
    return a, b


def _check_int_divisor(b) -> None:
    """Integer division by zero: NumPy returns 0 with a warning, torch raises."""
    if (b == 0).any() if hasattr(b, "any") else b == 0:
        raise RuntimeError("ZeroDivisionError")


def handle_out(result, out, name: str):
    """Write ``result`` into the user's ``out=`` tensor, as torch's ``out=`` variants do."""
    if out is None:
        return result
    if _state.enabled and (result._requires_grad or out._requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    if out.shape != result.shape:
        out._data = result._data.astype(out._data.dtype, copy=False)
    else:
        out._write(result._data)
    out._bump_version()
    return out


class Add(Primitive):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        a, b, _ = promoted(a, b)
        ctx.alpha = alpha
        return a + b if alpha == 1 else a + alpha * b

    @staticmethod
    def backward(ctx, g):
        return g, (g if ctx.alpha == 1 else g * ctx.alpha)


class Sub(Primitive):
    @staticmethod
    def forward(ctx, a, b, alpha=1):
        if getattr(a, "dtype", None) == _BOOL or getattr(b, "dtype", None) == _BOOL:
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                               "supported. If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        a, b, _ = promoted(a, b)
        ctx.alpha = alpha
        return a - b if alpha == 1 else a - alpha * b

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.alpha == 1 else g * -ctx.alpha)


class Mul(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        need = ctx.needs_input_grad
        if need:  # as torch, keep each operand only if the other one's gradient needs it
            ctx.save_for_backward(a if need[1] else None, b if need[0] else None)
        a, b, _ = promoted(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g * b if ctx.needs_input_grad[0] else None
        gb = g * a if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Primitive):
    @staticmethod
    def forward(ctx, a, b, rounding_mode=None):
        need = ctx.needs_input_grad
        if need:
            ctx.save_for_backward(a if need[1] else None, b)
        ctx.rounding_mode = rounding_mode
        if rounding_mode is None:
            a, b = _float_promoted(a, b)
            return ctx.xp.true_divide(a, b)
        a, b, r = promoted(a, b)
        if r.kind in "iu":
            _check_int_divisor(b)
        if rounding_mode == "floor":
            return ctx.xp.floor_divide(a, b) if r.kind != "f" else ctx.xp.floor(a / b)
        if rounding_mode == "trunc":
            q = ctx.xp.true_divide(a, b)
            return ctx.xp.trunc(q).astype(r) if r.kind in "biu" else ctx.xp.trunc(q)
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")

    @staticmethod
    def backward(ctx, g):
        if ctx.rounding_mode is not None:  # piecewise constant: zero gradient, as torch
            return zeros_like(g), None  # (not g * 0: that is nan where g is inf)
        a, b = ctx.saved_tensors
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


class Remainder(Primitive):
    """Python's ``%``: the result takes the sign of the divisor (quotient rounded down)."""

    ufunc, rounding = "remainder", "floor"

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b, r = promoted(a, b)
        if r.kind in "iu":
            _check_int_divisor(b)
        return getattr(ctx.xp, cls.ufunc)(a, b)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        gb = None
        if ctx.needs_input_grad[1]:  # a - b * q(a, b), with q piecewise constant
            gb = -g * Div.apply(a, b, rounding_mode=cls.rounding)
        return g, gb


class Fmod(Remainder):
    """C's ``fmod``: the result takes the sign of the dividend (quotient truncated)."""

    ufunc, rounding = "fmod", "trunc"


class Pow(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a0, b0 = a, b
        a, b, r = promoted(a, b)
        if r.kind in "iu" and ((b < 0).any() if hasattr(b, "shape") else b < 0):
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        out = ctx.xp.power(a, b)
        ctx.save_for_backward(a0, b0, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if isinstance(b, (int, float)):
                ga = g * b * a ** (b - 1) if b != 0 else zeros_like(g)
            else:
                ga = g * b * a ** (b - 1)
        if ctx.needs_input_grad[1]:
            # d(a^b)/db = a^b log a; where a == 0 and b >= 0 torch defines it as 0.
            base = a if hasattr(a, "_data") else full_like(out, a)
            safe = base.masked_fill((base == 0) & (b >= 0), 1)
            gb = g * out * safe.log()
        return ga, gb


class Neg(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype == _BOOL:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                               "you are trying to invert a mask, use the `~` or `logical_not()` "
                               "operator instead.")
        return -a

    @staticmethod
    def backward(ctx, g):
        return -g


class Abs(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.abs(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.sgn()


def add(input, other, *, alpha=1, out=None):
    """``input + alpha * other``, broadcasting, with PyTorch's type promotion."""
    return handle_out(Add.apply(input, other, alpha=alpha), out, "add")


def sub(input, other, *, alpha=1, out=None):
    """``input - alpha * other``."""
    return handle_out(Sub.apply(input, other, alpha=alpha), out, "sub")


def rsub(input, other, *, alpha=1):
    """``other - alpha * input``."""
    return Sub.apply(other, input, alpha=alpha)


def mul(input, other, *, out=None):
    return handle_out(Mul.apply(input, other), out, "mul")


def div(input, other, *, rounding_mode=None, out=None):
    """True division (integers give floats), or ``rounding_mode='floor'|'trunc'``."""
    return handle_out(Div.apply(input, other, rounding_mode=rounding_mode), out, "div")


def true_divide(input, other, *, out=None):
    return div(input, other, out=out)


def floor_divide(input, other, *, out=None):
    return handle_out(Div.apply(input, other, rounding_mode="floor"), out, "floor_divide")


def remainder(input, other, *, out=None):
    return handle_out(Remainder.apply(input, other), out, "remainder")


def fmod(input, other, *, out=None):
    return handle_out(Fmod.apply(input, other), out, "fmod")


def pow(input, exponent, *, out=None):  # noqa: A001 - torch.pow
    return handle_out(Pow.apply(input, exponent), out, "pow")


def neg(input, *, out=None):
    return handle_out(Neg.apply(input), out, "neg")


def abs(input, *, out=None):  # noqa: A001 - torch.abs
    return handle_out(Abs.apply(input), out, "abs")


subtract, multiply, divide, negative, absolute = sub, mul, div, neg, abs


class ArithmeticMethods:
    """Tensor methods and operators of this family."""

    __slots__ = ()

    def add(self, other, *, alpha=1):
        return Add.apply(self, other, alpha=alpha)

    def add_(self, other, *, alpha=1):
        return self._inplace(Add, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return Sub.apply(self, other, alpha=alpha)

    def sub_(self, other, *, alpha=1):
        return self._inplace(Sub, other, alpha=alpha)

    def mul(self, other):
        return Mul.apply(self, other)

    def mul_(self, other):
        return self._inplace(Mul, other)

    def div(self, other, *, rounding_mode=None):
        return Div.apply(self, other, rounding_mode=rounding_mode)

    def div_(self, other, *, rounding_mode=None):
        return self._inplace(Div, other, rounding_mode=rounding_mode)

    def floor_divide(self, other):
        return Div.apply(self, other, rounding_mode="floor")

    def floor_divide_(self, other):
        return self._inplace(Div, other, rounding_mode="floor")

    def remainder(self, other):
        return Remainder.apply(self, other)

    def remainder_(self, other):
        return self._inplace(Remainder, other)

    def fmod(self, other):
        return Fmod.apply(self, other)

    def fmod_(self, other):
        return self._inplace(Fmod, other)

    def pow(self, exponent):
        return Pow.apply(self, exponent)

    def pow_(self, exponent):
        return self._inplace(Pow, exponent)

    def neg(self):
        return Neg.apply(self)

    def neg_(self):
        return self._inplace(Neg)

    def abs(self):
        return Abs.apply(self)

    def abs_(self):
        return self._inplace(Abs)

    subtract, multiply, divide, true_divide, negative, absolute = sub, mul, div, div, neg, abs
    subtract_, multiply_, divide_, true_divide_, negative_, absolute_ = (
        sub_, mul_, div_, div_, neg_, abs_)

    def __add__(self, other):
        return Add.apply(self, other)

    def __radd__(self, other):
        return Add.apply(other, self)

    def __iadd__(self, other):
        return self._inplace(Add, other)

    def __sub__(self, other):
        return Sub.apply(self, other)

    def __rsub__(self, other):
        return Sub.apply(other, self)

    def __isub__(self, other):
        return self._inplace(Sub, other)

    def __mul__(self, other):
        return Mul.apply(self, other)

    def __rmul__(self, other):
        return Mul.apply(other, self)

    def __imul__(self, other):
        return self._inplace(Mul, other)

    def __truediv__(self, other):
        return Div.apply(self, other)

    def __rtruediv__(self, other):
        return Div.apply(other, self)

    def __itruediv__(self, other):
        return self._inplace(Div, other)

    def __floordiv__(self, other):
        return Div.apply(self, other, rounding_mode="floor")

    def __rfloordiv__(self, other):
        return Div.apply(other, self, rounding_mode="floor")

    def __ifloordiv__(self, other):
        return self._inplace(Div, other, rounding_mode="floor")

    def __mod__(self, other):
        return Remainder.apply(self, other)

    def __rmod__(self, other):
        return Remainder.apply(other, self)

    def __imod__(self, other):
        return self._inplace(Remainder, other)

    def __pow__(self, exponent):
        return Pow.apply(self, exponent)

    def __rpow__(self, other):
        return Pow.apply(other, self)

    def __ipow__(self, exponent):
        return self._inplace(Pow, exponent)

    def __neg__(self):
        return Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return Abs.apply(self)
