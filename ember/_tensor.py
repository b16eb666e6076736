"""``Tensor``: an array on a device plus autograd metadata.

The state is small: ``_data`` (a NumPy or CuPy array, which views share), ``_device``,
``_requires_grad``, ``grad``, ``grad_fn`` with ``_output_nr``, and ``_vc``, the version counter a
tensor shares with its views (created lazily: most tensors are never changed in place). The ops are
methods inherited from one mixin per op family in ``ember/ops/``; this file holds what is about the
tensor itself: properties, conversions, the autograd entry points and in-place bookkeeping.
"""

from __future__ import annotations

import weakref

import numpy as np

from ember import dtypes as _dt
from ember._size import Size
from ember.autograd.function import _check_inplace, _RemovableHandle
from ember.autograd.grad_mode import _state
from ember.backend import CPU, array_module, canonical_device, device, to_device
from ember.ops.arithmetic import ArithmeticMethods
from ember.ops.comparison import ComparisonMethods
from ember.ops.copy import Cast, Clone, CopyMethods, ToDevice
from ember.ops.indexing import IndexingMethods
from ember.ops.linalg import LinalgMethods
from ember.ops.pointwise import PointwiseMethods
from ember.ops.random import RandomMethods
from ember.ops.reduction import ReductionMethods
from ember.ops.shape import ShapeMethods, wrap_dim

__all__ = ["Tensor"]

_ndarray = np.ndarray
_FROM_NP = _dt._FROM_NP
_new = object.__new__


def _as_array(data):
    """Ops may hand back NumPy scalars (``arr.sum()``); a tensor always holds an array."""
    if isinstance(data, np.generic):
        return np.asarray(data)
    return data


