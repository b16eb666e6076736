"""Saving and loading: ``ember.save`` / ``ember.load`` in PyTorch's own checkpoint format.

A checkpoint is a zip archive (stored, not compressed) holding ``<name>/data.pkl``, a protocol-2
pickle of the object in which every tensor is ``torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, requires_grad, hooks)`` and every storage a persistent id
``('storage', torch.FloatStorage, key, location, numel)``, plus one record ``<name>/data/<key>``
per storage, aligned to 64 bytes. The pickle names ``torch.*`` globals, written as strings (ember
never imports torch), so real ``torch.load(path, weights_only=True)`` reads what ember saved, and
``ember.load`` maps those names back to ember's tensors, dtypes, ``Size`` and ``device``.

``ember.load`` is safe by default (``weights_only=True``): the pickle is read by the allow-list
unpickler in ``ember/_weights_unpickler.py``, which never runs code from the file, and every
argument of the tensor rebuild functions below is checked before an array is made. Tensors that
share memory (views of one base) share one storage record, and still share memory after loading.
Writes to a path are atomic: a temporary file in the same folder, fsync, rename.
"""

from __future__ import annotations

import _compat_pickle
import contextlib
import functools
import importlib
import io
import math
import mmap as _mmap
import os
import pickle
import re
import secrets
import struct
import sys
import warnings
import zipfile
import zlib
from collections import Counter, OrderedDict
from typing import Any

import numpy as np

from ember import _weights_unpickler
from ember import dtypes as _dt
from ember._fileio import atomic_open
from ember._size import Size
from ember._tensor import Tensor
from ember._weights_unpickler import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from ember.backend import (
    CPU,
    array_module,
    canonical_device,
    cuda_available,
    cuda_device_count,
    device,
    to_device,
)

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals", "get_unsafe_globals_in_checkpoint", "DEFAULT_PROTOCOL"]

DEFAULT_PROTOCOL = 2
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # the legacy (pre-1.6, non-zip) format's first pickle
PROTOCOL_VERSION = 1001
_STORAGE_ALIGNMENT = 64
_CHUNK = 64 << 20  # bytes written or read per call, so memory stays flat on large storages
# Deflate cannot expand data more than ~1032 times: a record claiming more is a zip bomb.
_MAX_DEFLATE_RATIO = 1032
_INTP_MAX = int(np.iinfo(np.intp).max)  # the largest size or stride an array can have

# dtype name -> torch's legacy storage class, the storage type torch 2.x still writes.
_STORAGE_NAMES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage", "int8": "CharStorage", "int16": "ShortStorage",
    "int32": "IntStorage", "int64": "LongStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
    "complex64": "ComplexFloatStorage", "complex128": "ComplexDoubleStorage",
}
# torch dtypes and storage classes ember has no dtype for: named in an error, never loaded.
_TORCH_ONLY_DTYPES = (
    "uint16", "uint32", "uint64", "complex32", "float8_e4m3fn", "float8_e5m2",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8",
    "qint32", "quint4x2", "quint2x4", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
    "int1", "int2", "int3", "int4", "int5", "int6", "int7",
    "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
)
_TORCH_ONLY_STORAGES = {"ComplexHalfStorage": "complex32", "QInt8Storage": "qint8",
                        "QUInt8Storage": "quint8", "QInt32Storage": "qint32",
                        "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4"}


# --- what a checkpoint's pickle names ----------------------------------------------------------


class _TorchName:
    """A ``torch.*`` global, written into the pickle by name (ember never imports torch)."""

    __slots__ = ("module", "name")

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle's save_reduce insists on a callable
        raise TypeError(f"{self.module}.{self.name} is only a name written into a checkpoint")


_REBUILD_TENSOR_V2 = _TorchName("torch._utils", "_rebuild_tensor_v2")
_REBUILD_PARAMETER = _TorchName("torch._utils", "_rebuild_parameter")
_REBUILD_PARAMETER_WITH_STATE = _TorchName("torch._utils", "_rebuild_parameter_with_state")
_REBUILD_FROM_TYPE_V2 = _TorchName("torch._tensor", "_rebuild_from_type_v2")
_TORCH_TENSOR = _TorchName("torch", "Tensor")
_TORCH_SIZE = _TorchName("torch", "Size")
_TORCH_DEVICE = _TorchName("torch", "device")
_TORCH_STORAGES = {name: _TorchName("torch", s) for name, s in _STORAGE_NAMES.items()}


class _StorageType:
    """``torch.FloatStorage`` and friends as ``ember.load`` sees them: the dtype of a storage."""

    __slots__ = ("name", "_dtype", "_missing")

    def __init__(self, name: str, dtype: _dt.dtype | None, missing: str = ""):
        self.name, self._dtype, self._missing = name, dtype, missing

    @property
    def dtype(self) -> _dt.dtype:
        if self._dtype is None:
            raise RuntimeError(f"ember.load: the checkpoint has a torch.{self.name} "
                               f"({self._missing}); ember has no such dtype")
        return self._dtype

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class _NoDtype:
    """A torch dtype ember does not have (``torch.uint16``...): an error where it is used."""

    __slots__ = ("name", "reason")

    def __init__(self, name: str, reason: str = "ember has no such dtype"):
        self.name, self.reason = name, reason

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class _Refuse:
    """A torch rebuild function for a tensor kind ember does not have; calling it explains."""

    __slots__ = ("name", "what")

    def __init__(self, name: str, what: str):
        self.name, self.what = name, what

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"ember.load cannot read {self.what} (torch._utils.{self.name}): ember "
                           "has only dense tensors on the CPU and CUDA devices")

    def __repr__(self) -> str:
        return f"<torch._utils.{self.name} (not supported by ember)>"


# --- storages and tensors while loading ----------------------------------------------------------


