"""One converter per ember primitive: a recorded call in, ONNX nodes out.

A converter is ``fn(g, p)``: ``g`` is the ``GraphBuilder`` (``g.x(value)`` names an input, casting
it if asked; ``g.op(...)`` adds a node; ``g.call.outputs`` are the call's results), ``p`` the
primitive's forward arguments by name, tensors replaced by ``_trace.Value``. It returns the ONNX
name of each output. ``@converts(Primitive, dynamic=(...))`` registers it; ``dynamic`` names the
arguments the converter itself adapts to dynamic axes (every other argument must be the same in
both traces, or the export fails with a message naming the op and the argument).
"""

from __future__ import annotations

import math

import numpy as np

from ember.nn._functional import activation as _act
from ember.nn._functional import dropout as _drop
from ember.nn._functional import linear as _linear
from ember.nn._functional import normalization as _norm
from ember.nn._functional import sparse as _sparse
from ember.onnx._trace import Value, _leaves, host
from ember.onnx.errors import UnsupportedOperatorError
from ember.ops import arithmetic as _ar
from ember.ops import comparison as _cmp
from ember.ops import conv as _conv
from ember.ops import copy as _copy
from ember.ops import indexing as _idx
from ember.ops import linalg as _la
from ember.ops import padding as _pad
from ember.ops import pointwise as _pw
from ember.ops import reduction as _red
from ember.ops import rnn as _rnn
from ember.ops import shape as _sh
from ember.ops import spatial as _sp
from ember.ops.reduction import normalize_dims

__all__ = ["CONVERTERS", "converts", "convert"]

CONVERTERS: dict = {}
_DYNAMIC: dict = {}
_BIG = np.iinfo(np.int64).max
_F32, _I64, _BOOL = np.dtype(np.float32), np.dtype(np.int64), np.dtype(bool)


def converts(*kinds, dynamic=()):
    """Register the decorated function as the converter of the primitive classes ``kinds``."""
    def register(fn):
        for kind in kinds:
            CONVERTERS[kind] = fn
            _DYNAMIC[kind] = frozenset(dynamic)
        return fn
    return register


def _lookup(kind):
    for k in kind.__mro__:
        fn = CONVERTERS.get(k)
        if fn is not None:
            return fn, _DYNAMIC[k]
    return None, ()


def convert(g, call) -> None:
    """Convert one recorded call and bind its outputs' ONNX names."""
    g.call = call
    fn, dynamic = _lookup(call.kind)
    if fn is None:
        where = f" (in {call.where()})" if call.scope else ""
        raise UnsupportedOperatorError(
            f"Exporting the operator '{call.kind.__name__}'{where} to ONNX opset version "
            f"{g.opset} is not supported: ember has no ONNX converter for it.")
    if call.twin is not None:
        for key, a in call.params.items():
            if key in dynamic:
                continue
            if not _same(a, call.twin.params[key]):
                g.fail(f"argument '{key}' changes with the dynamic axes ({_short(a)} vs "
                       f"{_short(call.twin.params[key])}), which the exported graph cannot "
                       "express; export without dynamic_axes for this dimension")
    names = fn(g, call.params)
    if isinstance(names, str):
        names = (names,)
    for v, name in zip(call.outputs, names):
        if v is not None and name:
            g.bind(v, name)


