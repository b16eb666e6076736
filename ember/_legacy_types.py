"""PyTorch's legacy tensor types (``ember.FloatTensor``, ``ember.LongTensor``...).

``x.type(ember.FloatTensor)`` casts, ``ember.FloatTensor([1, 2])`` constructs, and
``isinstance(x, ember.FloatTensor)`` checks the dtype (and that the tensor is on the CPU).
"""

from __future__ import annotations

from ember import _tensor
from ember import dtypes as _dt

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
           "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]

_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
          "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
          "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


# the C++ type names torch prints in some errors ("expected dtype float ... but got long int")
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
            "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
            "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def c_type_name(dtype) -> str:
    """torch's C++ type name (``float``, ``long int``) of an ember or NumPy dtype, for errors."""
    d = dtype if isinstance(dtype, _dt.dtype) else _dt.from_numpy_dtype(dtype)
    return _C_NAMES[d.name]


def scalar_type_name(dtype) -> str:
    """PyTorch's scalar type name (``Float``, ``Long``) of an ember or NumPy dtype, for errors."""
    d = dtype if isinstance(dtype, _dt.dtype) else _dt.from_numpy_dtype(dtype)
    return _NAMES[d.name]


class _LegacyMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, _tensor.Tensor) and obj.dtype is cls.dtype and obj.is_cpu

    def __repr__(cls):
        return f"<class 'ember.{cls.__name__}'>"


class _LegacyTensor(metaclass=_LegacyMeta):
    dtype: _dt.dtype

    def __new__(cls, *args, device=None):
        from ember.ops.creation import empty, tensor

        if len(args) == 1 and not isinstance(args[0], int):
            return tensor(args[0], dtype=cls.dtype, device=device)
        return empty(*args, dtype=cls.dtype, device=device)


def _legacy(name, d):
    return _LegacyMeta(name, (_LegacyTensor,), {"dtype": d, "__module__": "ember"})


FloatTensor = _legacy("FloatTensor", _dt.float32)
DoubleTensor = _legacy("DoubleTensor", _dt.float64)
HalfTensor = _legacy("HalfTensor", _dt.float16)
BFloat16Tensor = _legacy("BFloat16Tensor", _dt.bfloat16)
ByteTensor = _legacy("ByteTensor", _dt.uint8)
CharTensor = _legacy("CharTensor", _dt.int8)
ShortTensor = _legacy("ShortTensor", _dt.int16)
IntTensor = _legacy("IntTensor", _dt.int32)
LongTensor = _legacy("LongTensor", _dt.int64)
BoolTensor = _legacy("BoolTensor", _dt.bool)

_BY_NAME = {f"{p}.{c.__name__}": c for c in (FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor,
                                            ByteTensor, CharTensor, ShortTensor, IntTensor,
                                            LongTensor, BoolTensor)
            for p in ("torch", "ember")}


def type_name(dtype: _dt.dtype, device) -> str:
    """``'ember.FloatTensor'`` (``'ember.cuda.FloatTensor'`` on a GPU)."""
    prefix = "ember.cuda." if device.type == "cuda" else "ember."
    return f"{prefix}{_NAMES[dtype.name]}Tensor"


def tensor_type_for(name: str):
    try:
        return _BY_NAME[name.replace(".cuda", "")]
    except KeyError:
        raise ValueError(f"invalid type: '{name}'") from None