class _Storage:
    """The bytes of one saved storage on a device: what a ``map_location`` callable receives
    (``storage.cuda(1)``, ``storage.cpu()``, ``storage.to(device)``) and may return.
    """

    __slots__ = ("_raw", "device")

    def __init__(self, raw, dev: device):
        self._raw, self.device = raw, dev

    def nbytes(self) -> int:
        return self._raw.nbytes

    size = nbytes

    def __len__(self) -> int:
        return self._raw.nbytes

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def to(self, device=None, non_blocking: bool = False) -> _Storage:
        dev = canonical_device(device)
        if dev == self.device:
            return self
        return _Storage(to_device(self._raw, dev), dev)

    def cpu(self) -> _Storage:
        return self.to(CPU)

    def cuda(self, device=None, non_blocking: bool = False) -> _Storage:
        if device is None or isinstance(device, int):
            return self.to(f"cuda:{device or 0}")
        return self.to(device)

    def _fill(self, data: np.ndarray) -> None:
        """Copy file bytes into this storage (legacy files: the data follows the pickle)."""
        if self.device.type == "cpu":
            self._raw[...] = data
        else:
            self._raw[...] = to_device(data, self.device)

    def __repr__(self) -> str:
        return f"<ember storage of {self._raw.nbytes} bytes on {self.device}>"


class _TypedStorage:
    """A storage seen as elements of ``dtype``: what the rebuild functions receive."""

    __slots__ = ("raw", "device", "dtype", "numel")

    def __init__(self, raw, dev: device, dtype: _dt.dtype):
        if raw.nbytes % dtype.itemsize:
            raise RuntimeError(f"ember.load: a storage of {raw.nbytes} bytes cannot hold "
                               f"{dtype} elements of {dtype.itemsize} bytes")
        self.raw, self.device, self.dtype = raw, dev, dtype
        self.numel = raw.nbytes // dtype.itemsize


def _check_ints(value, what: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) > 64:
        raise RuntimeError(f"ember.load: invalid tensor in checkpoint: {what} must be a tuple of "
                           f"at most 64 ints, got {value!r}")
    for v in value:
        if type(v) is not int or not 0 <= v <= _INTP_MAX:
            raise RuntimeError(f"ember.load: invalid tensor in checkpoint: {what} must hold "
                               f"non-negative ints, got {list(value)!r}")
    return tuple(value)


def _overlapping(size: tuple, stride: tuple) -> bool:
    """Whether two indices of a (size, stride) view reach the same element."""
    extent = 1
    for n, s in sorted((p for p in zip(size, stride) if p[0] > 1), key=lambda p: p[1]):
        if s < extent:
            return True
        extent += (n - 1) * s
    return False


def _rebuild_tensor(storage, storage_offset, size, stride) -> Tensor:
    """A tensor viewing ``storage`` (checked: types, signs and bounds before any array exists)."""
    if type(storage) is not _TypedStorage:
        raise RuntimeError(f"ember.load: invalid tensor in checkpoint: expected a storage, got "
                           f"{type(storage).__name__}")
    if type(storage_offset) is not int or storage_offset < 0:
        raise RuntimeError(f"ember.load: invalid tensor in checkpoint: storage offset must be a "
                           f"non-negative int, got {storage_offset!r}")
    size = _check_ints(size, "size")
    stride = _check_ints(stride, "stride")
    if len(size) != len(stride):
        raise RuntimeError(f"ember.load: invalid tensor in checkpoint: size {list(size)} and "
                           f"stride {list(stride)} differ in length")
    dt, item = storage.dtype, storage.dtype.itemsize
    numel = math.prod(size)
    xp = array_module(storage.device)
    if numel == 0:
        return Tensor._make(xp.empty(size, dt.np), storage.device)
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= storage.numel:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {storage_offset}, and itemsize {item} requiring a storage "
                           f"size of {(last + 1) * item} are out of bounds for storage of size "
                           f"{storage.numel * item}")
    if numel > _INTP_MAX // item:
        raise RuntimeError(f"ember.load: invalid tensor in checkpoint: {numel} elements is too "
                           "many")
    byte_strides = tuple(s * item for s in stride)
    if xp is np:
        arr = np.ndarray(size, dt.np, buffer=storage.raw, offset=storage_offset * item,
                         strides=byte_strides)
        if _overlapping(size, stride):  # as an expanded tensor: readable, not writable
            arr.flags.writeable = False
    else:
        arr = xp.ndarray(size, dt.np, memptr=storage.raw.data + storage_offset * item,
                         strides=byte_strides)
    return Tensor._make(arr, storage.device)


def _check_flag(value, what: str) -> bool:
    if type(value) is not bool:
        raise RuntimeError(f"ember.load: invalid tensor in checkpoint: {what} must be a bool, got "
                           f"{value!r}")
    return value


def _finish_tensor(t: Tensor, requires_grad, backward_hooks, metadata) -> Tensor:
    # Hooks are not restored (torch has stopped saving them); they must still be a dict.
    if not isinstance(backward_hooks, dict):
        raise RuntimeError("ember.load: invalid tensor in checkpoint: backward hooks must be a "
                           "dict")
    if metadata:
        if not isinstance(metadata, dict) or not set(metadata) <= {"conj", "neg"}:
            raise RuntimeError(f"ember.load: unsupported tensor metadata {metadata!r}")
        # torch's lazy conjugate/negative bits: ember materializes the value they stand for.
        if metadata.get("conj"):
            t = Tensor._make(array_module(t.device).conj(t._data), t.device)
        if metadata.get("neg"):
            t = Tensor._make(-t._data, t.device)
    if _check_flag(requires_grad, "requires_grad"):
        t.requires_grad = True
    return t


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None) -> Tensor:
    """``torch._utils._rebuild_tensor_v2``: how every saved tensor comes back."""
    t = _rebuild_tensor(storage, storage_offset, size, stride)
    return _finish_tensor(t, requires_grad, backward_hooks, metadata)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None) -> Tensor:
    """``torch._utils._rebuild_tensor_v3``: an untyped storage read as ``dtype``."""
    if isinstance(dtype, _NoDtype):
        raise RuntimeError(f"ember.load: the checkpoint has a tensor of dtype torch.{dtype.name}; "
                           f"{dtype.reason}")
    if type(storage) is not _TypedStorage or not isinstance(dtype, _dt.dtype):
        raise RuntimeError("ember.load: invalid tensor in checkpoint: _rebuild_tensor_v3 needs a "
                           "storage and a dtype")
    storage = _TypedStorage(storage.raw, storage.device, dtype)
    t = _rebuild_tensor(storage, storage_offset, size, stride)
    return _finish_tensor(t, requires_grad, backward_hooks, metadata)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    """``torch._utils._rebuild_parameter``: a Parameter around a rebuilt tensor."""
    from ember.nn.parameter import Parameter

    if type(data) is not Tensor:
        raise RuntimeError(f"ember.load: invalid Parameter in checkpoint: data must be a Tensor, "
                           f"got {type(data).__name__}")
    _finish_tensor(data, False, backward_hooks, None)
    return Parameter(data, _check_flag(requires_grad, "requires_grad"))


