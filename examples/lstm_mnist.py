"""Seed 002 section 7 (linked article): an LSTM reads each MNIST digit as 28 rows of 28 pixels.

    python examples/lstm_mnist.py [--epochs 1] [--data ./data] [--download]

nn.LSTM(input_size=28, hidden_size=64, num_layers=1, batch_first=True); the last time step's
output goes through Linear(64, 10). Adam(lr=0.01), CrossEntropyLoss, batches of 64; the test
accuracy is printed every 50 steps and at the end. Data: see ``mnist_data.py``.
"""

from __future__ import annotations

import argparse

from mnist_data import load_mnist
from progress import progress

import ember
import ember.nn as nn
from ember.utils.data import DataLoader, Subset
from ember.vision import transforms

TIME_STEP = 28   # rnn time steps: the image's rows
INPUT_SIZE = 28  # rnn input size: the pixels of a row


class RNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(
            input_size=INPUT_SIZE,
            hidden_size=64,
            num_layers=1,
            batch_first=True,  # (batch, time_step, input_size)
        )
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        # r_out: (batch, time_step, hidden); h_n, h_c: (num_layers, batch, hidden)
        r_out, (h_n, h_c) = self.rnn(x, None)  # None: zero initial hidden state
        return self.out(r_out[:, -1, :])  # the output at the last time step


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="seed 002's LSTM MNIST classifier on ember")
    parser.add_argument("--epochs", type=int, default=1, help="number of epochs (1)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (64)")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate (0.01)")
    parser.add_argument("--data", default="./data", help="the MNIST folder (./data)")
    parser.add_argument("--download", action="store_true", help="download MNIST if missing")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only this many training and test digits (quick runs)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    return parser.parse_args(argv)


def main(argv=None) -> float:
    """Train and test; returns the final test accuracy."""
    args = parse_args(argv)
    ember.manual_seed(args.seed)

    train_data, test_data, _ = load_mnist(args.data, args.download, transforms.ToTensor())
    if args.limit is not None:
        train_data = Subset(train_data, range(min(args.limit, len(train_data))))
    train_loader = DataLoader(dataset=train_data, batch_size=args.batch_size, shuffle=True)
    n_test = min(2000, len(test_data) if args.limit is None else args.limit)
    test_x = test_data.data.type(ember.FloatTensor)[:n_test] / 255.0  # (N, 28, 28)
    test_y = test_data.targets.numpy()[:n_test]

    rnn = RNN()
    print(rnn)
    optimizer = ember.optim.Adam(rnn.parameters(), lr=args.lr)
    loss_func = nn.CrossEntropyLoss()

    def evaluate() -> float:
        with ember.no_grad():
            test_output = rnn(test_x)
        pred_y = ember.max(test_output, 1)[1].data.numpy()
        return float((pred_y == test_y).astype(int).sum()) / float(test_y.size)

    for epoch in range(args.epochs):
        bar = progress(train_loader, desc=f"epoch {epoch}", unit="batch")
        for step, (b_x, b_y) in enumerate(bar):
            b_x = b_x.view(-1, TIME_STEP, INPUT_SIZE)  # (batch, 1, 28, 28) -> (batch, 28, 28)
            output = rnn(b_x)
            loss = loss_func(output, b_y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 50 == 0 and hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss.item():.4f}", test_accuracy=f"{evaluate():.2f}")

    accuracy = evaluate()
    print(f"Test accuracy: {100.0 * accuracy:.2f}% ({n_test} digits)")
    return accuracy


if __name__ == "__main__":
    main()
