"""Activations (functional and layers) against torch: values, gradients, float32/float64,
gradcheck, in-place variants, reprs, errors."""

import warnings

import numpy as np
import pytest
import torch
from nn_check import check_layer, same_repr
from reference import check, gradcheck, rand, same_error

import ember
import ember.nn  # noqa: F401


def F(m):
    return m.nn.functional


def kinks_away(shape, seed=0, points=(0.0,), scale=2.0):
    """Random values kept away from the kinks of piecewise functions (finite differences)."""
    a = rand(shape, seed=seed, low=-scale, high=scale)
    for p in points:
        near = np.abs(a - p) < 0.05
        a[near] += 0.1
    return a


FUNCS = {
    "relu": (lambda m, x: F(m).relu(x), (0.0,)),
    "relu6": (lambda m, x: F(m).relu6(x * 4), (0.0, 1.5)),
    "hardtanh": (lambda m, x: F(m).hardtanh(x, -0.5, 1.0), (-0.5, 1.0)),
    "elu": (lambda m, x: F(m).elu(x, 0.7), (0.0,)),
    "selu": (lambda m, x: F(m).selu(x), (0.0,)),
    "celu": (lambda m, x: F(m).celu(x, 1.5), (0.0,)),
    "leaky_relu": (lambda m, x: F(m).leaky_relu(x, 0.2), (0.0,)),
    "glu": (lambda m, x: F(m).glu(x, -1), ()),
    "glu_dim0": (lambda m, x: F(m).glu(x, 0), ()),
    "gelu": (lambda m, x: F(m).gelu(x), ()),
    "gelu_tanh": (lambda m, x: F(m).gelu(x, approximate="tanh"), ()),
    "logsigmoid": (lambda m, x: F(m).logsigmoid(x * 10), ()),
    "hardshrink": (lambda m, x: F(m).hardshrink(x, 0.5), (-0.5, 0.5)),
    "tanhshrink": (lambda m, x: F(m).tanhshrink(x), ()),
    "softsign": (lambda m, x: F(m).softsign(x), ()),
    "softplus": (lambda m, x: F(m).softplus(x), ()),
    "softplus_beta": (lambda m, x: F(m).softplus(x * 10, beta=2, threshold=5), (0.25,)),
    "softshrink": (lambda m, x: F(m).softshrink(x, 0.3), (-0.3, 0.3)),
    "tanh": (lambda m, x: F(m).tanh(x), ()),
    "sigmoid": (lambda m, x: F(m).sigmoid(x), ()),
    "hardsigmoid": (lambda m, x: F(m).hardsigmoid(x * 2), (-1.5, 1.5)),
    "silu": (lambda m, x: F(m).silu(x), ()),
    "mish": (lambda m, x: F(m).mish(x), ()),
    "hardswish": (lambda m, x: F(m).hardswish(x * 2), (-1.5, 1.5)),
    "threshold": (lambda m, x: F(m).threshold(x, 0.1, -2.0), (0.1,)),
    "softmax": (lambda m, x: F(m).softmax(x, 1), ()),
    "softmax_dtype": (lambda m, x: F(m).softmax(x, 0, dtype=m.float64), ()),
    "log_softmax": (lambda m, x: F(m).log_softmax(x, -1), ()),
    "softmin": (lambda m, x: F(m).softmin(x, 1), ()),
    "rrelu_eval": (lambda m, x: F(m).rrelu(x, 0.1, 0.3), (0.0,)),
}


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_functional_matches_torch(name, dtype):
    fn, kinks = FUNCS[name]
    check(fn, [kinks_away((4, 6), points=kinks).astype(dtype)])


@pytest.mark.parametrize("name", FUNCS)
def test_functional_gradcheck(name):
    fn, kinks = FUNCS[name]
    gradcheck(fn, [kinks_away((2, 4), seed=3, points=kinks)])


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "gelu", "softplus", "silu", "mish",
                                  "logsigmoid", "hardswish", "leaky_relu", "softmax"])
def test_second_order(name):
    from ember.autograd import gradgradcheck

    fn, kinks = FUNCS[name]
    x = ember.from_numpy(kinks_away((2, 3), seed=4, points=kinks).astype(np.float64))
    assert gradgradcheck(lambda t: fn(ember, t), (x.requires_grad_(),))


