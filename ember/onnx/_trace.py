"""One forward pass recorded primitive by primitive, with the module each call came from.

Shared by ``ember.onnx.export`` and ``SummaryWriter.add_graph``. While a ``Trace`` is active,
``Primitive.apply`` reports every call (``ember.autograd.function._trace_hook``) and each
submodule's ``forward`` is wrapped so that the trace knows the module scope of each call. The
result is a small SSA graph: ``Value`` objects (graph inputs, parameters, constants, call
outputs) and ``Call`` records whose parameters hold Values in place of Tensors.

Tensors are matched by identity, then by memory (``detach()`` and ``.data`` alias the same array).
An in-place op (``relu_``, ``add_``) writes its result back into its first argument, which bumps the
tensor's version: the next use of that tensor then resolves to the in-place op's output.
"""

from __future__ import annotations

import contextlib
import inspect

import numpy as np

from ember import _tensor
from ember.autograd import function as _function
from ember.autograd.grad_mode import no_grad
from ember.backend import CPU, to_device
from ember.onnx.errors import OnnxExporterError

__all__ = ["Value", "Call", "Trace", "TraceError", "flatten_tensors"]


class TraceError(OnnxExporterError):
    """A forward pass that cannot be recorded faithfully."""


class Value:
    """One tensor of the recorded graph.

    ``kind`` is ``"input"`` (a graph input), ``"param"`` (a parameter or buffer, ``name`` is its
    state_dict key), ``"const"`` (any other tensor or number the forward used) or ``"op"`` (output
    ``index`` of ``call``). ``live`` says whether it depends on a graph input; ``array`` holds the
    value of every Value that does not (parameters, constants, calls on them).
    """

    __slots__ = ("kind", "shape", "dtype", "call", "index", "array", "name", "live", "from_param",
                 "seq")

    def __init__(self, kind, shape, dtype, seq, *, call=None, index=0, array=None, name=None,
                 live=False, from_param=False):
        self.kind, self.shape, self.dtype, self.seq = kind, tuple(shape), np.dtype(dtype), seq
        self.call, self.index, self.array, self.name = call, index, array, name
        self.live, self.from_param = live, from_param

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"Value({self.kind}, {list(self.shape)}, {self.dtype})"


class Call:
    """One recorded ``Primitive.apply``.

    ``kind`` is the Primitive class, ``params`` the forward's arguments by
    name with each Tensor (and each array of a live tensor inside an index key) replaced by its
    Value, ``ctx`` the op's ctx, ``outputs`` one Value (or None) per output, ``scope`` the module
    path ``((local_name, module), ...)`` from the root model inwards.
    """

    __slots__ = ("kind", "params", "ctx", "outputs", "scope", "index", "twin")

    def __init__(self, kind, params, ctx, scope, index):
        self.kind, self.params, self.ctx, self.scope, self.index = kind, params, ctx, scope, index
        self.outputs = ()
        self.twin = None  # the same call in a second trace with other input sizes (dynamic axes)

    @property
    def inputs(self) -> list:
        """The Values among the parameters, in order."""
        return [v for v in _leaves(self.params) if isinstance(v, Value)]

    def where(self) -> str:
        """The module path of the call, as ``Net/Sequential[features]/Conv2d[0]``."""
        return scope_path(self.scope)

    def __repr__(self) -> str:
        return f"Call({self.kind.__name__} in {self.where()})"


def scope_path(scope) -> str:
    parts = []
    for i, (name, module) in enumerate(scope):
        cls = type(module).__name__
        parts.append(cls if i == 0 else f"{cls}[{name}]")
    return "/".join(parts)


_SIGNATURES: dict = {}


def _bind(kind, args, attrs) -> dict:
    """The forward's arguments by name (defaults filled in), from ``apply``'s args and attrs."""
    sig = _SIGNATURES.get(kind)
    if sig is None:
        sig = _SIGNATURES[kind] = inspect.signature(kind.forward)
    bound = sig.bind(None, *args, **attrs)
    bound.apply_defaults()
    params = dict(bound.arguments)
    params.pop(next(iter(sig.parameters)))  # ctx
    return params


