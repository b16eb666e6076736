"""Higher-level derivatives built on ``autograd.grad``: ``vjp``, ``jvp``, ``jacobian``, ``hessian``."""

from __future__ import annotations

__all__ = ["vjp", "jacobian", "hessian"]


def _tuple(x):
    return (tuple(x), True) if isinstance(x, (tuple, list)) else ((x,), False)


def _prepare(inputs, create_graph):
    return tuple(x.detach().requires_grad_(True) if not create_graph or not x.requires_grad else x
                 for x in inputs)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the output and the vector-Jacobian product."""
    from ember.autograd import grad
    from ember.autograd.grad_mode import enable_grad

    inputs, is_tuple = _tuple(inputs)
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        out = func(*xs)
        outs, _ = _tuple(out)
        vs = _tuple(v)[0] if v is not None else (None,) * len(outs)
        gs = grad(outs, xs, vs, create_graph=create_graph, allow_unused=True,
                  materialize_grads=True)
    if not create_graph:
        out = tuple(o.detach() for o in outs) if isinstance(out, tuple) else out.detach()
        gs = tuple(g.detach() for g in gs)
    return out, (gs if is_tuple else gs[0])


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: shape ``out.shape + in.shape`` per (output, input)."""
    from ember.autograd import grad
    from ember.autograd.grad_mode import enable_grad
    from ember.ops.creation import zeros_like
    from ember.ops.shape import stack

    inputs, in_tuple = _tuple(inputs)
    with enable_grad():
        xs = _prepare(inputs, create_graph)
        outs, out_tuple = _tuple(func(*xs))
        result = []
        for o in outs:
            rows = [[] for _ in xs]
            for k in range(o.numel()):
                e = zeros_like(o)
                e._data.reshape(-1)[k] = 1
                gs = grad(o, xs, e, retain_graph=True, create_graph=create_graph,
                          allow_unused=True, materialize_grads=True)
                for r, g in zip(rows, gs):
                    r.append(g)
            per_in = tuple(
                (stack(r).reshape(tuple(o.shape) + tuple(x.shape)) if r else
                 zeros_like(x).reshape(tuple(o.shape) + tuple(x.shape)))
                for r, x in zip(rows, xs))
            if not create_graph:
                per_in = tuple(j.detach() for j in per_in)
            result.append(per_in if in_tuple else per_in[0])
    return tuple(result) if out_tuple else result[0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function ``func`` at ``inputs``."""
    from ember.autograd import grad

    inputs, in_tuple = _tuple(inputs)

    def gradient(*xs):
        out = func(*xs)
        if out.numel() != 1:
            raise RuntimeError("The function given to hessian should return a single element "
                               "Tensor")
        return grad(out, xs, create_graph=True, allow_unused=True, materialize_grads=True)

    jac = jacobian(gradient, inputs, create_graph=create_graph)
    if in_tuple:
        return jac
    return jac[0]
