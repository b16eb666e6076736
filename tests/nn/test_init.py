"""nn.init: gains as torch's, distributions' bounds and moments, errors, in-place under no_grad."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn as enn
from ember.nn import init


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("leaky_relu", 3),
                                  ("selu",)])
def test_calculate_gain_matches_torch(args):
    assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)


@pytest.mark.parametrize("args", [("foo",), ("leaky_relu", "x"), ("leaky_relu", True)])
def test_calculate_gain_errors(args):
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain(*args)
    with pytest.raises(ValueError):
        init.calculate_gain(*args)


def param(*shape):
    return enn.Parameter(ember.empty(*shape))


def stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a.min(), a.max(), a.mean(), a.std()


def test_uniform_normal_constant_return_the_tensor():
    p = param(200, 100)
    assert init.uniform_(p, -2, 3) is p
    lo, hi, mean, _ = stats(p)
    assert -2 <= lo and hi < 3 and abs(mean - 0.5) < 0.05
    assert init.normal_(p, 1.0, 2.0) is p
    _, _, mean, std = stats(p)
    assert abs(mean - 1) < 0.05 and abs(std - 2) < 0.05
    assert init.constant_(p, 0.3) is p and np.allclose(p.detach().numpy(), 0.3)
    assert init.ones_(p) is p and (p == 1).all()
    assert init.zeros_(p) is p and (p == 0).all()
    assert p.requires_grad and p.grad_fn is None  # filled under no_grad: still a leaf


def test_trunc_normal():
    p = param(300, 100)
    assert init.trunc_normal_(p, mean=0.5, std=1.0, a=-1.0, b=1.5) is p
    lo, hi, mean, std = stats(p)
    assert -1.0 <= lo and hi <= 1.5
    # moments of N(0.5, 1) truncated to [-1, 1.5]
    t = torch.empty(300, 100)
    torch.nn.init.trunc_normal_(t, mean=0.5, std=1.0, a=-1.0, b=1.5)
    assert abs(mean - t.mean().item()) < 0.03 and abs(std - t.std().item()) < 0.03
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        init.trunc_normal_(param(3), mean=10.0, a=-1.0, b=1.0)


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3), (50, 40, 5)])
def test_xavier_and_kaiming_moments(shape):
    fan_in = shape[1] * math.prod(shape[2:])
    fan_out = shape[0] * math.prod(shape[2:])
    p = param(*shape)
    a = math.sqrt(6 / (fan_in + fan_out)) * 2.0
    init.xavier_uniform_(p, gain=2.0)
    lo, hi, mean, std = stats(p)
    assert -a <= lo and hi <= a and abs(std - a / math.sqrt(3)) < 0.03 * a
    init.xavier_normal_(p)
    assert abs(stats(p)[3] - math.sqrt(2 / (fan_in + fan_out))) < 0.03 * math.sqrt(
        2 / (fan_in + fan_out))
    init.kaiming_uniform_(p, a=math.sqrt(5))
    bound = math.sqrt(3) * math.sqrt(2 / (1 + 5)) / math.sqrt(fan_in)
    lo, hi, _, std = stats(p)
    assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.03 * bound
    init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu")
    assert abs(stats(p)[3] - math.sqrt(2 / fan_out)) < 0.03 * math.sqrt(2 / fan_out)


def test_fan_errors_and_zero_element_warning():
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_,
               init.kaiming_normal_):
        with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
            fn(param(5))
    with pytest.raises(ValueError, match="Mode fan_x not supported"):
        init.kaiming_uniform_(param(3, 3), mode="fan_x")
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(param(0, 3))


def test_eye_dirac_orthogonal_sparse():
    p = param(3, 4)
    assert init.eye_(p) is p
    np.testing.assert_array_equal(p.detach().numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(param(2, 2, 2))
    w = param(4, 2, 3, 3)
    init.dirac_(w, groups=2)
    t = torch.empty(4, 2, 3, 3)
    torch.nn.init.dirac_(t, groups=2)
    np.testing.assert_array_equal(w.detach().numpy(), t.numpy())
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions"):
        init.dirac_(param(2, 2))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(param(3, 2, 3), groups=2)
    for shape in [(6, 4), (4, 6), (4, 2, 3)]:
        q = param(*shape)
        init.orthogonal_(q, gain=2.0)
        m = q.detach().numpy().reshape(shape[0], -1)
        gram = m @ m.T if shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-4)
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions"):
        init.orthogonal_(param(3))
    s = param(10, 6)
    init.sparse_(s, sparsity=0.3, std=0.5)
    zeros_per_col = (s.detach().numpy() == 0).sum(0)
    assert (zeros_per_col >= 3).all()
    with pytest.raises(ValueError):
        init.sparse_(param(3), 0.1)


def test_deprecated_aliases_warn():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        init.uniform(param(2))
    assert issubclass(w[0].category, FutureWarning)
    assert "nn.init.uniform_" in str(w[0].message)


def test_layer_initialisation_statistics():
    lin = enn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform_(a=sqrt(5)) gives the same bound as the bias
    lo, hi, _, std = stats(lin.weight)
    assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.02 * bound
    lo, hi, _, _ = stats(lin.bias)
    assert -bound <= lo and hi <= bound
    emb = enn.Embedding(300, 100, padding_idx=2)
    _, _, mean, std = stats(emb.weight)
    assert abs(mean) < 0.02 and abs(std - 1) < 0.02
    assert not emb.weight[2].detach().numpy().any()
    bn = enn.BatchNorm2d(4)
    assert (bn.weight == 1).all() and (bn.bias == 0).all()
    bil = enn.Bilinear(20, 30, 40)
    assert stats(bil.weight)[1] <= 1 / math.sqrt(20)
    assert (enn.PReLU(3).weight == 0.25).all()
