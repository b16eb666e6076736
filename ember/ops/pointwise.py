"""Pointwise math: exponentials and logarithms, roots, trigonometric and hyperbolic functions,
special functions (erf, erfc, erfinv, lgamma, digamma, polygamma), rounding, clamping, ``where``,
``lerp``, ``addcmul``/``addcdiv``, complex parts and the floating-point predicates (``isnan``...).

Floating functions of integer or bool tensors compute in the default float dtype, as PyTorch's
do. Complex gradients follow PyTorch's convention, ``grad * conj(f'(z))`` for holomorphic ``f``.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np

from ember import _tensor
from ember import dtypes as _dt
from ember._legacy_types import c_type_name, scalar_type_name
from ember.autograd.function import Primitive
from ember.backend import CPU, to_device
from ember.ops.arithmetic import Pow, _float_promoted, handle_out, promoted
from ember.ops.creation import zeros_like

__all__ = [
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square",
    "reciprocal", "sign", "sgn", "sin", "cos", "tan", "asin", "arcsin", "acos", "arccos", "atan",
    "arctan", "atan2", "arctan2", "sinh", "cosh", "tanh", "asinh", "arcsinh", "acosh", "arccosh",
    "atanh", "arctanh", "sigmoid", "logit", "erf", "erfc", "erfinv", "floor", "ceil", "round",
    "trunc", "fix", "frac", "clamp", "clip", "clamp_min", "clamp_max", "maximum", "minimum", "fmax",
    "fmin", "lerp", "where", "nan_to_num", "isnan", "isinf", "isposinf", "isneginf", "isfinite",
    "isreal", "addcmul", "addcdiv", "relu", "hypot", "xlogy", "deg2rad", "rad2deg", "conj",
    "conj_physical", "resolve_conj", "real", "imag", "logaddexp", "logaddexp2", "sinc",
    "heaviside", "copysign", "float_power", "lgamma", "digamma", "polygamma",
]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
_DEG2RAD = math.pi / 180.0
_RAD2DEG = 180.0 / math.pi

def kernel_error(kernel: str, np_dtype) -> NotImplementedError:
    """PyTorch's error for a dtype a kernel has no implementation for."""
    return NotImplementedError(f'"{kernel}" not implemented for \'{scalar_type_name(np_dtype)}\'')


def _floating(a):
    """``a`` if floating or complex, else ``a`` cast to the default float dtype (torch's rule)."""
    return a.astype(_dt.get_default_dtype().np) if a.dtype.kind in "biu" else a


def _real_floating(a, kernel: str):
    """``_floating(a)`` for kernels PyTorch does not implement on complex numbers."""
    if a.dtype.kind == "c":
        raise kernel_error(kernel, a.dtype)
    return _floating(a)


def _in_dtype(out, dtype):
    """``out`` rounded to ``dtype``: NumPy computes a bfloat16 array with a Python float in
    float32, where torch rounds the result back to bfloat16 (for other dtypes, ``out`` itself)."""
    return out if out.dtype == dtype else out.astype(dtype)


def _cj(t):
    """``t.conj()`` for complex tensors and numbers, ``t`` itself otherwise (the derivative's
    conjugate)."""
    data = getattr(t, "_data", None)
    if data is None:
        return t.conjugate() if isinstance(t, complex) else t
    return Conj.apply(t) if data.dtype.kind == "c" else t


