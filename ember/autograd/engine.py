"""The backward engine: walk the graph from the outputs in dependency order, call each node's
``backward``, reduce every gradient to its input's shape and dtype, and accumulate into leaves.
"""

from __future__ import annotations

import heapq

from ember.autograd.grad_mode import _state
from ember.dtypes import _FROM_NP

__all__ = ["run_backward"]


def _reduce_to(g, shape, dtype):
    # dtype: the input's NumPy dtype (edges store it so that recording stays cheap)
    """``g`` summed over broadcast dimensions down to ``shape``, and cast to ``dtype``.

    This is the one place broadcasting is undone: no op's backward does it.
    """
    gshape = g._data.shape
    if gshape != shape:
        lead = len(gshape) - len(shape)
        dims = tuple(range(lead)) + tuple(
            i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1)
        if dims:
            g = g.sum(dims, keepdim=True)
        if lead or g._data.shape != shape:
            g = g.reshape(shape)
    if g._data.dtype != dtype:
        if g._data.dtype.kind == "c" and dtype.kind != "c":
            g = g.real  # a real input's gradient is the real part, as torch
        g = g.to(_FROM_NP[dtype])
    return g


def _graph_dependencies(roots):
    """For every node reachable from ``roots``: how many edges point at it."""
    deps = {}
    stack = [n for n in roots]
    seen = set(id(n) for n in stack)
    while stack:
        node = stack.pop()
        for e in node._next:
            if e is None or not hasattr(e[0], "_next"):
                continue
            child = e[0]
            deps[child] = deps.get(child, 0) + 1
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return deps


def run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False, inputs=None,
                 allow_unused=False, accumulate=True):
    """Back-propagate ``grad_outputs`` from ``outputs``.

    accumulate=True (``Tensor.backward``): add into ``.grad`` of the leaves (only of ``inputs`` when
    given). accumulate=False (``autograd.grad``): return the gradients of ``inputs`` instead.
    """
    # Gradients wanted for specific tensors: leaves by identity, non-leaves by (node, output_nr).
    want_leaf, want_node = {}, {}
    repeats = []  # (i, j): inputs[i] is inputs[j], asked for twice
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t.grad_fn is None:
                wanted, key = want_leaf, id(t)
            else:
                wanted, key = want_node, (t.grad_fn, t._output_nr)
            if key in wanted:
                repeats.append((i, wanted[key]))
            else:
                wanted[key] = i
    captured = [None] * (len(inputs) if inputs is not None else 0)

    buffers = {}  # node -> [grad per output]
    leaf_grads = {}  # id(leaf) -> [leaf, grad]
    root_nodes = []
    for t, g in zip(outputs, grad_outputs):
        node = t.grad_fn
        if node is None:
            if not t._requires_grad:
                raise RuntimeError("element 0 of tensors does not require grad and does not have "
                                   "a grad_fn")
            _add_leaf(leaf_grads, t, g)
            continue
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * node._n_out
            root_nodes.append(node)
        nr = t._output_nr
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    deps = _graph_dependencies(root_nodes)
    ready = [(-n._seq, id(n), n) for n in root_nodes if deps.get(n, 0) == 0]
    heapq.heapify(ready)
    prev_mode = _state.enabled
    _state.enabled = create_graph
    try:
        while ready:
            node = heapq.heappop(ready)[2]
            grads = buffers.pop(node, None) or [None] * node._n_out
            grads = _run_output_hooks(node, grads, want_node, captured)
            if any(g is not None for g in grads):
                in_grads = _call_backward(node, grads)
            else:
                in_grads = (None,) * len(node._next)
            post = node.__dict__.get("_post_hooks")
            if post:
                for hook in post:
                    r = hook(in_grads, grads)
                    if r is not None:  # a node hook may replace the gradients, as in torch
                        in_grads = tuple(r) if isinstance(r, (tuple, list)) else (r,)
            if not retain_graph:
                node._free()
            for e, g in zip(node._next, in_grads):
                if e is None:
                    continue
                target, nr, shape, dtype = e
                if g is not None:
                    g = _reduce_to(g, shape, dtype)
                if not hasattr(target, "_next"):  # a leaf tensor
                    if g is not None:
                        _add_leaf(leaf_grads, target, g)
                    continue
                if g is not None:
                    buf = buffers.get(target)
                    if buf is None:
                        buf = buffers[target] = [None] * target._n_out
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                deps[target] -= 1
                if deps[target] == 0:
                    heapq.heappush(ready, (-target._seq, id(target), target))

        # A gradient array the engine made for one leaf alone can become that leaf's .grad as it
        # is; one that is shared (the user's grad_output, or one tensor sent to several inputs)
        # is copied first, so that accumulating into one .grad never changes another tensor.
        seen = {id(g._data) for g in grad_outputs}
        shared = set()
        for _, g in leaf_grads.values():
            (shared if id(g._data) in seen else seen).add(id(g._data))
        for leaf, g in leaf_grads.values():
            for hook in leaf.__dict__.get("_hooks") or ():
                g = _call_hook(hook, g)
            if id(leaf) in want_leaf:
                captured[want_leaf[id(leaf)]] = g
            if accumulate and (inputs is None or id(leaf) in want_leaf):
                owned = id(g._data) not in shared and not leaf.__dict__.get("_hooks")
                _accumulate(leaf, g, create_graph, owned)
    finally:
        _state.enabled = prev_mode

    for i, j in repeats:
        captured[i] = captured[j]
    if inputs is not None and not accumulate:
        for g in captured:
            if g is None and not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been "
                                   "used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
        return tuple(captured)
    if inputs is not None:  # backward(inputs=[non-leaf]) fills their .grad
        for t in inputs:
            if t.grad_fn is not None:
                g = captured[want_node[(t.grad_fn, t._output_nr)]]
                if g is not None:
                    _accumulate(t, g, create_graph)
    return None


