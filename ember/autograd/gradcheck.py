"""``gradcheck``/``gradgradcheck``: analytical gradients against central finite differences."""

from __future__ import annotations

import numpy as np

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when a gradient does not match its numerical estimate."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable_outputs(fn, inputs):
    return tuple(o for o in _as_tuple(fn(*inputs)) if hasattr(o, "_data") and o.requires_grad)


def _numerical_jacobian(fn, inputs, i, eps):
    """d(outputs)/d(inputs[i]) by central differences: one column per input element."""
    x = inputs[i]
    flat = x._data.reshape(-1)  # a view: perturbing it perturbs x
    cols = []
    for k in range(flat.size):
        orig = flat[k].copy()
        flat[k] = orig + eps
        plus = [o._data.astype(np.float64).ravel().copy() for o in _as_tuple(fn(*inputs))
                if hasattr(o, "_data")]
        flat[k] = orig - eps
        minus = [o._data.astype(np.float64).ravel().copy() for o in _as_tuple(fn(*inputs))
                 if hasattr(o, "_data")]
        flat[k] = orig
        cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def _analytical_jacobian(fn, inputs, i):
    from ember.autograd import grad
    from ember.autograd.grad_mode import enable_grad
    from ember.ops.creation import zeros_like

    with enable_grad():
        outs = [o for o in _as_tuple(fn(*inputs)) if hasattr(o, "_data")]
    rows = []
    for j, o in enumerate(outs):
        for k in range(o.numel()):
            g = zeros_like(o)
            g._data.reshape(-1)[k] = 1
            if not o.requires_grad:
                rows.append(np.zeros(inputs[i].numel()))
                continue
            (gi,) = grad(o, inputs[i], g, retain_graph=True, allow_unused=True)
            rows.append(np.zeros(inputs[i].numel()) if gi is None
                        else gi._data.astype(np.float64).ravel())
    return np.stack(rows, axis=0) if rows else np.zeros((0, 0))


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **kwargs) -> bool:
    """Check ``func``'s gradients with respect to every input that requires grad.

    Inputs should be float64 (or complex128): finite differences in float32 are too coarse.
    """
    inputs = _as_tuple(inputs)
    for i, x in enumerate(inputs):
        if not (hasattr(x, "_data") and x.requires_grad):
            continue
        if x.dtype.itemsize < 8 and x.dtype.is_floating_point:
            import warnings

            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. This check will likely fail if all the inputs are not of "
                          "double precision floating point.", UserWarning, stacklevel=2)
        num = _numerical_jacobian(func, inputs, i, eps)
        ana = _analytical_jacobian(func, inputs, i)
        if num.shape != ana.shape or not np.allclose(ana, num, rtol=rtol, atol=atol):
            if raise_exception:
                raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {i},\n"
                                     f"numerical:{num}\nanalytical:{ana}\n")
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, **kwargs) -> bool:
    """``gradcheck`` of the gradient of ``func`` (second derivatives, through ``create_graph``)."""
    from ember.autograd import grad
    from ember.ops.random import randn_like

    inputs = _as_tuple(inputs)
    outs = _differentiable_outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = tuple(randn_like(o, dtype=o.dtype).requires_grad_() for o in outs)
    grad_outputs = _as_tuple(grad_outputs)

    def first_grads(*args):
        xs, gos = args[:len(inputs)], args[len(inputs):]
        outs = _differentiable_outputs(func, xs)
        wanted = [x for x in xs if hasattr(x, "_data") and x.requires_grad]
        return grad(outs, wanted, gos, create_graph=True, allow_unused=True)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
