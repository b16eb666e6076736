"""A tiny autograd demo: fit y = sin(x) with a cubic polynomial by gradient descent.

    python examples/autograd_demo.py

The same program runs on PyTorch with `import torch as ember`.
"""

import math

import ember

ember.manual_seed(0)
x = ember.linspace(-math.pi, math.pi, 2000)
y = ember.sin(x)

# y ~ a + b x + c x^2 + d x^3, the four coefficients learnt by autograd
coeffs = ember.randn(4, requires_grad=True)
powers = ember.stack([x ** k for k in range(4)], dim=1)  # (2000, 4)

learning_rate = 1e-6
for step in range(2000):
    y_pred = powers @ coeffs
    loss = (y_pred - y).pow(2).sum()
    if step % 500 == 0:
        print(f"step {step:4d}  loss {loss.item():10.3f}")
    loss.backward()
    with ember.no_grad():
        coeffs -= learning_rate * coeffs.grad
        coeffs.grad = None

a, b, c, d = coeffs.tolist()
print(f"final loss {loss.item():.3f}: y = {a:.4f} + {b:.4f} x + {c:.4f} x^2 + {d:.4f} x^3")
assert loss.item() < 50, "the fit should converge"
