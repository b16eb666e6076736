"""ember.vision.models: torchvision's architectures (parameter counts, state_dict names, shapes)
and the weights API (nothing can be downloaded: asking for weights is an error)."""

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.vision import models
from ember.vision.models.resnet import BasicBlock, Bottleneck
from ember.vision.models.vgg import cfgs, make_layers


def _count(model):
    return sum(p.numel() for p in model.parameters())


# torchvision's documented sizes (num_params, 1000 classes); the classifier holds
# 25088*4096 + 4096 + 4096*4096 + 4096 + 4096*1000 + 1000 of them
_VGG_PARAMS = {"A": (132_863_336, 132_868_840), "B": (133_047_848, 133_053_736),
               "D": (138_357_544, 138_365_992), "E": (143_667_240, 143_678_248)}
_CLASSIFIER_1000 = 123_642_856


@pytest.fixture(scope="module")
def vgg11_bn():
    """One VGG-11-BN with 10 classes (building the 103M-weight classifier takes seconds)."""
    ember.manual_seed(0)
    return models.vgg11_bn(num_classes=10)


def test_vgg11_bn_parameter_count(vgg11_bn):
    # 132,868,840 with 1000 classes; 10 classes drop 4096 * 990 + 990 of them
    assert _count(vgg11_bn) == 132_868_840 - 4096 * 990 - 990


@pytest.mark.parametrize("cfg", ["A", "B", "D", "E"])
@pytest.mark.parametrize("bn", [False, True])
def test_vgg_feature_parameter_counts(cfg, bn):
    features = make_layers(cfgs[cfg], batch_norm=bn)
    assert _count(features) + _CLASSIFIER_1000 == _VGG_PARAMS[cfg][bn]


def test_vgg_state_dict_names_and_shapes(vgg11_bn):
    keys = list(vgg11_bn.state_dict())
    conv_idx = [0, 4, 8, 11, 15, 18, 22, 25]  # cfg A with batch norm: conv, bn, relu [, pool]
    expected = []
    for i in conv_idx:
        expected += [f"features.{i}.weight", f"features.{i}.bias"]
        expected += [f"features.{i + 1}.{n}" for n in ("weight", "bias", "running_mean",
                                                       "running_var", "num_batches_tracked")]
    expected += [f"classifier.{i}.{n}" for i in (0, 3, 6) for n in ("weight", "bias")]
    assert keys == expected
    assert tuple(vgg11_bn.state_dict()["classifier.6.bias"].shape) == (10,)
    assert tuple(vgg11_bn.state_dict()["features.0.weight"].shape) == (64, 3, 3, 3)
    assert repr(vgg11_bn.avgpool) == "AdaptiveAvgPool2d(output_size=(7, 7))"
    plain = list(nn.Sequential(make_layers(cfgs["D"])).state_dict())
    assert plain[:4] == ["0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias"] and len(plain) == 26