def _require_tensor(x, fn: str, pos: int, name: str) -> None:
    """PyTorch's TypeError for a Python number where an op only takes tensors."""
    if not isinstance(x, _tensor.Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")


def _zeros(g):
    """The zero gradient of a piecewise-constant op (a fresh tensor: never ``g * 0``, which
    would turn inf and nan gradients into nan)."""
    return zeros_like(g)


# --- exponentials and logarithms ------------------------------------------------------------


class Exp(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.exp(_floating(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * _cj(out)


class Exp2(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.exp2(_floating(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * _cj(out * _LN2)


class Expm1(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.expm1(_floating(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * _cj(out + 1)


class Log(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / _cj(a)


class Log2(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log2(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / _cj(a * _LN2)


class Log10(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log10(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / _cj(a * _LN10)


class Log1p(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.log1p(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / _cj(a + 1)


class Logaddexp(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b, r = promoted(a, b)
        if r.kind in "biu":
            raise kernel_error("logaddexp_cpu", r)
        if r.kind == "c":
            return ctx.xp.log(ctx.xp.exp(a) + ctx.xp.exp(b))
        return ctx.xp.logaddexp(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / _cj(1 + (b - a).exp()) if ctx.needs_input_grad[0] else None
        gb = g / _cj(1 + (a - b).exp()) if ctx.needs_input_grad[1] else None
        return ga, gb


class Logaddexp2(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b, r = promoted(a, b)
        if r.kind in "biuc":
            raise kernel_error("logaddexp2_cpu", r)
        return ctx.xp.logaddexp2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / (1 + (b - a).exp2()) if ctx.needs_input_grad[0] else None
        gb = g / (1 + (a - b).exp2()) if ctx.needs_input_grad[1] else None
        return ga, gb


class Xlogy(Primitive):
    """``x * log(y)``, and 0 where ``x == 0`` (unless ``y`` is nan), as ``torch.xlogy``."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        x, y = _float_promoted(x, y)
        xp = ctx.xp
        # log of a Python number stays a Python float, so it stays a weak scalar in promotion.
        out = x * (xp.log(y) if hasattr(y, "dtype") else float(np.log(np.float64(y))))
        if out.dtype.kind == "c":
            raise kernel_error("xlogy_cpu", out.dtype)
        return xp.where((x == 0) & ~xp.isnan(y), 0, out)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = where((x == 0) & (y <= 0), 0, Xlogy.apply(g, y))
        if ctx.needs_input_grad[1]:
            gy = g * x / y
        return gx, gy


# --- powers and roots -------------------------------------------------------------------------


class Sqrt(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.sqrt(_floating(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g / _cj(2 * out)  # inf at 0, as torch


class Rsqrt(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = 1 / ctx.xp.sqrt(_floating(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * _cj(-0.5 * out * out * out)


class Square(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        if a.dtype.kind == "b":
            return a.astype(np.int64)  # torch.square(bool) is pow(bool, 2): int64, 0 or 1
        return ctx.xp.square(a)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * _cj(2 * a)


class Reciprocal(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = 1 / _floating(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return -g * _cj(out * out)


class Hypot(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b, r = promoted(a, b)
        if r.kind not in "fV":
            raise kernel_error("hypot_cpu", r)
        out = ctx.xp.hypot(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = g * a / out if ctx.needs_input_grad[0] else None
        gb = g * b / out if ctx.needs_input_grad[1] else None
        return ga, gb


# --- trigonometric and hyperbolic -----------------------------------------------------------


class Sin(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.sin(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * _cj(a.cos())


class Cos(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.cos(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return -g * _cj(a.sin())


class Tan(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.tan(_floating(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * _cj(1 + out * out)


class Asin(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.arcsin(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * _cj((1 - a * a).rsqrt())


class Acos(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.arccos(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return -g * _cj((1 - a * a).rsqrt())


class Atan(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.arctan(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / _cj(1 + a * a)


class Atan2(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b = _float_promoted(a, b)
        if a.dtype.kind == "c":
            raise kernel_error("atan2_cpu", a.dtype)
        return ctx.xp.arctan2(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        ga = g * b / r2 if ctx.needs_input_grad[0] else None
        gb = g * -a / r2 if ctx.needs_input_grad[1] else None
        return ga, gb


class Sinh(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.sinh(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * _cj(a.cosh())


class Cosh(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.cosh(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * _cj(a.sinh())


class Tanh(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.tanh(_floating(a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * _cj(1 - out * out)


class Asinh(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.arcsinh(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * _cj((a * a + 1).rsqrt())


class Acosh(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.arccosh(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * _cj((a * a - 1).rsqrt())


class Atanh(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return ctx.xp.arctanh(_floating(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g / _cj(1 - a * a)


class Sinc(Primitive):
    """``sin(pi x) / (pi x)``, and 1 at 0."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        a = _floating(a)
        xp = ctx.xp
        y = xp.where(a == 0, 1e-20, a).astype(a.dtype, copy=False) * xp.pi  # as np.sinc: no 0/0
        return _in_dtype(xp.sin(y) / y, a.dtype)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        zero = a == 0
        y = where(zero, 1.0, a) * math.pi
        d = (y * y.cos() - y.sin()) / (y * y) * math.pi
        return g * _cj(where(zero, 0.0, d))


class Deg2rad(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind == "c":
            raise RuntimeError("deg2rad is not supported for complex tensors.")
        a = _floating(a)
        return _in_dtype(a * _DEG2RAD, a.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * _DEG2RAD


class Rad2deg(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind == "c":
            raise RuntimeError("rad2deg is not supported for complex tensors.")
        a = _floating(a)
        return _in_dtype(a * _RAD2DEG, a.dtype)

    @staticmethod
    def backward(ctx, g):
        return g * _RAD2DEG


# --- activations ----------------------------------------------------------------------------


# log of each float dtype's largest finite value: exp() of anything up to it does not overflow.
_EXP_LIMIT = {np.dtype(np.float16): 11.089, np.dtype(np.float32): 88.722,
              np.dtype(np.float64): 709.782}


class Sigmoid(Primitive):
    @staticmethod
    def forward(ctx, a):
        a = _floating(a)
        xp = ctx.xp
        dtype = a.dtype
        if dtype.kind == "c":
            out = 1 / (1 + xp.exp(-a))
        else:
            if dtype.itemsize < 4:  # half precision: computed in float32 and rounded once, as torch
                a = a.astype(np.float32)
            out = xp.negative(a, out=xp.empty_like(a))  # out=: an array even for 0-d input
            if (out > _EXP_LIMIT.get(a.dtype, 88.722)).any():  # (max() would be nan with nans)
                # exp(-x) would overflow: the two-branch form, exp(-|x|) in (0, 1].
                e = xp.exp(-xp.abs(a))
                out = xp.where(a >= 0, 1, e) / (1 + e)
            else:  # 1 / (1 + exp(-x)), as torch computes it, in place
                xp.exp(out, out=out)
                out += 1
                xp.reciprocal(out, out=out)
            out = out.astype(dtype, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * _cj(out * (1 - out))


class Logit(Primitive):
    @staticmethod
    def forward(ctx, a, eps=None):
        ctx.save_for_backward(a)
        ctx.eps = eps
        x = _real_floating(a, "logit_cpu")
        dtype = x.dtype
        xp = ctx.xp
        if eps is not None:
            x = xp.minimum(xp.maximum(x, eps), 1 - eps)
        return _in_dtype(xp.log(x / (1 - x)), dtype)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        eps = ctx.eps
        d = g / (a * (1 - a))
        if eps is None:  # outside [0, 1] the function is undefined: nan, as torch
            return where((a < 0) | (a > 1), math.nan, d)
        return where((a < eps) | (a > 1 - eps), 0.0, d)  # the clamped region: zero


class Relu(Primitive):
    @staticmethod
    def forward(ctx, a):
        kind = a.dtype.kind
        if kind == "b":
            raise RuntimeError("Boolean inputs not supported for relu")
        if kind == "c":
            raise NotImplementedError("clamp is not supported for complex types")
        out = ctx.xp.maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return where(out <= 0, 0, g)  # torch's threshold_backward: a nan output passes its grad


# --- special functions ----------------------------------------------------------------------
#
# NumPy has no erf or gamma functions and ember does not depend on SciPy: these are the
# published float64 algorithms, vectorised over arrays of the device's array module ``xp``.
# float32 and float16 inputs are computed in float64 and rounded.

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969)
# 631-637; coefficients and intervals of his SPECFUN routine CALERF (relative error < 1e-16).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_INV_SQRT_PI = 5.6418958354775628695e-1


def _rational(xp, t, num_coeffs, den_coeffs):
    """Cody's ``(((n[-1] t + n[0]) t + n[1]) t ... + n[k]) / ((((t + d[0]) t + d[1]) ...)``,
    evaluated in place (one pass per coefficient, no temporaries)."""
    num = num_coeffs[-1] * t
    den = t.copy()
    for a, b in zip(num_coeffs[:-2], den_coeffs[:-1]):
        num += a
        num *= t
        den += b
        den *= t
    num += num_coeffs[-2]
    den += den_coeffs[-1]
    num /= den
    return num


def _erfc_positive(xp, y):
    """Cody's erfc(y) for y > 0.46875 (a float64 array)."""
    mid = y <= 4.0
    if mid.all():  # the common case: nothing in the far tail
        r = _rational(xp, y, _ERF_C, _ERF_D)
        r *= xp.exp(-y * y)  # relative error <= 16 eps from rounding y*y: fine below 4
        return r
    out = xp.empty_like(y)
    ym = y[mid]
    out[mid] = _rational(xp, ym, _ERF_C, _ERF_D) * xp.exp(-ym * ym)
    far = ~mid
    yf = xp.minimum(y[far], 27.0)  # erfc(27) underflows to 0; this keeps inf out of the algebra
    z = 1.0 / (yf * yf)
    r = (_INV_SQRT_PI - z * _rational(xp, z, _ERF_P, _ERF_Q)) / yf
    # exp(-y^2) split as Cody does: the rounding of y^2 would cost up to 700 eps out here.
    ysq = xp.trunc(yf * 16.0) / 16.0
    out[far] = xp.exp(-ysq * ysq) * xp.exp(-(yf - ysq) * (yf + ysq)) * r
    return out


def _erf_f64(xp, x, complement: bool):
    """erf(x), or erfc(x) with ``complement``, of a float64 array (Cody's algorithm)."""
    y = xp.abs(x)
    small = y <= 0.46875
    if small.all():
        r = x * _rational(xp, x * x, _ERF_A, _ERF_B)
        return 1.0 - r if complement else r
    out = x.copy()  # nan stays nan: it is in none of the intervals below
    if small.any():
        xs = x[small]
        r = xs * _rational(xp, xs * xs, _ERF_A, _ERF_B)
        out[small] = 1.0 - r if complement else r
    large = y > 0.46875
    xl = x[large]
    c = _erfc_positive(xp, y[large])
    if complement:
        out[large] = xp.where(xl < 0, 2.0 - c, c)
    else:
        e = 0.5 - c
        e += 0.5  # (0.5 - c) + 0.5, as Cody rounds it
        out[large] = xp.copysign(e, xl)
    return out


def _erfinv_f64(xp, y):
    """The inverse of erf on a float64 array.

    M. Giles' single-precision approximation ("Approximating the erfinv function", GPU
    Computing Gems Jade Edition, 2011) as the start, then Halley steps on erf(x) = y for
    |y| < 0.5, and for |y| >= 0.5 Newton steps on log(erfc(|x|)) = log(1 - |y|): erfc keeps the
    relative precision near +-1, and its logarithm, almost a parabola, converges quickly from
    the start that Giles' fit extrapolates beyond 1 - 1e-7.
    """
    out = y.copy()
    ay = xp.abs(y)
    out[ay == 1] = xp.copysign(xp.inf, y[ay == 1])
    out[ay > 1] = xp.nan
    inside = ay < 1
    yi = y[inside]
    w = -xp.log((1.0 - yi) * (1.0 + yi))
    lo = w - 2.5
    p = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        p = c + p * lo
    hi = xp.sqrt(w) - 3.0
    q = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        q = c + q * hi
    x = xp.where(w < 5.0, p, q) * yi
    tail = xp.abs(yi) >= 0.5
    t = xp.abs(x[tail])
    rest = 1.0 - xp.abs(yi[tail])  # exact for |y| >= 0.5
    xc, yc = x[~tail], yi[~tail]
    for _ in range(2):  # the start is good to 1e-7: Halley's cubic convergence is enough
        u = (_erf_f64(xp, xc, False) - yc) / (_TWO_OVER_SQRT_PI * xp.exp(-xc * xc))
        xc = xc - u / (1.0 + xc * u)
    log_rest = xp.log(rest)
    for _ in range(4):
        c = _erf_f64(xp, t, True)
        t = t + (xp.log(c) - log_rest) * c / (_TWO_OVER_SQRT_PI * xp.exp(-t * t))
    x[~tail] = xc
    x[tail] = xp.copysign(t, yi[tail])
    out[inside] = x
    return out


def _lgamma_scalar(v: float) -> float:
    try:
        return math.lgamma(v)
    except ValueError:  # the poles 0, -1, -2, ...
        return math.inf


_lgamma_ufunc = np.frompyfunc(_lgamma_scalar, 1, 1)


def _lgamma_f64(xp, x):
    """log|gamma(x)| of a float64 array, with Python's ``math.lgamma`` element by element."""
    host = to_device(x, CPU) if xp is not np else x
    out = _lgamma_ufunc(host).astype(np.float64) if host.ndim else np.float64(
        _lgamma_scalar(float(host)))
    return xp.asarray(out)


def _digamma_f64(xp, x):
    """psi(x) of a float64 array: the reflection formula for x < 0, the recurrence
    psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic (Bernoulli) series."""
    neg = x < 0
    y = xp.where(neg, 1.0 - x, x)
    acc = xp.zeros_like(y)
    for _ in range(10):
        m = y < 10.0
        acc = acc - xp.where(m, 1.0 / y, 0.0)
        y = xp.where(m, y + 1.0, y)
    z = 1.0 / (y * y)
    series = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (
        1 / 132 - z * (691 / 32760 - z / 12))))))
    out = acc + xp.log(y) - 0.5 / y - series
    # pi / tan(pi x) has period 1: reduce x exactly first (as Cephes), pi * x would round.
    out = xp.where(neg, out - xp.pi / xp.tan(xp.pi * (x - xp.round(x))), out)
    out = xp.where(x == 0, xp.copysign(xp.inf, -x), out)  # torch: -inf at +0, inf at -0
    return xp.where(neg & (x == xp.floor(x)), xp.nan, out)


# (2k)! / B_2k for k = 1..12: the Euler-Maclaurin correction terms of Hurwitz's zeta.
_BERNOULLI = (Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30),
              Fraction(5, 66), Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510),
              Fraction(43867, 798), Fraction(-174611, 330), Fraction(854513, 138),
              Fraction(-236364091, 2730))
_ZETA_A = tuple(float(math.factorial(2 * k + 2) / b) for k, b in enumerate(_BERNOULLI))


def _zeta_f64(xp, s: int, q):
    """Hurwitz's zeta(s, q) = sum_k (q + k)^-s for an integer s >= 2 and a float64 array q.

    As Cephes' ``zeta``: terms are summed directly until q + n is large, then the rest is the
    Euler-Maclaurin formula; here n makes q + n >= 2 s + 10, where 12 corrections suffice.
    """
    pole = (q <= 0) & (q == xp.floor(q))  # -inf too: Cephes' zeta calls it a pole
    q = xp.where(pole | xp.isnan(q), 1.0, q)
    finite = q[xp.isfinite(q)]
    n = max(0, math.ceil(2 * s + 10 - float(finite.min()))) if finite.size else 0
    total = xp.zeros_like(q)
    for k in range(n):
        total = total + (q + k) ** -s
    w = q + n
    b = w ** -s
    total = total + b * w / (s - 1) + 0.5 * b
    fac, k = 1.0, 0
    for a in _ZETA_A:
        fac *= s + k
        b = b / w
        total = total + fac * b / a
        fac *= s + k + 1
        b = b / w
        k += 2
    return total, pole


def _polygamma_f64(xp, n: int, x):
    """The n-th derivative of digamma: (-1)^(n+1) n! zeta(n + 1, x)."""
    if n == 0:
        return _digamma_f64(xp, x)
    z, pole = _zeta_f64(xp, n + 1, x)
    sign = 1.0 if n % 2 else -1.0
    out = (sign * math.factorial(n)) * z
    out = xp.where(pole, sign * math.inf, out)
    if n == 1:  # torch's trigamma: 0 at +inf, nan at -inf (zeta gives nan and a pole)
        out = xp.where(x == xp.inf, 0.0, xp.where(x == -xp.inf, xp.nan, out))
    return xp.where(xp.isnan(x), xp.nan, out)


def _special(a, kernel: str):
    """``a`` as float64 for a special function, and the dtype of its result."""
    x = _real_floating(a, kernel)
    return x.astype(np.float64, copy=False), x.dtype


class Erf(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        x, dt = _special(a, "erf_vml_cpu")
        return _erf_f64(ctx.xp, x, False).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * _TWO_OVER_SQRT_PI * (-a * a).exp()


class Erfc(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        x, dt = _special(a, "erfc_vml_cpu")
        return _erf_f64(ctx.xp, x, True).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * -_TWO_OVER_SQRT_PI * (-a * a).exp()


class Erfinv(Primitive):
    @staticmethod
    def forward(ctx, a):
        x, dt = _special(a, "erfinv_vml_cpu")
        out = _erfinv_f64(ctx.xp, x).astype(dt, copy=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g * _SQRT_PI_OVER_TWO * (out * out).exp()


class Lgamma(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        x, dt = _special(a, "lgamma_vml_cpu")
        return _lgamma_f64(ctx.xp, x).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * Digamma.apply(a)


class Digamma(Primitive):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        x, dt = _special(a, "digamma")
        return _digamma_f64(ctx.xp, x).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * Polygamma.apply(a, n=1)


class Polygamma(Primitive):
    @staticmethod
    def forward(ctx, a, n):
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        ctx.save_for_backward(a)
        ctx.n = n
        x, dt = _special(a, "polygamma")
        return _polygamma_f64(ctx.xp, n, x).astype(dt, copy=False)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * Polygamma.apply(a, n=ctx.n + 1)


# --- rounding and signs ---------------------------------------------------------------------


def _rounding_input(a, kernel: str, name: str):
    """torch's rounding functions refuse bool and complex tensors (integers pass through)."""
    kind = a.dtype.kind
    if kind == "b":
        raise kernel_error(kernel, a.dtype)
    if kind == "c":
        raise NotImplementedError(f"{name} is not supported for complex inputs")
    return kind in "iu"


class Floor(Primitive):
    @staticmethod
    def forward(ctx, a):
        if _rounding_input(a, "floor_vml_cpu", "floor"):
            return a.copy()
        return ctx.xp.floor(a)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class Ceil(Primitive):
    @staticmethod
    def forward(ctx, a):
        if _rounding_input(a, "ceil_vml_cpu", "ceil"):
            return a.copy()
        return ctx.xp.ceil(a)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class Trunc(Primitive):
    @staticmethod
    def forward(ctx, a):
        if _rounding_input(a, "trunc_vml_cpu", "trunc"):
            return a.copy()
        return ctx.xp.trunc(a)

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class Round(Primitive):
    """Round half to even, optionally to ``decimals`` places (negative: to tens, hundreds...)."""

    @staticmethod
    def forward(ctx, a, decimals=0):
        if a.dtype.kind == "c":
            raise kernel_error("round_vml_cpu", a.dtype)
        if _rounding_input(a, "round_vml_cpu", "round"):
            if decimals:
                raise kernel_error("round_cpu", a.dtype)
            return a.copy()
        xp = ctx.xp
        if not decimals:
            return xp.rint(a)
        # As torch: scale by a power of ten in the tensor's dtype, round, scale back.
        p = a.dtype.type(10.0 ** abs(decimals))
        return xp.rint(a * p) / p if decimals > 0 else xp.rint(a / p) * p

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class Frac(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind not in "fV":
            raise kernel_error("frac_cpu", a.dtype)
        return a - ctx.xp.trunc(a)

    @staticmethod
    def backward(ctx, g):
        return g


class Sign(Primitive):
    @staticmethod
    def forward(ctx, a):
        kind = a.dtype.kind
        if kind == "b":
            return a.copy()
        if kind == "c":
            raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support "
                                      "complex numbers. Please use torch.sgn instead.")
        out = ctx.xp.sign(a, out=ctx.xp.empty_like(a))  # out=: an array even for 0-d input
        if kind in "fV":
            out[out != out] = 0  # torch: sign(nan) is 0
        return out

    @staticmethod
    def backward(ctx, g):
        return _zeros(g)


class Sgn(Primitive):
    """``z / |z|`` for complex numbers (0 at 0), ``sign`` for real ones."""

    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind != "c":
            return Sign.forward(ctx, a)
        ctx.save_for_backward(a)
        xp = ctx.xp
        r = xp.abs(a)
        zero = r == 0
        return xp.where(zero, 0, a / xp.where(zero, 1, r)).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        if g._data.dtype.kind != "c":
            return _zeros(g)
        (a,) = ctx.saved_tensors
        r = a.abs()
        s = Sgn.apply(a)
        zero = r == 0
        # d(z/|z|) = dz / (2|z|) - s^2 conj(dz) / (2|z|) (Wirtinger), as torch's sgn_backward.
        return where(zero, 0, (g - s * s * g.conj()) / (2 * where(zero, 1, r)))


class Copysign(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        a, b = _float_promoted(a, b)
        if a.dtype.kind == "c":
            raise kernel_error("copysign_cpu", a.dtype)
        out = ctx.xp.copysign(a, b)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        ga = g * (a.sign() * out.sign()) if ctx.needs_input_grad[0] else None  # out/a, 0 at 0
        gb = _zeros(g) if ctx.needs_input_grad[1] else None
        return ga, gb


class Heaviside(Primitive):
    @staticmethod
    def forward(ctx, a, values):
        if a.dtype != values.dtype:
            raise RuntimeError("heaviside is not yet implemented for tensors with different "
                               "dtypes")
        if a.dtype.kind == "c":
            raise RuntimeError("heaviside is not yet implemented for complex tensors.")
        xp = ctx.xp
        return xp.where(a == 0, values, a > 0).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


# --- clamping, selection, interpolation -----------------------------------------------------


_WEAK_BOUNDS = (float, int, type(None))


class Clamp(Primitive):
    """``min(max(x, lo), hi)`` with numbers or tensors as bounds (``hi`` wins where lo > hi)."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        if lo is None and hi is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        if a.dtype.kind == "c":
            raise NotImplementedError("clamp is not supported for complex types")
        if lo is not None and hi is not None and getattr(lo, "ndim", 0) + getattr(hi, "ndim", 0) \
                and hasattr(lo, "dtype") != hasattr(hi, "dtype"):  # (a 0-dim tensor is a number)
            raise TypeError("clamp() received an invalid combination of arguments: min and max "
                            "must be both numbers or both tensors")
        ctx.save_for_backward(a, lo, hi)
        if a.dtype.kind in "fV" and type(lo) in _WEAK_BOUNDS and type(hi) in _WEAK_BOUNDS:
            r = a.dtype  # the common x.clamp(-1, 1): number bounds leave a float dtype alone
        else:
            r = _dt.result_type(a, lo, hi).np
            if a.dtype != r:
                a = a.astype(r)
        xp = ctx.xp
        if lo is not None:
            a = xp.maximum(a, lo.astype(r, copy=False) if hasattr(lo, "dtype") else lo)
        if hi is not None:
            a = xp.minimum(a, hi.astype(r, copy=False) if hasattr(hi, "dtype") else hi)
        return _in_dtype(a, r)

    @staticmethod
    def backward(ctx, g):
        a, lo, hi = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = glo = ghi = None
        if needs[0]:
            if lo is None:
                ga = where(a <= hi, g, 0)
            elif hi is None:
                ga = where(a >= lo, g, 0)
            else:  # inclusive at both bounds, as torch
                ga = where((a >= lo) & (a <= hi), g, 0)
        if needs[1]:
            glo = where((a < lo) & (lo < hi) if hi is not None else a < lo, g, 0)
        if needs[2]:
            ghi = where((a > hi) | (hi < lo) if lo is not None else a > hi, g, 0)
        return ga, glo, ghi


class Maximum(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b, r = promoted(a, b)
        if r.kind == "c":
            raise RuntimeError("maximum not implemented for complex tensors.")
        return ctx.xp.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        half = where(a == b, g / 2, g)  # ties split the gradient, as torch
        ga = where(a < b, 0, half) if ctx.needs_input_grad[0] else None
        gb = where(a > b, 0, half) if ctx.needs_input_grad[1] else None
        return ga, gb


class Minimum(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b, r = promoted(a, b)
        if r.kind == "c":
            raise RuntimeError("minimum not implemented for complex tensors.")
        return ctx.xp.minimum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        half = where(a == b, g / 2, g)
        ga = where(a > b, 0, half) if ctx.needs_input_grad[0] else None
        gb = where(a < b, 0, half) if ctx.needs_input_grad[1] else None
        return ga, gb


class Fmax(Primitive):
    """``maximum`` that ignores nan (returns the other operand)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b, r = promoted(a, b)
        if r.kind == "c":
            raise RuntimeError("fmax not implemented for complex tensors.")
        return ctx.xp.fmax(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        first = (a >= b) | b.isnan()
        ga = where(first, g, 0) if ctx.needs_input_grad[0] else None
        gb = where(first, 0, g) if ctx.needs_input_grad[1] else None
        return ga, gb


class Fmin(Primitive):
    """``minimum`` that ignores nan (returns the other operand)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        a, b, r = promoted(a, b)
        if r.kind == "c":
            raise RuntimeError("fmin not implemented for complex tensors.")
        return ctx.xp.fmin(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        first = (a <= b) | b.isnan()
        ga = where(first, g, 0) if ctx.needs_input_grad[0] else None
        gb = where(first, 0, g) if ctx.needs_input_grad[1] else None
        return ga, gb


_BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _maskable(x, cond, zero) -> bool:
    """Whether ``where`` may keep or drop ``x`` against the number ``zero`` with ``_masked``: a
    CPU float array of cond's shape, and ``zero`` not -0.0 (whose sign the result keeps)."""
    return (isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.shape == cond.shape
            and math.copysign(1.0, zero) > 0)


def _masked(x, cond, keep: bool):
    """``where(cond, x, 0)`` (``keep``) or ``where(cond, 0, x)`` for a float array of cond's shape.

    This is every ReLU, clamp and masked gradient. NumPy's ``where`` branches per element and a
    random mask defeats the branch predictor (~10x slower than a multiply); ANDing x's bits with an
    all-ones or all-zeros word per element has no branch, and unlike ``x * cond`` it gives 0, not
    nan, where x is inf or nan and the mask drops it.
    """
    word = cond.view(np.int8).astype(_BITS[x.dtype.itemsize])
    if keep:
        np.negative(word, out=word)  # True -> -1 (all bits set), False -> 0
    else:
        np.subtract(word, 1, out=word)  # True -> 0, False -> -1
    return np.bitwise_and(x.view(word.dtype), word, out=word).view(x.dtype)


class Where(Primitive):
    @staticmethod
    def forward(ctx, cond, a, b):
        if cond.dtype.kind != "b":
            if cond.dtype != np.uint8:
                raise RuntimeError("where expected condition to be a boolean tensor, but got a "
                                   f"tensor with dtype {scalar_type_name(cond.dtype)}")
            warnings.warn("where received a uint8 condition tensor. This behavior is deprecated "
                          "and will be removed in a future version of PyTorch. Use a boolean "
                          "condition instead.", UserWarning, stacklevel=4)
            cond = cond.astype(bool)
        ctx.save_for_backward(cond)
        a, b, r = promoted(a, b)
        if type(b) in (int, float) and b == 0 and _maskable(a, cond, b):
            return _masked(a, cond, keep=True)
        if type(a) in (int, float) and a == 0 and _maskable(b, cond, a):
            return _masked(b, cond, keep=False)
        out = ctx.xp.where(cond, a, b)
        return out if out.dtype == r else out.astype(r)

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        ga = Where.apply(cond, g, 0) if ctx.needs_input_grad[1] else None
        gb = Where.apply(cond, 0, g) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def _lerp_dtype_error(expected, got, what):
    return RuntimeError(f"expected dtype {c_type_name(expected)} for `{what}` but got dtype "
                        f"{c_type_name(got)}")


class Lerp(Primitive):
    """``a + w * (b - a)``, evaluated from the nearer end as torch does."""

    @staticmethod
    def forward(ctx, a, b, w):
        tensor_w = hasattr(w, "dtype")
        if b.dtype != a.dtype:
            raise _lerp_dtype_error(a.dtype, b.dtype, "end")
        if tensor_w and w.dtype != a.dtype:
            raise _lerp_dtype_error(a.dtype, w.dtype, "weight")
        if a.dtype.kind not in "fcV":
            raise kernel_error("lerp_kernel_tensor" if tensor_w else "lerp_kernel_scalar",
                               a.dtype)
        ctx.save_for_backward(a, b, w)
        d = b - a
        xp = ctx.xp
        if not tensor_w:
            return _in_dtype(a + w * d if abs(w) < 0.5 else b - d * (1 - w), a.dtype)
        return xp.where(xp.abs(w) < 0.5, a + w * d, b - d * (1 - w))

    @staticmethod
    def backward(ctx, g):
        a, b, w = ctx.saved_tensors
        needs = ctx.needs_input_grad
        ga = g * _cj(1 - w) if needs[0] else None
        gb = g * _cj(w) if needs[1] else None
        gw = g * _cj(b - a) if needs[2] else None
        return ga, gb, gw


class NanToNum(Primitive):
    @staticmethod
    def forward(ctx, a, nan=0.0, posinf=None, neginf=None):
        if a.dtype.kind not in "fcV":
            return a.copy()
        ctx.save_for_backward(a)
        return ctx.xp.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return where(a.isfinite(), g, 0)


def _addc_operands(a, t1, t2):
    r = _dt.result_type(a, t1, t2).np
    return (a.astype(r, copy=False), t1.astype(r, copy=False), t2.astype(r, copy=False)), r


class Addcmul(Primitive):
    """``input + value * tensor1 * tensor2`` in one step (the optimizers' update)."""

    @staticmethod
    def forward(ctx, a, t1, t2, value=1):
        ctx.save_for_backward(t1, t2)
        ctx.value = value
        (a, t1, t2), r = _addc_operands(a, t1, t2)
        if r.kind in "biu":
            value = int(value)
        return _in_dtype(a + value * t1 * t2 if value != 1 else a + t1 * t2, r)

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        needs = ctx.needs_input_grad
        g1 = g * _cj(t2 * v) if needs[1] else None
        g2 = g * _cj(t1 * v) if needs[2] else None
        return g, g1, g2


class Addcdiv(Primitive):
    """``input + value * tensor1 / tensor2`` in one step (Adam's update)."""

    @staticmethod
    def forward(ctx, a, t1, t2, value=1):
        if t1.dtype.kind in "biu" and t2.dtype.kind in "biu":
            raise RuntimeError(
                "Integer division with addcdiv is no longer supported, and in a future  release "
                "addcdiv will perform a true division of tensor1 and tensor2. The historic "
                "addcdiv behavior can be implemented as (input + value * tensor1 / "
                "tensor2).to(input.dtype) for integer inputs and as (input + value * tensor1 // "
                "tensor2) for float inputs. The future addcdiv behavior is just the latter "
                "implementation: (input + value * tensor1 / tensor2), for all dtypes.")
        ctx.save_for_backward(t1, t2)
        ctx.value = value
        (a, t1, t2), r = _addc_operands(a, t1, t2)
        return _in_dtype(a + value * (t1 / t2) if value != 1 else a + t1 / t2, r)

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        v = ctx.value
        needs = ctx.needs_input_grad
        g1 = g * _cj(v / t2) if needs[1] else None
        g2 = -g * _cj(v * t1 / (t2 * t2)) if needs[2] else None
        return g, g1, g2


# --- complex parts --------------------------------------------------------------------------


class Conj(Primitive):
    """The complex conjugate (ember copies it; torch returns a lazily conjugated view)."""

    @staticmethod
    def forward(ctx, a):
        return ctx.xp.conj(a)

    @staticmethod
    def backward(ctx, g):
        return Conj.apply(g)


class Real(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, a):
        return a.real

    @staticmethod
    def backward(ctx, g):
        return g  # the engine casts it to the complex input's dtype: g + 0j


class Imag(Primitive):
    is_view = True

    @staticmethod
    def forward(ctx, a):
        return a.imag

    @staticmethod
    def backward(ctx, g):
        return g * 1j


# --- predicates (bool results, never differentiable) ----------------------------------------


class Isnan(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind in "biu":
            return ctx.xp.zeros(a.shape, dtype=bool)
        return ctx.xp.isnan(a)


class Isinf(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind in "biu":
            return ctx.xp.zeros(a.shape, dtype=bool)
        return ctx.xp.isinf(a)


class Isposinf(Primitive):
    @staticmethod
    def forward(ctx, a):
        kind = a.dtype.kind
        if kind == "c":
            raise RuntimeError("isposinf does not support complex inputs.")
        if kind in "biu":
            return ctx.xp.zeros(a.shape, dtype=bool)
        return a == ctx.xp.inf


class Isneginf(Primitive):
    @staticmethod
    def forward(ctx, a):
        kind = a.dtype.kind
        if kind == "c":
            raise RuntimeError("isneginf does not support complex inputs.")
        if kind in "biu":
            return ctx.xp.zeros(a.shape, dtype=bool)
        return a == -ctx.xp.inf


class Isfinite(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind in "biu":
            return ctx.xp.ones(a.shape, dtype=bool)
        return ctx.xp.isfinite(a)


class Isreal(Primitive):
    @staticmethod
    def forward(ctx, a):
        if a.dtype.kind != "c":
            return ctx.xp.ones(a.shape, dtype=bool)
        return a.imag == 0


# --- functions ------------------------------------------------------------------------------


def exp(input, *, out=None):
    """``e ** input``."""
    return handle_out(Exp.apply(input), out, "exp")


def exp2(input, *, out=None):
    """``2 ** input``."""
    return handle_out(Exp2.apply(input), out, "exp2")


def expm1(input, *, out=None):
    """``exp(input) - 1``, accurate near 0."""
    return handle_out(Expm1.apply(input), out, "expm1")


def log(input, *, out=None):
    return handle_out(Log.apply(input), out, "log")


def log2(input, *, out=None):
    return handle_out(Log2.apply(input), out, "log2")


def log10(input, *, out=None):
    return handle_out(Log10.apply(input), out, "log10")


def log1p(input, *, out=None):
    """``log(1 + input)``, accurate near 0."""
    return handle_out(Log1p.apply(input), out, "log1p")


def logaddexp(input, other, *, out=None):
    """``log(exp(input) + exp(other))`` without overflow."""
    _require_tensor(input, "logaddexp", 1, "input")
    _require_tensor(other, "logaddexp", 2, "other")
    return handle_out(Logaddexp.apply(input, other), out, "logaddexp")


def logaddexp2(input, other, *, out=None):
    """``log2(2 ** input + 2 ** other)`` without overflow."""
    _require_tensor(input, "logaddexp2", 1, "input")
    _require_tensor(other, "logaddexp2", 2, "other")
    return handle_out(Logaddexp2.apply(input, other), out, "logaddexp2")


def xlogy(input, other, *, out=None):
    """``input * log(other)``, 0 where ``input`` is 0."""
    return handle_out(Xlogy.apply(input, other), out, "xlogy")


def sqrt(input, *, out=None):
    return handle_out(Sqrt.apply(input), out, "sqrt")


def rsqrt(input, *, out=None):
    """``1 / sqrt(input)``."""
    return handle_out(Rsqrt.apply(input), out, "rsqrt")


def square(input, *, out=None):
    return handle_out(Square.apply(input), out, "square")


def reciprocal(input, *, out=None):
    """``1 / input`` (integers give floats)."""
    return handle_out(Reciprocal.apply(input), out, "reciprocal")


def hypot(input, other, *, out=None):
    """``sqrt(input ** 2 + other ** 2)`` without overflow."""
    _require_tensor(input, "hypot", 1, "input")
    _require_tensor(other, "hypot", 2, "other")
    return handle_out(Hypot.apply(input, other), out, "hypot")


def float_power(input, exponent, *, out=None):
    """``input ** exponent`` computed in float64 (complex128 for complex operands)."""
    if _is_complex(input) or _is_complex(exponent):
        dt, py = _dt.complex128, complex
    else:
        dt, py = _dt.float64, float
    base = input.to(dt) if isinstance(input, _tensor.Tensor) else py(input)
    exp_ = exponent.to(dt) if isinstance(exponent, _tensor.Tensor) else py(exponent)
    return handle_out(Pow.apply(base, exp_), out, "float_power")


def _is_complex(x) -> bool:
    return x.is_complex() if isinstance(x, _tensor.Tensor) else isinstance(x, complex)


def sin(input, *, out=None):
    return handle_out(Sin.apply(input), out, "sin")


def cos(input, *, out=None):
    return handle_out(Cos.apply(input), out, "cos")


def tan(input, *, out=None):
    return handle_out(Tan.apply(input), out, "tan")


def asin(input, *, out=None):
    return handle_out(Asin.apply(input), out, "asin")


def acos(input, *, out=None):
    return handle_out(Acos.apply(input), out, "acos")


def atan(input, *, out=None):
    return handle_out(Atan.apply(input), out, "atan")


def atan2(input, other, *, out=None):
    """The angle of the point ``(other, input)``, in ``(-pi, pi]``."""
    _require_tensor(input, "atan2", 1, "input")
    _require_tensor(other, "atan2", 2, "other")
    return handle_out(Atan2.apply(input, other), out, "atan2")


def sinh(input, *, out=None):
    return handle_out(Sinh.apply(input), out, "sinh")


def cosh(input, *, out=None):
    return handle_out(Cosh.apply(input), out, "cosh")


def tanh(input, *, out=None):
    return handle_out(Tanh.apply(input), out, "tanh")


def asinh(input, *, out=None):
    return handle_out(Asinh.apply(input), out, "asinh")


def acosh(input, *, out=None):
    return handle_out(Acosh.apply(input), out, "acosh")


def atanh(input, *, out=None):
    return handle_out(Atanh.apply(input), out, "atanh")


def sinc(input, *, out=None):
    """The normalized sinc, ``sin(pi x) / (pi x)``."""
    return handle_out(Sinc.apply(input), out, "sinc")


def deg2rad(input, *, out=None):
    return handle_out(Deg2rad.apply(input), out, "deg2rad")


def rad2deg(input, *, out=None):
    return handle_out(Rad2deg.apply(input), out, "rad2deg")


arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def sigmoid(input, *, out=None):
    """``1 / (1 + exp(-input))``."""
    return handle_out(Sigmoid.apply(input), out, "sigmoid")


def logit(input, eps=None, *, out=None):
    """``log(p / (1 - p))``, with ``p`` clamped to ``[eps, 1 - eps]`` when ``eps`` is given."""
    return handle_out(Logit.apply(input, eps=eps), out, "logit")


def relu(input):
    """``max(input, 0)``."""
    return Relu.apply(input)


def erf(input, *, out=None):
    """The error function (W. J. Cody's rational approximations, float64-accurate)."""
    return handle_out(Erf.apply(input), out, "erf")


def erfc(input, *, out=None):
    """``1 - erf(input)``, accurate where erf is close to 1."""
    return handle_out(Erfc.apply(input), out, "erfc")


def erfinv(input, *, out=None):
    """The inverse error function: ``erf(erfinv(y)) == y`` on ``(-1, 1)``."""
    return handle_out(Erfinv.apply(input), out, "erfinv")


def lgamma(input, *, out=None):
    """``log(|gamma(input)|)``."""
    return handle_out(Lgamma.apply(input), out, "lgamma")


def digamma(input, *, out=None):
    """The logarithmic derivative of gamma, psi."""
    return handle_out(Digamma.apply(input), out, "digamma")


def polygamma(n, input, *, out=None):
    """The ``n``-th derivative of digamma."""
    return handle_out(Polygamma.apply(input, n=n), out, "polygamma")


def floor(input, *, out=None):
    return handle_out(Floor.apply(input), out, "floor")


def ceil(input, *, out=None):
    return handle_out(Ceil.apply(input), out, "ceil")


def round(input, *, decimals=0, out=None):
    """Round half to even, to ``decimals`` decimal places."""
    return handle_out(Round.apply(input, decimals=decimals), out, "round")


def trunc(input, *, out=None):
    """Round towards zero."""
    return handle_out(Trunc.apply(input), out, "trunc")


fix = trunc


def frac(input, *, out=None):
    """``input - trunc(input)``."""
    return handle_out(Frac.apply(input), out, "frac")


def sign(input, *, out=None):
    """-1, 0 or 1 (0 for nan)."""
    return handle_out(Sign.apply(input), out, "sign")


def sgn(input, *, out=None):
    """``sign`` for real tensors; ``z / |z|`` (0 at 0) for complex ones."""
    return handle_out(Sgn.apply(input), out, "sgn")


def copysign(input, other, *, out=None):
    """The magnitude of ``input`` with the sign of ``other``."""
    _require_tensor(input, "copysign", 1, "input")
    return handle_out(Copysign.apply(input, other), out, "copysign")


def heaviside(input, values, *, out=None):
    """0 where ``input < 0``, ``values`` where it is 0, 1 where it is positive."""
    _require_tensor(input, "heaviside", 1, "input")
    _require_tensor(values, "heaviside", 2, "values")
    return handle_out(Heaviside.apply(input, values), out, "heaviside")


def clamp(input, min=None, max=None, *, out=None):
    """``input`` limited to ``[min, max]`` (numbers or tensors; ``max`` wins if min > max)."""
    return handle_out(Clamp.apply(input, min, max), out, "clamp")


clip = clamp


def clamp_min(input, min, *, out=None):
    return handle_out(Clamp.apply(input, min, None), out, "clamp_min")


def clamp_max(input, max, *, out=None):
    return handle_out(Clamp.apply(input, None, max), out, "clamp_max")


def maximum(input, other, *, out=None):
    """The elementwise maximum (nan if either is nan)."""
    _require_tensor(input, "maximum", 1, "input")
    _require_tensor(other, "maximum", 2, "other")
    return handle_out(Maximum.apply(input, other), out, "maximum")


def minimum(input, other, *, out=None):
    """The elementwise minimum (nan if either is nan)."""
    _require_tensor(input, "minimum", 1, "input")
    _require_tensor(other, "minimum", 2, "other")
    return handle_out(Minimum.apply(input, other), out, "minimum")


def fmax(input, other, *, out=None):
    """The elementwise maximum, ignoring nan where the other operand is a number."""
    _require_tensor(input, "fmax", 1, "input")
    _require_tensor(other, "fmax", 2, "other")
    return handle_out(Fmax.apply(input, other), out, "fmax")


def fmin(input, other, *, out=None):
    """The elementwise minimum, ignoring nan where the other operand is a number."""
    _require_tensor(input, "fmin", 1, "input")
    _require_tensor(other, "fmin", 2, "other")
    return handle_out(Fmin.apply(input, other), out, "fmin")


def where(condition, input=None, other=None, *, out=None):
    """``input`` where ``condition`` holds, else ``other`` (numbers allowed for either).

    With only ``condition``: ``condition.nonzero(as_tuple=True)``.
    """
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() missing required argument 'input' or 'other'")
    return handle_out(Where.apply(condition, input, other), out, "where")


def lerp(input, end, weight, *, out=None):
    """``input + weight * (end - input)``; ``weight`` a number or a tensor."""
    _require_tensor(end, "lerp", 2, "end")
    return handle_out(Lerp.apply(input, end, weight), out, "lerp")


def nan_to_num(input, nan=0.0, posinf=None, neginf=None, *, out=None):
    """nan, +inf and -inf replaced (by 0 and the dtype's largest and smallest finite values)."""
    return handle_out(NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf), out,
                      "nan_to_num")


def addcmul(input, tensor1, tensor2, *, value=1, out=None):
    """``input + value * tensor1 * tensor2``."""
    return handle_out(Addcmul.apply(input, tensor1, tensor2, value=value), out, "addcmul")


def addcdiv(input, tensor1, tensor2, *, value=1, out=None):
    """``input + value * tensor1 / tensor2``."""
    return handle_out(Addcdiv.apply(input, tensor1, tensor2, value=value), out, "addcdiv")


def isnan(input):
    return Isnan.apply(input)


def isinf(input):
    return Isinf.apply(input)


def isposinf(input, *, out=None):
    return handle_out(Isposinf.apply(input), out, "isposinf")


def isneginf(input, *, out=None):
    return handle_out(Isneginf.apply(input), out, "isneginf")


def isfinite(input):
    return Isfinite.apply(input)


def isreal(input):
    """True where the imaginary part is 0 (everywhere, for real dtypes)."""
    return Isreal.apply(input)


def conj(input):
    """The complex conjugate; a real tensor is returned as it is (as torch)."""
    return Conj.apply(input) if input._data.dtype.kind == "c" else input


conj_physical = conj


def resolve_conj(input):
    """``input`` itself: ember's ``conj`` is never lazy."""
    return input


def real(input):
    """The real part, a view; a real tensor is returned as it is."""
    return Real.apply(input) if input._data.dtype.kind == "c" else input


def imag(input):
    """The imaginary part of a complex tensor, a view."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(input)


class PointwiseMethods:
    """Tensor methods of this family."""

    __slots__ = ()

    def exp(self):
        return Exp.apply(self)

    def exp_(self):
        return self._inplace(Exp)

    def exp2(self):
        return Exp2.apply(self)

    def exp2_(self):
        return self._inplace(Exp2)

    def expm1(self):
        return Expm1.apply(self)

    def expm1_(self):
        return self._inplace(Expm1)

    def log(self):
        return Log.apply(self)

    def log_(self):
        return self._inplace(Log)

    def log2(self):
        return Log2.apply(self)

    def log2_(self):
        return self._inplace(Log2)

    def log10(self):
        return Log10.apply(self)

    def log10_(self):
        return self._inplace(Log10)

    def log1p(self):
        return Log1p.apply(self)

    def log1p_(self):
        return self._inplace(Log1p)

    def logaddexp(self, other):
        return logaddexp(self, other)

    def logaddexp2(self, other):
        return logaddexp2(self, other)

    def xlogy(self, other):
        return Xlogy.apply(self, other)

    def xlogy_(self, other):
        return self._inplace(Xlogy, other)

    def sqrt(self):
        return Sqrt.apply(self)

    def sqrt_(self):
        return self._inplace(Sqrt)

    def rsqrt(self):
        return Rsqrt.apply(self)

    def rsqrt_(self):
        return self._inplace(Rsqrt)

    def square(self):
        return Square.apply(self)

    def square_(self):
        return self._inplace(Square)

    def reciprocal(self):
        return Reciprocal.apply(self)

    def reciprocal_(self):
        return self._inplace(Reciprocal)

    def hypot(self, other):
        return hypot(self, other)

    def hypot_(self, other):
        _require_tensor(other, "hypot_", 1, "other")
        return self._inplace(Hypot, other)

    def float_power(self, exponent):
        return float_power(self, exponent)

    def float_power_(self, exponent):
        complex_ = self.is_complex() or _is_complex(exponent)
        needed = _dt.complex128 if complex_ else _dt.float64
        if self.dtype is not needed:
            raise RuntimeError(f"the base given to float_power_ has dtype "
                               f"{scalar_type_name(self.dtype)} but the operation's result "
                               f"requires dtype {scalar_type_name(needed)}")
        exponent = exponent.to(needed) if isinstance(exponent, _tensor.Tensor) else exponent
        return self._inplace(Pow, exponent)

    def sin(self):
        return Sin.apply(self)

    def sin_(self):
        return self._inplace(Sin)

    def cos(self):
        return Cos.apply(self)

    def cos_(self):
        return self._inplace(Cos)

    def tan(self):
        return Tan.apply(self)

    def tan_(self):
        return self._inplace(Tan)

    def asin(self):
        return Asin.apply(self)

    def asin_(self):
        return self._inplace(Asin)

    def acos(self):
        return Acos.apply(self)

    def acos_(self):
        return self._inplace(Acos)

    def atan(self):
        return Atan.apply(self)

    def atan_(self):
        return self._inplace(Atan)

    def atan2(self, other):
        return atan2(self, other)

    def atan2_(self, other):
        _require_tensor(other, "atan2_", 1, "other")
        return self._inplace(Atan2, other)

    def sinh(self):
        return Sinh.apply(self)

    def sinh_(self):
        return self._inplace(Sinh)

    def cosh(self):
        return Cosh.apply(self)

    def cosh_(self):
        return self._inplace(Cosh)

    def tanh(self):
        return Tanh.apply(self)

    def tanh_(self):
        return self._inplace(Tanh)

    def asinh(self):
        return Asinh.apply(self)

    def asinh_(self):
        return self._inplace(Asinh)

    def acosh(self):
        return Acosh.apply(self)

    def acosh_(self):
        return self._inplace(Acosh)

    def atanh(self):
        return Atanh.apply(self)

    def atanh_(self):
        return self._inplace(Atanh)

    arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
    arcsin_, arccos_, arctan_, arctan2_ = asin_, acos_, atan_, atan2_
    arcsinh, arccosh, arctanh = asinh, acosh, atanh
    arcsinh_, arccosh_, arctanh_ = asinh_, acosh_, atanh_

    def sinc(self):
        return Sinc.apply(self)

    def sinc_(self):
        return self._inplace(Sinc)

    def deg2rad(self):
        return Deg2rad.apply(self)

    def deg2rad_(self):
        return self._inplace(Deg2rad)

    def rad2deg(self):
        return Rad2deg.apply(self)

    def rad2deg_(self):
        return self._inplace(Rad2deg)

    def sigmoid(self):
        return Sigmoid.apply(self)

    def sigmoid_(self):
        return self._inplace(Sigmoid)

    def logit(self, eps=None):
        return Logit.apply(self, eps=eps)

    def logit_(self, eps=None):
        return self._inplace(Logit, eps=eps)

    def relu(self):
        return Relu.apply(self)

    def relu_(self):
        return self._inplace(Relu)

    def erf(self):
        return Erf.apply(self)

    def erf_(self):
        return self._inplace(Erf)

    def erfc(self):
        return Erfc.apply(self)

    def erfc_(self):
        return self._inplace(Erfc)

    def erfinv(self):
        return Erfinv.apply(self)

    def erfinv_(self):
        return self._inplace(Erfinv)

    def lgamma(self):
        return Lgamma.apply(self)

    def lgamma_(self):
        return self._inplace(Lgamma)

    def digamma(self):
        return Digamma.apply(self)

    def digamma_(self):
        return self._inplace(Digamma)

    def polygamma(self, n):
        return Polygamma.apply(self, n=n)

    def polygamma_(self, n):
        return self._inplace(Polygamma, n=n)

    def floor(self):
        return Floor.apply(self)

    def floor_(self):
        return self._inplace(Floor)

    def ceil(self):
        return Ceil.apply(self)

    def ceil_(self):
        return self._inplace(Ceil)

    def round(self, *, decimals=0):
        return Round.apply(self, decimals=decimals)

    def round_(self, *, decimals=0):
        return self._inplace(Round, decimals=decimals)

    def trunc(self):
        return Trunc.apply(self)

    def trunc_(self):
        return self._inplace(Trunc)

    fix, fix_ = trunc, trunc_

    def frac(self):
        return Frac.apply(self)

    def frac_(self):
        return self._inplace(Frac)

    def sign(self):
        return Sign.apply(self)

    def sign_(self):
        return self._inplace(Sign)

    def sgn(self):
        return Sgn.apply(self)

    def sgn_(self):
        return self._inplace(Sgn)

    def copysign(self, other):
        return Copysign.apply(self, other)

    def copysign_(self, other):
        return self._inplace(Copysign, other)

    def heaviside(self, values):
        return heaviside(self, values)

    def heaviside_(self, values):
        _require_tensor(values, "heaviside_", 1, "values")
        return self._inplace(Heaviside, values)

    def clamp(self, min=None, max=None):
        return Clamp.apply(self, min, max)

    def clamp_(self, min=None, max=None):
        return self._inplace(Clamp, min, max)

    clip, clip_ = clamp, clamp_

    def clamp_min(self, min):
        return Clamp.apply(self, min, None)

    def clamp_min_(self, min):
        return self._inplace(Clamp, min, None)

    def clamp_max(self, max):
        return Clamp.apply(self, None, max)

    def clamp_max_(self, max):
        return self._inplace(Clamp, None, max)

    def maximum(self, other):
        return maximum(self, other)

    def minimum(self, other):
        return minimum(self, other)

    def fmax(self, other):
        return fmax(self, other)

    def fmin(self, other):
        return fmin(self, other)

    def where(self, condition, y):
        """``self`` where ``condition`` holds, else ``y``."""
        return Where.apply(condition, self, y)

    def lerp(self, end, weight):
        return lerp(self, end, weight)

    def lerp_(self, end, weight):
        _require_tensor(end, "lerp_", 1, "end")
        return self._inplace(Lerp, end, weight)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return NanToNum.apply(self, nan=nan, posinf=posinf, neginf=neginf)

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return self._inplace(NanToNum, nan=nan, posinf=posinf, neginf=neginf)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return Addcmul.apply(self, tensor1, tensor2, value=value)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._inplace(Addcmul, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return Addcdiv.apply(self, tensor1, tensor2, value=value)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._inplace(Addcdiv, tensor1, tensor2, value=value)

    def isnan(self):
        return Isnan.apply(self)

    def isinf(self):
        return Isinf.apply(self)

    def isposinf(self):
        return Isposinf.apply(self)

    def isneginf(self):
        return Isneginf.apply(self)

    def isfinite(self):
        return Isfinite.apply(self)

    def isreal(self):
        return Isreal.apply(self)

    def conj(self):
        return Conj.apply(self) if self._data.dtype.kind == "c" else self

    conj_physical = conj

    def resolve_conj(self):
        return self

    def is_conj(self) -> bool:
        """Always False: ember conjugates eagerly."""
        return False

    @property
    def real(self):
        return real(self)

    @real.setter
    def real(self, value):
        real(self).copy_(value)

    @property
    def imag(self):
        return imag(self)

    @imag.setter
    def imag(self, value):
        imag(self).copy_(value)