def _set_state(obj, state, safe: bool):
    """Python attributes saved with a tensor (``torch._utils._set_obj_state``)."""
    slots = None
    if isinstance(state, tuple):
        if len(state) != 2:
            raise RuntimeError(f"Invalid serialized state: {state!r}")
        state, slots = state
    for part in (state, slots):
        if not part:
            continue
        if not isinstance(part, dict):
            raise RuntimeError(f"Invalid serialized state: {part!r}")
        for k, v in part.items():
            if safe:
                # Only new attributes: nothing that overrides ember's own (``_base``, ``grad``,
                # ``data``, methods), which could change what later operations do.
                if type(k) is not str or hasattr(type(obj), k):
                    raise pickle.UnpicklingError(f"a saved tensor attribute may not be named "
                                                 f"{k!r}")
                obj.__dict__[k] = v
            else:
                setattr(obj, k, v)
    return obj


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """``torch._utils._rebuild_parameter_with_state`` (trusted files: any attribute)."""
    return _set_state(_rebuild_parameter(data, requires_grad, backward_hooks), state, False)


def _safe_rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    """``_rebuild_parameter_with_state`` for ``weights_only``: new attributes only."""
    return _set_state(_rebuild_parameter(data, requires_grad, backward_hooks), state, True)


_SAFE_REBUILDERS = (_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter,
                    _safe_rebuild_parameter_with_state)
_REBUILDERS = _SAFE_REBUILDERS + (_rebuild_parameter_with_state,)


def _as_type(t: Tensor, new_type) -> Tensor:
    from ember.nn.parameter import Parameter

    if type(t) is new_type:
        return t
    if not (isinstance(new_type, type) and issubclass(new_type, Tensor)):
        raise RuntimeError(f"ember.load: {new_type!r} is not a Tensor class")
    if issubclass(new_type, Parameter):
        return new_type(t, t.requires_grad)
    out = object.__new__(new_type)
    out._init(t._data, t._device, t._requires_grad)
    return out


def _rebuild_from_type_v2(func, new_type, args, state):
    """``torch._tensor._rebuild_from_type_v2``: a tensor with Python attributes or a subclass."""
    if not any(func is f for f in _REBUILDERS) or type(args) is not tuple:
        raise RuntimeError(f"ember.load: invalid tensor in checkpoint: {func!r} is not a tensor "
                           "rebuild function")
    t = _as_type(func(*args), new_type)
    setstate = getattr(type(t), "__setstate__", None)
    if setstate is not None and setstate is not getattr(object, "__setstate__", None):
        t.__setstate__(state)
        return t
    return _set_state(t, state, False)


def _safe_rebuild_from_type_v2(func, new_type, args, state):
    """``_rebuild_from_type_v2`` for ``weights_only``: only ember's rebuilders, new attributes."""
    if not any(func is f for f in _SAFE_REBUILDERS) or type(args) is not tuple:
        raise pickle.UnpicklingError(f"_rebuild_from_type_v2 may only call a tensor rebuild "
                                     f"function, got {func!r}")
    t = _as_type(func(*args), new_type)
    setstate = getattr(type(t), "__setstate__", None)
    if setstate is not None and setstate is not getattr(object, "__setstate__", None):
        t.__setstate__(state)  # a class the user allow-listed
        return t
    return _set_state(t, state, True)


def _get_layout(name):
    """``torch.serialization._get_layout``: ember has only the strided layout."""
    if name != "torch.strided":
        raise RuntimeError(f"ember.load: the checkpoint uses layout {name!r}; ember has only "
                           "torch.strided tensors")
    return "torch.strided"


# Checked versions of the builtins protocol-2 pickles call for bytes, sets and complex numbers:
# ``bytearray(10**12)`` or an arbitrary codec are not data.
def _encode(obj, encoding="latin1"):
    if type(obj) is not str or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is only allowed on a str with 'latin1'")
    return obj.encode("latin1")


def _bytearray(data=b"", encoding=None):
    if type(data) is bytes and encoding is None:
        return bytearray(data)
    if type(data) is str and encoding in ("latin1", "latin-1"):
        return bytearray(data, "latin-1")
    raise pickle.UnpicklingError("bytearray() is only allowed on bytes or a latin-1 str")


def _set(items=()):
    if type(items) not in (list, tuple, set, frozenset):
        raise pickle.UnpicklingError("set() is only allowed on a list or tuple")
    return set(items)


def _frozenset(items=()):
    if type(items) not in (list, tuple, set, frozenset):
        raise pickle.UnpicklingError("frozenset() is only allowed on a list or tuple")
    return frozenset(items)


def _complex(real=0.0, imag=0.0):
    if type(real) not in (int, float) or type(imag) not in (int, float):
        raise pickle.UnpicklingError("complex() is only allowed on two numbers")
    return complex(real, imag)