def test_vgg_forward_and_init(vgg11_bn):
    vgg11_bn.eval()
    with ember.no_grad():
        out = vgg11_bn(ember.randn(2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)
    lin = vgg11_bn.classifier[0]
    assert abs(lin.weight.std().item() - 0.01) < 0.001 and lin.bias.abs().max().item() == 0
    conv = vgg11_bn.features[0]
    # kaiming normal, fan_out = 64 * 3 * 3: std sqrt(2 / 576)
    assert abs(conv.weight.std().item() - (2 / 576) ** 0.5) < 0.01
    assert conv.bias.abs().max().item() == 0
    bn = vgg11_bn.features[1]
    assert bn.weight.unique().tolist() == [1.0] and bn.bias.unique().tolist() == [0.0]


def test_make_layers_matches_seed_002():
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers = make_layers(cfg, batch_norm=True)
    kinds = [type(m).__name__ for m in layers]
    assert len(layers) == 44 and kinds.count("Conv2d") == 13 and kinds.count("MaxPool2d") == 5
    assert repr(layers[0]) == "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(layers[2]) == "ReLU(inplace=True)"
    assert len(make_layers(cfg)) == 31


@pytest.mark.parametrize("builder,expected,n_keys", [
    (models.resnet18, 11_689_512, 122), (models.resnet34, 21_797_672, 218),
    (models.resnet50, 25_557_032, 320),
])
def test_resnet_parameter_counts(builder, expected, n_keys):
    model = builder()
    assert _count(model) == expected
    assert len(model.state_dict()) == n_keys


def test_resnet_state_dict_names():
    sd = models.resnet18().state_dict()
    for key in ("conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked",
                "layer1.0.conv1.weight", "layer1.1.bn2.bias", "layer2.0.downsample.0.weight",
                "layer2.0.downsample.1.running_var", "layer4.1.conv2.weight", "fc.weight",
                "fc.bias"):
        assert key in sd, key
    assert "layer1.0.downsample.0.weight" not in sd
    assert tuple(sd["fc.weight"].shape) == (1000, 512)
    sd50 = models.resnet50(num_classes=5).state_dict()
    assert tuple(sd50["layer1.0.conv3.weight"].shape) == (256, 64, 1, 1)
    assert tuple(sd50["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1)
    assert tuple(sd50["fc.weight"].shape) == (5, 2048)


def test_resnet_forward_shapes_and_backward():
    ember.manual_seed(0)
    model = models.resnet18(num_classes=3)
    x = ember.randn(2, 3, 40, 40)
    out = model(x)
    assert tuple(out.shape) == (2, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    m50 = models.resnet50(num_classes=4)
    m50.eval()
    with ember.no_grad():
        assert tuple(m50(ember.randn(1, 3, 32, 32)).shape) == (1, 4)


def test_basic_block_matches_torch():
    ember.manual_seed(0)
    block = BasicBlock(4, 8, stride=2, downsample=nn.Sequential(
        nn.Conv2d(4, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8)))
    block.eval()
    tconv = [torch.nn.Conv2d(4, 8, 3, 2, 1, bias=False), torch.nn.BatchNorm2d(8),
             torch.nn.Conv2d(8, 8, 3, 1, 1, bias=False), torch.nn.BatchNorm2d(8),
             torch.nn.Conv2d(4, 8, 1, 2, bias=False), torch.nn.BatchNorm2d(8)]
    ours = [block.conv1, block.bn1, block.conv2, block.bn2, block.downsample[0],
            block.downsample[1]]
    with torch.no_grad():
        for t, e in zip(tconv, ours):
            for name, value in e.state_dict().items():
                getattr(t, name).copy_(torch.from_numpy(value.numpy().copy()))
            if isinstance(t, torch.nn.BatchNorm2d):  # non-trivial statistics
                t.running_mean.uniform_(-1, 1)
                t.running_var.uniform_(0.5, 2)
                e.running_mean.copy_(ember.from_numpy(t.running_mean.numpy().copy()))
                e.running_var.copy_(ember.from_numpy(t.running_var.numpy().copy()))
        for t in tconv:
            t.eval()
        x = np.random.RandomState(1).randn(2, 4, 9, 9).astype(np.float32)
        tx = torch.from_numpy(x)
        ref = torch.relu(tconv[3](tconv[2](torch.relu(tconv[1](tconv[0](tx)))))
                         + tconv[5](tconv[4](tx)))
        with ember.no_grad():
            out = block(ember.from_numpy(x))
    np.testing.assert_allclose(out.numpy(), ref.numpy(), atol=1e-5)


def test_resnet_options():
    zero = models.resnet18(zero_init_residual=True)
    assert zero.layer1[0].bn2.weight.abs().max().item() == 0
    assert models.resnet50(zero_init_residual=True).layer1[0].bn3.weight.sum().item() == 0
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        models.resnet18(groups=2)
    with pytest.raises(ValueError, match="replace_stride_with_dilation should be None or a "
                                         "3-element tuple"):
        models.resnet50(replace_stride_with_dilation=[True])
    wide = models.resnet50(width_per_group=128, num_classes=2)
    assert tuple(wide.layer1[0].conv2.weight.shape) == (128, 128, 3, 3)
    dilated = models.resnet50(replace_stride_with_dilation=[False, True, True], num_classes=2)
    dilated.eval()
    with ember.no_grad():
        assert tuple(dilated(ember.randn(1, 3, 32, 32)).shape) == (1, 2)
    assert isinstance(models.resnet101(num_classes=2).layer3[22], Bottleneck)


@pytest.mark.parametrize("builder", [models.vgg16, models.resnet18])
def test_pretrained_weights_are_refused(builder):
    name = builder.__name__
    with pytest.raises(RuntimeError, match=f"{name}\\(weights='IMAGENET1K_V1'\\): ember cannot "
                                           "load pretrained weights"):
        builder(weights="IMAGENET1K_V1")
    with pytest.warns(UserWarning, match="The parameter 'pretrained' is deprecated since 0.13"):
        with pytest.raises(RuntimeError, match="downloads none"):
            builder(pretrained=True)
    with pytest.raises(TypeError):
        builder(True)  # keyword-only, as torchvision's builders


def test_pretrained_false_builds_the_model():
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        model = models.resnet18(pretrained=False, num_classes=2)
    assert model.fc.out_features == 2
