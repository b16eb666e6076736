"""Seed 003, example 1: linear regression with one weight tensor and SGD.

    python examples/linear_regression.py [--epochs 100]

x = linspace(0, 1, 1000), y = 2x + N(0, 0.3) noise, both float64 tensors from NumPy; the weight
is ``torch.tensor(0.1, device=cpu, dtype=torch.float, requires_grad=True)``; each step predicts
``x * w``, takes MSELoss(reduction='sum') and an SGD(lr=1e-4) step. The weight ends near 2.
"""

from __future__ import annotations

import argparse

import numpy as np
from progress import progress

import ember


def main(argv=None) -> float:
    """Fit the weight; returns it."""
    parser = argparse.ArgumentParser(description="seed 003's linear regression on ember")
    parser.add_argument("--epochs", type=int, default=100, help="SGD steps (100)")
    parser.add_argument("--seed", type=int, default=0, help="NumPy random seed (0)")
    args = parser.parse_args(argv)
    np.random.seed(args.seed)

    # a noisy linear correlation
    x = np.linspace(0, 1, 1000)
    y = 2 * x + np.random.randn(1000) * 0.3

    # the input and target as tensors (float64, sharing NumPy's memory)
    x_tensor = ember.from_numpy(x)
    y_tensor = ember.from_numpy(y)
    print("Describing the features...")
    print(type(x_tensor))
    print(x_tensor.dtype)
    print(x_tensor.shape)
    print(x_tensor[:10])

    # the weight: a 0-dim float32 tensor on the CPU
    dtype = ember.float
    device = ember.device("cpu")
    w_tensor = ember.tensor(0.1, device=device, dtype=dtype, requires_grad=True)
    print("\nDescribing the weights...")
    print(type(w_tensor))
    print(w_tensor.dtype)
    print(w_tensor.shape)
    print(w_tensor)

    loss_func = ember.nn.MSELoss(reduction="sum")
    optimizer = ember.optim.SGD([w_tensor], lr=1e-4)

    bar = progress(range(args.epochs), desc="training", unit="step")
    for _ in bar:
        # predict y from x and the current weight (float64 * float32 0-dim -> float64)
        yhat_tensor = x_tensor * w_tensor
        loss = loss_func(yhat_tensor, y_tensor)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss.item():.3f}", w=f"{w_tensor.item():.4f}")

    print(f"W={w_tensor.detach().numpy()} : Loss = {loss.item()}")
    # inference: Yhat = x * w, in NumPy
    yhat = x * w_tensor.detach().numpy()
    print(f"mean absolute error of the fit: {np.abs(yhat - y).mean():.4f}")
    return w_tensor.item()


if __name__ == "__main__":
    main()
