"""``Function``: a differentiable operation, and the graph node its ``ctx`` becomes.

Users subclass ``Function`` exactly as in PyTorch (``forward(ctx, *tensors)`` under no_grad,
``backward(ctx, *grads)``, ``ctx.save_for_backward``, ``ctx.needs_input_grad``, ``mark_dirty``...).
ember's own primitives subclass ``Primitive``: the same ctx and backward contract, but ``forward``
receives the tensors' arrays (and ``ctx.xp``, the device's array module) so no Tensor is built
until the result exists. The ctx object *is* the graph node (``tensor.grad_fn``).
"""

from __future__ import annotations

import itertools

import numpy as _np

from ember import _tensor
from ember import dtypes as _dtypes
from ember.autograd.grad_mode import _state
from ember.backend import CPU, array_module

__all__ = ["Function", "Primitive", "FunctionCtx", "once_differentiable"]

_seq = itertools.count()
_new = object.__new__
# Set by ember.onnx / SummaryWriter.add_graph while they record one forward pass:
# ``_trace_hook(ctx, args, attrs, out)`` after every ``Primitive.apply``. None otherwise.
_trace_hook = None
_BF16 = _dtypes.np_bfloat16
_FREED_MSG = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


def _tensor_cls():
    return _tensor.Tensor


def _version_error(t, node, nr, expected):
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{t.type()} {list(t.shape)}], which is output {nr} of {node.name()}, is at "
        f"version {t._version}; expected version {expected} instead. Hint: clone() the tensor "
        "before changing it in place, or find the in-place operation that changed it.")


class FunctionCtx:
    """What ``forward`` and ``backward`` see as ``ctx``: saved tensors and flags."""

    needs_input_grad: tuple = ()
    # Class-level defaults, so the per-op path sets nothing it does not need to (CPU ops).
    device = CPU
    xp = _np
    _to_save = ()
    _materialize = True
    _hooks = None  # {output_nr: [hook, ...]} from tensor.register_hook on a non-leaf output
    _retained = None  # {output_nr: weakref to the tensor} from retain_grad()

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (inputs, outputs or arrays) for ``backward``, checked for in-place
        changes."""
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            raise RuntimeError(_FREED_MSG)
        return tuple(None if e is None else e.unpack(self) for e in saved)

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that ``forward`` modified in place (user Functions)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (e.g. indices)."""
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` receives zeros (True, the default) or None for unused outputs."""
        self._materialize = bool(value)

    # --- the node side ----------------------------------------------------------------------------

    def name(self) -> str:
        return type(self).__name__ + "Backward" + ("0" if isinstance(self, Primitive) else "")

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        """``((node_or_AccumulateGrad, output_nr), ...)`` per forward input, as torch shows it."""
        Tensor = _tensor_cls()
        out = []
        for e in self._next:
            if e is None:
                out.append((None, 0))
            elif isinstance(e[0], Tensor):
                out.append((AccumulateGrad(e[0]), 0))
            else:
                out.append((e[0], e[1]))
        return tuple(out)

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` after this node's backward runs."""
        if self.__dict__.get("_post_hooks") is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return _RemovableHandle(self._post_hooks, fn)

    def _record(self, edges, args, outputs) -> None:
        """Connect this node to the graph: input edges, outputs' ``grad_fn``, saved tensors.

        ``edges[i]`` is ``(node or leaf tensor, output_nr, shape, numpy dtype)`` for each argument
        that requires grad, else None.
        """
        self._seq = next(_seq)
        self._next = edges
        self._n_out = n = len(outputs)
        if n > 1:
            self._out_meta = tuple(None if o is None else (o.shape, o.dtype) for o in outputs)
        non_diff = self.__dict__.get("_non_diff")
        for i, o in enumerate(outputs):
            if o is None or (o._data.dtype.kind not in "fc" and o._data.dtype != _BF16):
                continue  # integer and bool results never carry gradients
            if non_diff and any(o is t or o._data is getattr(t, "_data", t) for t in non_diff):
                continue
            o.grad_fn = self
            o._output_nr = i
            o._requires_grad = True
        to_save = self._to_save
        if to_save:
            self._saved = tuple(self._pack(x, args, outputs) for x in to_save)
            self._to_save = ()
        else:
            self._saved = ()

    def _pack(self, x, args, outputs):
        """One saved entry; outputs are kept as data + version counter (no node->tensor cycle)."""
        if x is None:
            return None
        Tensor = _tensor_cls()
        if not isinstance(x, Tensor) and not hasattr(x, "shape"):
            return _SavedValue(x)  # a Python number an op keeps for backward
        data = x._data if isinstance(x, Tensor) else x
        for i, o in enumerate(outputs):
            if o is not None and (o is x or o._data is data):
                return _SavedOutput(o, i, o.grad_fn is self)
        if isinstance(x, Tensor):
            return _SavedInput(x)
        for a in args:
            if isinstance(a, Tensor) and a._data is data:
                return _SavedInput(a)
        return _SavedInput(Tensor._make(data, self.device))  # an intermediate: a constant

    def _free(self) -> None:
        self._saved = None


