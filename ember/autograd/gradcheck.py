"""``gradcheck``/``gradgradcheck``: analytical gradients against central finite differences."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when a gradient does not match its numerical estimate."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_tensor(x) -> bool:
    return hasattr(x, "_data") and hasattr(x, "grad_fn")


def _float_outputs(fn, inputs):
    """``fn``'s floating (differentiable) outputs; integer outputs (indices) are not checked."""
    return [o for o in _as_tuple(fn(*inputs)) if _is_tensor(o) and o._data.dtype.kind in "fc"]


def _numerical_jacobian(fn, inputs, i, eps):
    """``[d(out_j)/d(inputs[i])]`` by central differences, each of shape ``(in numel, out numel)``.

    Elements are perturbed in place through ``x._data[idx]``, which works for any strides.
    """
    data = inputs[i]._data
    cols = []
    for idx in np.ndindex(*data.shape):
        orig = data[idx].copy()
        data[idx] = orig + eps
        plus = [o._data.astype(np.float64).ravel() for o in _float_outputs(fn, inputs)]
        data[idx] = orig - eps
        minus = [o._data.astype(np.float64).ravel() for o in _float_outputs(fn, inputs)]
        data[idx] = orig
        cols.append([(p - m) / (2 * eps) for p, m in zip(plus, minus)])
    n_out = len(_float_outputs(fn, inputs))
    return [np.stack([c[j] for c in cols]) if cols else np.zeros((0, 0)) for j in range(n_out)]


def _analytical_jacobian(fn, inputs, i):
    """``[d(out_j)/d(inputs[i])]`` by backward passes, one per output element."""
    from ember.autograd import grad
    from ember.autograd.grad_mode import enable_grad
    from ember.ops.creation import zeros_like

    x = inputs[i]
    with enable_grad():
        outs = _float_outputs(fn, inputs)
    jacs = []
    for o in outs:
        rows = []
        for k in range(o.numel()):
            if not o.requires_grad:
                rows.append(np.zeros(x.numel()))
                continue
            g = zeros_like(o)
            g._data.reshape(-1)[k] = 1  # zeros_like is contiguous: reshape is a view
            (gi,) = grad(o, x, g, retain_graph=True, allow_unused=True)
            if gi is not None and tuple(gi.shape) != tuple(x.shape):
                raise GradcheckError(f"Gradient has incorrect shape: {tuple(gi.shape)} for input "
                                     f"of shape {tuple(x.shape)}")
            rows.append(np.zeros(x.numel()) if gi is None
                        else gi._data.astype(np.float64).ravel())
        jacs.append(np.stack(rows, axis=1) if rows else np.zeros((x.numel(), 0)))
    return jacs


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
    """Check ``func``'s gradients with respect to every input that requires grad.

    Inputs should be float64 (or complex128): finite differences in float32 are too coarse.
    ember checks the full Jacobians (``fast_mode`` and the batched/forward-AD checks are
    accepted for compatibility and have no effect).
    """
    inputs = _as_tuple(inputs)
    wanted = [i for i, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad]
    if not wanted:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    for i in wanted:
        if inputs[i]._data.dtype not in (np.float64, np.complex128):
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are "
                          "not of double precision floating point or complex. ", UserWarning,
                          stacklevel=2)
    for i in wanted:
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytical_jacobian(func, inputs, i)
        for j, (n, a) in enumerate(zip(num, ana)):
            if n.shape != a.shape or not np.allclose(a, n, rtol=rtol, atol=atol):
                if raise_exception:
                    raise GradcheckError(f"Jacobian mismatch for output {j} with respect to input "
                                         f"{i},\nnumerical:{n}\nanalytical:{a}\n")
                return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, gen_non_contig_grad_outputs: bool = False,
                  raise_exception: bool = True, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """``gradcheck`` of the gradient of ``func`` (second derivatives, through ``create_graph``).

    ``grad_outputs`` default to random values in [-1, 1) that themselves require grad, so the
    derivatives with respect to them are checked too.
    """
    from ember.autograd import grad
    from ember.autograd.grad_mode import enable_grad
    from ember.ops.creation import tensor

    inputs = _as_tuple(inputs)
    with enable_grad():
        outs = [o for o in _float_outputs(func, inputs) if o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            tensor(rng.uniform(-1, 1, size=tuple(o.shape)).astype(o._data.dtype),
                   device=o.device, requires_grad=True) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)

    def first_grads(*args):
        xs, gos = args[:n_in], args[n_in:]
        outs = [o for o in _float_outputs(func, xs) if o.requires_grad]
        diff = [x for x in xs if _is_tensor(x) and x.requires_grad]
        return grad(outs, diff, gos, create_graph=True, allow_unused=True)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
