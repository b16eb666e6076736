"""Functional ops torch also exposes at the top level (``torch.conv2d``): same values and grads."""

import pytest
from reference import check, rand

CASES = {
    "conv1d": (lambda m, x, w: m.conv1d(x, w, padding=1), [(2, 3, 9), (4, 3, 3)]),
    "conv2d": (lambda m, x, w: m.conv2d(x, w, stride=2), [(2, 3, 8, 8), (4, 3, 3, 3)]),
    "conv3d": (lambda m, x, w: m.conv3d(x, w), [(1, 2, 5, 5, 5), (3, 2, 2, 2, 2)]),
    "conv_transpose1d": (lambda m, x, w: m.conv_transpose1d(x, w, stride=2),
                         [(2, 3, 5), (3, 4, 3)]),
    "conv_transpose2d": (lambda m, x, w: m.conv_transpose2d(x, w), [(1, 3, 4, 4), (3, 2, 3, 3)]),
    "conv_transpose3d": (lambda m, x, w: m.conv_transpose3d(x, w),
                         [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)]),
    "max_pool1d": (lambda m, x: m.max_pool1d(x, 2), [(2, 3, 8)]),
    "max_pool2d": (lambda m, x: m.max_pool2d(x, 2, 2), [(2, 3, 8, 8)]),
    "max_pool3d": (lambda m, x: m.max_pool3d(x, 2), [(1, 2, 4, 4, 4)]),
    "avg_pool1d": (lambda m, x: m.avg_pool1d(x, 3, 2), [(2, 3, 9)]),
    "adaptive_avg_pool1d": (lambda m, x: m.adaptive_avg_pool1d(x, 4), [(2, 3, 10)]),
    "pixel_shuffle": (lambda m, x: m.pixel_shuffle(x, 2), [(1, 8, 3, 3)]),
    "pixel_unshuffle": (lambda m, x: m.pixel_unshuffle(x, 2), [(1, 2, 4, 4)]),
    "cosine_similarity": (lambda m, a, b: m.cosine_similarity(a, b, dim=1), [(4, 5), (4, 5)]),
    "pairwise_distance": (lambda m, a, b: m.pairwise_distance(a, b), [(4, 5), (4, 5)]),
    "bilinear": (lambda m, a, b, w: m.bilinear(a, b, w), [(3, 4), (3, 5), (2, 4, 5)]),
    "selu": (lambda m, x: m.selu(x), [(3, 4)]),
    "celu": (lambda m, x: m.celu(x, 0.5), [(3, 4)]),
    "prelu": (lambda m, x, w: m.prelu(x, w), [(2, 3, 4), (3,)]),
    "threshold": (lambda m, x: m.threshold(x, 0.2, -1.0), [(3, 4)]),
    "hardshrink": (lambda m, x: m.hardshrink(x, 0.3), [(3, 4)]),
    "rrelu": (lambda m, x: m.rrelu(x, 0.1, 0.3), [(3, 4)]),
}


@pytest.mark.parametrize("name", CASES)
def test_toplevel_matches_torch(name):
    fn, shapes = CASES[name]
    check(fn, [rand(s, seed=i) for i, s in enumerate(shapes)], rtol=1e-4, atol=1e-5)