@functools.lru_cache(maxsize=2)
def _globals_table(safe: bool) -> tuple[dict[str, Any], tuple]:
    """``{"torch.name": ember object}`` for what a checkpoint names, and which may be called."""
    from ember.nn.parameter import Parameter

    callables: list = [OrderedDict, Counter, Size, device, Parameter, _rebuild_tensor,
                       _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter, _get_layout]
    table: dict[str, Any] = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "torch.Size": Size,
        "torch.device": device,
        "torch.Tensor": Tensor,  # named by _rebuild_from_type_v2, never called
        "torch.nn.parameter.Parameter": Parameter,
        "torch.serialization._get_layout": _get_layout,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": (
            _safe_rebuild_parameter_with_state if safe else _rebuild_parameter_with_state),
        "torch._tensor._rebuild_from_type_v2": (
            _safe_rebuild_from_type_v2 if safe else _rebuild_from_type_v2),
    }
    callables += [table["torch._utils._rebuild_parameter_with_state"],
                  table["torch._tensor._rebuild_from_type_v2"]]
    for name, what in (("_rebuild_qtensor", "quantized tensors"),
                       ("_rebuild_sparse_tensor", "sparse tensors"),
                       ("_rebuild_nested_tensor", "nested tensors"),
                       ("_rebuild_meta_tensor_no_storage", "meta tensors"),
                       ("_rebuild_wrapper_subclass", "tensor wrapper subclasses"),
                       ("_rebuild_device_tensor_from_numpy", "tensors of a device without storage"),
                       ("_rebuild_device_tensor_from_cpu_tensor",
                        "tensors of a device without storage"),
                       ("_rebuild_xla_tensor", "XLA tensors")):
        table[f"torch._utils.{name}"] = _Refuse(name, what)
        callables.append(table[f"torch._utils.{name}"])
    if safe:
        table.update({"_codecs.encode": _encode, "builtins.bytearray": _bytearray,
                      "builtins.set": _set, "builtins.frozenset": _frozenset,
                      "builtins.complex": _complex})
        callables += [_encode, _bytearray, _set, _frozenset, _complex]
    for d in _dt._ALL:
        table[f"torch.{d.name}"] = d
        table[f"torch.{_STORAGE_NAMES[d.name]}"] = _StorageType(_STORAGE_NAMES[d.name], d)
    if _dt.bfloat16 is None:
        table["torch.bfloat16"] = _NoDtype("bfloat16", "install ml_dtypes for bfloat16")
        table["torch.BFloat16Storage"] = _StorageType("BFloat16Storage", None,
                                                      "bfloat16: install ml_dtypes")
    for name in _TORCH_ONLY_DTYPES:
        table[f"torch.{name}"] = _NoDtype(name)
    for name, dtype_name in _TORCH_ONLY_STORAGES.items():
        table[f"torch.{name}"] = _StorageType(name, None, dtype_name)
    table["torch.storage.UntypedStorage"] = _StorageType("storage.UntypedStorage", _dt.uint8)
    return table, tuple(callables)


# --- saving ------------------------------------------------------------------------------------


class _StorageRef:
    """One storage being saved: the base array whose memory one or more tensors view."""

    __slots__ = ("key", "root", "dtype", "location", "numel")

    def __init__(self, key: str, root, dtype: _dt.dtype, location: str):
        self.key, self.root, self.dtype, self.location = key, root, dtype, location
        self.numel = root.nbytes // dtype.itemsize

    def host_bytes(self) -> np.ndarray:
        """The storage's memory, in memory order, as CPU bytes."""
        flat = self.root.ravel(order="C" if self.root.flags.c_contiguous else "F")
        return to_device(flat, CPU).view(np.uint8)


class _Reduce:
    """A value pickled as ``func(*args)`` (the plain tensor inside a saved Parameter)."""

    __slots__ = ("func", "args")

    def __init__(self, func, args):
        self.func, self.args = func, args




def _data_ptr(a) -> int:
    if isinstance(a, np.ndarray):
        return a.__array_interface__["data"][0]
    return a.data.ptr


class _Pickler(pickle._Pickler):
    """pickle's own Pickler, writing tensors, dtypes, ``Size`` and ``device`` as torch does.

    The pure-Python pickler is used because torch's names must be written as strings: the C
    pickler insists on importing the module of every global it writes.
    """

    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, protocol: int, legacy: bool = False):
        super().__init__(file, protocol)
        self.storages: dict[int, _StorageRef] = {}
        self.legacy = legacy

    def persistent_id(self, obj):
        if type(obj) is _StorageRef:
            pid = ("storage", _TORCH_STORAGES[obj.dtype.name], obj.key, obj.location, obj.numel)
            return pid + (None,) if self.legacy else pid
        return None

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return self._reduce_tensor(obj)
        cls = type(obj)
        if cls is Size:
            return _TORCH_SIZE, (tuple(obj),)
        if cls is device:
            return _TORCH_DEVICE, ((obj.type,) if obj.index is None else (obj.type, obj.index))
        if cls is _Reduce:
            return obj.func, obj.args
        return NotImplemented

    def _write_global(self, obj, module: str, name: str) -> None:
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    def _save_torch_name(self, obj: _TorchName) -> None:
        self._write_global(obj, obj.module, obj.name)

    def _save_dtype(self, obj: _dt.dtype) -> None:
        self._write_global(obj, "torch", obj.name)

    dispatch[_TorchName] = _save_torch_name
    dispatch[_dt.dtype] = _save_dtype

    def _storage_of(self, t: Tensor):
        """(storage, offset, size, stride) of ``t``: views of one base share one storage."""
        a = t._data
        nd = np.ndarray if isinstance(a, np.ndarray) else array_module(t._device).ndarray
        root = a
        while isinstance(root.base, nd):
            root = root.base
        item = a.itemsize
        offset = _data_ptr(a) - _data_ptr(root)
        ok = ((root.flags.c_contiguous or root.flags.f_contiguous) and a.dtype.isnative
              and root.nbytes % item == 0 and offset >= 0 and offset % item == 0
              and all(s >= 0 and s % item == 0 for s in a.strides))
        if ok and a.size:
            ok = offset + sum((n - 1) * s for n, s in zip(a.shape, a.strides)) + item <= root.nbytes
        if not ok:  # memory a storage cannot describe (negative strides...): save a copy
            root = array_module(t._device).ascontiguousarray(a)
            if not root.dtype.isnative:
                root = root.astype(root.dtype.newbyteorder("="))
            offset = 0
            a = root
        ref = self.storages.get(id(root))
        if ref is None:
            location = "cpu" if t._device.type == "cpu" else f"cuda:{t._device.index or 0}"
            ref = self.storages[id(root)] = _StorageRef(str(len(self.storages)), root, t.dtype,
                                                        location)
        elif ref.dtype is not t.dtype:
            raise RuntimeError("Cannot save multiple tensors or storages that view the same data "
                               "as different types")
        return ref, offset // item, tuple(a.shape), tuple(s // item for s in a.strides)

    def _reduce_tensor(self, t: Tensor):
        from ember.nn.parameter import Parameter

        ref, offset, size, stride = self._storage_of(t)
        # Entries overriding a class attribute (``_base``, ``_view_chain``, ``_hooks``...) are
        # ember's view and autograd bookkeeping, not the value: never saved (nor loaded, below).
        state = {k: v for k, v in t.__dict__.items() if not hasattr(Tensor, k)}
        cls = type(t)
        if cls is Parameter:
            data = _Reduce(_REBUILD_TENSOR_V2, (ref, offset, size, stride, False, OrderedDict()))
            if state:
                return _REBUILD_PARAMETER_WITH_STATE, (data, t._requires_grad, OrderedDict(),
                                                       state)
            return _REBUILD_PARAMETER, (data, t._requires_grad, OrderedDict())
        args = (ref, offset, size, stride, t._requires_grad, OrderedDict())
        if cls is Tensor and not state:
            return _REBUILD_TENSOR_V2, args
        return _REBUILD_FROM_TYPE_V2, (_REBUILD_TENSOR_V2, _TORCH_TENSOR if cls is Tensor else cls,
                                       args, state)


