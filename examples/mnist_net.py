"""Seed 000's MNIST network (the PyTorch-examples ``Net``) trained with Adadelta and StepLR.

    python examples/mnist_net.py                       # 1 epoch; digits from ./data or fallback
    python examples/mnist_net.py --download --epochs 3
    EMBER_MNIST_DIR=../shared/data/mnist python examples/mnist_net.py

The program is the PyTorch example with ``import ember as torch`` spelled out: conv 1->32->64,
max pool, Dropout2d, fc 9216->128->10, log_softmax, ``nll_loss``; Adadelta(lr=1.0) with
StepLR(step_size=1, gamma=0.7). Data: see ``mnist_data.py`` (MNIST in --data, a download, the
folder in EMBER_MNIST_DIR, or scikit-learn's bundled digits when offline). It prints the test
accuracy at the end.
"""

from __future__ import annotations

import argparse
import time
import warnings

from mnist_data import load_mnist
from progress import progress

import ember
import ember.nn as nn
import ember.nn.functional as F
import ember.optim as optim
from ember.optim.lr_scheduler import StepLR
from ember.utils.data import DataLoader, Subset
from ember.vision import transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = ember.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(model, device, train_loader, optimizer, epoch):
    model.train()
    bar = progress(train_loader, desc=f"epoch {epoch}", unit="batch", leave=False)
    for data, target in bar:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.item():.4f}")


def test(model, device, test_loader):
    """(average loss, accuracy) on the test set, computed without gradients."""
    model.eval()
    test_loss = 0.0
    correct = 0
    with ember.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()
    n = len(test_loader.dataset)
    return test_loss / n, correct / n


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="ember MNIST example (seed 000's Net)")
    parser.add_argument("--batch-size", type=int, default=64, help="training batch size (64)")
    parser.add_argument("--test-batch-size", type=int, default=1000, help="test batch size (1000)")
    parser.add_argument("--epochs", type=int, default=1, help="number of epochs (1)")
    parser.add_argument("--lr", type=float, default=1.0, help="learning rate (1.0)")
    parser.add_argument("--gamma", type=float, default=0.7, help="StepLR's decay per epoch (0.7)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument("--data", default="./data", help="the MNIST folder (./data)")
    parser.add_argument("--download", action="store_true", help="download MNIST if missing")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many training and test digits (quick runs)")
    parser.add_argument("--no-cuda", action="store_true", help="train on the CPU")
    parser.add_argument("--save-model", action="store_true", help="save to mnist_cnn.pt")
    return parser.parse_args(argv)


def main(argv=None) -> float:
    """Train and test; returns the test accuracy."""
    args = parse_args(argv)
    with warnings.catch_warnings():
        # The tutorial's Net applies Dropout2d to fc1's (N, 128) output, where it acts as plain
        # element-wise dropout; PyTorch (and ember) warn about that 2-D input. The network is
        # kept as written and that one warning is silenced.
        warnings.filterwarnings("ignore", message="dropout2d: Received a 2-D input",
                                category=UserWarning)
        return run(args)


def run(args) -> float:
    """Train and test with the parsed arguments; returns the test accuracy."""
    ember.manual_seed(args.seed)
    use_cuda = not args.no_cuda and ember.cuda.is_available()
    device = ember.device("cuda" if use_cuda else "cpu")

    transform = transforms.Compose([
        transforms.ToTensor(),
        transforms.Normalize((0.1307,), (0.3081,)),
    ])
    dataset1, dataset2, _ = load_mnist(args.data, args.download, transform)
    if args.limit is not None:
        dataset1 = Subset(dataset1, range(min(args.limit, len(dataset1))))
        dataset2 = Subset(dataset2, range(min(args.limit, len(dataset2))))
    train_loader = DataLoader(dataset1, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(dataset2, batch_size=args.test_batch_size)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)

    accuracy = 0.0
    start = time.time()
    for epoch in progress(range(1, args.epochs + 1), desc="training", unit="epoch"):
        train(model, device, train_loader, optimizer, epoch)
        test_loss, accuracy = test(model, device, test_loader)
        print(f"\nEpoch {epoch}: test set average loss {test_loss:.4f}, accuracy "
              f"{100.0 * accuracy:.2f}% ({len(test_loader.dataset)} digits)")
        scheduler.step()
    print(f"Training took {time.time() - start:.1f}s on {device}.")

    if args.save_model:
        ember.save(model.state_dict(), "mnist_cnn.pt")
    print(f"Test accuracy: {100.0 * accuracy:.2f}%")
    return accuracy


if __name__ == "__main__":
    main()
