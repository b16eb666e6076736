"""``add_graph``: a model's graph as a TensorBoard ``GraphDef``, from one traced forward.

The forward is recorded by ``ember.onnx._trace`` (the ONNX exporter's trace: every primitive with
the module it ran in). Each call becomes a node named ``<scope>/<Op>`` where the scope is the
module path with torch's spelling, ``Net/Sequential[features]/Conv2d[0]``, so the Graphs tab folds
each layer into one box; parameters are nodes named after their module and attribute; the inputs
and outputs are ``input/...`` and ``output/...`` IO nodes, as torch's graphs have.
"""

from __future__ import annotations

from collections import Counter

from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.config_pb2 import RunMetadata
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.step_stats_pb2 import DeviceStepStats, StepStats
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef

from ember.onnx import _trace

__all__ = ["graph", "load_onnx_graph"]


def _shape_attr(shapes, text=None) -> dict:
    attr = {}
    if text is not None:
        attr["attr"] = AttrValue(s=text.encode("utf-8"))
    if shapes:
        protos = [TensorShapeProto(dim=[TensorShapeProto.Dim(size=int(d)) for d in s])
                  for s in shapes]
        attr["_output_shapes"] = AttrValue(list=AttrValue.ListValue(shape=protos))
    return attr


def _describe(params) -> str:
    """The call's non-tensor arguments, as torch shows a node's attributes (``{ k : v }``)."""
    parts = []
    for k, v in params.items():
        if any(isinstance(x, _trace.Value) for x in _trace._leaves(v)):
            continue
        text = repr(v)
        if len(text) > 80:
            text = text[:77] + "..."
        parts.append(f"{k} : {text}")
    return "{ " + ", ".join(parts) + " }" if parts else "{}"


def _module_scopes(model) -> dict:
    """``{"features.0": "Net/Sequential[features]/Conv2d[0]"}`` for every submodule."""
    root = type(model).__name__
    scopes = {"": root}
    if not hasattr(model, "named_modules"):
        return scopes
    modules = dict(model.named_modules())
    for name in modules:
        if not name:
            continue
        parts, path = [root], ""
        for piece in name.split("."):
            path = f"{path}.{piece}" if path else piece
            parts.append(f"{type(modules[path]).__name__}[{piece}]")
        scopes[name] = "/".join(parts)
    return scopes


def graph(model, args, verbose=False):
    """``(GraphDef, RunMetadata)`` of ``model`` run on ``args`` (a tensor or a tuple), in eval
    mode, as ``torch.utils.tensorboard._pytorch_graph.graph`` returns them."""
    if args is None:
        args = ()
    from ember import _tensor

    if isinstance(args, _tensor.Tensor) or not isinstance(args, (tuple, list)):
        args = (args,)
    trace = _trace.Trace(model, snapshot=False)
    with _trace.eval_mode(model):
        trace.run(tuple(args))
    scopes = _module_scopes(model)
    root = scopes[""]
    names: dict = {}  # id(Value) -> the node (and output) that holds it
    used_names = set()
    counts = Counter()
    nodes = []

    def unique(base):
        name = base
        while name in used_names:
            counts[base] += 1
            name = f"{base}_{counts[base]}"
        used_names.add(name)
        return name

    for i, v in enumerate(trace.inputs):
        name = unique(f"input/input.{i + 1}" if len(trace.inputs) > 1 else "input/input")
        names[id(v)] = name
        nodes.append(NodeDef(name=name, op="IO Node", input=[], attr=_shape_attr([v.shape])))

    def ref(v, consumer_scope):
        name = names.get(id(v))
        if name is not None:
            return name
        if v.kind == "param":
            owner, _, attr = v.name.rpartition(".")
            base = f"{scopes.get(owner, root)}/{attr}"
            op = "prim::GetAttr"
        else:
            base = f"{consumer_scope}/Constant"
            op = "prim::Constant"
        name = unique(base)
        names[id(v)] = name
        nodes.append(NodeDef(name=name, op=op, input=[], attr=_shape_attr([v.shape])))
        return name

    for call in trace.calls:
        scope = _trace.scope_path(call.scope) or root
        inputs = [ref(v, scope) for v in call.inputs]
        name = unique(f"{scope}/{call.kind.__name__}")
        shapes = [o.shape for o in call.outputs if o is not None]
        nodes.append(NodeDef(name=name, op=call.kind.__name__, input=inputs,
                             attr=_shape_attr(shapes, _describe(call.params))))
        for k, o in enumerate(call.outputs):
            if o is not None:
                names[id(o)] = name if k == 0 else f"{name}:{k}"
    for i, v in enumerate(trace.outputs):
        src = ref(v, root)
        name = unique(f"output/output.{i + 1}")
        nodes.append(NodeDef(name=name, op="IO Node", input=[src], attr=_shape_attr([v.shape])))
    if verbose:
        for node in nodes:
            print(node.name, node.op, list(node.input))
    stepstats = RunMetadata(step_stats=StepStats(
        dev_stats=[DeviceStepStats(device="/device:CPU:0")]))
    return GraphDef(node=nodes, versions=VersionDef(producer=22)), stepstats


def load_onnx_graph(fname):
    """A ``GraphDef`` of an ONNX model file (its inputs, outputs and nodes)."""
    import onnx

    g = onnx.load(fname).graph
    nodes = []
    for value in list(g.input) + list(g.output):
        shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=d.dim_value)
                                      for d in value.type.tensor_type.shape.dim])
        nodes.append(NodeDef(name=value.name, op="Variable", input=[], attr={
            "dtype": AttrValue(type=value.type.tensor_type.elem_type),
            "shape": AttrValue(shape=shape)}))
    for node in g.node:
        text = ", ".join(" = ".join(str(f[1]) for f in a.ListFields()) for a in node.attribute)
        nodes.append(NodeDef(name=node.output[0], op=node.op_type, input=list(node.input),
                             attr={"parameters": AttrValue(s=text.encode("utf-8"))}))
    return GraphDef(node=nodes, versions=VersionDef(producer=22))
