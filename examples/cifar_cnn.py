"""Seed 004: the CIFAR-10 CNN (ConvLayer 3->32->64->128) trained with SGD and momentum.

    python examples/cifar_cnn.py [--epochs 10] [--data ./data] [--download]
    python examples/cifar_cnn.py --fake        # no CIFAR-10 at hand: random images (chance level)

The tutorial's network flattens 128x32x32 features into Linear(128, 10), which cannot run
("mat1 and mat2 shapes cannot be multiplied (64x131072 and 128x10)"). This is the usual fix: a 2x2
max pool after every ConvLayer (32 -> 16 -> 8 -> 4) and Linear(128 * 4 * 4, 10). Training is the
tutorial's: CrossEntropyLoss, SGD(lr=0.001, momentum=0.9), batches of 64, then the test loop
under ``no_grad`` and ``torch.max(outputs.data, 1)``. ``--save-model`` writes ``model.pth``
(``torch.save(model.state_dict(), 'model.pth')``, the tutorial's Q&A).
"""

from __future__ import annotations

import argparse

from progress import progress

import ember
import ember.nn as nn
import ember.optim as optim
from ember.utils.data import DataLoader, Subset
from ember.vision import datasets, transforms

# the dataset class; a test points it at a subclass for files without the real checksums
CIFAR10 = datasets.CIFAR10


class ConvLayer(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, padding):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.conv(x)
        x = self.relu(x)
        return x


class CNN(nn.Module):
    """The tutorial's CNN with a 2x2 max pool after every ConvLayer."""

    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32, 3, 1, 1)
        self.conv2 = ConvLayer(32, 64, 3, 1, 1)
        self.conv3 = ConvLayer(64, 128, 3, 1, 1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(128 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(self.conv1(x))  # 32x32 -> 16x16
        x = self.pool(self.conv2(x))  # 16x16 -> 8x8
        x = self.pool(self.conv3(x))  # 8x8 -> 4x4
        x = x.view(x.size(0), -1)
        x = self.fc1(x)
        return x


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="seed 004's CIFAR-10 CNN on ember")
    parser.add_argument("--epochs", type=int, default=10, help="number of epochs (10)")
    parser.add_argument("--lr", type=float, default=0.001, help="SGD learning rate (0.001)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (64)")
    parser.add_argument("--data", default="./data", help="the CIFAR-10 folder (./data)")
    parser.add_argument("--download", action="store_true", help="download CIFAR-10 if missing")
    parser.add_argument("--fake", action="store_true",
                        help="train on random images (FakeData) when CIFAR-10 is not available")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many training and test images (quick runs)")
    parser.add_argument("--save-model", action="store_true", help="save the weights to model.pth")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    return parser.parse_args(argv)


def load_cifar10(args, transform):
    if args.fake:
        print("Data: FakeData, random 3x32x32 images with random labels (accuracy stays at "
              "chance level; this only exercises the program).")
        return (datasets.FakeData(500, (3, 32, 32), 10, transform=transform),
                datasets.FakeData(100, (3, 32, 32), 10, transform=transform, random_offset=500))
    try:
        train = CIFAR10(root=args.data, train=True, download=args.download, transform=transform)
        test = CIFAR10(root=args.data, train=False, download=args.download, transform=transform)
    except (RuntimeError, OSError) as e:
        raise SystemExit(f"CIFAR-10 is not available in {args.data} ({e}). Use --download to "
                         "fetch it, or --fake to run on random images.") from e
    print(f"Data: CIFAR-10 from {args.data} ({len(train)} training, {len(test)} test images)")
    return train, test


def main(argv=None) -> float:
    """Train and test; returns the test accuracy."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    device = ember.device("cuda" if ember.cuda.is_available() else "cpu")

    train_set, test_set = load_cifar10(args, transforms.ToTensor())
    if args.limit is not None:
        train_set = Subset(train_set, range(min(args.limit, len(train_set))))
        test_set = Subset(test_set, range(min(args.limit, len(test_set))))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=args.batch_size, shuffle=False)

    model = CNN().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    for epoch in progress(range(args.epochs), desc="training", unit="epoch"):
        running_loss = 0.0
        model.train()
        for inputs, labels in progress(train_loader, desc=f"epoch {epoch + 1}", unit="batch",
                                       leave=False):
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1}, Loss: {running_loss / len(train_loader):.4f}")

    correct = 0
    total = 0
    model.eval()
    with ember.no_grad():
        for images, labels in test_loader:
            images, labels = images.to(device), labels.to(device)
            outputs = model(images)
            _, predicted = ember.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    print(f"Accuracy of the network on the {total} test images: {100 * correct / total:.2f}%")

    if args.save_model:
        ember.save(model.state_dict(), "model.pth")
    return correct / total


if __name__ == "__main__":
    main()