class _SavedInput:
    __slots__ = ("t", "version")

    def __init__(self, t):
        self.t, self.version = t, t._version

    def unpack(self, node):
        if self.t._version != self.version:
            raise _version_error(self.t, node, 0, self.version)
        return self.t


class _SavedValue:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def unpack(self, node):
        return self.value


class _SavedOutput:
    __slots__ = ("data", "device", "vc", "version", "nr", "linked")

    def __init__(self, o, nr, linked):
        self.data, self.device, self.vc = o._data, o.device, o._get_vc()
        self.nr, self.linked = nr, linked
        self.version = self.vc[0]

    def unpack(self, node):
        t = _tensor_cls()._make(self.data, self.device)
        t._vc = self.vc
        if self.linked:
            t.grad_fn, t._output_nr, t._requires_grad = node, self.nr, True
        if self.vc[0] != self.version:
            raise _version_error(t, node, self.nr, self.version)
        return t


class Function(FunctionCtx):
    """Base class for differentiable operations written by users, as ``torch.autograd.Function``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Optional (torch 2 style): with it, ``forward(*args)`` takes no ctx, and this saves."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = _tensor_cls()
        ctx = object.__new__(cls)
        ctx._to_save = ()
        ctx.device = next((a.device for a in args if isinstance(a, Tensor)), CPU)
        flags = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        record = _state.enabled and any(flags)
        ctx.needs_input_grad = flags if record else tuple(False for _ in args)
        prev = _state.enabled
        _state.enabled = False
        try:
            if cls.setup_context is Function.setup_context:
                out = cls.forward(ctx, *args, **kwargs)
            else:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
        finally:
            _state.enabled = prev
        for d in ctx.__dict__.get("_dirty", ()):
            d._bump_version()
        if not record:
            return out
        single = not isinstance(out, tuple)
        outs = [out] if single else list(out)
        dirty = ctx.__dict__.get("_dirty", ())
        for i, o in enumerate(outs):
            if not isinstance(o, Tensor):
                outs[i] = None
            elif any(o is a for a in args) and not any(o is d for d in dirty):
                outs[i] = o = Tensor._make(o._data, o.device)  # an input returned as is: an alias
            elif any(o is d for d in dirty):
                _check_inplace(o)
        edges = [(a if a.grad_fn is None else a.grad_fn, a._output_nr, a._data.shape,
                  a._data.dtype) if f else None for a, f in zip(args, flags)]
        ctx._record(edges, args, outs)
        if single:
            return outs[0] if outs[0] is not None else out
        return tuple(o if o is not None else orig for o, orig in zip(outs, out))


class Primitive(FunctionCtx):
    """Base class of ember's own ops: ``forward(ctx, *arrays, **attrs)`` computes with ``ctx.xp``.

    ``backward(ctx, *grads)`` returns one Tensor (or None) per forward argument, written with Tensor
    ops so that gradients of gradients work. ``is_view = True`` marks ops whose output aliases the
    first input's memory: the output shares its version counter and can be modified in place.
    """

    is_view = False

    @staticmethod
    def forward(ctx, *arrays, **attrs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    def const(self, array):
        """An array saved by the forward (a mask, weights) as a tensor with no history on this
        op's device, for use in the backward."""
        return _tensor.Tensor._make(array, self.device)

    @classmethod
    def apply(cls, *args, **attrs):
        # The hot path of every op: one pass over the arguments collects arrays, the device and
        # (only for inputs that require grad) the graph edges.
        Tensor = _tensor.Tensor
        ctx = _new(cls)
        dev = None
        edges = None
        arrays = list(args)
        for i, a in enumerate(args):
            if isinstance(a, Tensor):
                if a._base is not None and a._view_version != a._vc[0]:
                    a._sync_view()  # its base changed in place after the view was taken
                arrays[i] = a._data
                d = a._device
                if dev is None:
                    dev = d
                elif d is not dev and d != dev:
                    raise RuntimeError(
                        "Expected all tensors to be on the same device, but found at least two "
                        f"devices, {dev} and {d}! (when checking arguments for "
                        f"{cls.__name__.lower()})")
                if a._requires_grad:
                    if edges is None:
                        edges = [None] * len(args)
                    fn = a.grad_fn
                    edges[i] = (a if fn is None else fn, a._output_nr, a._data.shape, a._data.dtype)
        if dev is None or dev is CPU:
            dev = CPU
        else:
            ctx.device = dev
            ctx.xp = array_module(dev)
        record = edges is not None and _state.enabled
        if record:
            ctx.needs_input_grad = tuple(e is not None for e in edges)
        try:
            out = cls.forward(ctx, *arrays, **attrs)
        except ValueError as e:
            if "could not be broadcast" in str(e):  # NumPy's wording -> PyTorch's error
                raise RuntimeError(_broadcast_message(arrays)) from None
            raise
        make = Tensor._make
        if type(out) is tuple:
            outs = tuple(None if o is None else make(o, dev) for o in out)
            if cls.is_view:
                outs[0]._make_view_of(args[0], cls, args[1:], attrs)
            if record:
                ctx._record(edges, args, outs)
            if _trace_hook is not None:
                _trace_hook(ctx, args, attrs, outs)
            return outs
        res = make(out, dev)
        if cls.is_view:
            res._make_view_of(args[0], cls, args[1:], attrs)
        if record:
            ctx._record(edges, args, (res,))
        if _trace_hook is not None:
            _trace_hook(ctx, args, attrs, res)
        return res


def _broadcast_message(arrays) -> str:
    shapes = [a.shape for a in arrays if hasattr(a, "shape")][:2]
    if len(shapes) == 2:
        sa, sb = shapes
        for k in range(1, min(len(sa), len(sb)) + 1):
            if sa[-k] != sb[-k] and 1 not in (sa[-k], sb[-k]):
                return (f"The size of tensor a ({sa[-k]}) must match the size of tensor b "
                        f"({sb[-k]}) at non-singleton dimension {max(len(sa), len(sb)) - k}")
    return f"shapes {' and '.join(str(list(s)) for s in shapes)} cannot be broadcast together"


def _check_inplace(t) -> None:
    """PyTorch's refusal to change, in place, a leaf (or a view of one) that requires grad."""
    if _state.enabled:
        base = t._base
        if base is not None and base.is_leaf and base._requires_grad:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")
        if t.is_leaf and t._requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place "
                               "operation.")


class AccumulateGrad:
    """The node that accumulates a leaf's gradient, as ``next_functions`` shows it."""

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class _RemovableHandle:
    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def once_differentiable(fn):
    """Decorator for ``backward``: run it under no_grad (its result is not differentiable again)."""
    import functools

    from ember.autograd.grad_mode import no_grad

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper
