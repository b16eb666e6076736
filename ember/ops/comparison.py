"""Comparisons (``== != < <= > >=``), logical and bitwise operators and shifts, ``equal``,
``isclose`` and ``allclose``.

Comparisons promote their operands as arithmetic does and give bool tensors; bitwise operators
take integer and bool tensors only. None of these results carries a gradient.
"""

from __future__ import annotations

from ember import dtypes as _dt
from ember._legacy_types import scalar_type_name
from ember.autograd.function import Primitive
from ember.ops.arithmetic import handle_out, promoted
from ember.ops.creation import zeros_like
from ember.ops.pointwise import _require_tensor, kernel_error

__all__ = ["eq", "ne", "not_equal", "lt", "less", "le", "less_equal", "gt", "greater", "ge",
           "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
           "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
           "bitwise_right_shift", "equal", "isclose", "allclose"]

def _operands(a, b):
    """``a`` and ``b`` (arrays or Python numbers) in the dtype torch computes ``a op b`` in."""
    da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
    if da is not None:
        if da == db:
            return a, b, da
        # The common `x > 0`: a Python number that cannot change the array's dtype (NumPy
        # treats it as a weak scalar, like torch; not for bfloat16, which NumPy widens).
        t = type(b)
        if t is bool or (da.kind in "fc" and (t is int or t is float)):
            return a, b, da
    return promoted(a, b)


def _ordered(a, b, kernel: str):
    """Operands of ``< <= > >=``, which complex numbers do not have."""
    a, b, r = _operands(a, b)
    if r.kind == "c":
        raise kernel_error(kernel, r)
    return a, b


# --- comparisons ----------------------------------------------------------------------------