def _leaves(obj):
    """The leaves of nested tuples, lists and dicts."""
    if isinstance(obj, (tuple, list)):
        for x in obj:
            yield from _leaves(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _leaves(x)
    else:
        yield obj


def flatten_tensors(obj) -> list:
    """The tensors of a nested structure of tuples, lists and dicts, in order."""
    return [x for x in _leaves(obj) if isinstance(x, _tensor.Tensor)]


def _memory_key(a):
    """Where an array's elements are: arrays with the same key hold the same values."""
    if isinstance(a, np.ndarray):
        ptr = a.__array_interface__["data"][0]
    elif hasattr(a, "__cuda_array_interface__"):
        ptr = a.__cuda_array_interface__["data"][0]
    else:
        return None
    if a.size == 0:
        return None
    return (ptr, a.shape, a.strides, a.dtype.str)


def host(a) -> np.ndarray:
    """A NumPy copy of a device array (the array itself when it is already NumPy)."""
    if hasattr(a, "__cuda_array_interface__"):
        return to_device(a, CPU)
    return np.asarray(a)


@contextlib.contextmanager
def eval_mode(model, enabled: bool = True):
    """``model`` in eval mode (when ``enabled``) for the ``with`` block, then as it was."""
    was = getattr(model, "training", None)
    if was is not None and enabled:
        model.train(False)
    try:
        yield
    finally:
        if was is not None:
            model.train(was)


class Trace:
    """Records one forward of ``model``.

    Args:
        model: the Module (or any callable) to run.
        live_params: parameters and buffers count as graph inputs (never folded as constants).
        snapshot: keep a copy of every value that does not depend on the inputs (ONNX needs them
            as initializers; a graph drawing does not).
    """

    def __init__(self, model, live_params=False, snapshot=True):
        self.model, self.live_params, self.snapshot = model, live_params, snapshot
        self.calls: list = []
        self.inputs: list = []
        self.outputs: list = []
        self._seq = 0
        self._by_id: dict = {}  # id(tensor) -> (Value, version, tensor)
        self._by_memory: dict = {}  # memory key -> Value
        self._inplace: dict = {}  # memory of a call's first argument -> (output Value, tensor)
        self._scope: list = []
        self._param_names: dict = {}
        self._keep: list = []  # every tensor seen, so that ids are not reused during the trace

    # --- running -----------------------------------------------------------------------------

    def run(self, args: tuple, kwargs: dict | None = None):
        """Run ``model(*args, **kwargs)`` under no_grad while recording; returns its output."""
        kwargs = kwargs or {}
        if _function._trace_hook is not None:
            raise TraceError("a trace is already being recorded (nested export or add_graph)")
        model = self.model
        modules = list(model.named_modules()) if hasattr(model, "named_modules") else []
        self._param_names = {}
        if hasattr(model, "named_parameters"):
            for name, p in model.named_parameters():
                self._param_names.setdefault(id(p), name)
            for name, b in model.named_buffers():
                if b is not None:
                    self._param_names.setdefault(id(b), name)
        for t in flatten_tensors((args, kwargs)):
            if id(t) not in self._by_id:
                v = self._new("input", t, live=True)
                self.inputs.append(v)
        wrapped = []
        try:
            for full_name, module in modules:
                wrapped.append((module, module.__dict__.get("forward")))
                object.__setattr__(module, "forward",
                                   self._scoped(full_name.rpartition(".")[2], module))
            _function._trace_hook = self._hook
            with no_grad():
                out = model(*args, **kwargs)
        finally:
            _function._trace_hook = None
            for module, previous in wrapped:
                if previous is None:
                    module.__dict__.pop("forward", None)
                else:
                    module.__dict__["forward"] = previous
        self.outputs = [self.value_of(t) for t in flatten_tensors(out)]
        return out

    def _scoped(self, name, module):
        """``module.forward`` wrapped to push its scope while it runs."""
        forward = type(module).forward.__get__(module) if "forward" not in module.__dict__ \
            else module.__dict__["forward"]

        def scoped_forward(*args, **kwargs):
            self._scope.append((name, module))
            try:
                return forward(*args, **kwargs)
            finally:
                self._scope.pop()

        return scoped_forward

    # --- the hook ----------------------------------------------------------------------------

    def _hook(self, ctx, args, attrs, out):
        kind = type(ctx)
        params = self._map(_bind(kind, args, attrs))
        outs = out if type(out) is tuple else (out,)
        first = args[0] if args and isinstance(args[0], _tensor.Tensor) else None
        self._record(kind, params, ctx, outs, first)

    def _record(self, kind, params, ctx, outs, first):
        call = Call(kind, params, ctx, tuple(self._scope), len(self.calls))
        inputs = call.inputs
        live = any(v.live for v in inputs)
        from_param = any(v.from_param for v in inputs)
        values = []
        for i, o in enumerate(outs):
            if o is None:
                values.append(None)
                continue
            array = None
            if not live and self.snapshot:
                array = np.array(host(o._data), copy=True)
            v = self._new("op", o, call=call, index=i, array=array, live=live,
                          from_param=from_param)
            values.append(v)
        call.outputs = tuple(values)
        self.calls.append(call)
        out0 = outs[0] if outs else None
        if first is not None and out0 is not None and out0._data.shape == first._data.shape:
            key = _memory_key(first._data)
            if key is not None:  # maybe an in-place op: ``_inplace`` writes ``out0`` into ``first``
                self._inplace[key] = (values[0], out0)

    # --- tensors to values -------------------------------------------------------------------

    def _new(self, kind, t, **kw):
        self._seq += 1
        name = kw.pop("name", None)
        v = Value(kind, t._data.shape, t._data.dtype, self._seq, name=name, **kw)
        self._bind(t, v)
        return v

    def _bind(self, t, v):
        self._by_id[id(t)] = (v, t._version, t)
        key = _memory_key(t._data)
        if key is not None:
            self._by_memory[key] = v
        self._keep.append(t)

    def value_of(self, t) -> Value:
        """The Value a tensor holds now (binding it as a parameter or constant when first seen)."""
        entry = self._by_id.get(id(t))
        key = _memory_key(t._data)
        if entry is not None:
            v, version, _ = entry
            if t._version == version:
                return v
            newer = self._written(key, t, v)
            if newer is not None:
                self._bind(t, newer)
                return newer
            raise TraceError(
                f"a tensor of shape {list(t.shape)} was modified in place by an operation the "
                "trace could not follow (an in-place change of a view or of an input); use the "
                "out-of-place form of the operation")
        if key is not None:
            v = self._by_memory.get(key)
            if v is not None:
                v = self._written(key, t, v) or v
                self._bind(t, v)
                return v
        name = self._param_names.get(id(t))
        if name is not None:
            return self._new("param", t, array=host(t._data) if self.snapshot else None,
                             name=name, live=self.live_params, from_param=True)
        array = np.array(host(t._data), copy=True) if self.snapshot else None
        return self._new("const", t, array=array)

    def _written(self, key, t, v):
        """The output of the last call on ``t``'s memory, if it came after ``v`` and ``t`` now
        holds exactly that output (what an in-place op leaves behind); else None."""
        entry = self._inplace.get(key)
        if entry is None:
            return None
        newer, out = entry
        if newer is None or newer.seq <= v.seq or out._data.dtype != t._data.dtype:
            return None
        same = np.array_equal(host(out._data), host(t._data),
                              equal_nan=out._data.dtype.kind in "fc")
        return newer if same else None

    def _map(self, obj):
        """``obj`` with each Tensor replaced by its Value (and the arrays of live values too)."""
        if isinstance(obj, _tensor.Tensor):
            return self.value_of(obj)
        if isinstance(obj, tuple):
            return tuple(self._map(x) for x in obj)
        if isinstance(obj, list):
            return [self._map(x) for x in obj]
        if isinstance(obj, dict):
            return {k: self._map(x) for k, x in obj.items()}
        if getattr(obj, "ndim", 0) and not isinstance(obj, Value):
            v = self._by_memory.get(_memory_key(obj))
            if v is not None and v.live:
                return v  # an index array taken from a tensor that depends on the inputs
        return obj
