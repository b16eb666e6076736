"""``ember.vision.transforms``, as ``torchvision.transforms``: image transforms as classes
(``Compose``, ``ToTensor``, ``Normalize``, crops, flips, colour jitter, ...) and as functions
(``functional``), for PIL images and tensors."""

from ember.vision.transforms import functional
from ember.vision.transforms.functional import InterpolationMode
from ember.vision.transforms.transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    ConvertImageDtype,
    GaussianBlur,
    Grayscale,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomApply,
    RandomChoice,
    RandomCrop,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomOrder,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
    ToTensor,
)

__all__ = ["CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "GaussianBlur",
           "Grayscale", "InterpolationMode", "Lambda", "Normalize", "PILToTensor", "Pad",
           "RandomApply", "RandomChoice", "RandomCrop", "RandomGrayscale", "RandomHorizontalFlip",
           "RandomOrder", "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize",
           "ToPILImage", "ToTensor", "functional"]
