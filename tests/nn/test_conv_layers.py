"""Convolution, pooling, padding, upsampling, pixel-shuffle and fold layers against torch."""

import math
import re

import numpy as np
import pytest
import torch
from reference import assert_same, rand

import ember
from ember.nn.modules import conv, fold, padding, pixelshuffle, pooling, upsampling

MODULES = {}
for _mod in (conv, fold, padding, pixelshuffle, pooling, upsampling):
    MODULES.update({name: getattr(_mod, name) for name in _mod.__all__})


def pair(name, *args, **kwargs):
    """The same layer built by ember and by torch, torch's parameters copied into ember's."""
    t = getattr(torch.nn, name)(*args, **kwargs)
    e = MODULES[name](*args, **kwargs)
    state = {k: ember.from_numpy(v.detach().numpy().copy()) for k, v in t.state_dict().items()}
    e.load_state_dict(state)
    return e, t


def run(e, t, x, *extra, grad=True, **kw):
    """Forward both layers on ``x``; compare outputs, then input and parameter gradients."""
    xe = ember.from_numpy(x.copy()).requires_grad_(grad)
    xt = torch.from_numpy(x.copy()).requires_grad_(grad)
    ye, yt = e(xe, *extra, **kw), t(xt, *extra, **kw)
    assert_same(ye, yt, rtol=1e-4, atol=1e-5)
    if not grad:
        return
    ye = ye[0] if isinstance(ye, tuple) else ye
    yt = yt[0] if isinstance(yt, tuple) else yt
    w = np.random.default_rng(0).uniform(-1, 1, tuple(yt.shape)).astype(x.dtype)
    (ye * ember.from_numpy(w)).sum().backward()
    (yt * torch.from_numpy(w)).sum().backward()
    assert_same(xe.grad, xt.grad, rtol=1e-4, atol=1e-4)
    for (n, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert_same(pe.grad, pt.grad, rtol=1e-4, atol=1e-4), n


CONV_LAYERS = [
    ("Conv2d", (1, 32, 3, 1), {}, (2, 1, 10, 10)),  # the seed 000 MNIST net's layers
    ("Conv2d", (1, 16, 5, 2, 2), {}, (2, 1, 12, 12)),  # the seed 002 CNN's
    ("Conv2d", (3, 64), dict(kernel_size=3, padding=1), (2, 3, 8, 8)),  # VGG's
    ("Conv2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2,
                                    bias=False), (2, 4, 9, 8)),
    ("Conv2d", (4, 4, 3), dict(groups=4, padding="same"), (2, 4, 7, 7)),
    ("Conv2d", (3, 5, 4), dict(padding="same", padding_mode="reflect"), (2, 3, 8, 8)),
    ("Conv2d", (3, 5, 3), dict(padding=2, padding_mode="replicate"), (2, 3, 8, 8)),
    ("Conv2d", (3, 5, 3), dict(padding=(1, 2), padding_mode="circular"), (3, 8, 8)),
    ("Conv2d", (3, 5, 3), dict(padding="valid"), (2, 3, 6, 6)),
    ("Conv1d", (3, 5, 3), dict(stride=2, padding=1, padding_mode="circular"), (2, 3, 11)),
    ("Conv1d", (4, 4, 2), dict(groups=2, dilation=3), (2, 4, 10)),
    ("Conv3d", (2, 4, 3), dict(padding=1, stride=(1, 2, 1)), (1, 2, 5, 6, 5)),
    ("Conv3d", (2, 4, (2, 3, 2)), dict(padding=1, padding_mode="reflect"), (1, 2, 4, 5, 4)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
    ("ConvTranspose2d", (4, 6, (3, 2)), dict(groups=2, dilation=(2, 1), bias=False),
     (2, 4, 4, 5)),
    ("ConvTranspose1d", (3, 2, 4), dict(stride=3), (2, 3, 6)),
    ("ConvTranspose3d", (2, 3, 2), dict(stride=2), (1, 2, 3, 3, 2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CONV_LAYERS, ids=[f"{c[0]}{c[1]}{c[2]}" for c in CONV_LAYERS])
def test_conv_layers_match_torch(case, dtype):
    name, args, kw, shape = case
    e, t = pair(name, *args, **kw)
    if dtype == "float64":
        e, t = e.double(), t.double()
    assert e.weight.dtype.name == dtype
    assert repr(e) == repr(t)
    run(e, t, rand(shape, dtype))


def test_conv_transpose_output_size():
    e, t = pair("ConvTranspose2d", 3, 2, 3, stride=2, padding=1)
    x = rand((2, 3, 4, 4))
    for size in [(7, 7), (8, 8), [2, 2, 8, 7]]:
        run(e, t, x, output_size=size)
    with pytest.raises(ValueError, match="requested an output size of"):
        e(ember.from_numpy(x), output_size=(9, 9))
    with pytest.raises(ValueError):
        e(ember.from_numpy(x), output_size=(1, 8, 8))


@pytest.mark.parametrize("name,args,kw", [
    ("Conv2d", (1, 32, 3), {}), ("Conv2d", (32, 64, 3), {}), ("Conv1d", (16, 8, 5), {}),
    ("Conv3d", (4, 8, 3), {}), ("ConvTranspose2d", (64, 32, 4), dict(stride=2)),
    ("Conv2d", (8, 8, 3), dict(groups=8)),
])
def test_init_statistics_match_torch(name, args, kw):
    """kaiming_uniform_(a=sqrt(5)) -> U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    torch.manual_seed(0)
    e, t = MODULES[name](*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert tuple(e.weight.shape) == tuple(t.weight.shape)
    assert tuple(e.bias.shape) == tuple(t.bias.shape)
    assert e.weight.dtype == ember.float32 and e.weight.requires_grad
    fan_in = t.weight.shape[1] * math.prod(t.weight.shape[2:])
    bound = 1 / math.sqrt(fan_in)
    for p in (e.weight, e.bias):
        a = p.detach().numpy()
        assert np.abs(a).max() <= bound * (1 + 1e-6)
    w = e.weight.detach().numpy()
    if w.size >= 1000:  # U(-b, b): mean 0, std b / sqrt(3)
        assert abs(w.mean()) < 0.1 * bound
        assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.1
        assert abs(w.std() / t.weight.detach().numpy().std() - 1) < 0.1


def test_conv_reset_parameters_and_state_dict():
    e = conv.Conv2d(2, 3, 3, bias=False)
    assert e.bias is None and list(e.state_dict()) == ["weight"]
    before = e.weight.detach().numpy().copy()
    e.reset_parameters()
    assert not np.array_equal(before, e.weight.detach().numpy())
    assert repr(e) == "Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), bias=False)"


@pytest.mark.parametrize("name,args,kw", [
    ("Conv2d", (3, 4, 3), dict(groups=2)),
    ("Conv2d", (4, 3, 3), dict(groups=2)),
    ("Conv2d", (4, 4, 3), dict(groups=0)),
    ("Conv2d", (4, 4, 3), dict(padding="full")),
    ("Conv2d", (4, 4, 3), dict(padding="same", stride=2)),
    ("Conv2d", (4, 4, 3), dict(padding_mode="mirror")),
    ("ConvTranspose2d", (4, 4, 3), dict(padding_mode="reflect")),
])
def test_conv_constructor_errors_match_torch(name, args, kw):
    with pytest.raises(ValueError) as te:
        getattr(torch.nn, name)(*args, **kw)
    with pytest.raises(ValueError) as ee:
        MODULES[name](*args, **kw)
    # torch prints a set of names, in an order that changes with string hashing
    assert re.sub(r"\{.*\}", "{}", str(ee.value)) == re.sub(r"\{.*\}", "{}", str(te.value))


def test_conv_layer_wrong_channels_message():
    layer = conv.Conv2d(1, 32, 3)
    with pytest.raises(RuntimeError, match=r"expected input\[64, 3, 28, 28\] to have 1 channels, "
                                           r"but got 3 channels instead"):
        layer(ember.zeros(64, 3, 28, 28))


OTHER_LAYERS = [
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", (3, 2, 1), dict(ceil_mode=True, dilation=1), (2, 3, 9, 9)),
    ("MaxPool2d", ((2, 3),), dict(return_indices=True), (2, 3, 8, 9)),
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("MaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AvgPool2d", (2,), {}, (2, 3, 8, 8)),
    ("AvgPool2d", (3, 2, 1), dict(count_include_pad=False, ceil_mode=True), (2, 3, 9, 9)),
    ("AvgPool2d", (2,), dict(divisor_override=3), (2, 3, 8, 8)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("AvgPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 8, 8)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 8, 8)),
    ("AdaptiveAvgPool1d", (3,), {}, (2, 3, 8)),
    ("AdaptiveAvgPool3d", (2,), {}, (1, 2, 4, 5, 4)),
    ("AdaptiveMaxPool2d", ((3, 2),), dict(return_indices=True), (2, 3, 7, 8)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 8)),
    ("AdaptiveMaxPool3d", (2,), {}, (1, 2, 4, 4, 4)),
    ("LPPool2d", (2, 2), {}, (2, 3, 8, 8)),
    ("LPPool1d", (3, 2), dict(stride=1), (2, 3, 8)),
    ("ZeroPad2d", ((1, 2, 0, 3),), {}, (2, 3, 4, 4)),
    ("ZeroPad1d", (2,), {}, (2, 3, 4)),
    ("ZeroPad3d", (1,), {}, (1, 2, 3, 3, 3)),
    ("ConstantPad1d", (2, 3.5), {}, (2, 3, 4)),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.0), {}, (2, 3, 4, 4)),
    ("ConstantPad3d", (1, 0.5), {}, (1, 2, 3, 3, 3)),
    ("ReflectionPad1d", (2,), {}, (2, 3, 4)),
    ("ReflectionPad2d", ((1, 2, 3, 0),), {}, (2, 3, 4, 5)),
    ("ReflectionPad3d", (1,), {}, (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", ((3, 1),), {}, (2, 3, 4)),
    ("ReplicationPad2d", (2,), {}, (2, 3, 4, 5)),
    ("ReplicationPad3d", (1,), {}, (1, 2, 3, 3, 3)),
    ("CircularPad1d", (2,), {}, (2, 3, 4)),
    ("CircularPad2d", ((1, 2, 3, 0),), {}, (2, 3, 4, 5)),
    ("CircularPad3d", (1,), {}, (1, 2, 3, 3, 3)),
    ("Upsample", (), dict(scale_factor=2), (2, 3, 4, 4)),
    ("Upsample", (), dict(size=(5, 7), mode="bilinear"), (2, 3, 4, 4)),
    ("Upsample", (), dict(scale_factor=(2, 1.5), mode="bicubic", align_corners=True),
     (2, 3, 4, 4)),
    ("Upsample", (), dict(scale_factor=2, mode="trilinear"), (1, 2, 2, 3, 2)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (2, 3, 4, 4)),
    ("UpsamplingBilinear2d", (), dict(size=6), (2, 3, 4, 4)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 3)),
    ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
    ("Unfold", (3,), dict(padding=1, stride=2), (2, 3, 6, 6)),
    ("Fold", ((4, 5), 2), {}, (2, 12, 12)),
]


@pytest.mark.parametrize("case", OTHER_LAYERS, ids=[f"{c[0]}{c[1]}{c[2]}" for c in OTHER_LAYERS])
def test_layers_match_torch(case):
    name, args, kw, shape = case
    e, t = pair(name, *args, **kw)
    assert repr(e) == repr(t)
    run(e, t, rand(shape, "float64", positive=name.startswith("LPPool")))


def test_max_unpool_layers_match_torch():
    for nd, shape in [(1, (2, 3, 8)), (2, (2, 3, 8, 8)), (3, (1, 2, 4, 4, 4))]:
        pe, pt = pair(f"MaxPool{nd}d", 2, return_indices=True)
        ue, ut = pair(f"MaxUnpool{nd}d", 2)
        assert repr(ue) == repr(ut)
        x = rand(shape)
        ye, ie = pe(ember.from_numpy(x))
        yt, it = pt(torch.from_numpy(x))
        assert_same(ue(ye, ie), ut(yt, it))
        assert_same(ue(ye, ie, output_size=[s + 1 for s in shape]),
                    ut(yt, it, output_size=[s + 1 for s in shape]))


def test_circular_pad_layer_rank_error():
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        padding.CircularPad2d(1)(ember.zeros(3, 3))


def test_the_mnist_net_features_match_torch():
    """conv 1->32, ReLU, conv 32->64, ReLU, max_pool 2: the seed 000 net's feature extractor."""
    e1, t1 = pair("Conv2d", 1, 32, 3, 1)
    e2, t2 = pair("Conv2d", 32, 64, 3, 1)
    x = rand((4, 1, 28, 28))

    def feats(m, c1, c2, x):
        F = torch.nn.functional if m is torch else ember.ops.spatial
        return F.max_pool2d(c2(c1(x).relu()).relu(), 2)

    xe, xt = ember.from_numpy(x), torch.from_numpy(x)
    ye, yt = feats(ember, e1, e2, xe), feats(torch, t1, t2, xt)
    assert_same(ye, yt, rtol=1e-4, atol=1e-5)
    ye.sum().backward()
    yt.sum().backward()
    for pe, pt in [(e1.weight, t1.weight), (e2.weight, t2.weight), (e1.bias, t1.bias)]:
        assert_same(pe.grad, pt.grad, rtol=1e-3, atol=1e-4)