def test_extreme_values_are_stable():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=np.float32)
    for fn in (lambda m, a: F(m).softplus(a), lambda m, a: F(m).logsigmoid(a),
               lambda m, a: F(m).silu(a), lambda m, a: F(m).mish(a), lambda m, a: F(m).elu(a),
               lambda m, a: F(m).selu(a), lambda m, a: F(m).log_softmax(a, 0)):
        check(fn, [x])


INPLACE = {
    "relu": lambda m, x: F(m).relu(x, inplace=True),
    "relu_": lambda m, x: F(m).relu_(x),
    "elu_": lambda m, x: F(m).elu_(x, 0.5),
    "selu": lambda m, x: F(m).selu(x, inplace=True),
    "celu_": lambda m, x: F(m).celu_(x, 2.0),
    "leaky_relu_": lambda m, x: F(m).leaky_relu_(x, 0.1),
    "hardtanh_": lambda m, x: F(m).hardtanh_(x, -0.5, 0.5),
    "relu6": lambda m, x: F(m).relu6(x, inplace=True),
    "threshold_": lambda m, x: F(m).threshold_(x, 0.2, 5.0),
    "silu": lambda m, x: F(m).silu(x, inplace=True),
    "mish": lambda m, x: F(m).mish(x, inplace=True),
    "hardswish": lambda m, x: F(m).hardswish(x, inplace=True),
    "hardsigmoid": lambda m, x: F(m).hardsigmoid(x, inplace=True),
    "rrelu_eval": lambda m, x: F(m).rrelu_(x),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_variants(name):
    fn = INPLACE[name]
    a = kinks_away((3, 4), points=(0.0, 0.2, 0.5, -0.5))

    def run(m, x):
        y = x * 1.5  # a non-leaf, so the in-place op is differentiable
        out = fn(m, y)
        assert out is y
        return out

    check(run, [a])
    leaf = ember.from_numpy(a.copy())
    assert fn(ember, leaf) is leaf


def test_prelu_functional():
    for shape, wshape in [((3, 4), (4,)), ((2, 3, 5), (3,)), ((2, 3, 4, 4), (1,)), ((5,), (1,))]:
        x = kinks_away(shape)
        w = rand(wshape, seed=2, low=0.05, high=0.5)
        check(lambda m, a, b: F(m).prelu(a, b), [x, w])
        gradcheck(lambda m, a, b: F(m).prelu(a, b), [x, w])
    same_error(lambda m, a, b: F(m).prelu(a, b), [rand((2, 3)), rand((2,))])


def test_rrelu_training_slopes():
    ember.manual_seed(0)
    x = ember.from_numpy(-np.ones((200, 50), dtype=np.float32))
    y = F(ember).rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.numpy()
    assert 0.1 <= slopes.min() and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    pos = ember.ones(3)
    assert (F(ember).rrelu(pos, training=True) == 1).all()
    x.requires_grad_()
    F(ember).rrelu(x, 0.1, 0.3, training=True).sum().backward()
    assert 0.1 <= x.grad.numpy().min() and x.grad.numpy().max() <= 0.3


def test_softmax_implicit_dim_warns_and_picks_torchs_dim():
    for shape in [(4,), (3, 4), (2, 3, 4), (2, 3, 4, 5)]:
        x = rand(shape)
        with pytest.warns(UserWarning, match="Implicit dimension choice for softmax has been "
                                             "deprecated. Change the call to include dim=X as an "
                                             "argument."):
            e = F(ember).softmax(ember.from_numpy(x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = F(torch).softmax(torch.from_numpy(x))
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
    with pytest.warns(UserWarning, match="log_softmax"):
        F(ember).log_softmax(ember.ones(2, 2))
    with pytest.warns(UserWarning, match="softmin"):
        F(ember).softmin(ember.ones(2, 2))
    with pytest.warns(UserWarning, match="softmax"):
        ember.nn.Softmax()(ember.ones(2, 2))


def test_gumbel_softmax():
    ember.manual_seed(0)
    logits = ember.randn(5, 4, requires_grad=True)
    y = F(ember).gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(y.sum(-1).detach().numpy(), 1, rtol=1e-6)
    h = F(ember).gumbel_softmax(logits, hard=True)
    assert set(np.unique(h.detach().numpy())) <= {0.0, 1.0}
    assert (h.detach().numpy().sum(-1) == 1).all()
    h.sum().backward()
    assert logits.grad is not None


ERRORS = [
    lambda m, x: F(m).glu(x, 1),
    lambda m, x: F(m).glu(x.sum()),
    lambda m, x: F(m).hardtanh(x, 2.0, 1.0),
    lambda m, x: F(m).softshrink(x, -1.0),
    lambda m, x: F(m).gelu(x, approximate="fast"),
    lambda m, x: F(m).elu(x.long()),
    lambda m, x: F(m).leaky_relu(x.long()),
    lambda m, x: F(m).softmax(x, 3),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    same_error(ERRORS[i], [rand((2, 3))])


LAYERS = {
    "Threshold": lambda nn: nn.Threshold(0.1, 20.0),
    "Threshold_inplace": lambda nn: nn.Threshold(0.1, 20.0, inplace=True),
    "ReLU": lambda nn: nn.ReLU(),
    "ReLU_inplace": lambda nn: nn.ReLU(inplace=True),
    "RReLU": lambda nn: nn.RReLU(0.1, 0.3),
    "Hardtanh": lambda nn: nn.Hardtanh(-2.0, 2.0),
    "ReLU6": lambda nn: nn.ReLU6(inplace=True),
    "Sigmoid": lambda nn: nn.Sigmoid(),
    "Hardsigmoid": lambda nn: nn.Hardsigmoid(),
    "Tanh": lambda nn: nn.Tanh(),
    "SiLU": lambda nn: nn.SiLU(),
    "Mish": lambda nn: nn.Mish(inplace=True),
    "Hardswish": lambda nn: nn.Hardswish(),
    "ELU": lambda nn: nn.ELU(alpha=0.5, inplace=True),
    "CELU": lambda nn: nn.CELU(2.0),
    "SELU": lambda nn: nn.SELU(),
    "GLU": lambda nn: nn.GLU(1),
    "GELU": lambda nn: nn.GELU(),
    "GELU_tanh": lambda nn: nn.GELU("tanh"),
    "Hardshrink": lambda nn: nn.Hardshrink(0.3),
    "LeakyReLU": lambda nn: nn.LeakyReLU(0.2),
    "LogSigmoid": lambda nn: nn.LogSigmoid(),
    "Softplus": lambda nn: nn.Softplus(2.0, 10.0),
    "Softshrink": lambda nn: nn.Softshrink(),
    "PReLU": lambda nn: nn.PReLU(),
    "PReLU_channels": lambda nn: nn.PReLU(4, init=0.1),
    "Softsign": lambda nn: nn.Softsign(),
    "Tanhshrink": lambda nn: nn.Tanhshrink(),
    "Softmin": lambda nn: nn.Softmin(1),
    "Softmax": lambda nn: nn.Softmax(dim=1),
    "Softmax2d": lambda nn: nn.Softmax2d(),
    "LogSoftmax": lambda nn: nn.LogSoftmax(-1),
}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layers_match_torch(name, dtype):
    make = LAYERS[name]
    x = kinks_away((2, 4, 3, 2), points=(0.0, 0.1, 0.3, -0.3, 1.5, -1.5))
    inplace = "inplace" in repr(make(torch.nn))
    call = (lambda mod, t: mod(t * 1.0)) if inplace else None
    # RReLU draws its slopes at random in training: compared in eval (training: see above)
    check_layer(make, [x], dtype=dtype, call=call, train=name != "RReLU")


@pytest.mark.parametrize("name", LAYERS)
def test_layer_reprs_match_torch(name):
    same_repr(LAYERS[name])


def test_layer_repr_variants():
    for make in (lambda nn: nn.Hardtanh(-1, 1, inplace=True), lambda nn: nn.ELU(),
                 lambda nn: nn.LeakyReLU(inplace=True), lambda nn: nn.RReLU(inplace=True),
                 lambda nn: nn.Softmax(), lambda nn: nn.CELU(inplace=True),
                 lambda nn: nn.SELU(inplace=True), lambda nn: nn.SiLU(inplace=True)):
        same_repr(make)


def test_layer_errors():
    with pytest.raises(AssertionError):
        ember.nn.Hardtanh(1.0, 0.5)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D"):
        ember.nn.Softmax2d()(ember.ones(2, 2))
    with pytest.warns(FutureWarning):
        ember.nn.Hardtanh(min_value=-2.0)
