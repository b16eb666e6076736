"""ember's dtypes, the default dtype, and PyTorch's type-promotion rules.

A dtype is an object (``ember.float32``) wrapping the NumPy dtype that stores it. Promotion
follows PyTorch, not NumPy: categories bool < integer < floating < complex; dimensioned tensors
outrank zero-dim tensors, which outrank Python scalars, and a lower tier only matters when it
brings a higher category (``int_tensor * 2.5`` is the default float dtype,
``float64_tensor * float32_scalar_tensor`` stays float64).
"""

from __future__ import annotations

import builtins

import numpy as np

try:  # bfloat16 comes from ml_dtypes, an optional dependency
    import ml_dtypes as _ml_dtypes
except ImportError:  # pragma: no cover - exercised only without ml_dtypes
    _ml_dtypes = None

__all__ = [
    "dtype", "float32", "float", "float64", "double", "float16", "half", "bfloat16",
    "int8", "int16", "short", "int32", "int", "int64", "long", "uint8", "bool",
    "complex64", "cfloat", "complex128", "cdouble",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type", "can_cast",
    "finfo", "iinfo",
]

# Category ranks used by promotion.
_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3


class dtype:
    """A tensor element type, e.g. ``ember.float32``; compares with ``==``."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed", "_cat")

    def __init__(self, name: str, np_dtype, cat: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self._cat = cat
        self.is_floating_point = cat == _FLOAT
        self.is_complex = cat == _COMPLEX
        self.is_signed = name not in ("uint8", "bool")

    def __repr__(self) -> str:
        return f"ember.{self.name}"

    def __reduce__(self):  # dtypes are singletons: pickle by name
        return (_dtype_by_name, (self.name,))

    def to_real(self) -> dtype:
        return {"complex64": float32, "complex128": float64}.get(self.name, self)

    def to_complex(self) -> dtype:
        return {"float64": complex128, "complex128": complex128}.get(self.name, complex64)


float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)
float16 = dtype("float16", np.float16, _FLOAT)
bfloat16 = dtype("bfloat16", _ml_dtypes.bfloat16, _FLOAT) if _ml_dtypes else None
# The NumPy dtype of bfloat16 for comparisons. Without ml_dtypes it is a structured dtype that
# equals no numeric one; None would not do, since ``np.dtype(np.float64) == None`` is True.
np_bfloat16 = bfloat16.np if bfloat16 is not None else np.dtype([("no_bfloat16", np.uint8)])
int8 = dtype("int8", np.int8, _INT)
int16 = dtype("int16", np.int16, _INT)
int32 = dtype("int32", np.int32, _INT)
int64 = dtype("int64", np.int64, _INT)
uint8 = dtype("uint8", np.uint8, _INT)
bool = dtype("bool", np.bool_, _BOOL)  # noqa: A001 - torch.bool
complex64 = dtype("complex64", np.complex64, _COMPLEX)
complex128 = dtype("complex128", np.complex128, _COMPLEX)

# PyTorch's aliases.
float = float32  # noqa: A001
double = float64
half = float16
short = int16
int = int32  # noqa: A001
long = int64
cfloat = complex64
cdouble = complex128

_ALL = [float32, float64, float16, int8, int16, int32, int64, uint8, bool, complex64, complex128]
if bfloat16 is not None:
    _ALL.append(bfloat16)
_BY_NAME = {d.name: d for d in _ALL}
_FROM_NP = {d.np: d for d in _ALL}


def _dtype_by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The ember dtype stored as ``np_dtype``; TypeError for types ember has no dtype for."""
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. The only supported types are: "
            "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, "
            "and bool."
        ) from None


def to_dtype(d) -> dtype:
    """Normalise what users pass as ``dtype=``: an ember dtype, a NumPy dtype or Python's types."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return float64
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    if d is builtins.complex:
        return complex128
    return from_numpy_dtype(d)


# --- the default dtype ---------------------------------------------------------------------------

_default = [float32]


def get_default_dtype() -> dtype:
    return _default[0]


def set_default_dtype(d) -> None:
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def default_complex_dtype() -> dtype:
    return complex128 if _default[0] is float64 else complex64


# --- promotion -----------------------------------------------------------------------------------

_PROMO_CACHE: dict = {}


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` can be cast to, by PyTorch's table."""
    if a is b:
        return a
    key = (a, b)
    r = _PROMO_CACHE.get(key)
    if r is None:
        r = _PROMO_CACHE[key] = _promote(a, b)
    return r


