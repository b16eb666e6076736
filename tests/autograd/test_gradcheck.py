"""gradcheck/gradgradcheck: they pass on correct gradients, and catch wrong ones, as torch's do."""

import numpy as np
import pytest
import torch
from reference import rand

import ember
from ember.autograd.gradcheck import GradcheckError

A = rand((2, 3), "float64", seed=1)
B = rand((2, 3), "float64", seed=2, positive=True)


def inputs(m, *arrays):
    return tuple(m.from_numpy(a.copy()).requires_grad_() for a in arrays)


def wrong_functions(m):
    class WrongFirst(m.autograd.Function):
        """d(x*x)/dx reported as 3x instead of 2x."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x

    class WrongSecond(m.autograd.Function):
        """x**3 with a correct first derivative computed from a detached x: not differentiable
        again, so every second derivative is wrong (zero)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            xd = x.detach()
            return g * 3 * xd * xd

    return WrongFirst, WrongSecond


@pytest.mark.parametrize("fn", [
    lambda m, a, b: a * b + a / b - b ** 2,
    lambda m, a, b: (a * a).sum() * b,
    lambda m, a, b: (a + b, a * b),
    lambda m, a, b: a.exp() * b.sin(),
    lambda m, a, b: (a @ b.t()).tanh(),
])
def test_correct_gradients_pass_like_torch(fn):
    for m in (ember, torch):
        xs = inputs(m, A, B)
        assert m.autograd.gradcheck(lambda a, b: fn(m, a, b), xs)
        assert m.autograd.gradgradcheck(lambda a, b: fn(m, a, b), xs)


def test_wrong_backward_is_caught():
    for m in (ember, torch):
        wrong_first, _ = wrong_functions(m)
        xs = inputs(m, A)
        with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to "
                                               "input 0"):
            m.autograd.gradcheck(wrong_first.apply, xs)
        assert m.autograd.gradcheck(wrong_first.apply, xs, raise_exception=False) is False


def test_gradcheck_error_type():
    wrong_first, _ = wrong_functions(ember)
    with pytest.raises(GradcheckError):
        ember.autograd.gradcheck(wrong_first.apply, inputs(ember, A))
    assert issubclass(GradcheckError, RuntimeError)


def test_wrong_double_backward_is_caught_by_gradgradcheck_only():
    for m in (ember, torch):
        _, wrong_second = wrong_functions(m)
        xs = inputs(m, A)
        assert m.autograd.gradcheck(wrong_second.apply, xs)
        with pytest.raises(RuntimeError, match="Jacobian mismatch"):
            m.autograd.gradgradcheck(wrong_second.apply, xs)
        assert m.autograd.gradgradcheck(wrong_second.apply, xs, raise_exception=False) is False


def test_wrong_gradient_on_the_second_input_names_it():
    class WrongB(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a * 2

    with pytest.raises(GradcheckError, match="with respect to input 1"):
        ember.autograd.gradcheck(WrongB.apply, inputs(ember, A, B))


def test_non_contiguous_inputs_are_perturbed_correctly():
    at = np.ascontiguousarray(A.T).T  # a transposed (Fortran-ordered) view
    x = ember.from_numpy(at).requires_grad_()
    assert not x.is_contiguous()
    assert ember.autograd.gradcheck(lambda x: x * x * ember.from_numpy(B), (x,))
    wrong_first, _ = wrong_functions(ember)
    assert not ember.autograd.gradcheck(wrong_first.apply, (x,), raise_exception=False)


def test_non_tensor_and_non_grad_inputs():
    x, = inputs(ember, A)
    c = ember.from_numpy(B.copy())
    assert ember.autograd.gradcheck(lambda x, c, k: x * c * k, (x, c, 2.5))


def test_integer_outputs_are_ignored():
    x, = inputs(ember, A)
    assert ember.autograd.gradcheck(lambda x: (x * x, (x * 10).long()), (x,))


def test_no_input_requires_grad_raises_value_error():
    for m in (ember, torch):
        with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
            m.autograd.gradcheck(lambda x: x * 2, (m.from_numpy(A.copy()),))


def test_single_precision_warns():
    for m in (ember, torch):
        x = m.from_numpy(A.astype(np.float32)).requires_grad_()
        with pytest.warns(UserWarning, match="not a double precision floating point"):
            m.autograd.gradcheck(lambda x: x * 2, (x,), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_single_tensor_input_not_in_a_tuple():
    x, = inputs(ember, A)
    assert ember.autograd.gradcheck(lambda x: x * x, x)
    assert ember.autograd.gradgradcheck(lambda x: x * x * x, x)


def test_gradgradcheck_with_given_grad_outputs():
    xs = inputs(ember, A)
    go = ember.from_numpy(B.copy()).requires_grad_()
    assert ember.autograd.gradgradcheck(lambda x: x * x * x, xs, (go,))


def test_inputs_unchanged_after_check():
    xs = inputs(ember, A, B)
    ember.autograd.gradcheck(lambda a, b: a * b, xs)
    np.testing.assert_array_equal(xs[0].detach().numpy(), A)
    np.testing.assert_array_equal(xs[1].detach().numpy(), B)