def _is_path(f) -> bool:
    return isinstance(f, (str, os.PathLike))


def _archive_name(path: str) -> str:
    """torch names the zip's folder after the file, without its extension."""
    stem = os.path.basename(path)
    stem = stem[:stem.rfind(".")] if "." in stem else stem
    return stem or "archive"


def _add_record(zf: zipfile.ZipFile, name: str, data) -> None:
    """A stored (uncompressed) zip record whose data starts at a multiple of 64 bytes."""
    view = memoryview(data).cast("B")
    size = view.nbytes
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size
    zip64 = size * 1.05 > zipfile.ZIP64_LIMIT  # zipfile's own rule; it adds a 20-byte field
    header = 30 + len(name.encode("utf-8")) + 4 + (20 if zip64 else 0)
    pad = -(zf.fp.tell() + header) % _STORAGE_ALIGNMENT
    info.extra = b"FB" + struct.pack("<H", pad) + b"Z" * pad  # torch's padding field
    with zf.open(info, "w", force_zip64=zip64) as out:
        for i in range(0, size, _CHUNK):
            out.write(view[i:i + _CHUNK])


def _write_zip(fh, archive: str, pickled: bytes, storages, byteorder: bool) -> None:
    with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        _add_record(zf, f"{archive}/data.pkl", pickled)
        _add_record(zf, f"{archive}/.format_version", b"1")
        _add_record(zf, f"{archive}/.storage_alignment", str(_STORAGE_ALIGNMENT).encode())
        if byteorder:
            _add_record(zf, f"{archive}/byteorder", sys.byteorder.encode())
        for ref in storages:
            _add_record(zf, f"{archive}/data/{ref.key}", ref.host_bytes())
        _add_record(zf, f"{archive}/version", b"3\n")
        _add_record(zf, f"{archive}/.data/serialization_id",
                    f"{secrets.randbits(128):040d}".encode())


def _write_legacy(fh, pickled: bytes, storages, protocol: int) -> None:
    sys_info = {"protocol_version": PROTOCOL_VERSION, "little_endian": sys.byteorder == "little",
                "type_sizes": {"short": struct.calcsize("=h"), "int": struct.calcsize("=i"),
                               "long": struct.calcsize("=l")}}
    for value in (MAGIC_NUMBER, PROTOCOL_VERSION, sys_info):
        pickle.dump(value, fh, protocol=protocol)
    fh.write(pickled)
    pickle.dump([ref.key for ref in storages], fh, protocol=protocol)
    for ref in storages:
        fh.write(struct.pack("=q", ref.numel))
        data = memoryview(ref.host_bytes())
        for i in range(0, data.nbytes, _CHUNK):
            fh.write(data[i:i + _CHUNK])


def save(obj: object, f, pickle_module: Any = pickle, pickle_protocol: int = DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:
    """Save ``obj`` to ``f`` in PyTorch's checkpoint format (``torch.load`` reads it).

    Args:
        obj: tensors, Parameters, modules, optimizer state, containers of them, numbers...
        f: a path (written atomically: the old file survives a crash) or a binary file object.
        pickle_module: must be ``pickle`` (ember writes torch's names itself).
        pickle_protocol: the pickle protocol (default 2, as torch).
        _use_new_zipfile_serialization: False writes the legacy (pre-1.6) non-zip format.
    """
    if not _is_path(f) and not hasattr(f, "write"):
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a "
                             "'write' attribute")
    if pickle_module is not pickle:
        raise NotImplementedError("ember.save writes its pickle with the standard pickle module; "
                                  f"pickle_module={pickle_module!r} is not supported")
    if _is_path(f):
        f = os.fspath(f)
        parent = os.path.dirname(f)
        if parent and not os.path.isdir(parent):
            raise RuntimeError(f"Parent directory {parent} does not exist.")
    # Pickle first: an unpicklable object fails before any file is touched.
    buf = io.BytesIO()
    pickler = _Pickler(buf, pickle_protocol, legacy=not _use_new_zipfile_serialization)
    pickler.dump(obj)
    storages = list(pickler.storages.values())
    pickled = buf.getvalue()
    del pickler

    def write(fh):
        if _use_new_zipfile_serialization:
            archive = _archive_name(f) if isinstance(f, str) else "archive"
            _write_zip(fh, archive, pickled, storages, not _disable_byteorder_record)
        else:
            _write_legacy(fh, pickled, storages, pickle_protocol)

    if isinstance(f, str):
        with atomic_open(f) as fh:
            write(fh)
    else:
        write(f)
        if hasattr(f, "flush"):
            f.flush()


# --- loading -------------------------------------------------------------------------------------


