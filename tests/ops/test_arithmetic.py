import numpy as np
import pytest
import torch
from reference import check, gradcheck, rand, same_error

import ember

BINARY = {
    "add": lambda m, a, b: m.add(a, b),
    "add_alpha": lambda m, a, b: m.add(a, b, alpha=2.5),
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
}


SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 2))]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", SHAPES)
def test_binary_matches_torch(name, dtype, shapes):
    a, b = rand(shapes[0], dtype, seed=1), rand(shapes[1], dtype, seed=2, positive=True)
    check(BINARY[name], [a, b])


@pytest.mark.parametrize("name", BINARY)
def test_binary_gradcheck(name):
    gradcheck(BINARY[name], [rand((2, 3), seed=3), rand((3,), seed=4, positive=True)])


def test_pow_and_neg():
    check(lambda m, a: (a ** 2 - a ** 0.5 + 2 ** a).neg(), [rand((3, 3), positive=True)])
    gradcheck(lambda m, a, b: a ** b, [rand((3,), positive=True), rand((3,), seed=5)])


def test_mixed_dtype_promotion():
    check(lambda m, a, b: a * b, [rand((4,), "float64"), rand((), "float32")])
    check(lambda m, a, b: a + b, [rand((4,), "int64"), rand((4,), "float32")])
    check(lambda m, a: a / 2, [rand((4,), "int64")], grad=False)
    check(lambda m, a: a * 2.5, [rand((4,), "int32")], grad=False)
    check(lambda m, a: a + True, [rand((4,), "bool")], grad=False)


def test_floor_divide_remainder_fmod():
    for dt in ["int64", "float32"]:
        a, b = rand((5,), dt, seed=1), rand((5,), dt, seed=2, positive=True)
        check(lambda m, a, b: (a // b, a % b, m.fmod(a, b), m.remainder(-a, b)), [a, b], grad=False)


def test_bad_shapes_raise_like_torch():
    same_error(lambda m, a, b: a + b, [rand((3,)), rand((4,))])
    same_error(lambda m, a: -a, [rand((3,), "bool")])


def test_inplace_and_out():
    import ember
    x = ember.ones(2, 3)
    r = x.add_(ember.full((2, 3), 2.0))
    assert r is x and (x == 3).all()
    out = ember.empty(2, 3)
    ember.mul(x, 2, out=out)
    assert (out == 6).all()
    with pytest.raises(RuntimeError, match="can't be cast"):
        ember.ones(2, dtype=ember.int64).add_(1.5)
    np.testing.assert_array_equal(x.numpy(), np.full((2, 3), 3.0, np.float32))


def test_zero_gradients_stay_zero_for_infinite_upstream_grads():
    # div with a rounding mode and pow(x, 0) have zero derivatives: 0, not inf * 0 = nan.
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x.div(2, rounding_mode="floor") + x.div(3, rounding_mode="trunc") + x**0
        y.backward(m.tensor([float("inf"), 1.0]))
        assert x.grad.tolist() == [0.0, 0.0], m.__name__
