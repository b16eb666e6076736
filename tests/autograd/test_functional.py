"""``autograd.functional`` (vjp, jvp, vhp, hvp, jacobian, hessian) against torch's."""

import pytest
import torch
from reference import assert_same, rand

import ember

X = rand((3,), "float64", seed=1)
Y = rand((2, 3), "float64", seed=2)
VX = rand((3,), "float64", seed=3)
VY = rand((2, 3), "float64", seed=4)


def t(m, a, requires_grad=False):
    return m.tensor(a, requires_grad=requires_grad)


def f_vec(m, x):
    return x * x * 2 + x


def f_two_in(m, x, y):
    return y * x - y * y


def f_two_out(m, x, y):
    return x * x, (y * x).sum(1)


def f_scalar(m, x):
    return (x * x * x).sum() + x.sum() ** 2


def f_scalar2(m, x, y):
    return (x * y * y).sum() + (x * x).sum() * 3


def both(name, fn, args, **kw):
    """``m.autograd.functional.<name>(fn bound to m, args converted to m, **kw)`` in both libs."""
    def run(m):
        conv = tuple(t(m, a) for a in args) if isinstance(args, tuple) else t(m, args)
        extra = {}
        for k, v in kw.items():
            extra[k] = tuple(t(m, a) for a in v) if isinstance(v, tuple) else (
                t(m, v) if hasattr(v, "shape") else v)
        return getattr(m.autograd.functional, name)(lambda *xs: fn(m, *xs), conv, **extra)

    e, tr = run(ember), run(torch)
    assert_same(e, tr)
    return e, tr


@pytest.mark.parametrize("fn,args", [(f_vec, X), (f_two_in, (X, Y)), (f_two_out, (X, Y))])
def test_jacobian(fn, args):
    both("jacobian", fn, args)


def test_jacobian_tuple_of_one_input():
    both("jacobian", f_vec, (X,))


def test_jacobian_of_an_unused_input_is_zero():
    both("jacobian", lambda m, x, y: x * 2, (X, Y))
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="independent of input 1"):
            m.autograd.functional.jacobian(lambda x, y: x * 2, (t(m, X), t(m, Y)), strict=True)


def test_jacobian_of_a_constant_output():
    both("jacobian", lambda m, x: m.ones(2, dtype=m.float64), X)


def test_jacobian_create_graph():
    for m in (ember, torch):
        x = t(m, X, requires_grad=True)
        j = m.autograd.functional.jacobian(lambda x: x * x * x, x, create_graph=True)
        assert j.requires_grad
        j.sum().backward()
    ex = ember.tensor(X, requires_grad=True)
    tx = torch.tensor(X, requires_grad=True)
    ember.autograd.functional.jacobian(lambda x: x * x * x, ex, create_graph=True).sum().backward()
    torch.autograd.functional.jacobian(lambda x: x * x * x, tx, create_graph=True).sum().backward()
    assert_same(ex.grad, tx.grad)


def test_jacobian_results_are_detached_without_create_graph():
    x = ember.tensor(X, requires_grad=True)
    j = ember.autograd.functional.jacobian(lambda x: x * x, x)
    assert not j.requires_grad and x.grad is None


@pytest.mark.parametrize("fn,args", [(f_scalar, X), (f_scalar2, (X, VX))])
def test_hessian(fn, args):
    both("hessian", fn, args)


def test_hessian_of_a_linear_function_is_zero():
    both("hessian", lambda m, x: (x * 3).sum(), X)


def test_hessian_needs_a_scalar():
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="should contain a single element"):
            m.autograd.functional.hessian(lambda x: x * x, t(m, X))
        with pytest.raises(RuntimeError, match="should return a single Tensor"):
            m.autograd.functional.hessian(lambda x: (x.sum(), x.sum()), t(m, X))


def test_vjp():
    both("vjp", f_vec, X, v=VX)
    both("vjp", f_two_in, (X, Y), v=VY)
    both("vjp", f_two_out, (X, Y), v=(VX, rand((2,), "float64", seed=5)))
    both("vjp", f_scalar, X)


def test_vjp_errors():
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="v can only be None"):
            m.autograd.functional.vjp(lambda x: x * 2, t(m, X))
        with pytest.raises(RuntimeError, match="v has invalid size"):
            m.autograd.functional.vjp(lambda x: x * 2, t(m, X), t(m, Y))
        with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
            m.autograd.functional.vjp(lambda x: 3, t(m, X), t(m, X))


def test_jvp():
    both("jvp", f_vec, X, v=VX)
    both("jvp", f_two_in, (X, Y), v=(VX, VY))
    both("jvp", f_two_out, (X, Y), v=(VX, VY))


def test_vhp_and_hvp():
    for name in ("vhp", "hvp"):
        both(name, f_scalar, X, v=VX)
        both(name, f_scalar2, (X, VX), v=(VX, X))


def test_vjp_create_graph_is_differentiable():
    def run(m):
        x = t(m, X, requires_grad=True)
        out, g = m.autograd.functional.vjp(lambda x: x * x * x, x, t(m, VX), create_graph=True)
        (g * g).sum().backward()
        return out, g, x.grad

    assert_same(run(ember), run(torch))


def test_hvp_equals_hessian_times_v():
    import numpy as np

    h = ember.autograd.functional.hessian(lambda x: f_scalar(ember, x), ember.tensor(X))
    _, hv = ember.autograd.functional.hvp(lambda x: f_scalar(ember, x), ember.tensor(X),
                                         ember.tensor(VX))
    np.testing.assert_allclose(hv.numpy(), h.numpy() @ VX, rtol=1e-12)
