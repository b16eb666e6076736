"""Linear, Bilinear, Identity, Flatten, Unflatten against torch."""

import numpy as np
import pytest
import torch
from nn_check import check_layer, same_repr
from reference import check, gradcheck, rand, same_error

import ember
import ember.nn  # noqa: F401


def F(m):
    return m.nn.functional


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xshape, wshape, bias", [
    ((5, 4), (3, 4), True), ((5, 4), (3, 4), False), ((2, 3, 4), (6, 4), True),
    ((4,), (3, 4), True), ((5, 4), (4,), False), ((2, 5, 3, 4), (2, 4), True),
])
def test_linear_functional(dtype, xshape, wshape, bias):
    arrays = [rand(xshape, dtype), rand(wshape, dtype, seed=1)]
    if bias:
        arrays.append(rand(wshape[:1] if len(wshape) == 2 else (), dtype, seed=2))
        check(lambda m, x, w, b: F(m).linear(x, w, b), arrays)
        gradcheck(lambda m, x, w, b: F(m).linear(x, w, b), arrays)
    else:
        check(lambda m, x, w: F(m).linear(x, w), arrays)
        gradcheck(lambda m, x, w: F(m).linear(x, w), arrays)


def test_linear_non_contiguous_input_and_second_order():
    from ember.autograd import gradgradcheck

    x = rand((4, 3, 5))
    check(lambda m, a, w: F(m).linear(a.transpose(0, 1), w), [x, rand((2, 5), seed=1)])
    xs = [ember.from_numpy(rand(s, "float64", seed=i)).requires_grad_()
          for i, s in enumerate([(3, 4), (2, 4), (2,)])]
    assert gradgradcheck(lambda a, w, b: F(ember).linear(a, w, b), tuple(xs))


def test_linear_shape_error_message():
    x, w = ember.zeros(64, 131072), ember.zeros(10, 128)
    with pytest.raises(RuntimeError, match=r"^mat1 and mat2 shapes cannot be multiplied "
                                           r"\(64x131072 and 128x10\)$"):
        F(ember).linear(x, w)
    for xs, ws in [((2, 3, 5), (10, 4)), ((5,), (10, 4))]:
        with pytest.raises(RuntimeError) as t_info:
            F(torch).linear(torch.zeros(xs), torch.zeros(ws))
        with pytest.raises(RuntimeError) as e_info:
            F(ember).linear(ember.zeros(xs), ember.zeros(ws))
        assert str(e_info.value) == str(t_info.value)
    lin = ember.nn.Linear(128, 10)
    with pytest.raises(RuntimeError, match=r"\(64x131072 and 128x10\)"):
        lin(x)


@pytest.mark.parametrize("fn", [
    lambda m, x, w, b: F(m).linear(x, w, b[:3]),
    lambda m, x, w, b: F(m).linear(x.double(), w),
    lambda m, x, w, b: F(m).linear(x.sum(), w),
])
def test_linear_errors(fn):
    same_error(fn, [rand((2, 4)), rand((5, 4)), rand((5,))])


@pytest.mark.parametrize("xdtype, wdtype, bdtype", [
    ("int16", "float32", None), ("float32", "int64", None), ("float64", "float32", None),
    ("float32", "float32", "uint8"), ("float32", "float32", "float64"),
    ("float64", "float32", "float32"), ("float32", "float64", "float32"),
    ("int64", "float32", "float64"),
])
def test_linear_dtype_error_message(xdtype, wdtype, bdtype):
    def call(m):
        b = None if bdtype is None else m.zeros(4, dtype=getattr(m, bdtype))
        return F(m).linear(m.zeros(2, 3, dtype=getattr(m, xdtype)),
                           m.zeros(4, 3, dtype=getattr(m, wdtype)), b)

    with pytest.raises(RuntimeError) as t_info:
        call(torch)
    with pytest.raises(RuntimeError) as e_info:
        call(ember)
    assert str(e_info.value) == str(t_info.value)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_layer(dtype):
    check_layer(lambda nn: nn.Linear(4, 3), [rand((5, 4))], dtype=dtype)
    check_layer(lambda nn: nn.Linear(4, 3, bias=False), [rand((2, 5, 4))], dtype=dtype)


def test_bilinear():
    arrays = [rand((5, 3)), rand((5, 4), seed=1), rand((2, 3, 4), seed=2), rand((2,), seed=3)]
    check(lambda m, a, b, w, c: F(m).bilinear(a, b, w, c), arrays)
    gradcheck(lambda m, a, b, w, c: F(m).bilinear(a, b, w, c), arrays)
    check(lambda m, a, b, w: F(m).bilinear(a, b, w), [rand((2, 5, 3)), rand((2, 5, 4), seed=1),
                                                      rand((2, 3, 4), seed=2)])
    for dtype in ("float32", "float64"):
        check_layer(lambda nn: nn.Bilinear(3, 4, 2), [rand((5, 3)), rand((5, 4), seed=1)],
                    dtype=dtype)
    same_error(lambda m, a, b, w: F(m).bilinear(a, b, w), [rand((5, 3)), rand((4, 4)),
                                                          rand((2, 3, 4))])
    same_error(lambda m, a, b, w: F(m).bilinear(a, b, w), [rand((5, 2)), rand((5, 4)),
                                                          rand((2, 3, 4))])


def test_identity_flatten_unflatten():
    check_layer(lambda nn: nn.Identity(3, foo=1), [rand((2, 3))])
    x = ember.ones(2)
    assert ember.nn.Identity()(x) is x
    check_layer(lambda nn: nn.Flatten(), [rand((2, 3, 4, 5))])
    check_layer(lambda nn: nn.Flatten(0, 2), [rand((2, 3, 4, 5))])
    check_layer(lambda nn: nn.Unflatten(1, (2, 6)), [rand((3, 12))])
    check_layer(lambda nn: nn.Unflatten(-1, [3, -1]), [rand((2, 12))])
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints"):
        ember.nn.Unflatten(1, (2, 1.5))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        ember.nn.Unflatten(1, 3)


@pytest.mark.parametrize("make", [
    lambda nn: nn.Linear(3, 4), lambda nn: nn.Linear(3, 4, bias=False),
    lambda nn: nn.Bilinear(2, 3, 4), lambda nn: nn.Bilinear(2, 3, 4, bias=False),
    lambda nn: nn.Identity(), lambda nn: nn.Flatten(), lambda nn: nn.Flatten(0, -2),
    lambda nn: nn.Unflatten(1, (2, 3)), lambda nn: nn.Unflatten(0, [1, 2]),
])
def test_reprs(make):
    same_repr(make)


def test_dtype_and_device_arguments():
    lin = ember.nn.Linear(3, 2, dtype=ember.float64, device="cpu")
    assert lin.weight.dtype == ember.float64 and lin.bias.dtype == ember.float64
    out = lin(ember.ones(1, 3, dtype=ember.float64))
    assert out.dtype == ember.float64
    assert np.isfinite(out.detach().numpy()).all()
