"""Per-op overhead: ember vs torch on small and medium tensors (the core issue's benchmark).

    python -m benchmarks.overhead
"""

from __future__ import annotations

from benchmarks.harness import compare, print_table


def small_add(lib):
    a, b = lib.ones(4, 4), lib.ones(4, 4)
    return lambda: a + b


def small_add_autograd(lib):
    a, b = lib.ones(4, 4, requires_grad=True), lib.ones(4, 4)
    return lambda: a + b


def small_mul_scalar(lib):
    a = lib.ones(4, 4)
    return lambda: a * 2.0


def add_sum_backward(lib):
    a = lib.randn(64, 128, requires_grad=True)
    b = lib.randn(64, 128, requires_grad=True)

    def step():
        a.grad = b.grad = None
        (a + b).sum().backward()
    return step


def matmul_fwd_bwd(lib):
    a = lib.randn(512, 512, requires_grad=True)
    b = lib.randn(512, 512, requires_grad=True)

    def step():
        a.grad = b.grad = None
        (a @ b).sum().backward()
    return step


WORKLOADS = [
    ("4x4 add (no autograd)", small_add),
    ("4x4 add (input requires grad)", small_add_autograd),
    ("4x4 mul by Python scalar", small_mul_scalar),
    ("64x128 add + sum + backward", add_sum_backward),
    ("512x512 matmul forward + backward", matmul_fwd_bwd),
]


def main() -> None:
    print_table("per-op overhead (best of interleaved rounds)", compare(WORKLOADS))


if __name__ == "__main__":
    main()