def _describe(f) -> str:
    if _is_path(f):
        return repr(os.fspath(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, str) else "the file object"


def _validate_cuda(location: str) -> device:
    dev = device(location)
    if not cuda_available():
        raise RuntimeError("Attempting to deserialize object on a CUDA device but "
                           "torch.cuda.is_available() is False. If you are running on a CPU-only "
                           "machine, please use torch.load with map_location=torch.device('cpu') "
                           "to map your storages to the CPU.")
    index = dev.index or 0
    count = cuda_device_count()
    if index >= count:
        raise RuntimeError(f"Attempting to deserialize object on CUDA device {index} but "
                           f"torch.cuda.device_count() is {count}. Please use torch.load with "
                           "map_location to map your storages to an existing device.")
    return device("cuda", index)


def _default_restore(storage: _Storage, location: str) -> _Storage:
    if location == "cpu":
        return storage.cpu()
    if location.startswith("cuda"):
        return storage.to(_validate_cuda(location))
    raise RuntimeError(f"don't know how to restore data location of torch.storage.UntypedStorage "
                       f"(tagged with {location})")


def _restorer(map_location):
    """torch's ``map_location`` rules as one ``restore(storage, location) -> storage``."""
    if map_location is None:
        return _default_restore
    if isinstance(map_location, dict):
        return lambda st, loc: _default_restore(st, str(map_location.get(loc, loc)))
    if isinstance(map_location, (str, bytes, device)):
        target = map_location.decode() if isinstance(map_location, bytes) else str(map_location)
        return lambda st, loc: _default_restore(st, target)
    if not callable(map_location):
        raise TypeError(f"map_location must be a str, a device, a dict or a callable, got "
                        f"{type(map_location).__name__}")

    def restore(st, loc):
        result = map_location(st, loc)
        if result is None:
            return _default_restore(st, loc)
        if not isinstance(result, _Storage):
            raise TypeError(f"map_location must return a storage or None, got "
                            f"{type(result).__name__}")
        return result

    return restore


_KEY = re.compile(r"[0-9A-Za-z_]{1,64}")


def _check_pid(pid, length: int):
    """A persistent id ``('storage', type, key, location, numel[, view])``, checked."""
    if type(pid) is not tuple or len(pid) != length:
        raise pickle.UnpicklingError(f"invalid storage reference in checkpoint: {pid!r}")
    storage_type, key, location, numel = pid[1:5]
    if isinstance(location, bytes):
        location = location.decode("ascii")
    if (type(storage_type) is not _StorageType or type(key) is not str
            or not _KEY.fullmatch(key) or type(location) is not str or len(location) > 64
            or type(numel) is not int or numel < 0):
        raise pickle.UnpicklingError(f"invalid storage reference in checkpoint: {pid!r}")
    return storage_type.dtype, key, location, numel


def _check_name(name: str, where: str) -> None:
    parts = name.split("/")
    if (name.startswith("/") or "\\" in name or "\0" in name or ".." in parts
            or re.match(r"[A-Za-z]:", name)):
        raise RuntimeError(f"refusing to read {where}: zip entry {name!r} has an unsafe name "
                           "(absolute, or with '..'); a checkpoint never contains one")


class _Archive:
    """A zip checkpoint read in place: records are checked against what the pickle expects
    and read into memory (or mapped); nothing is ever extracted to disk.
    """

    def __init__(self, fh, where: str, mmap_file: bool):
        self.fh, self.where = fh, where
        fh.seek(0, os.SEEK_END)
        self.size = fh.tell()
        fh.seek(0)
        try:
            self.zf = zipfile.ZipFile(fh)
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, struct.error,
                OSError, NotImplementedError, OverflowError) as e:
            raise RuntimeError(f"PytorchStreamReader failed reading zip archive: failed finding "
                               f"central directory ({where} is truncated or corrupt: {e})"
                               ) from None
        names = [i.orig_filename for i in infos]
        if not names:
            raise RuntimeError(f"PytorchStreamReader failed reading zip archive: {where} is an "
                               "empty zip archive")
        seen: set[str] = set()
        for n in names:
            _check_name(n, where)
            if n in seen:
                raise RuntimeError(f"refusing to read {where}: the zip archive has two entries "
                                   f"named {n!r}")
            seen.add(n)
        if "/" not in names[0]:
            raise RuntimeError(f"PytorchStreamReader failed reading zip archive: file in archive "
                               f"is not in a subdirectory: {names[0]} ({where})")
        prefix = names[0].split("/")[0] + "/"
        self.records: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if not info.orig_filename.startswith(prefix):
                raise RuntimeError(f"refusing to read {where}: zip entry {info.orig_filename!r} "
                                   f"is outside the archive folder {prefix!r}")
            self.records[info.orig_filename[len(prefix):]] = info
        self.mm = None
        if mmap_file:
            self.mm = _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)

    def has(self, name: str) -> bool:
        return name in self.records

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = self.records.get(name)
        if info is None:
            raise RuntimeError(f"PytorchStreamReader failed locating file {name}: file not found "
                               f"({self.where})")
        if info.flag_bits & 0x1:
            raise RuntimeError(f"refusing to read {self.where}: record {name} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise RuntimeError(f"ember.load: record {name} of {self.where} uses an unsupported "
                               f"compression method ({info.compress_type})")
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise self._corrupt(name, "its stored and declared sizes differ")
        if (info.compress_type == zipfile.ZIP_DEFLATED
                and info.file_size > _MAX_DEFLATE_RATIO * info.compress_size + 1024):
            raise RuntimeError(f"refusing to read {self.where}: record {name} claims to expand "
                               f"{info.compress_size} bytes to {info.file_size} (a zip bomb)")
        return info

    def _corrupt(self, name: str, why: str) -> RuntimeError:
        return RuntimeError(f"PytorchStreamReader failed reading file {name}: {why} ({self.where} "
                            "is truncated or corrupt)")

    def _data_offset(self, name: str, info: zipfile.ZipInfo) -> int:
        fh = self.fh
        fh.seek(info.header_offset)
        header = fh.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise self._corrupt(name, "bad local header")
        n, m = struct.unpack("<HH", header[26:30])
        local_name = fh.read(n).decode("utf-8" if info.flag_bits & 0x800 else "cp437")
        if local_name != info.orig_filename:
            raise self._corrupt(name, "local and central names differ")
        start = info.header_offset + 30 + n + m
        if start + info.compress_size > self.size:
            raise self._corrupt(name, "the record runs past the end of the file")
        return start

    def read_bytes(self, name: str) -> bytes:
        """A small record (``data.pkl``, ``byteorder``)."""
        out = self.read_array(name, None)
        return out.tobytes()

    def read_array(self, name: str, nbytes: int | None) -> np.ndarray:
        """Record ``name`` as a writable uint8 array, which must be ``nbytes`` long."""
        info = self._info(name)
        if nbytes is not None and info.file_size != nbytes:
            raise RuntimeError(f"ember.load: record {name} of {self.where} holds {info.file_size} "
                               f"bytes, but the checkpoint's pickle expects {nbytes} (corrupt or "
                               "tampered file)")
        size = info.file_size
        if info.compress_type == zipfile.ZIP_DEFLATED:
            out = np.empty(size, np.uint8)
            try:
                with self.zf.open(info) as z:
                    got = _read_into(z, out)
                    if got != size or z.read(1):
                        raise self._corrupt(name, "wrong decompressed size")
            except (zipfile.BadZipFile, zlib.error, EOFError) as e:
                raise self._corrupt(name, str(e)) from None
            return out
        start = self._data_offset(name, info)
        if self.mm is not None and nbytes is not None:
            # A view of the mapped file (copy-on-write: writes never reach the file).
            return np.ndarray((size,), np.uint8, buffer=self.mm, offset=start)
        out = np.empty(size, np.uint8)
        self.fh.seek(start)
        if _read_into(self.fh, out) != size:
            raise self._corrupt(name, "unexpected end of file")
        if zlib.crc32(out) != info.CRC:
            raise self._corrupt(name, "CRC-32 mismatch")
        return out


