"""Seed 002 section 5: a deep network (VGG-16) built from a cfg list by ``make_layers``.

    python examples/vgg.py [--steps 5] [--batch-norm]
    python examples/vgg.py --data ./data --epochs 1      # train on CIFAR-10 if it is there

``make_layers(cfg, batch_norm)`` turns ``[64, 64, 'M', 128, ...]`` into the list of layers
(a number: a 3x3 conv with that many channels [+ BatchNorm2d] + ReLU; 'M': a 2x2 max pool) and
returns ``nn.Sequential(*layers)``; the classifier is one Linear(512, 10) for 32x32 inputs, which
five pools shrink to 512x1x1. Without CIFAR-10 the program fits one fixed random batch for
``--steps`` SGD steps, enough to watch the loss fall. ``ember.vision.models.vgg16_bn`` builds
torchvision's full ImageNet-sized VGG the same way.
"""

from __future__ import annotations

import argparse

from progress import progress

import ember
import ember.nn as nn
from ember.utils.data import DataLoader, Subset
from ember.vision import datasets, transforms


def make_layers(cfg, batch_norm=False):
    layers = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


class VGG(nn.Module):
    def __init__(self, features, num_classes=10):
        super().__init__()
        self.features = features
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="seed 002's VGG-16 via make_layers on ember")
    parser.add_argument("--batch-norm", action="store_true", help="BatchNorm2d after every conv")
    parser.add_argument("--steps", type=int, default=5,
                        help="SGD steps on one random batch when no CIFAR-10 is used (5)")
    parser.add_argument("--batch-size", type=int, default=8, help="batch size (8)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (0.01)")
    parser.add_argument("--data", default=None, help="train on CIFAR-10 from this folder")
    parser.add_argument("--epochs", type=int, default=1, help="epochs on CIFAR-10 (1)")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many CIFAR-10 images (quick runs)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    return parser.parse_args(argv)


def main(argv=None) -> list[float]:
    """Build and train the network; returns the losses seen."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)
    model = VGG(make_layers(cfg, batch_norm=args.batch_norm))
    n_params = sum(p.numel() for p in model.parameters())
    kinds = [type(m).__name__ for m in model.features]
    print(f"VGG-16 ({'with' if args.batch_norm else 'without'} batch norm): "
          f"{len(model.features)} layers ({kinds.count('Conv2d')} convs, "
          f"{kinds.count('MaxPool2d')} pools), {n_params:,} parameters")

    criterion = nn.CrossEntropyLoss()
    optimizer = ember.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    losses = []

    def step(x, y):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        return loss.item()

    model.train()
    if args.data is None:
        print(f"Data: one random batch of {args.batch_size} 3x32x32 images, fitted for "
              f"{args.steps} steps (use --data to train on CIFAR-10).")
        x = ember.randn(args.batch_size, 3, 32, 32)
        y = ember.randint(0, 10, (args.batch_size,))
        bar = progress(range(args.steps), desc="steps", unit="step")
        for _ in bar:
            loss = step(x, y)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss:.4f}")
    else:
        train_set = datasets.CIFAR10(args.data, train=True, transform=transforms.ToTensor())
        if args.limit is not None:
            train_set = Subset(train_set, range(min(args.limit, len(train_set))))
        loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
        for epoch in range(args.epochs):
            bar = progress(loader, desc=f"epoch {epoch + 1}", unit="batch")
            for x, y in bar:
                loss = step(x, y)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{loss:.4f}")
    print(f"Loss: {losses[0]:.4f} -> {losses[-1]:.4f}")
    return losses


if __name__ == "__main__":
    main()