def _same(a, b) -> bool:
    if isinstance(a, Value) or isinstance(b, Value):
        return isinstance(a, Value) and isinstance(b, Value)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape \
            and bool(np.array_equal(a, b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _short(a) -> str:
    text = repr(a)
    return text if len(text) < 60 else text[:57] + "..."


# --- helpers -------------------------------------------------------------------------------------


def _out(g, i=0):
    return g.call.outputs[i]


def _dtype(g, i=0):
    return _out(g, i).dtype


def _ndim(v) -> int:
    return v.ndim if isinstance(v, Value) else np.ndim(v)


def _promote(a, b):
    """The dtype two operands are compared in (PyTorch's promotion, numbers being weak)."""
    va, vb = isinstance(a, Value), isinstance(b, Value)
    if va and vb:
        if a.dtype == b.dtype:
            return a.dtype
        if (a.ndim == 0) != (b.ndim == 0) and (a.dtype.kind == "f") == (b.dtype.kind == "f"):
            return b.dtype if a.ndim == 0 else a.dtype
        return np.promote_types(a.dtype, b.dtype)
    if not va and not vb:
        return np.result_type(a, b)
    t, s = (a, b) if va else (b, a)
    if isinstance(s, np.ndarray):
        return np.promote_types(t.dtype, s.dtype)
    if t.dtype.kind in "fc" or isinstance(s, bool):
        return t.dtype
    if isinstance(s, float):
        return _F32
    return t.dtype if t.dtype.kind in "iu" else _I64


def _axes(dim, ndim):
    return list(normalize_dims(dim, ndim))


def _perm_swap(ndim, i, j):
    perm = list(range(ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return perm


# --- arithmetic ----------------------------------------------------------------------------------


@converts(_ar.Add, _ar.Sub)
def _add_sub(g, p):
    dt = _dtype(g)
    b = g.x(p["b"], dt)
    if p["alpha"] != 1:
        b = g.op("Mul", b, g.const(np.asarray(p["alpha"], dt)))
    return g.op("Add" if g.call.kind is _ar.Add else "Sub", g.x(p["a"], dt), b)


@converts(_ar.Mul)
def _mul(g, p):
    dt = _dtype(g)
    if dt == _BOOL:
        return g.op("And", g.x(p["a"], dt), g.x(p["b"], dt))
    return g.op("Mul", g.x(p["a"], dt), g.x(p["b"], dt))


@converts(_ar.Div)
def _div(g, p):
    dt, mode = _dtype(g), p["rounding_mode"]
    if mode is None or dt.kind == "f":
        q = g.op("Div", g.x(p["a"], dt), g.x(p["b"], dt))
        if mode == "floor":
            return g.op("Floor", q)
        if mode == "trunc":
            return _trunc_name(g, q)
        return q
    if mode == "trunc":
        return g.op("Div", g.x(p["a"], dt), g.x(p["b"], dt))  # ONNX integer Div truncates
    f64 = np.dtype(np.float64)
    q = g.op("Floor", g.op("Div", g.x(p["a"], f64), g.x(p["b"], f64)))
    return g.cast(q, dt)


@converts(_ar.Remainder)
def _remainder(g, p):
    dt = _dtype(g)
    a, b = g.x(p["a"], dt), g.x(p["b"], dt)
    if dt.kind in "iu":
        return g.op("Mod", a, b)  # fmod=0: the result takes the divisor's sign, as Python's %
    return g.op("Sub", a, g.op("Mul", g.op("Floor", g.op("Div", a, b)), b))


@converts(_ar.Fmod)
def _fmod(g, p):
    dt = _dtype(g)
    return g.op("Mod", g.x(p["a"], dt), g.x(p["b"], dt), fmod=1)


@converts(_ar.Pow)
def _pow(g, p):
    dt = _dtype(g)
    b = p["b"]
    if not isinstance(b, Value) and np.ndim(b) == 0 and float(b) == 2.0:
        a = g.x(p["a"], dt)
        return g.op("Mul", a, a)
    return g.op("Pow", g.x(p["a"], dt), g.x(b, dt))


@converts(_ar.Neg)
def _neg(g, p):
    return g.op("Neg", g.x(p["a"]))


@converts(_ar.Abs)
def _abs(g, p):
    return g.op("Abs", g.x(p["a"]))


# --- pointwise -----------------------------------------------------------------------------------

# The unary ops that are one ONNX operator of the same meaning.
_UNARY = {
    _pw.Exp: "Exp", _pw.Log: "Log", _pw.Sqrt: "Sqrt", _pw.Sin: "Sin", _pw.Cos: "Cos",
    _pw.Tan: "Tan", _pw.Asin: "Asin", _pw.Acos: "Acos", _pw.Atan: "Atan", _pw.Sinh: "Sinh",
    _pw.Cosh: "Cosh", _pw.Tanh: "Tanh", _pw.Asinh: "Asinh", _pw.Acosh: "Acosh",
    _pw.Atanh: "Atanh", _pw.Sigmoid: "Sigmoid", _pw.Relu: "Relu", _pw.Erf: "Erf",
    _pw.Floor: "Floor", _pw.Ceil: "Ceil", _pw.Reciprocal: "Reciprocal", _pw.Sign: "Sign",
    _pw.Sgn: "Sign", _pw.Isnan: "IsNaN", _pw.Isinf: "IsInf",
}


@converts(*_UNARY)
def _unary(g, p):
    (a,) = p.values()
    name = g.x(a)
    op_type = _UNARY[g.call.kind]
    if op_type in ("Floor", "Ceil", "Sign") and a.dtype.kind in "biu":
        return g.op("Identity", name) if op_type != "Sign" else g.op("Sign", name)
    if a.dtype != _dtype(g) and op_type not in ("IsNaN", "IsInf"):
        name = g.cast(name, _dtype(g))  # integer input to a float function
    return g.op(op_type, name)


def _input_as_out(g, p, key="a"):
    return g.x(p[key], _dtype(g))


@converts(_pw.Rsqrt)
def _rsqrt(g, p):
    return g.op("Reciprocal", g.op("Sqrt", _input_as_out(g, p)))


@converts(_pw.Square)
def _square(g, p):
    a = _input_as_out(g, p)
    return g.op("Mul", a, a)


@converts(_pw.Log1p)
def _log1p(g, p):
    dt = _dtype(g)
    return g.op("Log", g.op("Add", _input_as_out(g, p), g.const(np.ones((), dt))))


@converts(_pw.Expm1)
def _expm1(g, p):
    dt = _dtype(g)
    return g.op("Sub", g.op("Exp", _input_as_out(g, p)), g.const(np.ones((), dt)))


@converts(_pw.Log2, _pw.Log10)
def _log_base(g, p):
    dt = _dtype(g)
    base = 2.0 if g.call.kind is _pw.Log2 else 10.0
    return g.op("Div", g.op("Log", _input_as_out(g, p)), g.const(np.asarray(math.log(base), dt)))


@converts(_pw.Exp2)
def _exp2(g, p):
    dt = _dtype(g)
    return g.op("Pow", g.const(np.asarray(2.0, dt)), _input_as_out(g, p))


def _trunc_name(g, x):
    zero = g.const(np.zeros((), _dtype(g)))
    return g.op("Where", g.op("Less", x, zero), g.op("Ceil", x), g.op("Floor", x))


@converts(_pw.Trunc)
def _trunc(g, p):
    if p["a"].dtype.kind in "biu":
        return g.op("Identity", g.x(p["a"]))
    return _trunc_name(g, g.x(p["a"]))


@converts(_pw.Frac)
def _frac(g, p):
    x = g.x(p["a"])
    return g.op("Sub", x, _trunc_name(g, x))


@converts(_pw.Round)
def _round(g, p):
    x = g.x(p["a"])
    if p["a"].dtype.kind in "biu":
        return g.op("Identity", x)
    if not p["decimals"]:
        return g.op("Round", x)  # half to even, as torch
    scale = g.const(np.asarray(10.0 ** p["decimals"], _dtype(g)))
    return g.op("Div", g.op("Round", g.op("Mul", x, scale)), scale)


@converts(_pw.Deg2rad, _pw.Rad2deg)
def _angle(g, p):
    f = math.pi / 180 if g.call.kind is _pw.Deg2rad else 180 / math.pi
    return g.op("Mul", _input_as_out(g, p), g.const(np.asarray(f, _dtype(g))))


@converts(_pw.Erfc)
def _erfc(g, p):
    return g.op("Sub", g.const(np.ones((), _dtype(g))), g.op("Erf", _input_as_out(g, p)))


@converts(_pw.Isfinite)
def _isfinite(g, p):
    x = g.x(p["a"])
    if p["a"].dtype.kind != "f":
        return g.op("Expand", g.const(np.ones((), bool)), g.op("Shape", x))
    return g.op("Not", g.op("Or", g.op("IsNaN", x), g.op("IsInf", x)))


@converts(_pw.Isposinf, _pw.Isneginf)
def _isinf_sign(g, p):
    pos = g.call.kind is _pw.Isposinf
    return g.op("IsInf", g.x(p["a"]), detect_negative=int(not pos), detect_positive=int(pos))


@converts(_pw.Logit)
def _logit(g, p):
    dt = _dtype(g)
    x = _input_as_out(g, p)
    if p["eps"] is not None:
        x = g.op("Clip", x, g.const(np.asarray(p["eps"], dt)),
                 g.const(np.asarray(1 - p["eps"], dt)))
    return g.op("Log", g.op("Div", x, g.op("Sub", g.const(np.ones((), dt)), x)))


@converts(_pw.Sinc)
def _sinc(g, p):
    dt = _dtype(g)
    x = g.op("Mul", _input_as_out(g, p), g.const(np.asarray(math.pi, dt)))
    zero = g.op("Equal", x, g.const(np.zeros((), dt)))
    safe = g.op("Where", zero, g.const(np.ones((), dt)), x)
    return g.op("Where", zero, g.const(np.ones((), dt)), g.op("Div", g.op("Sin", safe), safe))


@converts(_pw.Hypot)
def _hypot(g, p):
    dt = _dtype(g)
    a, b = g.x(p["a"], dt), g.x(p["b"], dt)
    return g.op("Sqrt", g.op("Add", g.op("Mul", a, a), g.op("Mul", b, b)))


@converts(_pw.Atan2)
def _atan2(g, p):
    dt = _dtype(g)
    y, x = g.x(p["a"], dt), g.x(p["b"], dt)
    zero = g.const(np.zeros((), dt))
    pi = g.const(np.asarray(math.pi, dt))
    base = g.op("Atan", g.op("Div", y, x))
    neg_x = g.op("Less", x, zero)
    shift = g.op("Where", g.op("Less", y, zero), g.op("Neg", pi), pi)
    out = g.op("Where", neg_x, g.op("Add", base, shift), base)
    half = g.op("Mul", g.op("Sign", y), g.const(np.asarray(math.pi / 2, dt)))
    return g.op("Where", g.op("Equal", x, zero), half, out)


@converts(_pw.Logaddexp, _pw.Logaddexp2)
def _logaddexp(g, p):
    dt = _dtype(g)
    a, b = g.x(p["a"], dt), g.x(p["b"], dt)
    m = g.op("Max", a, b)
    if g.call.kind is _pw.Logaddexp:
        s = g.op("Add", g.op("Exp", g.op("Sub", a, m)), g.op("Exp", g.op("Sub", b, m)))
        return g.op("Add", m, g.op("Log", s))
    two = g.const(np.asarray(2.0, dt))
    s = g.op("Add", g.op("Pow", two, g.op("Sub", a, m)), g.op("Pow", two, g.op("Sub", b, m)))
    return g.op("Add", m, g.op("Div", g.op("Log", s), g.const(np.asarray(math.log(2), dt))))


@converts(_pw.Xlogy)
def _xlogy(g, p):
    dt = _dtype(g)
    x, y = g.x(p["x"], dt), g.x(p["y"], dt)
    zero = g.const(np.zeros((), dt))
    return g.op("Where", g.op("Equal", x, zero), zero, g.op("Mul", x, g.op("Log", y)))


@converts(_pw.Maximum, _pw.Minimum)
def _max_min(g, p):
    dt = _dtype(g)
    return g.op("Max" if g.call.kind is _pw.Maximum else "Min", g.x(p["a"], dt), g.x(p["b"], dt))


@converts(_pw.Fmax, _pw.Fmin)
def _fmax_min(g, p):
    dt = _dtype(g)
    a, b = g.x(p["a"], dt), g.x(p["b"], dt)
    m = g.op("Max" if g.call.kind is _pw.Fmax else "Min", a, b)
    if dt.kind != "f":
        return m
    return g.op("Where", g.op("IsNaN", a), b, g.op("Where", g.op("IsNaN", b), a, m))


@converts(_pw.Clamp)
def _clamp(g, p):
    dt = _dtype(g)
    x = g.x(p["a"], dt)
    lo, hi = p["lo"], p["hi"]
    scalar = all(v is None or _ndim(v) == 0 for v in (lo, hi))
    if scalar and dt.kind == "f":
        return g.op("Clip", x, g.x(lo, dt) if lo is not None else "",
                    g.x(hi, dt) if hi is not None else "")
    if lo is not None:
        x = g.op("Max", x, g.x(lo, dt))
    if hi is not None:
        x = g.op("Min", x, g.x(hi, dt))
    return x


@converts(_pw.Where)
def _where(g, p):
    dt = _dtype(g)
    return g.op("Where", g.x(p["cond"], _BOOL), g.x(p["a"], dt), g.x(p["b"], dt))


@converts(_pw.Lerp)
def _lerp(g, p):
    dt = _dtype(g)
    a, b, w = g.x(p["a"], dt), g.x(p["b"], dt), g.x(p["w"], dt)
    return g.op("Add", a, g.op("Mul", w, g.op("Sub", b, a)))


@converts(_pw.Addcmul, _pw.Addcdiv)
def _addc(g, p):
    dt = _dtype(g)
    t = g.op("Mul" if g.call.kind is _pw.Addcmul else "Div", g.x(p["t1"], dt), g.x(p["t2"], dt))
    if p["value"] != 1:
        t = g.op("Mul", t, g.const(np.asarray(p["value"], dt)))
    return g.op("Add", g.x(p["a"], dt), t)


@converts(_pw.NanToNum)
def _nan_to_num(g, p):
    dt = _dtype(g)
    x = g.x(p["a"])
    if dt.kind != "f":
        return g.op("Identity", x)
    info = np.finfo(dt)
    pos = info.max if p["posinf"] is None else p["posinf"]
    neg = info.min if p["neginf"] is None else p["neginf"]
    x = g.op("Where", g.op("IsNaN", x), g.const(np.asarray(p["nan"], dt)), x)
    x = g.op("Where", g.op("IsInf", x, detect_negative=0), g.const(np.asarray(pos, dt)), x)
    return g.op("Where", g.op("IsInf", x, detect_positive=0), g.const(np.asarray(neg, dt)), x)


@converts(_pw.Heaviside)
def _heaviside(g, p):
    dt = _dtype(g)
    x = g.x(p["a"])
    zero = g.const(np.zeros((), p["a"].dtype))
    return g.op("Where", g.op("Equal", x, zero), g.x(p["values"], dt),
                g.cast(g.op("Greater", x, zero), dt))


@converts(_pw.Copysign)
def _copysign(g, p):
    dt = _dtype(g)
    mag = g.op("Abs", g.x(p["a"], dt))
    neg = g.op("Less", g.x(p["b"], dt), g.const(np.zeros((), dt)))
    return g.op("Where", neg, g.op("Neg", mag), mag)


@converts(_pw.Real, _pw.Conj)
def _real(g, p):
    if p["a"].dtype.kind == "c":
        g.fail("complex tensors have no ONNX type")
    return g.op("Identity", g.x(p["a"]))


# --- comparisons and logic -----------------------------------------------------------------------

_COMPARE = {_cmp.Eq: "Equal", _cmp.Lt: "Less", _cmp.Le: "LessOrEqual", _cmp.Gt: "Greater",
            _cmp.Ge: "GreaterOrEqual"}


@converts(*_COMPARE)
def _compare(g, p):
    dt = _promote(p["a"], p["b"])
    if dt == _BOOL and g.call.kind is not _cmp.Eq:
        dt = np.dtype(np.int32)
    return g.op(_COMPARE[g.call.kind], g.x(p["a"], dt), g.x(p["b"], dt))


@converts(_cmp.Ne)
def _ne(g, p):
    dt = _promote(p["a"], p["b"])
    return g.op("Not", g.op("Equal", g.x(p["a"], dt), g.x(p["b"], dt)))


@converts(_cmp.LogicalAnd, _cmp.LogicalOr, _cmp.LogicalXor)
def _logical(g, p):
    op_type = {_cmp.LogicalAnd: "And", _cmp.LogicalOr: "Or", _cmp.LogicalXor: "Xor"}[g.call.kind]
    out = g.op(op_type, g.x(p["a"], _BOOL), g.x(p["b"], _BOOL))
    return out if _dtype(g) == _BOOL else g.cast(out, _dtype(g))


@converts(_cmp.LogicalNot)
def _logical_not(g, p):
    out = g.op("Not", g.x(p["a"], _BOOL))
    return out if _dtype(g) == _BOOL else g.cast(out, _dtype(g))


@converts(_cmp.BitwiseAnd, _cmp.BitwiseOr, _cmp.BitwiseXor)
def _bitwise(g, p):
    dt = _dtype(g)
    kind = g.call.kind
    if dt == _BOOL:
        op_type = {_cmp.BitwiseAnd: "And", _cmp.BitwiseOr: "Or", _cmp.BitwiseXor: "Xor"}[kind]
    elif g.opset >= 18:
        op_type = {_cmp.BitwiseAnd: "BitwiseAnd", _cmp.BitwiseOr: "BitwiseOr",
                   _cmp.BitwiseXor: "BitwiseXor"}[kind]
    else:
        g.fail("bitwise operations on integers need opset 18 or later")
    return g.op(op_type, g.x(p["a"], dt), g.x(p["b"], dt))


@converts(_cmp.BitwiseNot)
def _bitwise_not(g, p):
    if _dtype(g) == _BOOL:
        return g.op("Not", g.x(p["a"]))
    if g.opset < 18:
        g.fail("bitwise_not on integers needs opset 18 or later")
    return g.op("BitwiseNot", g.x(p["a"]))


@converts(_cmp.Isclose)
def _isclose(g, p):
    dt = _promote(p["a"], p["b"])
    a, b = g.x(p["a"], dt), g.x(p["b"], dt)
    tol = g.op("Add", g.const(np.asarray(p["atol"], dt)),
               g.op("Mul", g.const(np.asarray(p["rtol"], dt)), g.op("Abs", b)))
    close = g.op("Or", g.op("Equal", a, b), g.op("LessOrEqual", g.op("Abs", g.op("Sub", a, b)),
                                                   tol))
    if p["equal_nan"]:
        close = g.op("Or", close, g.op("And", g.op("IsNaN", a), g.op("IsNaN", b)))
    return close


# --- activations ---------------------------------------------------------------------------------


@converts(_act.Threshold)
def _threshold(g, p):
    dt = _dtype(g)
    x = g.x(p["x"])
    return g.op("Where", g.op("Greater", x, g.const(np.asarray(p["threshold"], dt))), x,
                g.const(np.asarray(p["value"], dt)))


@converts(_act.LeakyReLU)
def _leaky_relu(g, p):
    return g.op("LeakyRelu", g.x(p["x"]), alpha=float(p["negative_slope"]))


@converts(_act.Hardtanh)
def _hardtanh(g, p):
    dt = _dtype(g)
    return g.op("Clip", g.x(p["x"]), g.const(np.asarray(p["min_val"], dt)),
                g.const(np.asarray(p["max_val"], dt)))


@converts(_act.Hardsigmoid)
def _hardsigmoid(g, p):
    return g.op("HardSigmoid", g.x(p["x"]), alpha=1.0 / 6, beta=0.5)


@converts(_act.Hardswish)
def _hardswish(g, p):
    x = g.x(p["x"])
    if g.opset >= 14:
        return g.op("HardSwish", x)
    return g.op("Mul", x, g.op("HardSigmoid", x, alpha=1.0 / 6, beta=0.5))


@converts(_act.Hardshrink, _act.Softshrink)
def _shrink(g, p):
    lambd = float(p["lambd"])
    bias = lambd if g.call.kind is _act.Softshrink else 0.0
    return g.op("Shrink", g.x(p["x"]), lambd=lambd, bias=bias)


@converts(_act.PReLU)
def _prelu(g, p):
    x, w = p["x"], p["w"]
    slope = g.x(w)
    if x.ndim > 2 and w.ndim == 1 and w.shape[0] > 1:
        slope = g.op("Reshape", slope, g.ints([w.shape[0]] + [1] * (x.ndim - 2)))
    return g.op("PRelu", g.x(x), slope)


@converts(_act.ELU)
def _elu(g, p):
    dt = _dtype(g)
    alpha, scale, input_scale = float(p["alpha"]), float(p["scale"]), float(p["input_scale"])
    x = g.x(p["x"])
    if input_scale == 1.0:
        if scale == 1.0:
            return g.op("Elu", x, alpha=alpha)
        if abs(alpha - 1.6732632423543772) < 1e-6 and abs(scale - 1.0507009873554805) < 1e-6:
            return g.op("Selu", x, alpha=alpha, gamma=scale)
    zero = g.const(np.zeros((), dt))
    neg = g.op("Mul", g.const(np.asarray(alpha, dt)), g.op(
        "Sub", g.op("Exp", g.op("Mul", x, g.const(np.asarray(input_scale, dt)))),
        g.const(np.ones((), dt))))
    y = g.op("Where", g.op("Greater", x, zero), x, neg)
    return g.op("Mul", y, g.const(np.asarray(scale, dt)))


def _softplus_name(g, x, beta, threshold, dt):
    if beta == 1.0:
        sp = g.op("Softplus", x)
        bx = x
    else:
        bx = g.op("Mul", x, g.const(np.asarray(beta, dt)))
        sp = g.op("Div", g.op("Softplus", bx), g.const(np.asarray(beta, dt)))
    return g.op("Where", g.op("Greater", bx, g.const(np.asarray(threshold, dt))), x, sp)


@converts(_act.Softplus)
def _softplus(g, p):
    return _softplus_name(g, g.x(p["x"]), float(p["beta"]), float(p["threshold"]), _dtype(g))


@converts(_act.LogSigmoid)
def _logsigmoid(g, p):
    return g.op("Neg", g.op("Softplus", g.op("Neg", g.x(p["x"]))))


@converts(_act.SiLU)
def _silu(g, p):
    x = g.x(p["x"])
    return g.op("Mul", x, g.op("Sigmoid", x))


@converts(_act.Mish)
def _mish(g, p):
    x = g.x(p["x"])
    if g.opset >= 18:
        return g.op("Mish", x)
    return g.op("Mul", x, g.op("Tanh", g.op("Softplus", x)))


# --- reductions ----------------------------------------------------------------------------------


@converts(_red.Sum, _red.Mean, _red.Prod)
def _sum(g, p):
    a, dt = p["a"], _dtype(g)
    op_type = {_red.Sum: "ReduceSum", _red.Mean: "ReduceMean", _red.Prod: "ReduceProd"}[
        g.call.kind]
    axes = _axes(p["dim"], a.ndim)
    if not axes:
        return g.op("Identity", g.x(a, dt))
    return g.reduce(op_type, g.x(a, dt), axes, p["keepdim"])


@converts(_red.Amax)
def _amax(g, p):
    a = p["a"]
    axes = _axes(p["dim"], a.ndim)
    if not axes:
        return g.op("Identity", g.x(a))
    x = g.x(a, np.dtype(np.int32) if a.dtype == _BOOL else None)
    out = g.reduce("ReduceMax" if p["largest"] else "ReduceMin", x, axes, p["keepdim"])
    return g.cast(out, _BOOL) if a.dtype == _BOOL else out


@converts(_red.MaxDim)
def _max_dim(g, p):
    a = p["a"]
    if a.ndim == 0:
        return g.op("Identity", g.x(a)), g.const(np.zeros((), _I64))
    axis = _axes(p["dim"], a.ndim)[0]
    x = g.x(a)
    values = g.reduce("ReduceMax" if p["largest"] else "ReduceMin", x, [axis], p["keepdim"])
    indices = g.op("ArgMax" if p["largest"] else "ArgMin", x, axis=axis,
                   keepdims=int(p["keepdim"]))
    return values, indices


@converts(_red.ArgExtreme)
def _argmax(g, p):
    a = p["a"]
    op_type = "ArgMax" if p["largest"] else "ArgMin"
    if a.ndim == 0:
        return g.const(np.zeros((), _I64))
    if p["dim"] is None:
        flat = g.op("Reshape", g.x(a), g.ints([-1]))
        idx = g.op(op_type, flat, axis=0, keepdims=0)
        if p["keepdim"]:
            idx = g.op("Reshape", idx, g.ints([1] * a.ndim))
        return idx
    axis = _axes(p["dim"], a.ndim)[0]
    return g.op(op_type, g.x(a), axis=axis, keepdims=int(p["keepdim"]))


@converts(_red.Var)
def _var(g, p):
    a, dt = p["a"], _dtype(g)
    axes = _axes(p["dim"], a.ndim)
    x = g.x(a)
    if any(g.shape_b(a)[i] != a.shape[i] for i in axes):  # the count follows a dynamic size
        n = g.cast(g.reduce("ReduceProd", g.op("Gather", g.op("Shape", x), g.ints(axes)), [0],
                            False), dt)
        dof = g.op("Max", g.op("Sub", n, g.const(np.asarray(p["correction"], dt))),
                   g.const(np.zeros((), dt)))
    else:
        n = math.prod(a.shape[i] for i in axes)
        dof = g.const(np.asarray(max(n - p["correction"], 0), dt))
    d = g.op("Sub", x, g.reduce("ReduceMean", x, axes, True))
    ss = g.reduce("ReduceSum", g.op("Mul", d, d), axes, p["keepdim"])
    var = g.op("Div", ss, dof)
    return g.op("Sqrt", var) if p["sqrt"] else var


@converts(_red.LinalgVectorNorm)
def _vector_norm(g, p):
    a, dt = p["a"], _dtype(g)
    axes = _axes(p["dim"], a.ndim)
    ord_ = float(p["p"])
    x = g.x(a, dt)
    keep = p["keepdim"]
    if ord_ == 2.0:
        return g.reduce("ReduceL2", x, axes, keep)
    if ord_ == 1.0:
        return g.reduce("ReduceL1", x, axes, keep)
    if ord_ == math.inf:
        return g.reduce("ReduceMax", g.op("Abs", x), axes, keep)
    if ord_ == -math.inf:
        return g.reduce("ReduceMin", g.op("Abs", x), axes, keep)
    if ord_ == 0.0:
        nz = g.cast(g.op("Not", g.op("Equal", x, g.const(np.zeros((), dt)))), dt)
        return g.reduce("ReduceSum", nz, axes, keep)
    s = g.reduce("ReduceSum", g.op("Pow", g.op("Abs", x), g.const(np.asarray(ord_, dt))), axes,
                 keep)
    return g.op("Pow", s, g.const(np.asarray(1.0 / ord_, dt)))


@converts(_red.Logsumexp)
def _logsumexp(g, p):
    a = p["a"]
    axes = _axes(p["dim"], a.ndim)
    return g.reduce("ReduceLogSumExp", g.x(a, _dtype(g)), axes, p["keepdim"])


@converts(_red.Softmax, _red.LogSoftmax)
def _softmax(g, p):
    a = p["a"]
    axes = _axes(p["dim"], a.ndim)
    op_type = "Softmax" if g.call.kind is _red.Softmax else "LogSoftmax"
    if a.ndim == 0:
        return g.op("Identity", g.x(a)) if op_type == "Softmax" else \
            g.op("Sub", g.x(a), g.x(a))
    return g.op(op_type, g.x(a, _dtype(g)), axis=axes[0])


@converts(_red.Logical)
def _all_any(g, p):
    a = p["a"]
    axes = _axes(p["dim"], a.ndim)
    x = g.cast(g.x(a, _BOOL), np.dtype(np.int32))
    out = g.reduce("ReduceMin" if p["every"] else "ReduceMax", x, axes, p["keepdim"])
    return g.cast(out, _dtype(g))


@converts(_red.CountNonzero)
def _count_nonzero(g, p):
    a = p["a"]
    x = g.cast(g.x(a, _BOOL), _I64)
    return g.reduce("ReduceSum", x, _axes(p["dim"], a.ndim), False)


@converts(_red.Cumsum)
def _cumsum(g, p):
    a, dt = p["a"], _dtype(g)
    if a.ndim == 0:
        return g.op("Identity", g.x(a, dt))
    axis = _axes(p["dim"], a.ndim)[0]
    return g.op("CumSum", g.x(a, dt), g.const(np.asarray(axis, _I64)),
                reverse=int(bool(p["reverse"])))


# --- shapes --------------------------------------------------------------------------------------


@converts(_sh.View, _sh.Reshape, dynamic=("shape",))
def _reshape(g, p):
    a, out = p["a"], _out(g)
    target = g.sizes(out.shape, g.shape_b(out), [a], infer=True)
    return g.op("Reshape", g.x(a), target)


@converts(_sh.Expand, dynamic=("shape",))
def _expand(g, p):
    a, out = p["a"], _out(g)
    return g.op("Expand", g.x(a), g.sizes(out.shape, g.shape_b(out), [a]))


@converts(_sh.Permute)
def _permute(g, p):
    return g.op("Transpose", g.x(p["a"]), perm=list(p["dims"]))


@converts(_sh.Transpose)
def _transpose(g, p):
    a = p["a"]
    if a.ndim < 2:
        return g.op("Identity", g.x(a))
    d0, d1 = p["dim0"] % a.ndim, p["dim1"] % a.ndim
    return g.op("Transpose", g.x(a), perm=_perm_swap(a.ndim, d0, d1))


@converts(_sh.Squeeze)
def _squeeze(g, p):
    a = p["a"]
    dims = range(a.ndim) if p["dims"] is None else p["dims"]
    axes = [d for d in dims if a.shape[d] == 1 and g.shape_b(a)[d] == 1]
    if not axes:
        return g.op("Identity", g.x(a))
    return g.squeeze(g.x(a), axes)


@converts(_sh.Unsqueeze)
def _unsqueeze(g, p):
    return g.unsqueeze(g.x(p["a"]), [p["dim"]])


@converts(_sh.Slice, dynamic=("start", "stop"))
def _narrow(g, p):
    a, dim = p["a"], p["dim"]
    starts = g.sizes([p["start"]], [g.twin_param("start")], [a])
    ends = g.sizes([p["stop"]], [g.twin_param("stop")], [a])
    return g.op("Slice", g.x(a), starts, ends, g.ints([dim]), g.ints([p["step"]]))


@converts(_sh.Select, dynamic=("index",))
def _select(g, p):
    a, dim, index = p["a"], p["dim"], p["index"]
    twin = g.twin_param("index")
    if twin != index:
        if index - a.shape[dim] != twin - g.shape_b(a)[dim]:
            g.fail("the selected index depends on a dynamic size")
        index -= a.shape[dim]  # counted from the end, which holds for every size
    return g.op("Gather", g.x(a), g.const(np.asarray(index, _I64)), axis=dim)


@converts(_sh.Cat)
def _cat(g, p):
    dt = _dtype(g)
    arrays = [v for v in p["arrays"] if not (_ndim(v) == 1 and v.shape[0] == 0)]
    if len(arrays) == 1:
        return g.op("Identity", g.x(arrays[0], dt))
    dim = p["dim"] % _out(g).ndim
    return g.op("Concat", *[g.x(v, dt) for v in arrays], axis=dim)


@converts(_sh.Stack)
def _stack(g, p):
    dt = _dtype(g)
    dim = p["dim"] % _out(g).ndim
    parts = [g.unsqueeze(g.x(v, dt), [dim]) for v in p["arrays"]]
    return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=dim)


@converts(_sh.Flip)
def _flip(g, p):
    a = p["a"]
    dims = [d % a.ndim for d in p["dims"]]
    if not dims:
        return g.op("Identity", g.x(a))
    n = len(dims)
    return g.op("Slice", g.x(a), g.ints([-1] * n), g.ints([-_BIG] * n), g.ints(dims),
                g.ints([-1] * n))


@converts(_sh.Roll)
def _roll(g, p):
    a = p["a"]
    shifts, dims = p["shifts"], p["dims"]
    x = g.x(a)
    shape = a.shape
    if dims is None or (isinstance(dims, (tuple, list)) and not dims):
        flat = g.op("Reshape", x, g.ints([-1]))
        n = math.prod(shape)
        s = (shifts[0] if isinstance(shifts, (tuple, list)) else shifts) % max(n, 1)
        rolled = _roll_axis(g, flat, 0, s, n)
        return g.op("Reshape", rolled, g.ints(shape))
    shifts = shifts if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    for s, d in zip(shifts, dims):
        d %= a.ndim
        x = _roll_axis(g, x, d, s % max(shape[d], 1), shape[d])
    return x


def _roll_axis(g, x, axis, s, n):
    if s == 0:
        return x
    tail = g.op("Slice", x, g.ints([n - s]), g.ints([_BIG]), g.ints([axis]))
    head = g.op("Slice", x, g.ints([0]), g.ints([n - s]), g.ints([axis]))
    return g.op("Concat", tail, head, axis=axis)


@converts(_sh.Repeat)
def _repeat(g, p):
    a, reps = p["a"], list(p["repeats"])
    x = g.x(a)
    lead = len(reps) - a.ndim
    if lead > 0:
        x = g.unsqueeze(x, list(range(lead)))
    return g.op("Tile", x, g.ints(reps))


@converts(_sh.RepeatInterleave)
def _repeat_interleave(g, p):
    a, dim, repeats = p["a"], p["dim"], p["repeats"]
    x = g.x(a)
    if isinstance(repeats, Value):
        g.fail("repeat_interleave with repeats computed from the inputs is not supported")
    if dim is None:
        x = g.op("Reshape", x, g.ints([-1]))
        n, axis = math.prod(a.shape), 0
    else:
        axis = dim % a.ndim
        n = a.shape[axis]
        if g.shape_b(a)[axis] != n:
            g.fail("repeat_interleave along a dynamic axis is not supported")
    idx = np.repeat(np.arange(n), np.asarray(repeats).reshape(-1) if np.ndim(repeats) else
                    int(repeats))
    return g.op("Gather", x, g.const(idx.astype(_I64)), axis=axis)


@converts(_sh.Tril, _sh.Triu)
def _tril(g, p):
    a = p["a"]
    upper = g.call.kind is _sh.Triu
    if g.opset >= 14:
        return g.op("Trilu", g.x(a), g.const(np.asarray(p["diagonal"], _I64)), upper=int(upper))
    # opset 13 has no Trilu: keep where (column - row) <= k (tril) or >= k (triu)
    shape = g.op("Shape", g.x(a))
    one, zero = g.const(np.ones((), _I64)), g.const(np.zeros((), _I64))
    rows = g.op("Range", zero, g.op("Gather", shape, g.const(np.asarray(-2, _I64))), one)
    cols = g.op("Range", zero, g.op("Gather", shape, g.const(np.asarray(-1, _I64))), one)
    diff = g.op("Sub", g.unsqueeze(cols, [0]), g.unsqueeze(rows, [1]))
    k = g.const(np.asarray(p["diagonal"], _I64))
    keep = g.op("Not", g.op("Less", diff, k)) if upper else g.op("Not", g.op("Greater", diff, k))
    return g.op("Where", keep, g.x(a), g.const(np.zeros((), a.dtype)))


# --- indexing ------------------------------------------------------------------------------------


def _full_key(key, ndim):
    """A basic key with its Ellipsis (or the missing trailing dims) spelled out as ``:``."""
    key = tuple(key)
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        return key[:i] + (slice(None),) * (ndim - used) + key[i + 1:]
    return key + (slice(None),) * (ndim - used)


def _basic_index(g, x, a, key, twin=None):
    """``x[key]`` (``x`` the name of Value ``a``) for a NumPy basic key: ints, slices, None and
    one Ellipsis. ``twin`` is the key of the second trace: slice bounds that differ are computed
    from the dynamic sizes."""
    key = _full_key(key, a.ndim)
    twin = key if twin is None else _full_key(twin, a.ndim)
    if len(twin) != len(key):
        g.fail("the index changes with the dynamic axes")
    starts, ends, starts_b, ends_b, axes, steps, picks, news = [], [], [], [], [], [], [], []
    dim = out_dim = 0
    for k, kb in zip(key, twin):
        if k is None:
            news.append(out_dim)
            out_dim += 1
        elif isinstance(k, slice):
            if k != slice(None) and k != slice(None, None, 1):
                if k.step != kb.step:
                    g.fail("the slice step changes with the dynamic axes")
                starts.append(0 if k.start is None else k.start)
                starts_b.append(0 if kb.start is None else kb.start)
                ends.append(_BIG if k.stop is None else k.stop)
                ends_b.append(_BIG if kb.stop is None else kb.stop)
                axes.append(dim)
                steps.append(1 if k.step is None else k.step)
            dim += 1
            out_dim += 1
        else:
            i = int(k)
            if i != kb:
                if i - a.shape[dim] != kb - g.shape_b(a)[dim]:
                    g.fail("the selected index depends on a dynamic size")
                i -= a.shape[dim]  # counted from the end, which holds for every size
            picks.append((dim, i))
            dim += 1
    if axes:
        x = g.op("Slice", x, g.sizes(starts, starts_b, [a]), g.sizes(ends, ends_b, [a]),
                 g.ints(axes), g.ints(steps))
    for d, i in reversed(picks):
        x = g.op("Gather", x, g.const(np.asarray(i, _I64)), axis=d)
    if news:
        x = g.unsqueeze(x, news)
    if not axes and not picks and not news:
        x = g.op("Identity", x)
    return x


@converts(_idx.Slice, dynamic=("key",))
def _index_basic(g, p):
    return _basic_index(g, g.x(p["a"]), p["a"], p["key"], g.twin_param("key"))


def _index_shape(shape, key):
    """The shape after a basic key (for the advanced part that follows it)."""
    probe = np.empty(shape, dtype=np.uint8)
    return probe[key].shape


@converts(_idx.Index)
def _index_advanced(g, p):
    a = p["a"]
    basic, adv = p["key"]
    x, shape = g.x(a), a.shape
    if basic is not None:
        x = _basic_index(g, x, a, basic)
        shape = _index_shape(shape, basic)
    adv = adv if isinstance(adv, tuple) else (adv,)
    spots = [i for i, k in enumerate(adv) if k is Ellipsis]
    if spots:
        i = spots[0]
        adv = adv[:i] + (slice(None),) * (len(shape) - len(adv) + 1) + adv[i + 1:]
    arrays = [(i, k) for i, k in enumerate(adv) if not isinstance(k, slice)]
    full = all(k == slice(None) or k == slice(None, None, 1) for k in adv
               if isinstance(k, slice))
    if not full:
        g.fail("advanced indexing mixed with partial slices is not supported")
    if len(arrays) == 1:
        i, k = arrays[0]
        kdt = k.dtype
        if kdt == _BOOL:
            if _ndim(k) == 1:
                return g.op("Compress", x, g.x(k), axis=i)
            if i == 0 and _ndim(k) == len(shape):
                flat = g.op("Reshape", x, g.ints([-1]))
                return g.op("Compress", flat, g.op("Reshape", g.x(k), g.ints([-1])), axis=0)
            g.fail("a boolean mask over some of the dimensions is not supported")
        return g.op("Gather", x, g.x(k, _I64), axis=i)
    positions = [i for i, _ in arrays]
    if positions != list(range(len(arrays))) or any(k.dtype == _BOOL for _, k in arrays):
        g.fail("index arrays are only supported on the leading dimensions")
    names = [g.x(k, _I64) for _, k in arrays]
    if len({tuple(k.shape) for _, k in arrays}) > 1:
        # broadcast to one shape (gather's keys pair an arange with the index), in the graph so
        # that dynamic sizes follow: the shape of the sum of the arrays times zero
        zero = g.const(np.zeros((), _I64))
        total = g.op("Mul", names[0], zero)
        for name in names[1:]:
            total = g.op("Add", total, g.op("Mul", name, zero))
        shape = g.op("Shape", total)
        names = [g.op("Expand", name, shape) for name in names]
    idx = [g.unsqueeze(name, [-1]) for name in names]
    return g.op("GatherND", x, g.op("Concat", *idx, axis=-1))


@converts(_idx.IndexPut)
def _index_put(g, p):
    a, value = p["a"], p["value"]
    if g.is_dynamic(a) or any(isinstance(v, Value) for v in _leaves(p["key"])):
        g.fail("assignment through an index needs a static shape and a constant index")
    basic, adv = p["key"]
    positions = np.arange(math.prod(a.shape), dtype=_I64).reshape(a.shape)
    if basic is not None:
        positions = positions[basic]
    if adv is not None:
        positions = positions[adv]
    flat_pos = np.ascontiguousarray(positions).reshape(-1)
    dt = a.dtype
    region = g.op("Expand", g.x(value, dt), g.ints(positions.shape))
    updates = g.op("Reshape", region, g.ints([-1]))
    data = g.op("Reshape", g.x(a), g.ints([-1]))
    if p["accumulate"]:
        if g.opset < 16:
            g.fail("index_put with accumulate=True needs opset 16 or later")
        out = g.op("ScatterElements", data, g.const(flat_pos), updates, axis=0, reduction="add")
    else:
        out = g.op("ScatterElements", data, g.const(flat_pos), updates, axis=0)
    return g.op("Reshape", out, g.ints(a.shape))


@converts(_idx.MaskedFill)
def _masked_fill(g, p):
    dt = _dtype(g)
    return g.op("Where", g.x(p["mask"], _BOOL), g.x(p["value"], dt), g.x(p["a"], dt))


# --- copies and casts ----------------------------------------------------------------------------


@converts(_copy.Clone, _copy.ToDevice)
def _identity(g, p):
    return g.op("Identity", g.x(p["a"]))


@converts(_copy.Cast)
def _cast(g, p):
    return g.cast(g.x(p["a"]), _dtype(g))


@converts(_copy.Copy)
def _copy_(g, p):
    dst = p["dst"]
    return g.op("Expand", g.x(p["src"], dst.dtype), g.op("Shape", g.x(dst)))


@converts(_copy.Fill)
def _fill(g, p):
    a = p["a"]
    return g.op("Expand", g.x(p["value"], a.dtype), g.op("Shape", g.x(a)))


# --- linear algebra ------------------------------------------------------------------------------


def _transpose_last(g, name, ndim):
    return g.op("Transpose", name, perm=_perm_swap(ndim, ndim - 1, ndim - 2))


@converts(_la.Matmul)
def _matmul(g, p):
    a, b = p["a"], p["b"]
    x, y = g.x(a), g.x(b)
    if p["ta"] and a.ndim >= 2:
        x = _transpose_last(g, x, a.ndim)
    if p["tb"] and b.ndim >= 2:
        y = _transpose_last(g, y, b.ndim)
    return g.op("MatMul", x, y)


@converts(_la.Addmm)
def _addmm(g, p):
    dt = _dtype(g)
    return g.op("Gemm", g.x(p["a"], dt), g.x(p["b"], dt), g.x(p["c"], dt),
                alpha=float(p["alpha"]), beta=float(p["beta"]))


@converts(_la.Einsum, dynamic=("sizes",))
def _einsum(g, p):
    equation = ",".join(p["inputs"]) + "->" + p["output"]
    return g.op("Einsum", *[g.x(v) for v in p["arrays"]], equation=equation)


@converts(_linear.Linear)
def _linear_(g, p):
    x, w, b = p["x"], p["w"], p["b"]
    if x.ndim == 2:
        return g.op("Gemm", g.x(x), g.x(w), g.x(b), transB=1)
    y = g.op("MatMul", g.x(x), g.op("Transpose", g.x(w), perm=[1, 0]))
    return y if b is None else g.op("Add", y, g.x(b))


# --- convolution and pooling ---------------------------------------------------------------------


def _flat_pads(pads):
    return [lo for lo, _ in pads] + [hi for _, hi in pads]


@converts(_conv.Conv, dynamic=("out",))
def _conv_(g, p):
    w = p["w"]
    if p["out"] is not None:
        g.fail("a convolution with a fixed output size (a backward pass) is not supported")
    inputs = [g.x(p["x"]), g.x(w)] + ([g.x(p["b"])] if p["b"] is not None else [])
    return g.op("Conv", *inputs, kernel_shape=list(w.shape[2:]), strides=list(p["stride"]),
                pads=_flat_pads(p["pads"]), dilations=list(p["dilation"]), group=p["groups"])


@converts(_conv.ConvInput)
def _conv_transpose(g, p):
    x, w = p["g"], p["w"]
    stride, dilation, pads = p["stride"], p["dilation"], p["pads"]
    kernel = w.shape[2:]
    natural = [s * (n - 1) + d * (k - 1) + 1 - lo - hi for n, k, s, d, (lo, hi) in
               zip(x.shape[2:], kernel, stride, dilation, pads)]
    extra = [t - n for t, n in zip(p["in_spatial"], natural)]
    inputs = [g.x(x), g.x(w)] + ([g.x(p["b"])] if p["b"] is not None else [])
    return g.op("ConvTranspose", *inputs, kernel_shape=list(kernel), strides=list(stride),
                pads=_flat_pads(pads), dilations=list(dilation), group=p["groups"],
                output_padding=extra if any(extra) else None)


def _global(g, p, average: bool) -> bool:
    """Whether the pool's one window covers the whole spatial plane in both traces (a global
    pool, which holds for any size); other pools must not change with the dynamic axes."""
    x, twin = p["x"], g.call.twin
    spatial, spatial_b = tuple(x.shape[2:]), tuple(g.shape_b(x)[2:])
    whole = not any(_flat_pads(p["pads"])) and tuple(p["kernel"]) == spatial
    if average:
        div = host(p["div"])
        whole = whole and div.size == 1 and float(div) == math.prod(spatial)
    if twin is not None:
        tp = twin.params
        whole = whole and tuple(tp["kernel"]) == spatial_b and not any(_flat_pads(tp["pads"]))
        if not whole:
            for key in ("kernel", "stride", "pads", "div") if average else \
                    ("kernel", "stride", "pads"):
                if not _same(p[key], tp[key]):
                    g.fail(f"argument '{key}' of a pooling changes with the dynamic axes")
    return whole


@converts(_sp.MaxPool, dynamic=("out", "kernel", "stride", "pads"))
def _max_pool(g, p):
    x = p["x"]
    attrs = dict(kernel_shape=list(p["kernel"]), strides=list(p["stride"]),
                 pads=_flat_pads(p["pads"]), dilations=list(p["dilation"]))
    if not p["indices"]:
        if _global(g, p, False):
            return g.op("GlobalMaxPool", g.x(x))
        return g.op("MaxPool", g.x(x), **attrs)
    if g.is_dynamic(x):
        g.fail("max pooling with indices needs static sizes")
    values, flat = g.op("MaxPool", g.x(x), outputs=2, **attrs)
    plane = g.const(np.asarray(math.prod(x.shape[2:]), _I64))
    return values, g.op("Mod", flat, plane)  # ONNX counts over N*C*H*W; torch per plane


@converts(_sp.AvgPool, dynamic=("out", "kernel", "stride", "pads", "div"))
def _avg_pool(g, p):
    x, kernel = p["x"], list(p["kernel"])
    if _global(g, p, True):
        return g.op("GlobalAveragePool", g.x(x))
    pads = _flat_pads(p["pads"])
    div = host(p["div"])
    n = math.prod(kernel)
    y = g.op("AveragePool", g.x(x), kernel_shape=kernel, strides=list(p["stride"]), pads=pads,
             count_include_pad=1)
    if div.size == 1 and float(div) == n:
        return y
    return g.op("Mul", y, g.const((n / div.astype(np.float64)).astype(x.dtype)))


@converts(_sp.Resample)
def _resample(g, p):
    x = p["x"]
    name, ndim = g.x(x), x.ndim
    for i, (m, idx) in enumerate(p["mats"]):
        axis = 2 + i
        if m is None:
            continue
        if idx is not None:
            name = g.op("Gather", name, g.const(idx, _I64), axis=axis)
            continue
        m = host(m).astype(x.dtype)
        mat = g.const(m)
        if axis == ndim - 1:
            name = g.op("MatMul", name, g.const(m.T.copy()))
        elif axis == ndim - 2:
            name = g.op("MatMul", mat, name)
        else:
            perm = _perm_swap(ndim, axis, ndim - 2)
            moved = g.op("Transpose", name, perm=perm)
            name = g.op("Transpose", g.op("MatMul", mat, moved), perm=perm)
    return name


@converts(_sp.PixelShuffle)
def _pixel_shuffle(g, p):
    x, r = p["x"], p["r"]
    if x.ndim != 4:
        g.fail("pixel_shuffle of other than 4-D input is not supported")
    if not p["inverse"]:
        return g.op("DepthToSpace", g.x(x), blocksize=r, mode="CRD")
    _, c, h, w = x.shape
    y = g.op("Reshape", g.x(x), g.ints([0, c, h // r, r, w // r, r]))
    y = g.op("Transpose", y, perm=[0, 1, 3, 5, 2, 4])
    return g.op("Reshape", y, g.ints([0, c * r * r, h // r, w // r]))


@converts(_pad.ConstantPad)
def _constant_pad(g, p):
    x = p["x"]
    pads = p["pads"]
    lead = x.ndim - len(pads)
    los = [0] * lead + [lo for lo, _ in pads]
    his = [0] * lead + [hi for _, hi in pads]
    return g.op("Pad", g.x(x), g.ints(los + his), g.const(np.asarray(p["value"], x.dtype)),
                mode="constant")


@converts(_pad.IndexPad)
def _index_pad(g, p):
    x = p["x"]
    name = g.x(x)
    lead = x.ndim - len(p["maps"])
    for i, entry in enumerate(p["maps"]):
        if entry is not None:
            name = g.op("Gather", name, g.const(entry[0], _I64), axis=lead + i)
    return name


# --- nn: normalisation, embedding, dropout -------------------------------------------------------


def _normalize_decomposed(g, x, axes, eps, dt):
    mean = g.reduce("ReduceMean", x, axes, True)
    xc = g.op("Sub", x, mean)
    var = g.reduce("ReduceMean", g.op("Mul", xc, xc), axes, True)
    return g.op("Div", xc, g.op("Sqrt", g.op("Add", var, g.const(np.asarray(eps, dt)))))


@converts(_norm.BatchNorm)
def _batch_norm(g, p):
    x, dt = p["x"], _dtype(g)
    c = x.shape[1]
    scale = g.x(p["w"]) if p["w"] is not None else g.const(np.ones(c, dt))
    bias = g.x(p["b"]) if p["b"] is not None else g.const(np.zeros(c, dt))
    if not p["training"] and p["running_mean"] is not None:
        return g.op("BatchNormalization", g.x(x), scale, bias, g.x(p["running_mean"]),
                    g.x(p["running_var"]), epsilon=float(p["eps"]))
    # batch statistics (training mode, instance_norm, group_norm): written out
    axes = [0] + list(range(2, x.ndim))
    y = _normalize_decomposed(g, g.x(x), axes, p["eps"], dt)
    if p["w"] is None and p["b"] is None:
        return y
    shape = g.ints([c] + [1] * (x.ndim - 2))
    return g.op("Add", g.op("Mul", y, g.op("Reshape", scale, shape)),
                g.op("Reshape", bias, shape))


@converts(_norm.LayerNorm)
def _layer_norm(g, p):
    x, dt, k = p["x"], _dtype(g), p["normalized_ndim"]
    shape = x.shape[x.ndim - k:]
    if g.opset >= 17:
        scale = g.x(p["w"]) if p["w"] is not None else g.const(np.ones(shape, dt))
        bias = g.x(p["b"]) if p["b"] is not None else ""
        return g.op("LayerNormalization", g.x(x), scale, bias, axis=-k,
                    epsilon=float(p["eps"]))
    y = _normalize_decomposed(g, g.x(x), list(range(x.ndim - k, x.ndim)), p["eps"], dt)
    if p["w"] is not None:
        y = g.op("Mul", y, g.x(p["w"]))
    if p["b"] is not None:
        y = g.op("Add", y, g.x(p["b"]))
    return y


@converts(_sparse.Embedding)
def _embedding(g, p):
    return g.op("Gather", g.x(p["weight"]), g.x(p["indices"], _I64), axis=0)


@converts(_drop.Dropout)
def _dropout(g, p):
    g.fail("dropout in training mode draws a random mask, which cannot be exported; call "
           "model.eval() (or export with the default training=TrainingMode.EVAL)")


# --- recurrent layers ----------------------------------------------------------------------------

# Row order of each gate block: torch stacks LSTM gates i, f, g, o and ONNX i, o, f, c; torch's GRU
# r, z, n and ONNX's z, r, h.
_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}


@converts(_rnn.RNNLayer)
def _rnn_layer(g, p):
    mode, x = p["mode"], p["x"]
    if p["batch_sizes"] is not None:
        g.fail("packed sequences (PackedSequence) cannot be exported; pass padded batches")
    if p["w_hr"] is not None:
        g.fail("LSTM projections (proj_size > 0) have no ONNX equivalent")
    hidden = p["w_hh"].shape[1]
    order = _GATE_ORDER[mode]
    perm = g.const(np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in order]))

    def gates(v):  # torch's gate rows reordered for ONNX, with a leading direction axis
        return g.unsqueeze(g.op("Gather", g.x(v), perm, axis=0), [0])

    seq = g.x(x)
    if p["batch_first"]:
        seq = g.op("Transpose", seq, perm=[1, 0, 2])
    inputs = [seq, gates(p["w_ih"]), gates(p["w_hh"])]
    if p["b_ih"] is not None:
        bias = g.op("Concat", g.op("Gather", g.x(p["b_ih"]), perm, axis=0),
                    g.op("Gather", g.x(p["b_hh"]), perm, axis=0), axis=0)
        inputs.append(g.unsqueeze(bias, [0]))
    else:
        inputs.append("")
    inputs.append("")  # sequence_lens: every sequence is whole

    def state(v):
        if v is None:
            return ""
        if p["index"] is None:
            return g.unsqueeze(g.x(v), [0])
        k = p["index"]
        return g.op("Slice", g.x(v), g.ints([k]), g.ints([k + 1]), g.ints([0]))

    inputs.append(state(p["hx"]))
    attrs = dict(hidden_size=hidden, direction="reverse" if p["reverse"] else "forward")
    if mode == "LSTM":
        inputs.append(state(p["cx"]))
        y, h, c = g.op("LSTM", *inputs, outputs=3, **attrs)
    elif mode == "GRU":
        y, h = g.op("GRU", *inputs, outputs=2, linear_before_reset=1, **attrs)
        c = None
    else:
        act = "Relu" if mode == "RNN_RELU" else "Tanh"
        y, h = g.op("RNN", *inputs, outputs=2, activations=[act], **attrs)
        c = None
    y = g.squeeze(y, [1])  # (T, directions=1, B, H) -> (T, B, H)
    if p["batch_first"]:
        y = g.op("Transpose", y, perm=[1, 0, 2])
    if p["index"] is None:
        h = g.squeeze(h, [0])
        c = g.squeeze(c, [0]) if c is not None else None
    return y, h, c