def _add_leaf(leaf_grads, leaf, g):
    entry = leaf_grads.get(id(leaf))
    if entry is None:
        leaf_grads[id(leaf)] = [leaf, g]
    else:
        entry[1] = entry[1] + g


def _call_hook(hook, g):
    """``hook(g)``; its result replaces ``g`` when it returns one, of the same shape and dtype."""
    r = hook(g)
    if r is None:
        return g
    if r.shape != g.shape:
        raise RuntimeError(f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has changed "
                           "the size of value")
    if r.dtype is not g.dtype:
        raise RuntimeError(f"hook '{getattr(hook, '__name__', type(hook).__name__)}' has changed "
                           f"the type of value (was {g.dtype} got {r.dtype})")
    return r


def _run_output_hooks(node, grads, want_node, captured):
    """Tensor hooks and retain_grad of the node's outputs, and gradients autograd.grad asked for."""
    hooks = node._hooks
    if hooks:
        for nr, fns in hooks.items():
            for fn in list(fns):
                if grads[nr] is not None:
                    grads[nr] = _call_hook(fn, grads[nr])
    retained = node._retained
    if retained:
        for nr, ref in retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if _state.enabled else grads[nr].detach()
                t.grad = g.clone() if t.grad is None else t.grad + g
    if want_node:
        for nr in range(len(grads)):
            i = want_node.get((node, nr))
            if i is not None:
                captured[i] = grads[nr]
    return grads


def _call_backward(node, grads):
    if node._n_out > 1 and node._materialize:
        from ember.ops.creation import zeros

        grads = [g if g is not None else zeros(shape, dtype=dtype, device=node.device)
                 for g, (shape, dtype) in zip(grads, node._out_meta)]
    result = type(node).backward(node, *grads)
    if not isinstance(result, tuple):
        result = (result,)
    n = len(node._next)
    if len(result) != n:
        if len(result) > n and all(r is None for r in result[n:]):
            result = result[:n]
        else:
            raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                               f"(expected {n}, got {len(result)})")
    for i, (g, e) in enumerate(zip(result, node._next)):
        if g is not None and e is not None and g._data.shape != e[2]:
            _check_expandable(node, i, e[2], g._data.shape)
    return result


def _check_expandable(node, i, shape, gshape) -> None:
    """A gradient must have its input's shape, or one the input broadcasts to (then reduced)."""
    if len(gshape) >= len(shape) and all(
            s == gs or s == 1 for s, gs in zip(reversed(shape), reversed(gshape))):
        return
    raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i} - got "
                       f"{list(gshape)} but expected shape compatible with {list(shape)}")


def _accumulate(leaf, g, create_graph, owned=False):
    """Add ``g`` into ``leaf.grad``: in place when possible, as PyTorch's AccumulateGrad does.

    ``owned``: nothing else refers to ``g``'s array, so it may become ``.grad`` without a copy
    (if it is a writable array of its own, not a view such as a broadcast).
    """
    if leaf.grad is None:
        a = g._data
        if create_graph:
            leaf.grad = g.clone()
        elif owned and a.base is None and a.flags.writeable:
            leaf.grad = g.detach()
        else:
            leaf.grad = g.detach().clone()
    elif create_graph or leaf.grad._requires_grad:
        leaf.grad = leaf.grad + g
    else:
        leaf.grad._data += g._data
        leaf.grad._bump_version()
