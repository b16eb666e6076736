"""BatchNorm, InstanceNorm, LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm and F.normalize
against torch: outputs, input and parameter gradients, running statistics, float32/float64,
gradcheck and second order, errors and reprs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from nn_check import check_layer, copy_state, same_repr
from reference import check, gradcheck, rand, same_error

import ember
import ember.nn as enn
from ember.autograd import gradgradcheck


def F(m):
    return m.nn.functional


BATCHNORMS = {
    "bn1d": (lambda nn: nn.BatchNorm1d(5), (8, 5)),
    "bn1d_3d": (lambda nn: nn.BatchNorm1d(5, momentum=0.3), (4, 5, 6)),
    "bn2d": (lambda nn: nn.BatchNorm2d(3), (4, 3, 5, 5)),
    "bn3d": (lambda nn: nn.BatchNorm3d(2, eps=1e-3), (2, 2, 3, 4, 3)),
    "bn_cma": (lambda nn: nn.BatchNorm1d(5, momentum=None), (8, 5)),
    "bn_noaffine": (lambda nn: nn.BatchNorm2d(3, affine=False), (4, 3, 2, 2)),
    "bn_nobias": (lambda nn: nn.BatchNorm1d(5, bias=False), (8, 5)),
    "bn_nostats": (lambda nn: nn.BatchNorm2d(3, track_running_stats=False), (4, 3, 2, 2)),
}


@pytest.mark.parametrize("name", BATCHNORMS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("train", [True, False])
def test_batchnorm_matches_torch(name, dtype, train):
    make, shape = BATCHNORMS[name]
    rtol = 1e-4 if dtype == "float32" else 1e-7
    check_layer(make, [rand(shape, low=-3, high=5)], dtype=dtype, train=train, rtol=rtol,
                atol=1e-5)


def test_batchnorm_running_stats_over_several_steps():
    for momentum in (0.1, None):
        t = torch.nn.BatchNorm1d(4, momentum=momentum)
        e = enn.BatchNorm1d(4, momentum=momentum)
        for step in range(4):
            x = rand((6, 4), seed=step, low=-1, high=3 + step)
            t(torch.from_numpy(x))
            e(ember.from_numpy(x))
        np.testing.assert_allclose(e.running_mean.numpy(), t.running_mean.numpy(), rtol=1e-5)
        np.testing.assert_allclose(e.running_var.numpy(), t.running_var.numpy(), rtol=1e-5)
        assert e.num_batches_tracked.item() == t.num_batches_tracked.item() == 4
        assert e.num_batches_tracked.dtype == ember.int64


def test_batchnorm_eval_uses_running_stats_and_is_batch_independent():
    bn = enn.BatchNorm1d(3)
    bn(ember.from_numpy(rand((10, 3), low=0, high=5)))
    bn.eval()
    mean, tracked = bn.running_mean.clone(), bn.num_batches_tracked.item()
    x = ember.from_numpy(rand((7, 3), seed=2))
    full, one = bn(x), bn(x[:1])
    np.testing.assert_allclose(full[:1].detach().numpy(), one.detach().numpy(), rtol=1e-6)
    manual = (x - bn.running_mean) / (bn.running_var + bn.eps).sqrt() * bn.weight + bn.bias
    np.testing.assert_allclose(full.detach().numpy(), manual.detach().numpy(), rtol=1e-5)
    assert (bn.running_mean == mean).all() and bn.num_batches_tracked.item() == tracked


def test_batch_of_one_in_training():
    bn = enn.BatchNorm1d(10)
    with pytest.raises(ValueError) as info:
        bn(ember.ones(1, 10))
    assert str(info.value) == ("Expected more than 1 value per channel when training, got input "
                               "size ember.Size([1, 10])")
    assert bn.num_batches_tracked.item() == 1  # counted before the check, as in torch
    bn.eval()
    bn(ember.ones(1, 10))


@pytest.mark.parametrize("fn, shapes", [
    (lambda m, x: m.nn.BatchNorm1d(3)(x), [(4,)]),
    (lambda m, x: m.nn.BatchNorm2d(3)(x), [(4, 3, 2)]),
    (lambda m, x: m.nn.BatchNorm1d(3)(x), [(4, 3, 2, 2)]),
    (lambda m, x: m.nn.BatchNorm3d(3)(x), [(4, 3, 2, 2)]),
    (lambda m, x: F(m).batch_norm(x, m.zeros(4), m.ones(4)), [(4, 3)]),
    (lambda m, x: F(m).batch_norm(x, m.zeros(3), m.ones(3), m.ones(4)), [(4, 3)]),
    (lambda m, x: F(m).batch_norm(x, None, None), [(4, 3)]),
    (lambda m, x: F(m).batch_norm(x, None, None, training=True), [(1, 3)]),
    (lambda m, x: F(m).batch_norm(x.double(), m.zeros(3), m.ones(3)), [(4, 3)]),
    (lambda m, x: F(m).layer_norm(x, [5]), [(3, 4)]),
    (lambda m, x: F(m).layer_norm(x, [4], m.ones(5)), [(3, 4)]),
    (lambda m, x: F(m).group_norm(x, 3), [(3, 4)]),
    (lambda m, x: F(m).group_norm(x, 2, m.ones(3)), [(3, 4, 5)]),
    (lambda m, x: F(m).group_norm(x, 4), [(1, 4)]),
    (lambda m, x: F(m).instance_norm(x), [(2, 3, 1)]),
    (lambda m, x: F(m).instance_norm(x, m.zeros(4), m.ones(4)), [(2, 3, 5)]),
    (lambda m, x: m.nn.InstanceNorm1d(3, affine=True)(x), [(2, 4, 5)]),
    (lambda m, x: m.nn.InstanceNorm2d(3)(x), [(2, 4)]),
    (lambda m, x: m.nn.GroupNorm(3, 4), [(1,)]),
    (lambda m, x: F(m).local_response_norm(x, 2), [(2, 3)]),
])
def test_errors_match_torch(fn, shapes):
    same_error(fn, [rand(s) for s in shapes])


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_functional_gradcheck_and_second_order(training):
    x = rand((4, 3, 2), "float64")
    rm, rv = rand((3,), "float64", seed=1), rand((3,), "float64", seed=2, positive=True)

    def fn(m, a, w, b):
        return F(m).batch_norm(a, m.from_numpy(rm.copy()), m.from_numpy(rv.copy()), w, b,
                               training=training)

    arrays = [x, rand((3,), "float64", seed=3), rand((3,), "float64", seed=4)]
    check(fn, arrays, rtol=1e-7)
    gradcheck(fn, arrays)
    xs = tuple(ember.from_numpy(a).requires_grad_() for a in arrays)
    assert gradgradcheck(lambda a, w, b: fn(ember, a, w, b), xs)
    check(lambda m, a: F(m).batch_norm(a, None, None, training=True), [x])


LAYERS = {
    "layernorm": (lambda nn: nn.LayerNorm(4), (3, 5, 4)),
    "layernorm_2d": (lambda nn: nn.LayerNorm([5, 4], eps=1e-3), (3, 5, 4)),
    "layernorm_noaffine": (lambda nn: nn.LayerNorm(4, elementwise_affine=False), (3, 4)),
    "layernorm_nobias": (lambda nn: nn.LayerNorm(4, bias=False), (2, 4)),
    "layernorm_1d": (lambda nn: nn.LayerNorm(6), (6,)),
    "groupnorm": (lambda nn: nn.GroupNorm(2, 4), (3, 4, 5)),
    "groupnorm_4d": (lambda nn: nn.GroupNorm(3, 6, eps=1e-3), (2, 6, 3, 3)),
    "groupnorm_noaffine": (lambda nn: nn.GroupNorm(1, 4, affine=False), (3, 4, 2)),
    "groupnorm_2d": (lambda nn: nn.GroupNorm(2, 4), (3, 4)),
    "instancenorm1d": (lambda nn: nn.InstanceNorm1d(3), (4, 3, 6)),
    "instancenorm1d_nobatch": (lambda nn: nn.InstanceNorm1d(3, affine=True), (3, 6)),
    "instancenorm2d_affine": (lambda nn: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4)),
    "instancenorm2d_stats": (lambda nn: nn.InstanceNorm2d(3, track_running_stats=True),
                             (2, 3, 4, 4)),
    "instancenorm3d": (lambda nn: nn.InstanceNorm3d(2, affine=True, track_running_stats=True),
                       (2, 2, 3, 3, 3)),
    "rmsnorm": (lambda nn: nn.RMSNorm(4), (3, 4)),
    "rmsnorm_eps": (lambda nn: nn.RMSNorm([3, 4], eps=1e-3), (2, 3, 4)),
    "lrn": (lambda nn: nn.LocalResponseNorm(3), (2, 5, 4)),
    "lrn_4d": (lambda nn: nn.LocalResponseNorm(2, alpha=0.1, beta=0.5, k=2.0), (2, 5, 3, 3)),
}


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("train", [True, False])
def test_layers_match_torch(name, dtype, train):
    make, shape = LAYERS[name]
    rtol = 1e-4 if dtype == "float32" else 1e-7
    check_layer(make, [rand(shape, low=-3, high=4)], dtype=dtype, train=train, rtol=rtol,
                atol=1e-5)


def test_instance_norm_running_stats_over_steps():
    t = torch.nn.InstanceNorm1d(3, track_running_stats=True, momentum=0.2)
    e = enn.InstanceNorm1d(3, track_running_stats=True, momentum=0.2)
    for step in range(3):
        x = rand((4, 3, 5), seed=step, low=-1, high=2 + step)
        t(torch.from_numpy(x))
        e(ember.from_numpy(x))
    np.testing.assert_allclose(e.running_mean.numpy(), t.running_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(e.running_var.numpy(), t.running_var.numpy(), rtol=1e-5)


def test_instance_norm_mismatched_features_warns():
    with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
        enn.InstanceNorm1d(3)(ember.randn(2, 4, 5))


FUNCTIONAL = {
    "layer_norm": (lambda m, x, w, b: F(m).layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)]),
    "group_norm": (lambda m, x, w, b: F(m).group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    "instance_norm": (lambda m, x, w, b: F(m).instance_norm(x, weight=w, bias=b),
                      [(2, 3, 4), (3,), (3,)]),
    "rms_norm": (lambda m, x, w, b: F(m).rms_norm(x, (4,), w) + b, [(3, 4), (4,), (4,)]),
}


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_functional_gradcheck_and_second_order(name):
    fn, shapes = FUNCTIONAL[name]
    arrays = [rand(s, "float64", seed=i) for i, s in enumerate(shapes)]
    check(fn, arrays, rtol=1e-7)
    gradcheck(fn, arrays)
    xs = tuple(ember.from_numpy(a).requires_grad_() for a in arrays)
    assert gradgradcheck(lambda *t: fn(ember, *t), xs)


def test_normalize():
    for p, dim in [(2.0, 1), (1.0, 0), (3.0, -1), (float("inf"), 1)]:
        check(lambda m, x: F(m).normalize(x, p, dim), [rand((3, 4))])
    gradcheck(lambda m, x: F(m).normalize(x), [rand((3, 4))])
    check(lambda m, x: F(m).normalize(x), [np.zeros((2, 3), np.float32)])
    out = ember.empty(3, 4)
    F(ember).normalize(ember.from_numpy(rand((3, 4))), out=out)
    np.testing.assert_allclose(np.linalg.norm(out.numpy(), axis=1), 1, rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda nn: nn.BatchNorm1d(3), lambda nn: nn.BatchNorm2d(3, momentum=None, affine=False),
    lambda nn: nn.BatchNorm3d(3, track_running_stats=False, bias=False),
    lambda nn: nn.InstanceNorm1d(3), lambda nn: nn.InstanceNorm2d(3, affine=True),
    lambda nn: nn.InstanceNorm3d(3), lambda nn: nn.LayerNorm([2, 3]),
    lambda nn: nn.LayerNorm(3, elementwise_affine=False, bias=False),
    lambda nn: nn.GroupNorm(2, 4), lambda nn: nn.GroupNorm(1, 4, affine=False),
    lambda nn: nn.RMSNorm(3), lambda nn: nn.LocalResponseNorm(2),
])
def test_reprs(make):
    same_repr(make)


def test_state_dict_keys():
    for make in (lambda nn: nn.BatchNorm2d(3), lambda nn: nn.BatchNorm1d(3, affine=False),
                 lambda nn: nn.BatchNorm1d(3, track_running_stats=False),
                 lambda nn: nn.InstanceNorm1d(3, affine=True, track_running_stats=True),
                 lambda nn: nn.LayerNorm(3), lambda nn: nn.GroupNorm(1, 3)):
        assert list(make(enn).state_dict()) == list(make(torch.nn).state_dict())
    e, t = enn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    copy_state(e, t)
    assert e.num_batches_tracked.dtype == ember.int64


def test_group_norm_divisibility():
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups"):
        enn.GroupNorm(3, 4)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 4), c=st.integers(1, 4), spatial=st.lists(st.integers(1, 3), max_size=3),
       train=st.booleans(), seed=st.integers(0, 100))
def test_batch_norm_shapes_property(n, c, spatial, train, seed):
    x = rand((n, c, *spatial), seed=seed, low=-2, high=3)
    rm, rv = rand((c,), seed=seed + 1), rand((c,), seed=seed + 2, positive=True)

    def fn(m, a, w, b):
        return F(m).batch_norm(a, m.from_numpy(rm.copy()), m.from_numpy(rv.copy()), w, b,
                               training=train)

    check(fn, [x, rand((c,), seed=3), rand((c,), seed=4)], rtol=1e-4, atol=1e-5)
