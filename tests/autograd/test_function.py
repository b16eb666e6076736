"""Custom ``autograd.Function`` subclasses written exactly as PyTorch users write them, run on
ember and on torch side by side."""

import numpy as np
import pytest
import torch
from reference import assert_same, rand, to_numpy

import ember

A = rand((2, 3), "float64", seed=1)
B = rand((2, 3), "float64", seed=2)


def functions(m):
    """The same user Functions, subclassing ``m.autograd.Function`` (m is ember or torch)."""

    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x * x

    class MulConstant(m.autograd.Function):
        @staticmethod
        def forward(ctx, tensor, constant):
            ctx.constant = constant
            return tensor * constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    class Linear(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b=None):
            ctx.save_for_backward(x, w, b)
            out = x * w
            return out + b if b is not None else out

        @staticmethod
        def backward(ctx, g):
            x, w, b = ctx.saved_tensors
            ctx.seen = ctx.needs_input_grad
            gx = g * w if ctx.needs_input_grad[0] else None
            gw = g * x if ctx.needs_input_grad[1] else None
            gb = g if b is not None and ctx.needs_input_grad[2] else None
            return gx, gw, gb

    class SplitTwo(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2, x * x

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            return g1 * 2 + g2 * 2 * x

    class SplitNoMaterialize(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            ctx.got = (g1 is None, g2 is None)
            out = None
            if g1 is not None:
                out = g1 * 2
            if g2 is not None:
                out = g2 * 3 if out is None else out + g2 * 3
            return out

    class DoubleInplace(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    class WithMask(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            mask = (x > 0).to(x.dtype)
            ctx.mark_non_differentiable(mask)
            ctx.save_for_backward(mask)
            return x * mask, mask

        @staticmethod
        def backward(ctx, g, g_mask):
            (mask,) = ctx.saved_tensors
            return g * mask

    class SquareOnce(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @m.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    class Identity(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    return dict(Cube=Cube, MulConstant=MulConstant, Linear=Linear, SplitTwo=SplitTwo,
                SplitNoMaterialize=SplitNoMaterialize, DoubleInplace=DoubleInplace,
                WithMask=WithMask, SquareOnce=SquareOnce, Identity=Identity)


E, T = functions(ember), functions(torch)


def run_both(fn):
    """``fn(m, F)`` for ember and torch, F being that library's Functions; results compared."""
    e, t = fn(ember, E), fn(torch, T)
    assert_same(e, t)
    return e, t


def test_save_for_backward_and_saved_tensors():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        y = F["Cube"].apply(x)
        y.sum().backward()
        return y, x.grad, y.requires_grad, y.is_leaf

    run_both(f)


def test_grad_fn_name():
    x = ember.tensor(A, requires_grad=True)
    assert E["Cube"].apply(x).grad_fn.name() == "CubeBackward"
    assert "grad_fn=<CubeBackward>" in repr(E["Cube"].apply(x))
    t = torch.tensor(A, requires_grad=True)
    assert T["Cube"].apply(t).grad_fn.name() == "CubeBackward"


def test_non_tensor_argument():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        y = F["MulConstant"].apply(x, 2.5)
        (y * y).sum().backward()
        return y, x.grad

    run_both(f)


def test_needs_input_grad():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        w = m.tensor(B)
        b = m.tensor(B, requires_grad=True)
        y = F["Linear"].apply(x, w, b)
        y.sum().backward()
        return x.grad, b.grad, w.grad is None, tuple(y.grad_fn.seen)

    run_both(f)


def test_none_input():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        w = m.tensor(B, requires_grad=True)
        y = F["Linear"].apply(x, w)
        y.sum().backward()
        return x.grad, w.grad

    run_both(f)


def test_no_grad_inputs_give_no_graph():
    def f(m, F):
        y = F["Cube"].apply(m.tensor(A))
        with m.no_grad():
            z = F["Cube"].apply(m.tensor(A, requires_grad=True))
        return y, y.requires_grad, z.requires_grad, y.grad_fn is None

    run_both(f)


def test_multiple_outputs_materialized_zero_grad():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        y1, y2 = F["SplitTwo"].apply(x)
        y1.sum().backward()  # y2 unused: backward receives zeros for it
        g1 = x.grad.clone()
        x.grad = None
        y1, y2 = F["SplitTwo"].apply(x)
        (y1 * y2).sum().backward()
        return y1, y2, g1, x.grad, y1.grad_fn is y2.grad_fn

    run_both(f)


def test_set_materialize_grads_false_passes_none():
    for m, F in ((ember, E), (torch, T)):
        x = m.tensor(A, requires_grad=True)
        y1, y2 = F["SplitNoMaterialize"].apply(x)
        y2.sum().backward()
        assert y1.grad_fn.got == (True, False)
        np.testing.assert_allclose(to_numpy(x.grad), np.full((2, 3), 3.0))


def test_mark_dirty_inplace_custom_op():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        a = x * 1
        b = F["DoubleInplace"].apply(a)
        (b * b).sum().backward()
        return b is a, a._version, x.grad, b

    run_both(f)


def test_mark_dirty_on_a_leaf_requiring_grad_raises():
    for m, F in ((ember, E), (torch, T)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            F["DoubleInplace"].apply(m.tensor(A, requires_grad=True))


def test_mark_dirty_invalidates_saved_tensors():
    def run(m, F):
        x = m.tensor(A, requires_grad=True)
        a = x * 1
        y = F["Cube"].apply(a)  # saves a
        F["DoubleInplace"].apply(a)
        y.sum().backward()

    for m, F in ((ember, E), (torch, T)):
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            run(m, F)


def test_mark_non_differentiable():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        y, mask = F["WithMask"].apply(x)
        (y * 3).sum().backward()
        return y, mask, mask.requires_grad, y.requires_grad, x.grad

    run_both(f)


def test_once_differentiable():
    for m, F in ((ember, E), (torch, T)):
        x = m.tensor(A, requires_grad=True)
        (g,) = m.autograd.grad(F["SquareOnce"].apply(x).sum(), x, create_graph=True)
        np.testing.assert_allclose(to_numpy(g), 2 * A)
        assert not g.requires_grad
        with pytest.raises(RuntimeError):
            g.sum().backward()


def test_returning_an_input_makes_a_new_node():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        y = F["Identity"].apply(x)
        y.sum().backward()
        return y is x, y.is_leaf, x.grad

    run_both(f)


def test_double_backward_through_custom_backward():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        (g,) = m.autograd.grad(F["Cube"].apply(x).sum(), x, create_graph=True)
        g.sum().backward()
        return g, x.grad

    run_both(f)


def test_same_input_twice():
    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        F["Linear"].apply(x, x).sum().backward()
        return x.grad

    run_both(f)


def test_saved_tensors_freed_after_backward():
    for m, F in ((ember, E), (torch, T)):
        x = m.tensor(A, requires_grad=True)
        y = F["Cube"].apply(x)
        y.sum().backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.sum().backward()
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            y.grad_fn.saved_tensors


def test_wrong_number_of_gradients():
    def make(m):
        class Bad(m.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x * y

            @staticmethod
            def backward(ctx, g):
                return g

        return Bad

    for m in (ember, torch):
        x = m.tensor(A, requires_grad=True)
        with pytest.raises(RuntimeError, match="returned an incorrect number of gradients "
                                               r"\(expected 2, got 1\)"):
            make(m).apply(x, m.tensor(B)).sum().backward()


def test_wrong_gradient_shape():
    def make(m):
        class BadShape(m.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g.sum(0)

        return BadShape

    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="returned an invalid gradient at index 0"):
            make(m).apply(m.tensor(A, requires_grad=True)).sum().backward()


def test_custom_function_passes_gradcheck():
    x = ember.tensor(A, requires_grad=True)
    assert ember.autograd.gradcheck(E["Cube"].apply, (x,))
    assert ember.autograd.gradgradcheck(E["Cube"].apply, (x,))
    w = ember.tensor(B, requires_grad=True)
    assert ember.autograd.gradcheck(E["Linear"].apply, (x, w, ember.tensor(A, requires_grad=True)))


def test_unimplemented_backward():
    class NoBackward(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    y = NoBackward.apply(ember.tensor(A, requires_grad=True))
    with pytest.raises(NotImplementedError):
        y.sum().backward()


def test_ctx_is_function_ctx():
    seen = []

    class Look(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(isinstance(ctx, ember.autograd.function.FunctionCtx))
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g

    Look.apply(ember.tensor([1.0], requires_grad=True))
    assert seen == [True]


def test_setup_context_style():
    """torch 2's form: forward without ctx, setup_context saves what backward needs."""

    def make(m):
        class Square(m.autograd.Function):
            @staticmethod
            def forward(x, scale):
                return x * x * scale

            @staticmethod
            def setup_context(ctx, inputs, output):
                x, scale = inputs
                ctx.save_for_backward(x)
                ctx.scale = scale

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 2 * x * ctx.scale, None

        return Square

    def f(m, F):
        x = m.tensor(A, requires_grad=True)
        y = make(m).apply(x, 3.0)
        (y * y).sum().backward()
        with m.no_grad():
            z = make(m).apply(x, 2.0)
        return y, x.grad, z, z.requires_grad

    run_both(f)