def _read_into(fh, out: np.ndarray) -> int:
    """Fill ``out`` from ``fh``; the number of bytes read (short only at end of file)."""
    view = memoryview(out).cast("B")
    done = 0
    while done < view.nbytes:
        n = fh.readinto(view[done:done + _CHUNK])
        if not n:
            break
        done += n
    return done


def _swap(raw, dtype: _dt.dtype) -> None:
    """Byte-swap a storage written on a machine of the other endianness, in place."""
    if dtype.itemsize > 1:
        typed = raw.view(dtype.np)
        typed.byteswap(inplace=True)


def _make_unpickler(fh, weights_only: bool, pickle_module, load_args: dict, persistent_load):
    if weights_only:
        allowed, callables = _globals_table(True)
        return _weights_unpickler.Unpickler(fh, allowed=allowed, callables=callables,
                                            persistent_load=persistent_load,
                                            encoding=load_args["encoding"])
    allowed, _ = _globals_table(False)

    class UnpicklerWrapper(pickle_module.Unpickler):
        def find_class(self, mod_name, name):
            return _find_class(allowed, mod_name, name, super().find_class)

    unpickler = UnpicklerWrapper(fh, **load_args)
    unpickler.persistent_load = persistent_load
    return unpickler


def _find_class(allowed: dict, module: str, name: str, fallback):
    """``weights_only=False``: torch's names as ember's, anything else as pickle finds it."""
    full = f"{module}.{name}"
    if full in allowed:
        return allowed[full]
    if module == "torch" or module.startswith("torch."):
        try:
            obj = importlib.import_module("ember" + module[len("torch"):])
            for part in name.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError):
            pass  # not in ember: pickle's own lookup gives its usual error
    return fallback(module, name)


def _unpickle(unpickler, weights_only: bool):
    if not weights_only:
        return unpickler.load()
    try:
        return unpickler.load()
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(_weights_unpickler.format_error(str(e))) from None


def _load_zip(archive: _Archive, restore, weights_only, pickle_module, load_args):
    if archive.has("constants.pkl"):
        raise RuntimeError(f"{archive.where} is a TorchScript archive (torch.jit.save); ember.load "
                           "cannot read TorchScript")
    swap = False
    if archive.has("byteorder"):
        order = archive.read_bytes("byteorder")
        if order not in (b"little", b"big"):
            raise ValueError("Unknown endianness type: " + order.decode("latin1"))
        swap = order.decode() != sys.byteorder
    loaded: dict[str, _Storage] = {}

    def persistent_load(pid):
        dtype, key, location, numel = _check_pid(pid, 5)
        nbytes = numel * dtype.itemsize
        storage = loaded.get(key)
        if storage is None:
            raw = archive.read_array(f"data/{key}", nbytes)
            if swap:
                _swap(raw, dtype)
            storage = loaded[key] = restore(_Storage(raw, CPU), location)
        elif storage.nbytes() != nbytes:
            raise RuntimeError(f"ember.load: storage {key} of {archive.where} is referenced with "
                               f"{storage.nbytes()} and {nbytes} bytes (corrupt or tampered file)")
        return _TypedStorage(storage._raw, storage.device, dtype)

    data = io.BytesIO(archive.read_bytes("data.pkl"))
    unpickler = _make_unpickler(data, weights_only, pickle_module, load_args, persistent_load)
    return _unpickle(unpickler, weights_only)


def _load_legacy(fh, where: str, restore, weights_only, pickle_module, load_args):
    """The pre-1.6 format: magic number, protocol, system info, the pickle, its storage keys,
    then each storage as an int64 element count and raw bytes."""
    start = fh.tell()
    head = fh.read(512)
    fh.seek(start)
    if len(head) >= 262 and head[257:262] == b"ustar":
        raise RuntimeError(f"{where} is in PyTorch's legacy .tar checkpoint format (PyTorch < "
                           "0.4), which ember.load cannot read; load it with PyTorch and save it "
                           "again")
    fh.seek(0, os.SEEK_END)
    file_size = fh.tell()
    fh.seek(start)

    def header():
        allowed, callables = _globals_table(True)
        return _weights_unpickler.Unpickler(fh, allowed=allowed, callables=callables,
                                            encoding=load_args["encoding"]).load()

    try:
        magic = header()
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(f"invalid load key, {head[:1]!r}: {where} is not a "
                                     f"checkpoint saved by ember.save or torch.save (corrupt, "
                                     f"truncated, or another format; {e})") from None
    if type(magic) is not int or magic != MAGIC_NUMBER:
        raise RuntimeError(f"Invalid magic number; corrupt file? ({where})")
    version = header()
    if version != PROTOCOL_VERSION:
        raise RuntimeError(f"Invalid protocol version: {version} ({where})")
    sys_info = header()
    little = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
    if type(little) is not bool:
        raise RuntimeError(f"Invalid system info in {where}")
    swap = little != (sys.byteorder == "little")
    roots: dict[str, tuple[_Storage, _dt.dtype, int]] = {}
    views: dict[str, _TypedStorage] = {}

    def persistent_load(pid):
        dtype, key, location, numel = _check_pid(pid, 6)
        item = dtype.itemsize
        if key not in roots:
            if numel * item > file_size:
                raise RuntimeError(f"ember.load: storage {key} claims {numel * item} bytes, more "
                                   f"than {where} holds (corrupt or tampered file)")
            # Filled once the pickle is read: the data follows it in the file.
            storage = restore(_Storage(np.empty(numel * item, np.uint8), CPU), location)
            roots[key] = (storage, dtype, numel)
        storage, root_dtype, root_numel = roots[key]
        if root_dtype is not dtype or root_numel != numel:
            raise RuntimeError(f"ember.load: storage {key} of {where} is referenced as two "
                               "different storages (corrupt or tampered file)")
        view = pid[5]
        if view is None:
            return _TypedStorage(storage._raw, storage.device, dtype)
        if (type(view) is not tuple or len(view) != 3 or type(view[0]) is not str
                or type(view[1]) is not int or type(view[2]) is not int or view[1] < 0
                or view[2] < 0 or view[1] + view[2] > numel):
            raise pickle.UnpicklingError(f"invalid storage view in checkpoint: {view!r}")
        if view[0] not in views:
            raw = storage._raw[view[1] * item:(view[1] + view[2]) * item]
            views[view[0]] = _TypedStorage(raw, storage.device, dtype)
        return views[view[0]]

    result = _unpickle(_make_unpickler(fh, weights_only, pickle_module, load_args,
                                       persistent_load), weights_only)
    keys = header()
    if type(keys) is not list:
        raise RuntimeError(f"ember.load: {where} is corrupt (no storage key list)")
    order = "<q" if little else ">q"
    for key in keys:
        if key not in roots:
            raise RuntimeError(f"ember.load: {where} stores data for unknown storage {key!r}")
        storage, dtype, numel = roots[key]
        counted = fh.read(8)
        if len(counted) != 8:
            raise RuntimeError(f"ember.load: {where} is truncated")
        (n,) = struct.unpack(order, counted)
        if n != numel:
            raise RuntimeError(f"storage has wrong size: expected {numel} got {n} ({where})")
        buf = storage._raw if storage.device.type == "cpu" else np.empty(numel * dtype.itemsize,
                                                                         np.uint8)
        if _read_into(fh, buf) != buf.nbytes:
            raise RuntimeError(f"ember.load: {where} is truncated")
        if swap:
            _swap(buf, dtype)
        if buf is not storage._raw:
            storage._fill(buf)
    return result


