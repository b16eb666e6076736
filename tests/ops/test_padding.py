"""``pad`` in every mode against torch: values, dtypes, gradients, errors."""

import numpy as np
import pytest
import torch
from reference import check, gradcheck, rand, same_error

import ember
from ember.autograd import gradgradcheck
from ember.ops import padding as P


def F(m):
    return torch.nn.functional if m is torch else P


CASES = [
    ((2, 3, 4, 5), (1, 2), "constant", None),
    ((2, 3, 4, 5), (1, 2, 0, 3), "constant", 2.5),
    ((2, 3, 4, 5), (-1, 2, -2, 1), "constant", None),  # negative amounts crop
    ((2, 3, 4, 5), (1, 1, 1, 1, 1, 1, 1, 1), "constant", -1.0),
    ((5,), (2, 0), "constant", None),
    ((2, 3, 5), (2, 3), "reflect", None),
    ((2, 3, 5), (4, 4), "reflect", None),
    ((2, 3, 5), (-1, 2), "reflect", None),
    ((3, 5), (1, 2), "reflect", None),
    ((2, 3, 4, 5), (1, 2, 3, 0), "reflect", None),
    ((1, 2, 3, 4, 5), (1, 2, 2, 1, 1, 1), "reflect", None),
    ((2, 3, 5), (3, 9), "replicate", None),
    ((2, 3, 5), (-1, -2), "replicate", None),
    ((2, 3, 4, 5), (2, 1, 0, 4), "replicate", None),
    ((2, 3, 4, 4, 5), (1, 0, 2, 1, 1, 3), "replicate", None),
    ((2, 3, 5), (5, 5), "circular", None),
    ((2, 3, 5), (-2, 3), "circular", None),
    ((2, 3, 6), (2, -3), "circular", None),
    ((3, 4, 5), (1, 1, 2, 2), "circular", None),
    ((1, 2, 3, 4, 5), (1, 2, 3, 0, 1, 1), "circular", None),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[2]}{c[1]}" for c in CASES])
def test_pad_matches_torch(case, dtype):
    shape, amounts, mode, value = case
    kw = {} if value is None else dict(value=value)
    check(lambda m, x: F(m).pad(x, amounts, mode=mode, **kw), [rand(shape, dtype)])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_integers_and_bools(mode):
    check(lambda m, x: F(m).pad(x, (1, 2), mode=mode), [rand((2, 3, 4), "int64")], grad=False)
    if mode in ("constant", "circular"):
        check(lambda m, x: F(m).pad(x, [2, 1], mode=mode), [rand((2, 3, 4), "bool")], grad=False)
    else:
        same_error(lambda m, x: F(m).pad(x, [2, 1], mode=mode), [rand((2, 3, 4), "bool")])
    if mode == "constant":
        check(lambda m, x: F(m).pad(x, (1, 1), value=2.5), [rand((2, 3), "int64")], grad=False)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck(mode):
    fn = lambda m, x: F(m).pad(x, (2, 1, -1, 2), mode=mode)
    gradcheck(fn, [rand((1, 2, 3, 4))])
    t = ember.from_numpy(rand((1, 2, 3, 4), "float64")).requires_grad_()
    assert gradgradcheck(lambda t: fn(ember, t), (t,))


def test_pad_returns_a_copy():
    x = ember.zeros(2, 3)
    y = P.pad(x, (0, 0))
    y[0, 0] = 1.0
    assert x[0, 0].item() == 0.0
    np.testing.assert_array_equal(P.pad(ember.ones(2), (1, 1)).numpy(), [0, 1, 1, 0])


ERRORS = [
    lambda m, x: F(m).pad(x, (1,)),
    lambda m, x: F(m).pad(x, (1, 1) * 5),
    lambda m, x: F(m).pad(x, (-3, -3)),
    lambda m, x: F(m).pad(x, (1.5, 1)),
    lambda m, x: F(m).pad(x, (1, 1), mode="reflect", value=1.0),
    lambda m, x: F(m).pad(x, (1, 1), mode="foo"),
    lambda m, x: F(m).pad(x, (1, 1), mode="reflect"),  # 4-D input with a 1-D pad
    lambda m, x: F(m).pad(x[0], (5, 5), mode="reflect"),
    lambda m, x: F(m).pad(x[0], (1, 1, 4, 4), mode="reflect"),
    lambda m, x: F(m).pad(x[0], (6, 1), mode="circular"),
    lambda m, x: F(m).pad(x[0, 0, 0], (1, 1), mode="replicate"),
    lambda m, x: F(m).pad(x[:, :0], (1, 1, 1, 1), mode="replicate"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    same_error(ERRORS[i], [rand((2, 3, 4, 5))])
