"""cosine_similarity, pairwise_distance, pdist and their layers against torch."""

import numpy as np
import pytest
from nn_check import check_layer, same_repr
from reference import check, gradcheck, rand, same_error

import ember.nn  # noqa: F401


def F(m):
    return m.nn.functional


CASES = {
    "cos": (lambda m, a, b: F(m).cosine_similarity(a, b), [(4, 5), (4, 5)]),
    "cos_dim0_broadcast": (lambda m, a, b: F(m).cosine_similarity(a, b, dim=0, eps=1e-3),
                           [(4, 5), (4, 1)]),
    "cos_3d": (lambda m, a, b: F(m).cosine_similarity(a, b, dim=-1), [(2, 3, 4), (3, 4)]),
    "pairwise": (lambda m, a, b: F(m).pairwise_distance(a, b), [(4, 5), (4, 5)]),
    "pairwise_p1_keepdim": (lambda m, a, b: F(m).pairwise_distance(a, b, p=1.0, keepdim=True),
                            [(4, 5), (5,)]),
    "pairwise_p3": (lambda m, a, b: F(m).pairwise_distance(a, b, p=3.0, eps=1e-2), [(6,), (6,)]),
    "pdist": (lambda m, a, b: F(m).pdist(a) + b.sum(), [(5, 3), (1,)]),
    "pdist_p1": (lambda m, a, b: F(m).pdist(a, p=1.0) + b.sum(), [(4, 3), (1,)]),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_torch(name, dtype):
    fn, shapes = CASES[name]
    check(fn, [rand(s, dtype, seed=i) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("name", CASES)
def test_gradcheck(name):
    fn, shapes = CASES[name]
    gradcheck(fn, [rand(s, seed=i) for i, s in enumerate(shapes)])


def test_zero_vectors_are_clamped_by_eps():
    check(lambda m, a, b: F(m).cosine_similarity(a, b), [np.zeros((2, 3), np.float32),
                                                         rand((2, 3))])


def test_errors():
    same_error(lambda m, a, b: F(m).cosine_similarity(a, b), [rand((3, 4)), rand((3, 5))])
    same_error(lambda m, a, b: F(m).cosine_similarity(a, b, dim=3), [rand((3, 4)), rand((3, 4))])
    same_error(lambda m, a: F(m).pdist(a), [rand((3, 4, 2))])


@pytest.mark.parametrize("make", [lambda nn: nn.CosineSimilarity(),
                                  lambda nn: nn.CosineSimilarity(dim=0, eps=1e-6),
                                  lambda nn: nn.PairwiseDistance(),
                                  lambda nn: nn.PairwiseDistance(p=1.0, keepdim=True)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layers(make, dtype):
    check_layer(make, [rand((4, 5)), rand((4, 5), seed=1)], dtype=dtype)
    same_repr(make)