@contextlib.contextmanager
def _open_for_read(f):
    if _is_path(f):
        with open(f, "rb") as fh:
            yield fh
        return
    if not hasattr(f, "read"):
        raise AttributeError("expected 'f' to be string, path, or a file-like object with a "
                             "'read' attribute")
    try:
        f.seek(f.tell())
    except (AttributeError, OSError, io.UnsupportedOperation):
        raise io.UnsupportedOperation(
            "You can only ember.load from a file that is seekable. Please pre-load the data into "
            "a buffer like io.BytesIO and try to load from it instead.") from None
    yield f


def load(f, map_location=None, pickle_module: Any = None, *, weights_only: bool | None = None,
         mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Load an object saved with ``ember.save`` or ``torch.save``.

    Args:
        f: a path or a binary file object (readable and seekable).
        map_location: where storages go: None (where they were saved), a device or string
            (``'cpu'``), a dict remapping saved locations (``{'cuda:0': 'cpu'}``), or a callable
            ``(storage, location) -> storage or None``.
        pickle_module: only with ``weights_only=False`` (which giving it implies): the module
            whose Unpickler is used.
        weights_only: True (the default) loads tensors, containers, numbers, strings, dtypes,
            devices and ``Size`` without running any code from the file; False unpickles
            anything (whole modules), which can run arbitrary code: only for trusted files.
        mmap: map the file instead of reading it: tensors are (copy-on-write) views of the file.
        pickle_load_args: passed to the Unpickler (``weights_only=True`` uses only ``encoding``,
            for Python 2 strings; default ``'utf-8'``).
    """
    if weights_only is None:  # as torch: naming a pickle_module means trusting the file
        weights_only = pickle_module is None
    if weights_only:
        if pickle_module is not None:
            raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                               "specified")
        if pickle_load_args:
            warnings.warn("pickle_load_args only works if `weights_only=False`.", stacklevel=2)
    elif pickle_module is None:
        pickle_module = pickle
    load_args = {"encoding": "utf-8", **pickle_load_args}
    restore = _restorer(map_location)
    if _is_path(f) and os.fspath(f).endswith(".safetensors"):
        return _load_safetensors(os.fspath(f), map_location)
    where = _describe(f)
    with _open_for_read(f) as fh:
        start = fh.tell()
        magic = fh.read(4)
        fh.seek(start)
        if not magic:
            raise EOFError(f"Ran out of input: {where} is empty")
        if magic == b"PK\x03\x04":
            if mmap and not _is_path(f):
                raise ValueError("f must be a file path in order to use the mmap argument")
            archive = _Archive(fh, where, bool(mmap))
            return _load_zip(archive, restore, weights_only, pickle_module, load_args)
        if mmap:
            raise RuntimeError("mmap can only be used with files saved with "
                               "`torch.save(_use_new_zipfile_serialization=True), please "
                               "torch.save your checkpoint with this option in order to use mmap.")
        return _load_legacy(fh, where, restore, weights_only, pickle_module, load_args)


def _load_safetensors(path: str, map_location):
    """``torch.load`` of a ``.safetensors`` path loads it with the safetensors package."""
    from ember.utils import safetensors

    if isinstance(map_location, dict) or callable(map_location):
        kind = "dict" if isinstance(map_location, dict) else "callable"
        raise RuntimeError(f"Loading safetensors file with {kind} map_location is not supported. "
                           "Use a device string or torch.device instead.")
    return safetensors.load_file(path, device=str(map_location or "cpu"))


def get_unsafe_globals_in_checkpoint(f) -> list[str]:
    """The globals a checkpoint names that ``weights_only=True`` would refuse (read, not run)."""
    import pickletools

    allowed, _ = _globals_table(True)
    user = _weights_unpickler._user_allowed_globals()
    with _open_for_read(f) as fh:
        start = fh.tell()
        magic = fh.read(4)
        fh.seek(start)
        if magic != b"PK\x03\x04":
            raise ValueError("Expected input to be a checkpoint returned by torch.save")
        data = _Archive(fh, _describe(f), False).read_bytes("data.pkl")
    found = set()
    strings: list = []
    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name == "GLOBAL":
            module, name = arg.split(" ", 1)
        elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
            module, name = strings[-2], strings[-1]
        else:
            if isinstance(arg, str):
                strings.append(arg)
            continue
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found.add(f"{module}.{name}")
    return sorted(g for g in found if g not in allowed and g not in user)
