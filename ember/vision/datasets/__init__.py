"""``ember.vision.datasets``, as ``torchvision.datasets``: MNIST and its relatives, CIFAR-10/100,
SVHN, folder datasets and FakeData, with torchvision's arguments, files and attributes."""

from ember.vision.datasets.cifar import CIFAR10, CIFAR100
from ember.vision.datasets.fakedata import FakeData
from ember.vision.datasets.folder import DatasetFolder, ImageFolder
from ember.vision.datasets.mnist import EMNIST, KMNIST, MNIST, QMNIST, FashionMNIST
from ember.vision.datasets.svhn import SVHN
from ember.vision.datasets.vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "DatasetFolder", "EMNIST", "FakeData", "FashionMNIST",
           "ImageFolder", "KMNIST", "MNIST", "QMNIST", "SVHN", "VisionDataset"]