def _promote(a: dtype, b: dtype) -> dtype:
    if a._cat != b._cat:
        hi, lo = (a, b) if a._cat > b._cat else (b, a)
        if hi.is_complex and lo is float64:
            return complex128
        return hi
    if a.is_complex:
        return complex128 if complex128 in (a, b) else complex64
    if a.is_floating_point:
        if {a.name, b.name} == {"float16", "bfloat16"}:
            return float32
        return a if a.itemsize >= b.itemsize else b
    # integers: uint8 mixes with signed types by widening
    if uint8 in (a, b):
        other = b if a is uint8 else a
        return int16 if other is int8 else other
    return a if a.itemsize >= b.itemsize else b


def _scalar_dtype(v) -> dtype:
    """The dtype a Python number takes part in promotion with (floats: the default dtype)."""
    if isinstance(v, builtins.bool):
        return bool
    if isinstance(v, builtins.int):
        return int64
    if isinstance(v, builtins.float):
        return _default[0]
    if isinstance(v, builtins.complex):
        return default_complex_dtype()
    raise TypeError(f"unsupported operand type {type(v).__name__}")


def _complex_of(d: dtype) -> dtype:
    # torch gives float16 complex32, which ember does not have: complex64 is the nearest.
    return complex128 if d is float64 else complex64


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    """torch's ``combine_categories``: ``higher`` is the stronger tier's dtype (dimensioned over
    zero-dim over Python scalars); the weaker tier only counts when it brings a higher category.
    """
    if higher is None:
        return lower
    if lower is None:
        return higher
    hc, lc = higher._cat, lower._cat
    if hc == _COMPLEX:
        return higher
    if lc == _COMPLEX:
        return _complex_of(higher) if hc == _FLOAT else lower
    if hc == _FLOAT:
        return higher
    if higher is bool or lc == _FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """PyTorch's result dtype for an op over tensors and Python scalars (``torch.result_type``)."""
    dim_t = zero_t = scalar_t = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if d is not None:
            if not isinstance(d, dtype):
                d = _FROM_NP[d]  # a NumPy/CuPy array
            if x.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        elif x is not None:
            d = _scalar_dtype(x)
            scalar_t = d if scalar_t is None else promote_types(scalar_t, d)
    return _combine(dim_t, _combine(zero_t, scalar_t))


def can_cast(from_: dtype, to: dtype) -> builtins.bool:
    """Whether an op may write a ``from_`` result into a ``to`` tensor (same-kind casting)."""
    return from_._cat <= to._cat


# --- finfo / iinfo -------------------------------------------------------------------------------


class finfo:
    """Machine limits of a floating dtype: bits, eps, max, min, tiny, smallest_normal, resolution.
    """

    def __init__(self, type: dtype | None = None):  # noqa: A002 - torch's argument name
        d = get_default_dtype() if type is None else to_dtype(type)
        if not (d.is_floating_point or d.is_complex):
            raise TypeError("torch.finfo() requires a floating point input type.")
        info = _ml_dtypes.finfo(d.np) if d is bfloat16 else np.finfo(d.to_real().np)
        self.dtype = d.to_real().name
        self.bits = info.bits
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.smallest_normal)
        self.resolution = 10.0 ** -builtins.int(info.precision)  # exact, as torch gives it

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Machine limits of an integer dtype: bits, max, min."""

    def __init__(self, type: dtype):  # noqa: A002
        d = to_dtype(type)
        if d._cat not in (_INT, _BOOL) or d is bool:
            raise TypeError("torch.iinfo() requires an integer input type.")
        info = np.iinfo(d.np)
        self.dtype, self.bits = d.name, info.bits
        self.max, self.min = builtins.int(info.max), builtins.int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
