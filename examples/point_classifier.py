"""Seed 002 section 1: a first classifier on two clusters of random points.

    python examples/point_classifier.py [--steps 200]

Two clusters of 100 points around (2, 2) and (-2, -2) made with ``torch.normal``; Net(2, 10, 2)
with ``torch.relu`` and a softmax output; SGD(lr=0.02) and CrossEntropyLoss; then the accuracy on
the training points and on freshly drawn ones.
"""

from __future__ import annotations

import argparse

from progress import progress

import ember


class Net(ember.nn.Module):
    def __init__(self, n_feature, n_hidden, n_output):
        super().__init__()
        self.n_hidden = ember.nn.Linear(n_feature, n_hidden)
        self.out = ember.nn.Linear(n_hidden, n_output)

    def forward(self, x_layer):
        x_layer = ember.relu(self.n_hidden(x_layer))
        x_layer = self.out(x_layer)
        # the tutorial omits dim (deprecated; 1 for 2-D input) and feeds the softmax to
        # CrossEntropyLoss, which applies its own: the loss cannot fall below log(1 + 1/e)
        x_layer = ember.nn.functional.softmax(x_layer, dim=1)
        return x_layer


def clusters(n_data):
    """200 points: class 0 around (2, 2), class 1 around (-2, -2), standard deviation 1."""
    x0 = ember.normal(2 * n_data, 1)
    y0 = ember.zeros(100)
    x1 = ember.normal(-2 * n_data, 1)
    y1 = ember.ones(100)
    x = ember.cat((x0, x1), 0).type(ember.FloatTensor)  # shape (200, 2), float32
    y = ember.cat((y0, y1), ).type(ember.LongTensor)    # shape (200,), int64
    return x, y


def main(argv=None) -> tuple[float, float]:
    """Train; returns (training accuracy, accuracy on fresh points)."""
    parser = argparse.ArgumentParser(description="seed 002's point classifier on ember")
    parser.add_argument("--steps", type=int, default=200, help="SGD steps (200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    args = parser.parse_args(argv)
    ember.manual_seed(args.seed)

    n_data = ember.ones(100, 2)
    x, y = clusters(n_data)
    net = Net(n_feature=2, n_hidden=10, n_output=2)
    print(net)
    optimizer = ember.optim.SGD(net.parameters(), lr=0.02)
    loss_func = ember.nn.CrossEntropyLoss()

    bar = progress(range(args.steps), desc="training", unit="step")
    for _ in bar:
        out = net(x)
        loss = loss_func(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.item():.4f}")

    prediction = ember.max(out, 1)[1]
    train_acc = (prediction == y).sum().item() / float(y.size(0))
    x_test, y_test = clusters(n_data)
    with ember.no_grad():
        test_acc = (ember.max(net(x_test), 1)[1] == y_test).float().mean().item()
    print(f"Loss {loss.item():.4f}; accuracy {100 * train_acc:.1f}% on the training points, "
          f"{100 * test_acc:.1f}% on fresh points")
    return train_acc, test_acc


if __name__ == "__main__":
    main()