class Tensor(ArithmeticMethods, ComparisonMethods, PointwiseMethods, ReductionMethods,
             ShapeMethods, IndexingMethods, LinalgMethods, CopyMethods, RandomMethods):
    """A multi-dimensional array with autograd, as ``torch.Tensor``.

    ``ember.Tensor(2, 3)`` is an uninitialised float tensor of that shape and ``ember.Tensor(data)``
    a float tensor of ``data``, as in PyTorch; prefer ``ember.tensor``/``ember.empty``.
    """

    __module__ = "ember"  # prints as <class 'ember.Tensor'>, as torch's is 'torch.Tensor'
    __slots__ = ("_data", "_device", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_vc",
                 "__dict__", "__weakref__")
    # Rarely set, so kept out of the slots: class-level defaults, per-tensor values in __dict__.
    _base = None  # the tensor this one is a view of
    _view_chain = None  # ((op, args, attrs), ...) that rebuild this view from _base
    _multi_view = None  # (op name, output index) of split/chunk/unbind pieces and views of them
    _view_version = 0  # the version counter's value when this view's history was last taken
    _hooks = None  # gradient hooks of a leaf
    _retains_grad = False
    __array_priority__ = 1000  # ndarray (op) tensor defers to the tensor's reflected operator

    def __new__(cls, *args, device=None):
        from ember.ops.creation import empty, tensor

        if len(args) == 1 and not isinstance(args[0], (int, Size)):
            src = args[0]
            t = src if isinstance(src, Tensor) else tensor(src, dtype=_dt.get_default_dtype(),
                                                              device=device)
        else:
            sizes = args[0] if len(args) == 1 and isinstance(args[0], Size) else args
            t = empty(*(sizes or (0,)), device=device)  # Tensor() is empty, shape (0,)
        if cls is Tensor:
            return t
        out = _new(cls)
        out._init(t._data, t._device)
        return out

    # --- construction --------------------------------------------------------------------------

    def _init(self, data, dev, requires_grad=False):
        self._data = data
        self._device = dev
        self._requires_grad = requires_grad
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._vc = None

    @staticmethod
    def _make(data, dev=CPU) -> Tensor:
        """A new tensor around ``data`` (no copy): the hot path every op result goes through."""
        t = _new(Tensor)
        t._data = data if data.__class__ is _ndarray else _as_array(data)
        t._device = dev
        t._requires_grad = False
        t._grad = None
        t.grad_fn = None
        t._output_nr = 0
        t._vc = None
        return t

    # --- version counter and views --------------------------------------------------------------

    @property
    def _version(self) -> int:
        vc = self._vc
        return vc[0] if vc else 0

    def _get_vc(self) -> list:
        vc = self._vc
        if vc is None:
            vc = self._vc = [0]
        return vc

    def _bump_version(self) -> None:
        vc = self._vc
        if vc is None:
            self._vc = [1]
        else:
            vc[0] += 1

    def _make_view_of(self, src, op, args, attrs) -> None:
        """Record that this tensor is ``op(src, *args, **attrs)`` sharing ``src``'s memory."""
        vc = self._vc = src._get_vc()
        if vc[0]:
            self._view_version = vc[0]
        if src._multi_view is not None:
            self._multi_view = src._multi_view
        base = src._base
        if base is None:
            self._base, self._view_chain = src, ((op, args, attrs),)
        else:
            self._base, self._view_chain = base, src._view_chain + ((op, args, attrs),)

    def _replay_view(self, t):
        """This tensor's chain of view ops applied to ``t`` (a tensor shaped like ``_base``)."""
        for op, args, attrs in self._view_chain:
            t = op.apply(t, *args, **attrs)
        return t

    def _sync_view(self) -> None:
        """Take the base's current history when the base was changed in place after this view was
        made (through itself or another view): torch regenerates a stale view's grad_fn too."""
        self._view_version = self._vc[0]
        base = self._base
        if base._requires_grad:
            prev = _state.enabled
            _state.enabled = True
            try:
                fresh = self._replay_view(base)
            finally:
                _state.enabled = prev
            self.grad_fn, self._output_nr, self._requires_grad = fresh.grad_fn, fresh._output_nr, \
                fresh._requires_grad

    def _inplace(self, op, *args, **attrs) -> Tensor:
        """``self <- op(self, *args)``: the in-place form of primitive ``op``, differentiable.

        Without autograd this is one computation written into ``self``'s memory. With it, the
        op runs on a copy of the old value (its backward may need it), the result is written back,
        and ``self`` (and the base it is a view of) take the new history, as PyTorch rebases it.
        """
        T = Tensor
        if not _state.enabled or not (self._requires_grad or any(
                isinstance(a, T) and a._requires_grad for a in args)):
            result = op.apply(self, *args, **attrs)
            self._write(result._data, op)
            self._bump_version()
            return self
        if self._multi_view is not None:
            _refuse_multi_view(self)
        base = self._base
        if base is not None and self._view_version != self._vc[0]:
            self._sync_view()
        _check_inplace(self)
        old = Tensor._make(self._data.copy(), self._device)
        old.grad_fn, old._output_nr, old._requires_grad = self.grad_fn, self._output_nr, \
            self._requires_grad
        out = op.apply(old, *args, **attrs)
        self._write(out._data, op)
        self._bump_version()
        if out.grad_fn is None:
            return self
        if base is None:
            self.grad_fn, self._output_nr, self._requires_grad = out.grad_fn, out._output_nr, True
            return self
        from ember.ops.copy import CopySlices

        old_base = Tensor._make(base._data, base._device)
        old_base.grad_fn, old_base._output_nr, old_base._requires_grad = base.grad_fn, \
            base._output_nr, base._requires_grad
        new_base = CopySlices.apply(old_base, out, view=self)
        base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, 0, True
        fresh = self._replay_view(base)
        self.grad_fn, self._output_nr, self._requires_grad = fresh.grad_fn, fresh._output_nr, True
        self._view_version = self._vc[0]
        return self

    def _write(self, data, op=None) -> None:
        """Copy an op's result into this tensor's memory, refusing casts torch refuses."""
        src_dt = data.dtype
        dst_dt = self._data.dtype
        if src_dt != dst_dt and not _dt.can_cast(_FROM_NP[src_dt], _FROM_NP[dst_dt]):
            name = op.__name__.lower() if op is not None else "copy"
            raise RuntimeError(f"result type {_FROM_NP[src_dt].name.capitalize()} can't be cast to "
                               f"the desired output type {_FROM_NP[dst_dt].name.capitalize()} "
                               f"(in {name}_)")
        if data is not self._data:
            try:
                array_module(self._device).copyto(self._data, data, casting="unsafe")
            except ValueError:
                # Expanded (stride-0) and overlapping views are read-only arrays; torch's error.
                if getattr(self._data.flags, "writeable", True):
                    raise
                raise RuntimeError("unsupported operation: more than one element of the written-"
                                   "to tensor refers to a single memory location. Please clone() "
                                   "the tensor before performing the operation.") from None

    # --- properties ----------------------------------------------------------------------------

    @property
    def shape(self) -> Size:
        return tuple.__new__(Size, self._data.shape)

    @property
    def dtype(self) -> _dt.dtype:
        return _FROM_NP[self._data.dtype]

    @property
    def device(self) -> device:
        return self._device

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if self.grad_fn is not None:
            if value:
                return
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        if value and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               "gradients")
        self._requires_grad = value

    @property
    def grad(self):
        """The gradient accumulated by ``backward()`` (None until then)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError("assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value._device != self._device:
                raise RuntimeError("assigned grad has data located on a different device")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype "
                                   f"'{value.dtype.name}' to a tensor with dtype "
                                   f"'{self.dtype.name}'. The gradient must match the tensor's "
                                   "dtype.")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size "
                                   f"'{list(value.shape)}' to a tensor of size "
                                   f"'{list(self.shape)}'. Please ensure that the gradient and "
                                   "the tensor are the same size")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def data(self) -> Tensor:
        """The same memory without autograd history (and, unlike ``detach()``, its own version)."""
        return Tensor._make(self._data, self._device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(value).__name__}")
        self._data, self._device = value._data, value._device

    @property
    def T(self) -> Tensor:
        if self.ndim > 2:
            return self.permute(*range(self.ndim - 1, -1, -1))
        return self.t() if self.ndim == 2 else self

    @property
    def mT(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    @property
    def H(self) -> Tensor:
        return self.T.conj() if self.is_complex() else self.T

    @property
    def mH(self) -> Tensor:
        return self.mT.conj() if self.is_complex() else self.mT

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    @property
    def layout(self) -> str:
        return "torch.strided"

    def size(self, dim: int | None = None):
        if dim is None:
            return tuple.__new__(Size, self._data.shape)
        return self._data.shape[wrap_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[wrap_dim(dim, self._data.ndim)]

    def storage_offset(self) -> int:
        base = self._data
        while isinstance(base, _ndarray) and isinstance(base.base, _ndarray):
            base = base.base
        start = self._data.__array_interface__["data"][0]
        return (start - base.__array_interface__["data"][0]) // self._data.itemsize

    def data_ptr(self) -> int:
        if isinstance(self._data, _ndarray):
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    def get_device(self) -> int:
        return -1 if self._device.type == "cpu" else self._device.index

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self.dtype.is_complex

    def is_signed(self) -> bool:
        return self.dtype.is_signed

    def is_contiguous(self, memory_format=None) -> bool:
        return self._data.flags.c_contiguous

    # --- Python values and NumPy --------------------------------------------------------------

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               "Scalar")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The tensor's memory as a NumPy array (shared, not copied)."""
        if self._device.type != "cpu":
            if not force:
                raise TypeError(f"can't convert {self._device} device type tensor to numpy. Use "
                                "Tensor.cpu() to copy the tensor to host memory first.")
            return to_device(self._data, CPU)
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            many = "no" if self._data.size == 0 else "more than one"
            raise RuntimeError(f"Boolean value of Tensor with {many} values is ambiguous")
        return bool(self._data.item())

    def __float__(self) -> float:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return float(self._data.item())

    def __int__(self) -> int:
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self._data.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.dtype.is_complex or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    __hash__ = object.__hash__

    def __repr__(self, *, tensor_contents=None) -> str:
        from ember._tensor_str import tensor_repr

        return tensor_repr(self, tensor_contents=tensor_contents)

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor,
                (to_device(self._data, CPU), self._requires_grad, str(self._device)))

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.  If you were attempting to "
                               "deepcopy a module, this may be because of a torch.nn.utils."
                               "weight_norm usage, see https://github.com/pytorch/pytorch/pull/103001")
        if id(self) in memo:
            return memo[id(self)]
        import copy

        new = _new(type(self))
        new._init(self._data.copy(), self._device, self._requires_grad)
        memo[id(self)] = new
        if self.grad is not None:
            new.grad = copy.deepcopy(self.grad, memo)
        for k, v in self.__dict__.items():
            if k not in ("_base", "_view_chain"):
                new.__dict__[k] = copy.deepcopy(v, memo)
        return new

    # --- conversions ---------------------------------------------------------------------------

    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``, ``to(device, dtype=None)``, ``to(other)``; ``copy=True`` forces a copy."""
        dtype, dev = kwargs.pop("dtype", None), kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
        # Positional forms, as torch: (other | dtype | device [, dtype]) [, non_blocking [, copy]]
        rest = list(args)
        if rest and not isinstance(rest[0], bool):
            a = rest.pop(0)
            if isinstance(a, Tensor):
                dtype, dev = a.dtype, a._device
            elif a is None or isinstance(a, (str, device, int)):
                dev = a
                if rest and not isinstance(rest[0], bool):
                    dtype = rest.pop(0)
            else:
                dtype = a
        if rest:
            rest.pop(0)  # non_blocking: copies are synchronous here
        if rest:
            copy = rest.pop(0)
        if rest:
            raise TypeError(f"to() received an invalid combination of arguments - got {len(args)} "
                            "positional arguments")
        t = self
        if dev is not None:
            dev = canonical_device(dev)
            if dev != self._device:
                t = ToDevice.apply(t, device=dev)
                copy = False
        if dtype is not None:
            dtype = _dt.to_dtype(dtype)
            if dtype is not t.dtype:
                t = Cast.apply(t, dtype=dtype)
                copy = False
        return t.clone() if copy else t

    def cpu(self) -> Tensor:
        return self.to(CPU)

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device)

    def type(self, dtype=None, non_blocking: bool = False):
        """Without arguments the type name (``'ember.FloatTensor'``); else ``to(dtype)``."""
        from ember._legacy_types import tensor_type_for, type_name

        if dtype is None:
            return type_name(self.dtype, self._device)
        if isinstance(dtype, str):
            dtype = tensor_type_for(dtype)
        return self.to(getattr(dtype, "dtype", dtype))

    def float(self) -> Tensor:
        return self.to(_dt.float32)

    def double(self) -> Tensor:
        return self.to(_dt.float64)

    def half(self) -> Tensor:
        return self.to(_dt.float16)

    def bfloat16(self) -> Tensor:
        return self.to(_dt.bfloat16)

    def long(self) -> Tensor:
        return self.to(_dt.int64)

    def int(self) -> Tensor:
        return self.to(_dt.int32)

    def short(self) -> Tensor:
        return self.to(_dt.int16)

    def char(self) -> Tensor:
        return self.to(_dt.int8)

    def byte(self) -> Tensor:
        return self.to(_dt.uint8)

    def bool(self) -> Tensor:
        return self.to(_dt.bool)

    def cfloat(self) -> Tensor:
        return self.to(_dt.complex64)

    def cdouble(self) -> Tensor:
        return self.to(_dt.complex128)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def contiguous(self, memory_format=None) -> Tensor:
        return self if self._data.flags.c_contiguous else Clone.apply(self)

    def clone(self, *, memory_format=None) -> Tensor:
        return Clone.apply(self)

    def detach(self) -> Tensor:
        """The same memory and version counter, cut from the graph."""
        t = Tensor._make(self._data.view(), self._device)
        t._vc = self._get_vc()
        return t

    def detach_(self) -> Tensor:
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn, self._output_nr, self._requires_grad = None, 0, False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    # --- autograd ------------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into the leaves' ``.grad`` (``ember.autograd.backward``)."""
        from ember.autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook):
        """``hook(grad)`` runs when this tensor's gradient is computed; its result replaces it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self.__dict__.get("_hooks") is None:
                self._hooks = []
            hooks = self._hooks
        else:
            node = self.grad_fn
            if node._hooks is None:
                node._hooks = {}
            hooks = node._hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)


def _refuse_multi_view(t) -> None:
    """PyTorch refuses to change a piece of split/chunk/unbind in place while recording a graph."""
    name, i = t._multi_view
    if t._requires_grad:
        raise RuntimeError(f"Output {i} of {name} is a view and is being modified inplace. This "
                           "view is the output of a function that returns multiple views. Such "
                           "functions do not allow the output views to be modified inplace. You "
                           "should replace the inplace operation by an out-of-place one.")
    raise RuntimeError("A view was created in no_grad mode and is being modified inplace with grad "
                       "mode enabled. This view is the output of a function that returns multiple "
                       "views. Such functions do not allow the output views to be modified "
                       "inplace. You should replace the inplace operation by an out-of-place one.")


def _rebuild_tensor(array, requires_grad, dev="cpu"):
    t = Tensor._make(array, CPU)
    if dev != "cpu":
        t = t.to(dev)
    t._requires_grad = requires_grad
    return t
