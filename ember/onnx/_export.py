"""``export``: one traced forward turned into an ONNX model through ``onnx.helper``.

The trace (``_trace.Trace``) gives the calls of ember's primitives in order; ``GraphBuilder`` walks
them and asks the converter of each primitive class (``_converters.CONVERTERS``) for ONNX nodes.
Values that do not depend on the inputs are folded: the trace already holds their contents, so
they become initializers. With ``dynamic_axes`` the forward is traced a second time with those
axes one longer; sizes that differ between the two traces are the dynamic ones, and converters
express them with Shape/Gather instead of constants.
"""

from __future__ import annotations

import enum
import io
import os
import warnings
from collections import Counter

import numpy as np

from ember import _tensor
from ember.onnx import _trace
from ember.onnx.errors import (
    CheckerError,
    OnnxExporterWarning,
    SymbolicValueError,
    UnsupportedOperatorError,
)

__all__ = ["export", "is_in_onnx_export", "TrainingMode", "OperatorExportTypes", "GraphBuilder"]

DEFAULT_OPSET = 17
MIN_OPSET, MAX_OPSET = 13, 21
_INT64 = np.dtype(np.int64)


class TrainingMode(enum.Enum):
    """The mode the model is exported in (``torch.onnx.TrainingMode``)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class OperatorExportTypes(enum.Enum):
    """``torch.onnx.OperatorExportTypes``; ember always exports standard ONNX operators."""

    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


_exporting = False


def is_in_onnx_export() -> bool:
    """Whether an ``export`` is running its traced forward right now."""
    return _exporting


# --- the graph builder ---------------------------------------------------------------------------


class GraphBuilder:
    """Builds the ONNX graph of a trace; the converters call its helpers.

    Args:
        trace: the recorded forward.
        opset: the ONNX opset the nodes must belong to.
        fold: fold the calls whose inputs are all parameters or constants.
        shapes_b: ``{id(Value): shape}`` from the second trace (dynamic axes), or empty.
    """

    def __init__(self, trace, opset, *, fold=True, shapes_b=None, export_params=True):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.trace, self.opset, self.fold, self.export_params = trace, opset, fold, export_params
        self.shapes_b = shapes_b or {}
        self.nodes: list = []
        self.initializers: list = []
        self.param_inputs: list = []
        self._names: dict = {}  # id(Value) -> ONNX name
        self._used = set()
        self._counts = Counter()
        self._consts: dict = {}  # cache of small constants
        self.call = None

    # --- names ---------------------------------------------------------------------------------

    def unique(self, base: str) -> str:
        name = base
        while name in self._used:
            self._counts[base] += 1
            name = f"{base}_{self._counts[base]}"
        self._used.add(name)
        return name

    def prefix(self) -> str:
        """``/conv1/0``: the module path of the current call (torch's node-name prefix)."""
        if self.call is None:
            return ""
        return "".join("/" + name for name, _ in self.call.scope[1:])

    def bind(self, value, name: str) -> None:
        self._names[id(value)] = name
        self._used.add(name)

    def is_const(self, v) -> bool:
        """Whether Value ``v`` is folded to an initializer (its contents are known)."""
        if v.kind == "input" or v.array is None or v.live:
            return False
        if v.kind == "param":
            return self.export_params
        if self.is_dynamic(v):
            return False
        return self.fold or not v.from_param

    def x(self, v, dtype=None) -> str:
        """The ONNX name of a Value (or of a number or array as a constant), cast to ``dtype``."""
        if v is None:
            return ""
        if not isinstance(v, _trace.Value):
            return self.const(v, dtype)
        name = self._names.get(id(v))
        if name is None:
            name = self._materialize(v)
        if dtype is not None and np.dtype(dtype) != v.dtype:
            if self.is_const(v) and v.kind != "param":
                return self.const(v.array.astype(dtype))
            return self.cast(name, dtype)
        return name

    def _materialize(self, v) -> str:
        if v.kind == "param":
            if self.export_params:
                name = v.name
                self.initializers.append(self.numpy_helper.from_array(np.asarray(v.array), name))
            else:
                name = v.name
                self.param_inputs.append(self.value_info(name, v))
            self.bind(v, name)
            return name
        if v.kind == "const" and self.is_dynamic(v):
            name = self._dynamic_const(v)
            self.bind(v, name)
            return name
        if self.is_const(v) or v.kind == "const":
            name = self.unique(f"onnx::Constant_{len(self.initializers)}")
            self.initializers.append(self.numpy_helper.from_array(np.asarray(v.array), name))
            self.bind(v, name)
            return name
        raise SymbolicValueError(f"internal error: {v} is used before the call that makes it")

    def const(self, array, dtype=None) -> str:
        """An initializer holding ``array`` (small ones are shared)."""
        if hasattr(array, "__cuda_array_interface__"):
            array = _trace.host(array)
        arr = np.asarray(array, dtype=dtype)
        key = None
        if arr.size <= 16:
            key = (arr.dtype.str, arr.shape, arr.tobytes())
            name = self._consts.get(key)
            if name is not None:
                return name
        name = self.unique(f"onnx::Constant_{len(self.initializers)}")
        self.initializers.append(self.numpy_helper.from_array(arr, name))
        if key is not None:
            self._consts[key] = name
        return name

    def ints(self, values) -> str:
        """A 1-D int64 constant."""
        return self.const(np.asarray(list(values), dtype=_INT64).reshape(-1))

    # --- nodes ---------------------------------------------------------------------------------

    def op(self, op_type: str, *inputs, outputs: int = 1, domain: str = "", **attrs):
        """Add one node; returns its output name (or a list of names when ``outputs > 1``)."""
        base = self.prefix() + "/" + op_type
        node_name = self.unique(base)
        outs = [self.unique(f"{node_name}_output_{i}") for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        inputs = list(inputs)
        while inputs and not inputs[-1]:
            inputs.pop()  # trailing optional inputs are left out, not named ""
        self.nodes.append(self.helper.make_node(op_type, inputs, outs, name=node_name,
                                                domain=domain or None, **attrs))
        return outs[0] if outputs == 1 else outs

    def cast(self, name: str, dtype) -> str:
        return self.op("Cast", name, to=self.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def unsqueeze(self, name: str, axes) -> str:
        return self.op("Unsqueeze", name, self.ints(axes))

    def squeeze(self, name: str, axes) -> str:
        return self.op("Squeeze", name, self.ints(axes))

    def reduce(self, op_type: str, name: str, axes, keepdims: bool) -> str:
        """``ReduceXxx`` over ``axes`` (an empty tuple means none), in the opset's form."""
        axes = list(axes)
        if op_type == "ReduceSum" or self.opset >= 18:
            if not axes:
                return self.op(op_type, name, keepdims=int(keepdims), noop_with_empty_axes=1)
            return self.op(op_type, name, self.ints(axes), keepdims=int(keepdims))
        if not axes:
            return self.op("Identity", name)
        return self.op(op_type, name, axes=axes, keepdims=int(keepdims))

    def fail(self, message: str, cls=UnsupportedOperatorError):
        call = self.call
        where = f" (in {call.where()})" if call is not None and call.scope else ""
        op = call.kind.__name__ if call is not None else "export"
        raise cls(f"ONNX export of {op}{where}: {message}")

    # --- dynamic sizes -------------------------------------------------------------------------

    def shape_b(self, v) -> tuple:
        return self.shapes_b.get(id(v), v.shape)

    def is_dynamic(self, v) -> bool:
        return self.shape_b(v) != v.shape

    def twin_param(self, key):
        """Parameter ``key`` of the current call as the second trace saw it."""
        twin = self.call.twin
        return twin.params[key] if twin is not None else self.call.params[key]

    def dim(self, v, axis: int) -> str:
        """``v.shape[axis]`` as a 1-element int64 tensor computed in the graph."""
        return self.op("Gather", self.op("Shape", self.x(v)), self.ints([axis]), axis=0)

    def sizes(self, a, b, sources, infer: bool = False) -> str:
        """An int64 vector equal to the sizes ``a`` (first trace) / ``b`` (second trace).

        Entries equal in both traces are constants; the others are found among the dimensions
        of ``sources`` (the op's inputs, then the graph inputs), possibly times a constant. With
        ``infer``, one entry that matches nothing becomes -1 (Reshape infers it).
        """
        a, b = [int(s) for s in a], [int(s) for s in b]
        if a == b:
            return self.ints(a)
        pieces, run, inferred = [], [], False
        for i, (sa, sb) in enumerate(zip(a, b)):
            if sa == sb:
                run.append(sa)
                continue
            if run:
                pieces.append(self.ints(run))
                run = []
            expr = self._dim_expr(sa, sb, list(sources) + list(self.trace.inputs), i)
            if expr is None:
                if infer and not inferred:
                    inferred = True
                    pieces.append(self.ints([-1]))
                    continue
                self.fail(f"size {sa} changes with the dynamic axes ({sa} -> {sb}) and is not "
                          "the size of any input dimension", SymbolicValueError)
            pieces.append(expr)
        if run:
            pieces.append(self.ints(run))
        return pieces[0] if len(pieces) == 1 else self.op("Concat", *pieces, axis=0)

    def _dim_expr(self, sa, sb, sources, prefer):
        """A 1-element tensor ``k * d + c`` equal to ``sa`` / ``sb`` in the two traces, ``d``
        being a dynamic dimension of one of ``sources`` (an exact match preferred, then an
        offset, then a multiple)."""
        best = None
        for v in sources:
            if not isinstance(v, _trace.Value):
                continue
            for j, (da, db) in enumerate(zip(v.shape, self.shape_b(v))):
                if da == db or (sa - sb) % (da - db):
                    continue
                k = (sa - sb) // (da - db)
                c = sa - k * da
                rank = (0 if j == prefer else 1) if (k, c) == (1, 0) else \
                    2 if k == 1 else 3 if c == 0 else 4
                if best is None or rank < best[0]:
                    best = (rank, v, j, k, c)
            if best is not None and best[0] == 0:
                break
        if best is None:
            return None
        _, v, j, k, c = best
        d = self.dim(v, j)
        if k != 1:
            d = self.op("Mul", d, self.ints([k]))
        if c:
            d = self.op("Add", d, self.ints([c]))
        return d

    def _dynamic_const(self, v) -> str:
        """A constant created inside the forward with a dynamic size (``zeros(x.size(0), n)``)."""
        arr = v.array
        flat = arr.reshape(-1)
        shape = self.sizes(v.shape, self.shape_b(v), ())
        if flat.size and (flat == flat[0]).all():
            return self.op("Expand", self.const(flat[:1].reshape(())), shape)
        if arr.ndim == 1 and np.array_equal(arr, np.arange(arr.size, dtype=arr.dtype)):
            n = self.op("Squeeze", shape, self.ints([0]))
            return self.op("Range", self.const(np.zeros((), arr.dtype)),
                           self.cast(n, arr.dtype), self.const(np.ones((), arr.dtype)))
        self.fail(f"a constant of shape {list(v.shape)} created in forward changes size with the "
                  "dynamic axes; create it from the input (e.g. torch.zeros_like) instead",
                  SymbolicValueError)

    # --- infos ---------------------------------------------------------------------------------

    def value_info(self, name, v, dim_names=None):
        dims = []
        shape_b = self.shape_b(v)
        for i, (da, db) in enumerate(zip(v.shape, shape_b)):
            if dim_names and i in dim_names:
                dims.append(dim_names[i])
            elif da != db:
                dims.append(f"{name}_dim_{i}")
            else:
                dims.append(int(da))
        elem = self.helper.np_dtype_to_tensor_dtype(v.dtype)
        return self.helper.make_tensor_value_info(name, elem, dims)


# --- export --------------------------------------------------------------------------------------


_IGNORED = ("dynamic_shapes", "custom_translation_table", "report", "optimize", "verify",
            "profile", "dump_exported_program", "artifacts_dir", "fallback", "external_data")


def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None,
           output_names=None, opset_version=None, dynamo=True, external_data=True,
           dynamic_shapes=None, custom_translation_table=None, report=False, optimize=True,
           verify=False, profile=False, dump_exported_program=False, artifacts_dir=".",
           fallback=False, export_params=True, keep_initializers_as_inputs=False,
           dynamic_axes=None, training=TrainingMode.EVAL,
           operator_export_type=OperatorExportTypes.ONNX, do_constant_folding=True,
           custom_opsets=None, export_modules_as_functions=False, autograd_inlining=True):
    """Export ``model`` to ONNX by running it once on ``args`` and converting every op.

    Accepts ``torch.onnx.export``'s arguments. ``dynamo`` selects nothing: ember has one exporter
    (the traced one, like torch's ``dynamo=False``). Options that only the dynamo exporter has are
    accepted with a warning. Returns None when ``f`` is given, else the ``onnx.ModelProto``.

    Args:
        args: the example inputs: a tensor, or a tuple of them (a dict last means kwargs).
        f: a path or a binary file object.
        input_names, output_names: names of the graph's (flattened) inputs and outputs.
        opset_version: 13 to 21 (default 17).
        dynamic_axes: ``{name: {axis: "dim_name"}}`` or ``{name: [axis, ...]}``.
        training: EVAL (default) puts the model in eval mode for the export; PRESERVE keeps it.
        do_constant_folding: fold computations on parameters into initializers.
        keep_initializers_as_inputs: also list the initializers as graph inputs.
    """
    global _exporting
    import onnx

    from ember.onnx import _converters

    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"Unsupported ONNX opset version: {opset}. Supported versions: "
                         f"{MIN_OPSET} to {MAX_OPSET}.")
    given = dict(dynamic_shapes=dynamic_shapes, custom_translation_table=custom_translation_table,
                 report=report, verify=verify, profile=profile,
                 dump_exported_program=dump_exported_program, fallback=fallback)
    for key, value in given.items():
        if value not in (None, False):
            warnings.warn(f"torch.onnx.export: '{key}' is ignored by ember's exporter",
                          OnnxExporterWarning, stacklevel=2)
    if export_modules_as_functions:
        warnings.warn("export_modules_as_functions is ignored: modules are inlined",
                      OnnxExporterWarning, stacklevel=2)
    if operator_export_type not in (OperatorExportTypes.ONNX, None):
        warnings.warn(f"operator_export_type={operator_export_type} is ignored: ember exports "
                      "standard ONNX operators only", OnnxExporterWarning, stacklevel=2)
    if isinstance(training, bool):
        training = TrainingMode.TRAINING if training else TrainingMode.EVAL
    if training == TrainingMode.TRAINING:
        raise NotImplementedError("ONNX export in training mode (TrainingMode.TRAINING) is not "
                                  "supported by ember; export in eval mode")

    call_args, call_kwargs = _split_args(args, kwargs)
    dynamic_axes = _normalize_dynamic_axes(dynamic_axes)
    if _exporting:
        raise RuntimeError("torch.onnx.export cannot be called while another export runs")
    _exporting = True
    try:
        with _trace.eval_mode(model, training == TrainingMode.EVAL):
            trace = _trace.Trace(model, live_params=not export_params)
            trace.run(call_args, call_kwargs)
            in_names, out_names = _io_names(trace, input_names, output_names)
            for key in dynamic_axes:
                if key not in in_names and key not in out_names:
                    warnings.warn(f"Provided key {key} for dynamic axes is not a valid input/"
                                  "output name", OnnxExporterWarning, stacklevel=2)
            shapes_b = {}
            grow = {i: axes for i, name in enumerate(in_names) for axes in
                    [dynamic_axes.get(name)] if axes}
            if grow:
                shapes_b = _second_trace(model, export_params, call_args, call_kwargs,
                                         trace, grow)
    finally:
        _exporting = False

    g = GraphBuilder(trace, opset, fold=do_constant_folding, shapes_b=shapes_b,
                     export_params=export_params)
    inputs = []
    for v, name in zip(trace.inputs, in_names):
        g.bind(v, name)
        inputs.append(g.value_info(name, v, dynamic_axes.get(name)))
    for call in trace.calls:
        if all(o is None or g.is_const(o) for o in call.outputs):
            continue
        _converters.convert(g, call)
    g.call = None
    outputs = _finish_outputs(g, trace, out_names, in_names, inputs, dynamic_axes)
    _prune(g, outputs)
    graph_inputs = inputs + g.param_inputs
    if keep_initializers_as_inputs:
        graph_inputs += [g.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                         for t in g.initializers]
    graph = g.helper.make_graph(g.nodes, getattr(model, "__class__", type(model)).__name__,
                                graph_inputs, outputs, g.initializers)
    opsets = [g.helper.make_opsetid("", opset)]
    for domain, version in (custom_opsets or {}).items():
        opsets.append(g.helper.make_opsetid(domain, int(version)))
    import ember

    proto = g.helper.make_model(graph, opset_imports=opsets, producer_name="ember",
                                producer_version=ember.__version__)
    proto.ir_version = g.helper.find_min_ir_version_for(opsets[:1])
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as e:
        raise CheckerError(f"the exported model failed onnx.checker: {e}") from e
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    if f is None:
        return proto
    _save(onnx, proto, f)
    return None


def _split_args(args, kwargs):
    if isinstance(args, _tensor.Tensor) or not isinstance(args, (tuple, list)):
        args = (args,)
    args = tuple(args)
    kw = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        kw.update(args[-1])
        args = args[:-1]
    return args, kw


def _normalize_dynamic_axes(dynamic_axes) -> dict:
    """``{name: {axis: dim_name}}`` (a list of axes gets torch's generated names)."""
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        if isinstance(axes, dict):
            out[name] = {int(k): str(v) for k, v in axes.items()}
        else:
            out[name] = {int(k): f"{name}_dynamic_axes_{i + 1}" for i, k in enumerate(axes)}
    return out


def _io_names(trace, input_names, output_names):
    n_in, n_out = len(trace.inputs), len(trace.outputs)
    input_names, output_names = list(input_names or []), list(output_names or [])
    if len(input_names) > n_in:
        raise ValueError(f"number of input names provided ({len(input_names)}) exceeded number "
                         f"of inputs ({n_in})")
    if len(output_names) > n_out:
        raise ValueError(f"number of output names provided ({len(output_names)}) exceeded "
                         f"number of outputs ({n_out})")
    ins = input_names + [f"input.{i + 1}" if n_in > 1 else "input"
                         for i in range(len(input_names), n_in)]
    outs = output_names + [f"output.{i + 1}" if n_out > 1 else "output"
                           for i in range(len(output_names), n_out)]
    return ins, outs


def _grow(t, axes):
    """``t`` one longer along each of ``axes`` (the new entries repeat the first ones)."""
    from ember.backend import to_device

    a = _trace.host(t._data)
    for ax in axes:
        n = a.shape[ax]
        a = np.take(a, np.arange(n + 1) % max(n, 1), axis=ax)
    return _tensor.Tensor._make(to_device(np.ascontiguousarray(a), t.device), t.device)


def _second_trace(model, export_params, args, kwargs, trace, grow):
    """Trace again with the dynamic input axes one longer; ``{id(Value): shape}`` of the first
    trace's values as the second trace saw them (empty, with a warning, if the two differ)."""
    flat = _trace.flatten_tensors((args, kwargs))
    index = {id(t): i for i, t in enumerate(flat)}
    replaced = {}
    for t in flat:
        i = index[id(t)]
        if i in grow:
            replaced[id(t)] = _grow(t, sorted(grow[i]))

    def swap(obj):
        if isinstance(obj, _tensor.Tensor):
            return replaced.get(id(obj), obj)
        if isinstance(obj, tuple):
            return tuple(swap(x) for x in obj)
        if isinstance(obj, list):
            return [swap(x) for x in obj]
        if isinstance(obj, dict):
            return {k: swap(x) for k, x in obj.items()}
        return obj

    second = _trace.Trace(model, live_params=not export_params, snapshot=False)
    try:
        second.run(swap(args), swap(kwargs))
    except Exception as e:  # any failure means: these sizes are not dynamic
        warnings.warn(f"the model failed with other sizes on the dynamic axes ({e}); exporting "
                      "the other sizes as static", OnnxExporterWarning, stacklevel=3)
        return {}
    if len(second.calls) != len(trace.calls) or any(
            a.kind is not b.kind for a, b in zip(trace.calls, second.calls)):
        warnings.warn("the model runs different operations for other sizes of the dynamic axes "
                      "(control flow on sizes); exporting the other sizes as static",
                      OnnxExporterWarning, stacklevel=3)
        return {}
    shapes = {}
    for a, b in zip(trace.inputs, second.inputs):
        shapes[id(a)] = b.shape
    for ca, cb in zip(trace.calls, second.calls):
        ca.twin = cb
        for va, vb in zip(_trace._leaves(ca.params), _trace._leaves(cb.params)):
            if isinstance(va, _trace.Value) and isinstance(vb, _trace.Value):
                shapes.setdefault(id(va), vb.shape)
        for va, vb in zip(ca.outputs, cb.outputs):
            if va is not None and vb is not None:
                shapes[id(va)] = vb.shape
    for a, b in zip(trace.outputs, second.outputs):
        shapes.setdefault(id(a), b.shape)
    return shapes


def _finish_outputs(g, trace, out_names, in_names, inputs, dynamic_axes):
    """Graph outputs named as asked: the producing node's output is renamed, or an Identity
    is added (for an input, an initializer or a value returned twice)."""
    rename = {}
    taken = set(in_names) | {t.name for t in g.initializers}
    outputs = []
    input_dims = {}  # (size, size in second trace) -> dim name, to name output dims like inputs
    for v, info in zip(trace.inputs, inputs):
        for i, d in enumerate(info.type.tensor_type.shape.dim):
            if d.dim_param:
                input_dims.setdefault((v.shape[i], g.shape_b(v)[i]), d.dim_param)
    produced = {o for n in g.nodes for o in n.output}
    for v, name in zip(trace.outputs, out_names):
        src = g.x(v)
        if src in produced and src not in rename and src not in taken:
            rename[src] = name
        else:
            g.nodes.append(g.helper.make_node("Identity", [src], [name],
                                              name=g.unique(f"/Identity_{name}")))
        dims = dict(dynamic_axes.get(name, {}))
        for i, (da, db) in enumerate(zip(v.shape, g.shape_b(v))):
            if da != db and i not in dims and (da, db) in input_dims:
                dims[i] = input_dims[(da, db)]
        outputs.append(g.value_info(name, v, dims))
    if rename:
        for node in g.nodes:
            for i, n in enumerate(node.input):
                if n in rename:
                    node.input[i] = rename[n]
            for i, n in enumerate(node.output):
                if n in rename:
                    node.output[i] = rename[n]
    return outputs


def _prune(g, outputs) -> None:
    """Drop nodes whose results nobody uses, then initializers nobody reads."""
    needed = {o.name for o in outputs}
    kept = []
    for node in reversed(g.nodes):
        if any(o in needed for o in node.output if o):
            kept.append(node)
            needed.update(i for i in node.input if i)
    g.nodes[:] = kept[::-1]
    g.initializers[:] = [t for t in g.initializers if t.name in needed]
    g.param_inputs[:] = [p for p in g.param_inputs if p.name in needed]


def _save(onnx, proto, f) -> None:
    size = sum(t.ByteSize() for t in proto.graph.initializer)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        if size >= 2**31 - 2**24:  # protobuf's 2 GB limit: tensors go to a side file
            onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=os.path.basename(path) + ".data")
        else:
            from ember._fileio import atomic_open

            with atomic_open(path) as out:
                out.write(proto.SerializeToString())
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(proto.SerializeToString())
    else:
        raise TypeError(f"f must be a path or a binary file object, not {type(f).__name__}")
