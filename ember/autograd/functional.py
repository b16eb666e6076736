"""Higher-level derivatives built on ``autograd.grad``, as ``torch.autograd.functional``:
``vjp``, ``jvp``, ``vhp``, ``hvp``, ``jacobian``, ``hessian``.

``jvp`` and ``hvp`` use the double-backward trick, as torch does; ``jacobian`` is one backward
pass per output element (``vectorize`` and ``strategy`` are accepted and give the same values).
"""

from __future__ import annotations

__all__ = ["vjp", "jvp", "vhp", "hvp", "jacobian", "hessian"]


def _as_tuple(x, arg_name: str, fn_name: str):
    """``(is_tuple, tuple_of_tensors)``; TypeError for anything but a Tensor or tuple of them."""
    from ember._tensor import Tensor

    is_tuple = isinstance(x, tuple)
    xs = x if is_tuple else (x,)
    for i, el in enumerate(xs):
        if not isinstance(el, Tensor):
            where = f"value at index {i}" if is_tuple else f"given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple "
                            f"of Tensors but the {where} has type {type(el)}.")
    return is_tuple, xs


def _untuple(xs, is_tuple):
    return xs if is_tuple else xs[0]


def _prepare(inputs, create_graph: bool, need_graph: bool = True):
    """Inputs the function runs on: connected to the caller's graph only with create_graph."""
    if create_graph:
        return tuple(x if x.requires_grad else x.detach().requires_grad_(need_graph)
                     for x in inputs)
    return tuple(x.detach().requires_grad_(need_graph) for x in inputs)


def _finish(xs, create_graph: bool):
    return xs if create_graph else tuple(None if x is None else x.detach() for x in xs)


def _validate_v(v, other, is_other_tuple: bool) -> None:
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got "
                               f"{len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (a, b) in enumerate(zip(v, other)):
        if a.shape != b.shape:
            prefix = f"Entry {i} in " if is_other_tuple else ""
            raise RuntimeError(f"{prefix}v has invalid size: should be {b.size()} but got "
                               f"{a.size()}.")


def _check_outputs_require_grad(outputs, strict: bool) -> None:
    if strict:
        for i, o in enumerate(outputs):
            if not o.requires_grad:
                raise RuntimeError(f"Output {i} of the user-provided function does not require "
                                   "gradients. The outputs must be computed in a differentiable "
                                   "manner from the input when running in strict mode.")


def _grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``autograd.grad`` over the outputs that require grad; None for inputs nothing reaches."""
    from ember.autograd import grad

    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], inputs, [g for _, g in pairs], create_graph=create_graph,
                retain_graph=retain_graph, allow_unused=True)


def _fill_zeros(grads, refs, strict: bool, what: str):
    """Zeros where a gradient is None (the mathematical value); an error in strict mode."""
    from ember.ops.creation import zeros_like

    out = []
    for i, (g, r) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The {what} is independent of input {i}. This is not "
                                   "allowed in strict mode.")
            g = zeros_like(r)
        out.append(g)
    return tuple(out)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: the output and the vector-Jacobian product."""
    from ember.autograd.grad_mode import enable_grad

    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        xs = _prepare(inputs, create_graph)
        out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function", "vjp")
        _check_outputs_require_grad(outs, strict)
        if v is not None:
            _, v = _as_tuple(v, "v", "vjp")
            v = _prepare(v, create_graph, need_graph=False)
            _validate_v(v, outs, out_tuple)
        elif len(outs) != 1 or outs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
        gs = _grad(outs, xs, v, create_graph=create_graph)
        gs = _fill_zeros(gs, xs, strict, "output of the user-provided function")
    return _untuple(_finish(outs, create_graph), out_tuple), \
        _untuple(_finish(gs, create_graph), in_tuple)


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)``: the output and the Jacobian-vector product."""
    from ember.autograd.grad_mode import enable_grad
    from ember.ops.creation import zeros_like

    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        xs = _prepare(inputs, create_graph)
        if v is not None:
            _, v = _as_tuple(v, "v", "jvp")
            v = _prepare(v, create_graph, need_graph=False)
            _validate_v(v, xs, in_tuple)
        elif len(xs) != 1 or xs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function", "jvp")
        _check_outputs_require_grad(outs, strict)
        # Backward is linear in its grad_output u, so d(J^T u)/du applied to v is J v; u's value
        # does not matter (zeros are safe: no inf or nan).
        us = tuple(zeros_like(o, requires_grad=True) for o in outs)
        g_in = _grad(outs, xs, us, create_graph=True)
        if strict and any(g is None for g in g_in):
            i = next(k for k, g in enumerate(g_in) if g is None)
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        res = _grad(g_in, us, v, create_graph=create_graph)
        res = _fill_zeros(res, outs, strict, "jvp of the user-provided function")
    return _untuple(_finish(outs, create_graph), out_tuple), \
        _untuple(_finish(res, create_graph), out_tuple)


def jacobian(func, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: shape ``out.shape + in.shape`` per (output, input).

    A Tensor for one input and one output; a tuple over inputs and/or outputs otherwise.
    """
    from ember.autograd.grad_mode import enable_grad
    from ember.ops.creation import zeros, zeros_like

    if strategy not in ("forward-mode", "reverse-mode"):
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: '
                         'If your function has more outputs than inputs, "forward-mode" tends to '
                         'be more performant. Otherwise, prefer to use "reverse-mode".')
    with enable_grad():
        in_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        xs = _prepare(inputs, create_graph)
        out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function",
                                    "jacobian")
        _check_outputs_require_grad(outs, strict)
        result = []
        for i, o in enumerate(outs):
            rows = [[] for _ in xs]  # per input: one gradient per element of o
            for k in range(o.numel()):
                e = zeros_like(o)
                e._data.reshape(-1)[k] = 1  # zeros_like is contiguous: reshape is a view
                gs = _grad((o,), xs, (e,), create_graph=create_graph, retain_graph=True)
                for j, (r, g, x) in enumerate(zip(rows, gs, xs)):
                    if g is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {j}. This is not allowed "
                                               "in strict mode.")
                        g = zeros_like(x)
                    r.append(g)
            per_in = []
            for r, x in zip(rows, xs):
                shape = tuple(o.shape) + tuple(x.shape)
                if r:
                    from ember.ops.shape import stack

                    j = stack(r).reshape(shape)
                else:
                    j = zeros(shape, dtype=x.dtype, device=x.device)
                per_in.append(j)
            result.append(_untuple(_finish(tuple(per_in), create_graph), in_tuple))
    return tuple(result) if out_tuple else result[0]


