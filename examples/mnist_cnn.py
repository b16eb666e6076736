"""Seed 002 section 2: the Sequential-block CNN on MNIST, trained with Adam.

    python examples/mnist_cnn.py [--epochs 1] [--data ./data] [--download] [--tensorboard]

conv1 = Conv2d(1, 16, 5, 2, 2) + ReLU + MaxPool2d(2) -> 16x7x7; conv2 = Conv2d(16, 32, 5, 1, 2)
+ ReLU -> 32x7x7; out = Linear(32 * 7 * 7, 10). Adam(lr=0.001), CrossEntropyLoss, batches of 50;
every 50 steps the test digits are classified the tutorial's way
(``torch.max(test_output, 1)[1].data.numpy()``). With ``--tensorboard`` the loss and accuracy are
logged as in the tutorial's section 4 (``Train/Loss``, ``Train/Accuracy``). Data: see
``mnist_data.py``.
"""

from __future__ import annotations

import argparse

from mnist_data import load_mnist
from progress import progress

import ember
import ember.nn as nn
from ember.utils.data import DataLoader, Subset
from ember.vision import transforms


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels=1, out_channels=16, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.conv2 = nn.Sequential(
            nn.Conv2d(16, 32, 5, 1, 2),
            nn.ReLU(),
        )
        self.out = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = self.conv2(x)
        x = x.view(x.size(0), -1)
        output = self.out(x)
        return output


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="seed 002's MNIST CNN on ember")
    parser.add_argument("--epochs", type=int, default=1, help="number of epochs (1)")
    parser.add_argument("--batch-size", type=int, default=50, help="batch size (50)")
    parser.add_argument("--lr", type=float, default=0.001, help="Adam's learning rate (0.001)")
    parser.add_argument("--data", default="./data", help="the MNIST folder (./data)")
    parser.add_argument("--download", action="store_true", help="download MNIST if missing")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many training and test digits (quick runs)")
    parser.add_argument("--tensorboard", action="store_true",
                        help="log Train/Loss and Train/Accuracy to ./runs")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    return parser.parse_args(argv)


def main(argv=None) -> float:
    """Train and test; returns the final test accuracy."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)

    # ToTensor: PIL image / uint8 array -> float tensor in [0, 1]
    train_data, test_data, _ = load_mnist(args.data, args.download, transforms.ToTensor())
    if args.limit is not None:
        train_data = Subset(train_data, range(min(args.limit, len(train_data))))
    train_loader = DataLoader(dataset=train_data, batch_size=args.batch_size, shuffle=True)

    # the test digits as one (N, 1, 28, 28) tensor in [0, 1], the tutorial's way
    n_test = min(2000, len(test_data) if args.limit is None else args.limit)
    test_x = ember.unsqueeze(test_data.data, dim=1).type(ember.FloatTensor)[:n_test] / 255.0
    test_y = test_data.targets[:n_test]

    cnn = CNN()
    print(cnn)
    optimizer = ember.optim.Adam(cnn.parameters(), lr=args.lr)
    loss_func = nn.CrossEntropyLoss()

    writer = None
    if args.tensorboard:
        from ember.utils.tensorboard import SummaryWriter
        writer = SummaryWriter()

    def evaluate() -> float:
        with ember.no_grad():
            test_output = cnn(test_x)
        pred_y = ember.max(test_output, 1)[1].data.numpy()
        return float((pred_y == test_y.data.numpy()).astype(int).sum()) / float(test_y.size(0))

    global_step = 0
    for epoch in range(args.epochs):
        bar = progress(train_loader, desc=f"epoch {epoch}", unit="batch")
        for step, (b_x, b_y) in enumerate(bar):
            output = cnn(b_x)
            loss = loss_func(output, b_y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

            if writer is not None:
                writer.add_scalar("Train/Loss", loss.item(), global_step)
            if step % 50 == 0:
                accuracy = evaluate()
                if writer is not None:
                    writer.add_scalar("Train/Accuracy", accuracy, global_step)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{loss.item():.4f}", test_accuracy=f"{accuracy:.2f}")
            global_step += 1

    accuracy = evaluate()
    if writer is not None:
        writer.close()
    print(f"Test accuracy: {100.0 * accuracy:.2f}% ({n_test} digits)")
    return accuracy


if __name__ == "__main__":
    main()