class Eq(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b, _ = _operands(a, b)
        return ctx.xp.equal(a, b)


class Ne(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b, _ = _operands(a, b)
        return ctx.xp.not_equal(a, b)


class Lt(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _ordered(a, b, "lt_cpu")
        return ctx.xp.less(a, b)


class Le(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _ordered(a, b, "le_cpu")
        return ctx.xp.less_equal(a, b)


class Gt(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _ordered(a, b, "gt_cpu")
        return ctx.xp.greater(a, b)


class Ge(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _ordered(a, b, "ge_cpu")
        return ctx.xp.greater_equal(a, b)


class CompareInPlace(Primitive):
    """``a.lt_(b)`` and the other in-place comparisons: ``compare(a, b)`` in ``a``'s dtype.

    For a float ``a`` this is differentiable, with zero gradients, so that ``a`` loses its
    history as in torch.
    """

    @staticmethod
    def forward(ctx, a, b, compare):
        return compare.forward(ctx, a, b).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        zero = zeros_like(g)
        return zero, zero if ctx.needs_input_grad[1] else None


class Isclose(Primitive):
    """``|a - b| <= atol + rtol * |b|``, or equal (nan equal to nan with ``equal_nan``)."""

    @staticmethod
    def forward(ctx, a, b, rtol, atol, equal_nan):
        xp = ctx.xp
        close = xp.equal(a, b)
        floating = a.dtype.kind in "fcV"
        if equal_nan and floating:
            close |= xp.isnan(a) & xp.isnan(b)
        if rtol == 0 and atol == 0:
            return close
        if not floating:
            f = _dt.get_default_dtype().np
            a, b = a.astype(f), b.astype(f)
        actual = xp.abs(a - b)
        close |= xp.isfinite(actual) & (actual <= atol + xp.abs(rtol * b))
        return close


# --- logical --------------------------------------------------------------------------------


class LogicalAnd(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        return ctx.xp.logical_and(a, b)


class LogicalOr(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        return ctx.xp.logical_or(a, b)


class LogicalXor(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        return ctx.xp.logical_xor(a, b)


class LogicalNot(Primitive):
    @staticmethod
    def forward(ctx, a):
        return ctx.xp.logical_not(a)


# --- bitwise --------------------------------------------------------------------------------


def _integral(a, b, kernel: str, allow_bool: bool = True):
    """Operands of a bitwise op: integers (and bools, except for shifts), never floats."""
    a, b, r = _operands(a, b)
    if r.kind not in ("biu" if allow_bool else "iu"):
        raise kernel_error(kernel, r)
    return a, b


class BitwiseAnd(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _integral(a, b, "bitwise_and_cpu")
        return ctx.xp.bitwise_and(a, b)


class BitwiseOr(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _integral(a, b, "bitwise_or_cpu")
        return ctx.xp.bitwise_or(a, b)


class BitwiseXor(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _integral(a, b, "bitwise_xor_cpu")
        return ctx.xp.bitwise_xor(a, b)


class BitwiseNot(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "biu":
            raise kernel_error("bitwise_not_cpu", a.dtype)
        return ctx.xp.invert(a)


class LeftShift(Primitive):
    """``a << b``: 0 for shifts that are negative or at least the bit width (as torch's and
    NumPy's kernels both define them)."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = _integral(a, b, "lshift_cpu", allow_bool=False)
        return ctx.xp.left_shift(a, b)


class RightShift(Primitive):
    """``a >> b``, arithmetic (sign-filling) for signed integers."""

    @staticmethod
    def forward(ctx, a, b):
        a, b = _integral(a, b, "rshift_cpu", allow_bool=False)
        return ctx.xp.right_shift(a, b)


# --- functions ------------------------------------------------------------------------------


def eq(input, other, *, out=None):
    """``input == other`` elementwise."""
    return handle_out(Eq.apply(input, other), out, "eq")


def ne(input, other, *, out=None):
    """``input != other`` elementwise."""
    return handle_out(Ne.apply(input, other), out, "ne")


def lt(input, other, *, out=None):
    """``input < other`` elementwise."""
    return handle_out(Lt.apply(input, other), out, "lt")


def le(input, other, *, out=None):
    """``input <= other`` elementwise."""
    return handle_out(Le.apply(input, other), out, "le")


def gt(input, other, *, out=None):
    """``input > other`` elementwise."""
    return handle_out(Gt.apply(input, other), out, "gt")


def ge(input, other, *, out=None):
    """``input >= other`` elementwise."""
    return handle_out(Ge.apply(input, other), out, "ge")


not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def logical_and(input, other, *, out=None):
    _require_tensor(input, "logical_and", 1, "input")
    _require_tensor(other, "logical_and", 2, "other")
    return handle_out(LogicalAnd.apply(input, other), out, "logical_and")


def logical_or(input, other, *, out=None):
    _require_tensor(input, "logical_or", 1, "input")
    _require_tensor(other, "logical_or", 2, "other")
    return handle_out(LogicalOr.apply(input, other), out, "logical_or")


def logical_xor(input, other, *, out=None):
    _require_tensor(input, "logical_xor", 1, "input")
    _require_tensor(other, "logical_xor", 2, "other")
    return handle_out(LogicalXor.apply(input, other), out, "logical_xor")


def logical_not(input, *, out=None):
    return handle_out(LogicalNot.apply(input), out, "logical_not")


def bitwise_and(input, other, *, out=None):
    return handle_out(BitwiseAnd.apply(input, other), out, "bitwise_and")


def bitwise_or(input, other, *, out=None):
    return handle_out(BitwiseOr.apply(input, other), out, "bitwise_or")


def bitwise_xor(input, other, *, out=None):
    return handle_out(BitwiseXor.apply(input, other), out, "bitwise_xor")


def bitwise_not(input, *, out=None):
    return handle_out(BitwiseNot.apply(input), out, "bitwise_not")


def bitwise_left_shift(input, other, *, out=None):
    return handle_out(LeftShift.apply(input, other), out, "bitwise_left_shift")


def bitwise_right_shift(input, other, *, out=None):
    return handle_out(RightShift.apply(input, other), out, "bitwise_right_shift")


def equal(input, other) -> bool:
    """True if both tensors have the same shape and equal values (nan is never equal)."""
    _require_tensor(input, "equal", 1, "input")
    _require_tensor(other, "equal", 2, "other")
    if input.shape != other.shape:
        return False
    return bool(Eq.apply(input, other)._data.all())


def _check_isclose(input, other, rtol, atol):
    _require_tensor(input, "isclose", 1, "input")
    _require_tensor(other, "isclose", 2, "other")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{scalar_type_name(input.dtype)} did not match "
                           f"{scalar_type_name(other.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Where ``|input - other| <= atol + rtol * |other|`` (both tensors of one dtype)."""
    _check_isclose(input, other, rtol, atol)
    return Isclose.apply(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether ``isclose`` holds everywhere."""
    _check_isclose(input, other, rtol, atol)
    close = Isclose.apply(input, other, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return bool(close._data.all())


def _compare(op, a, b):
    """``a op b`` for the operators. With something that is not a tensor or a number (None, a
    string, a list), == and != fall back to Python's identity comparison, as torch's do; < and
    friends then raise Python's TypeError."""
    if b is None:
        return NotImplemented
    try:
        return op.apply(a, b)
    except TypeError:
        return NotImplemented


def _invert_error():
    return TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")


class ComparisonMethods:
    """Tensor methods and operators of this family."""

    __slots__ = ()

    def eq(self, other):
        return Eq.apply(self, other)

    def eq_(self, other):
        return self._inplace(CompareInPlace, other, compare=Eq)

    def ne(self, other):
        return Ne.apply(self, other)

    def ne_(self, other):
        return self._inplace(CompareInPlace, other, compare=Ne)

    def lt(self, other):
        return Lt.apply(self, other)

    def lt_(self, other):
        return self._inplace(CompareInPlace, other, compare=Lt)

    def le(self, other):
        return Le.apply(self, other)

    def le_(self, other):
        return self._inplace(CompareInPlace, other, compare=Le)

    def gt(self, other):
        return Gt.apply(self, other)

    def gt_(self, other):
        return self._inplace(CompareInPlace, other, compare=Gt)

    def ge(self, other):
        return Ge.apply(self, other)

    def ge_(self, other):
        return self._inplace(CompareInPlace, other, compare=Ge)

    not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge
    not_equal_, less_, less_equal_, greater_, greater_equal_ = ne_, lt_, le_, gt_, ge_

    def equal(self, other) -> bool:
        return equal(self, other)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return allclose(self, other, rtol, atol, equal_nan)

    def logical_and(self, other):
        return logical_and(self, other)

    def logical_and_(self, other):
        _require_tensor(other, "logical_and_", 1, "other")
        return self._inplace(LogicalAnd, other)

    def logical_or(self, other):
        return logical_or(self, other)

    def logical_or_(self, other):
        _require_tensor(other, "logical_or_", 1, "other")
        return self._inplace(LogicalOr, other)

    def logical_xor(self, other):
        return logical_xor(self, other)

    def logical_xor_(self, other):
        _require_tensor(other, "logical_xor_", 1, "other")
        return self._inplace(LogicalXor, other)

    def logical_not(self):
        return LogicalNot.apply(self)

    def logical_not_(self):
        return self._inplace(LogicalNot)

    def bitwise_and(self, other):
        return BitwiseAnd.apply(self, other)

    def bitwise_and_(self, other):
        return self._inplace(BitwiseAnd, other)

    def bitwise_or(self, other):
        return BitwiseOr.apply(self, other)

    def bitwise_or_(self, other):
        return self._inplace(BitwiseOr, other)

    def bitwise_xor(self, other):
        return BitwiseXor.apply(self, other)

    def bitwise_xor_(self, other):
        return self._inplace(BitwiseXor, other)

    def bitwise_not(self):
        return BitwiseNot.apply(self)

    def bitwise_not_(self):
        return self._inplace(BitwiseNot)

    def bitwise_left_shift(self, other):
        return LeftShift.apply(self, other)

    def bitwise_left_shift_(self, other):
        return self._inplace(LeftShift, other)

    def bitwise_right_shift(self, other):
        return RightShift.apply(self, other)

    def bitwise_right_shift_(self, other):
        return self._inplace(RightShift, other)

    # Operators: see _compare.

    def __eq__(self, other):
        return _compare(Eq, self, other)

    def __ne__(self, other):
        return _compare(Ne, self, other)

    def __lt__(self, other):
        return _compare(Lt, self, other)

    def __le__(self, other):
        return _compare(Le, self, other)

    def __gt__(self, other):
        return _compare(Gt, self, other)

    def __ge__(self, other):
        return _compare(Ge, self, other)

    def __and__(self, other):
        return BitwiseAnd.apply(self, other)

    def __rand__(self, other):
        return BitwiseAnd.apply(other, self)

    def __iand__(self, other):
        return self._inplace(BitwiseAnd, other)

    def __or__(self, other):
        return BitwiseOr.apply(self, other)

    def __ror__(self, other):
        return BitwiseOr.apply(other, self)

    def __ior__(self, other):
        return self._inplace(BitwiseOr, other)

    def __xor__(self, other):
        return BitwiseXor.apply(self, other)

    def __rxor__(self, other):
        return BitwiseXor.apply(other, self)

    def __ixor__(self, other):
        return self._inplace(BitwiseXor, other)

    def __invert__(self):
        if self._data.dtype.kind not in "biu":
            raise _invert_error()
        return BitwiseNot.apply(self)

    def __lshift__(self, other):
        return LeftShift.apply(self, other)

    def __rlshift__(self, other):
        return LeftShift.apply(other, self)

    def __ilshift__(self, other):
        return self._inplace(LeftShift, other)

    def __rshift__(self, other):
        return RightShift.apply(self, other)

    def __rrshift__(self, other):
        return RightShift.apply(other, self)

    def __irshift__(self, other):
        return self._inplace(RightShift, other)

