"""``ember.vision.models``, as ``torchvision.models``: VGG and ResNet architectures with
torchvision's module names (pretrained weights are not available: ``weights`` must be None)."""

from ember.vision.models.resnet import (
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from ember.vision.models.vgg import (
    VGG,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

__all__ = ["ResNet", "VGG", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "vgg11",
           "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