def hessian(func, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function ``func`` at ``inputs`` (a tuple of tuples for several)."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = _scalar_output(func(*xs), "hessian", strict)
        gs = _grad(out, xs, create_graph=True)
        return _fill_zeros(gs, xs, strict, "output of the user-provided function")

    jac = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return jac if in_tuple else jac[0][0]


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar ``func``."""
    from ember.autograd.grad_mode import enable_grad

    with enable_grad():
        in_tuple, xs, v, out, jac = _gradient_at(func, inputs, v, create_graph, strict, "vhp")
        res = _fill_zeros(_grad(jac, xs, v, create_graph=create_graph), xs, strict,
                          "hessian of the user-provided function")
    return _finish(out, create_graph)[0], _untuple(_finish(res, create_graph), in_tuple)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar ``func``, by the double-backward trick."""
    from ember.autograd.grad_mode import enable_grad
    from ember.ops.creation import zeros_like

    with enable_grad():
        in_tuple, xs, v, out, jac = _gradient_at(func, inputs, v, create_graph, strict, "hvp")
        us = tuple(zeros_like(x, requires_grad=True) for x in xs)
        back = _grad(jac, xs, us, create_graph=True)  # H^T u, linear in u
        res = _fill_zeros(_grad(back, us, v, create_graph=create_graph), xs, strict,
                          "hessian of the user-provided function")
    return _finish(out, create_graph)[0], _untuple(_finish(res, create_graph), in_tuple)


def _gradient_at(func, inputs, v, create_graph, strict, fn_name):
    """vhp's and hvp's start (under enable_grad): the inputs, ``v`` checked, ``func``'s scalar
    output and its gradient, kept differentiable for the second product."""
    in_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    xs = _prepare(inputs, create_graph)
    v = _hessian_v(v, xs, in_tuple, create_graph, fn_name)
    out = _scalar_output(func(*xs), fn_name, strict)
    jac = _fill_zeros(_grad(out, xs, create_graph=True), xs, strict,
                      "output of the user-provided function")
    return in_tuple, xs, v, out, jac


def _hessian_v(v, xs, in_tuple, create_graph, fn_name):
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _prepare(v, create_graph, need_graph=False)
        _validate_v(v, xs, in_tuple)
        return v
    if len(xs) != 1 or xs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the input to the user-provided "
                           "function is a single Tensor with a single element.")
    return None


def _scalar_output(out, fn_name, strict):
    out_tuple, outs = _as_tuple(out, "outputs of the user-provided function", fn_name)
    _check_outputs_require_grad(outs, strict)
    if out_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")
    return outs
