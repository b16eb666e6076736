"""Seed 003, example 2: a Sequential classifier with BatchNorm1d, trained with RMSprop.

    python examples/classifier_batchnorm.py [--epochs 300]

Two clusters of 1000 points around (0.2, 0.2) and (0.8, 0.8) (standard deviation 0.25, so they
overlap: the best possible rule, x1 + x2 > 1, gets about 95.5% right); the model is
Sequential(Linear(2, 10), BatchNorm1d(10), ReLU(), Linear(10, 2), Softmax(dim=1)) with
CrossEntropyLoss and RMSprop(lr=1e-3), trained on the whole set at every step; predictions are
``yhat.argmax(axis=1)``.
"""

from __future__ import annotations

import argparse

import numpy as np
from progress import progress

import ember


def make_clusters(n=1000, r=0.25):
    # the first cluster's x and y coordinates
    x1_1 = r * np.random.randn(n) + 0.2
    x1_2 = r * np.random.randn(n) + 0.2
    # the second cluster's
    x2_1 = r * np.random.randn(n) + 0.8
    x2_2 = r * np.random.randn(n) + 0.8
    # the two clusters side by side as the input features
    x = np.vstack([np.append(x1_1, x2_1), np.append(x1_2, x2_2)]).T.astype("float32")
    # the first cluster is class 0, the second class 1
    y = np.hstack([np.zeros(n), np.ones(n)]).astype("int")
    return x, y


def accuracy(model, x, y) -> float:
    model.eval()  # BatchNorm normalises with its running statistics
    with ember.no_grad():
        yhat = model(ember.from_numpy(x))
    model.train()
    return float((yhat.argmax(axis=1).numpy() == y).mean())


def main(argv=None) -> tuple[float, float]:
    """Train; returns (training accuracy, accuracy on a fresh sample)."""
    parser = argparse.ArgumentParser(description="seed 003's BatchNorm classifier on ember")
    parser.add_argument("--epochs", type=int, default=300, help="full-batch steps (300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    args = parser.parse_args(argv)
    np.random.seed(args.seed)
    ember.manual_seed(args.seed)

    x, y = make_clusters()
    model = ember.nn.Sequential(
        ember.nn.Linear(2, 10),  # 2 features in x
        ember.nn.BatchNorm1d(10),
        ember.nn.ReLU(),
        ember.nn.Linear(10, 2),  # 2 classes
        ember.nn.Softmax(dim=1),
    )
    print(model)
    x_tensor = ember.from_numpy(x)
    y_tensor = ember.from_numpy(y)
    loss_func = ember.nn.CrossEntropyLoss()
    optimizer = ember.optim.RMSprop(model.parameters(), lr=1e-3)
    print(f"accuracy before training: {100 * accuracy(model, x, y):.1f}%")

    bar = progress(range(args.epochs), desc="training", unit="step")
    for _ in bar:
        yhat_tensor = model(x_tensor)
        loss = loss_func(yhat_tensor, y_tensor)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.item():.4f}")

    best = ((x[:, 0] + x[:, 1] > 1.0).astype(int) == y).mean()
    train_acc = accuracy(model, x, y)
    x_new, y_new = make_clusters()
    test_acc = accuracy(model, x_new, y_new)
    print(f"accuracy: {100 * train_acc:.1f}% on the training points, {100 * test_acc:.1f}% on a "
          f"fresh sample (the best possible rule: {100 * best:.1f}%)")
    return train_acc, test_acc


if __name__ == "__main__":
    main()
