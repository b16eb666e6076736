"""Distances: ``cosine_similarity``, ``pairwise_distance``, ``pdist`` (compositions)."""

# ruff: noqa: A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """``x1 . x2 / (max(||x1||, eps) * max(||x2||, eps))`` along ``dim`` (inputs broadcast)."""
    if x1.dtype != x2.dtype and not (x1.is_floating_point() and x2.is_floating_point()):
        from ember.dtypes import promote_types

        common = promote_types(x1.dtype, x2.dtype)
        x1, x2 = x1.to(common), x2.to(common)
    if x1.shape != x2.shape:
        shape = _broadcast_shape(x1, x2)
        x1, x2 = x1.expand(shape), x2.expand(shape)
    # as torch: each input is divided by its (clamped) norm first, which keeps the result in
    # [-1, 1]; the clamp happens outside autograd, so the gradient flows through the norm
    n1 = x1.norm(2, dim, keepdim=True).clone()
    n2 = x2.norm(2, dim, keepdim=True).clone()
    with no_grad():
        n1.clamp_min_(eps)
        n2.clamp_min_(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def _broadcast_shape(a, b):
    import numpy as np

    try:
        return np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError:
        ra, rb = tuple(a.shape)[::-1], tuple(b.shape)[::-1]
        for i, (sa, sb) in enumerate(zip(ra, rb)):
            if sa != sb and sa != 1 and sb != 1:
                dim = max(a.dim(), b.dim()) - 1 - i
                raise RuntimeError(f"The size of tensor a ({sa}) must match the size of tensor b "
                                   f"({sb}) at non-singleton dimension {dim}") from None
        raise


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """``||x1 - x2 + eps||_p`` along the last dimension."""
    output_dim = max(x1.dim(), x2.dim())
    innermost = output_dim - 1 if output_dim > 0 else 0
    diff = x1 - x2 + eps
    if diff.dim() == 0:
        return diff.abs()
    return diff.norm(p, innermost, keepdim=keepdim)


def pdist(input, p=2.0):
    """The p-norm distances between every pair of rows of the ``(N, M)`` input: the upper
    triangle of the distance matrix, row by row, as a vector of ``N (N - 1) / 2``."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    import numpy as np

    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    dev = input.device
    from ember.backend import to_device

    a = input.index_select(0, Tensor._make(to_device(i.astype(np.int64), dev), dev))
    b = input.index_select(0, Tensor._make(to_device(j.astype(np.int64), dev), dev))
    return (a - b).norm(p, 1)
