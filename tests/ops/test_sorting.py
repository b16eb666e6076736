"""sort/argsort/msort/topk/kthvalue, unique(_consecutive), searchsorted/bucketize against torch."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import assert_same, check, gradcheck, rand, same_error

import ember

DTYPES = ["float32", "float64"]


def _distinct(shape, dtype="float32", seed=0):
    """Random values without ties, so that every index is determined."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape).astype(dtype) / 4 - 2


def _ties(shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).integers(0, 3, size=shape).astype(dtype)


# --- sort -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", [((7,), 0), ((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -2),
                                       ((), 0), ((0, 3), 1), ((4, 0), 1)])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_matches_torch(dtype, shape, dim, descending):
    x = np.asarray(_distinct(shape, dtype, seed=1))
    check(lambda m, x: m.sort(x, dim, descending), [x])
    check(lambda m, x: x.sort(dim=dim, descending=descending), [x])
    check(lambda m, x: m.argsort(x, dim, descending), [x])
    check(lambda m, x: x.argsort(dim=dim, descending=descending), [x])


@pytest.mark.parametrize("descending", [False, True])
def test_sort_stable_with_ties(descending):
    x = _ties((4, 9), seed=2)
    check(lambda m, x: m.sort(x, dim=-1, descending=descending, stable=True), [x])
    check(lambda m, x: x.sort(dim=0, descending=descending, stable=True), [x])
    check(lambda m, x: x.int().sort(stable=True, descending=descending), [x], grad=False)
    check(lambda m, x: x.bool().sort(stable=True, descending=descending), [x], grad=False)
    check(lambda m, x: m.argsort(x, stable=True, descending=descending), [x], grad=False)


def test_sort_nan_is_largest():
    x = np.array([1.0, np.nan, -2.0, np.nan, 0.5], dtype=np.float32)
    check(lambda m, x: (x.sort(), x.sort(descending=True)), [x], grad=False)
    check(lambda m, x: (x.topk(3), x.topk(2, largest=False), x.kthvalue(5)), [x], grad=False)


def test_sort_returns_named_tuple_and_out():
    x = ember.tensor([3.0, 1.0, 2.0])
    r = x.sort()
    assert type(r).__name__ == "sort" and r.values.tolist() == [1, 2, 3]
    assert r.indices.dtype == ember.int64 and r.indices.tolist() == [1, 2, 0]
    values, indices = ember.empty(3), ember.empty(3, dtype=ember.int64)
    r = ember.sort(x, descending=True, out=(values, indices))
    assert r.values is values and values.tolist() == [3, 2, 1] and indices.tolist() == [0, 2, 1]
    assert ember.msort(ember.tensor([[2.0, 1.0], [0.0, 3.0]])).tolist() == [[0, 1], [2, 3]]


def test_msort_and_gradcheck():
    x = _distinct((4, 3), seed=3)
    check(lambda m, x: m.msort(x), [x])
    check(lambda m, x: x.msort(), [x])
    gradcheck(lambda m, x: x.sort(1).values, [x])
    gradcheck(lambda m, x: x.sort(0, descending=True).values, [x])


def test_sort_double_backward():
    for m in (ember, torch):
        x = m.tensor([3.0, -1.0, 2.0], dtype=m.float64, requires_grad=True)
        y = (x.sort().values * m.tensor([1.0, 2.0, 3.0], dtype=m.float64)) ** 2
        (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), x)
        if m is ember:
            e = (g, gg)
        else:
            t = (g, gg)
    assert_same(e, t)


def test_sort_errors_like_torch():
    same_error(lambda m, x: x.sort(dim=2), [rand((3, 4))])
    same_error(lambda m, x: x.to(m.complex64).sort(), [rand((3,))])


# --- topk / kthvalue ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", [((9,), 0), ((3, 40), 1), ((40, 3), 0), ((2, 5, 4), 1),
                                       ((), 0)])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_matches_torch(dtype, shape, dim, largest):
    x = np.asarray(_distinct(shape, dtype, seed=4))
    n = shape[dim] if shape else 1
    for k in sorted({0, 1, 2, n // 2, n}):
        if k > n:
            continue
        check(lambda m, x: m.topk(x, k, dim, largest), [x])
        check(lambda m, x: x.topk(k, dim=dim, largest=largest, sorted=True), [x])


def test_topk_unsorted_gives_the_same_set():
    x = _distinct((3, 30), seed=5)
    e = ember.from_numpy(x).topk(4, sorted=False)
    t = torch.from_numpy(x).topk(4, sorted=False)
    np.testing.assert_array_equal(np.sort(e.values.numpy(), 1), np.sort(t.values.numpy(), 1))
    np.testing.assert_array_equal(np.take_along_axis(x, e.indices.numpy(), 1), e.values.numpy())


def test_topk_ties_pick_valid_indices():
    x = _ties((5, 12), seed=6)
    e = ember.from_numpy(x).topk(5)
    t = torch.from_numpy(x).topk(5)
    assert_same(e.values, t.values)
    np.testing.assert_array_equal(np.take_along_axis(x, e.indices.numpy(), 1), e.values.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,dim", [((9,), 0), ((3, 7), 1), ((7, 3), 0), ((2, 5, 4), -1),
                                       ((), 0)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_kthvalue_matches_torch(dtype, shape, dim, keepdim):
    x = np.asarray(_distinct(shape, dtype, seed=7))
    n = shape[dim] if shape else 1
    for k in sorted({1, (n + 1) // 2, n}):
        check(lambda m, x: m.kthvalue(x, k, dim, keepdim), [x])
        check(lambda m, x: x.kthvalue(k, dim=dim, keepdim=keepdim), [x])


def test_topk_kthvalue_gradcheck():
    x = _distinct((3, 5), seed=8)
    gradcheck(lambda m, x: x.topk(2).values, [x])
    gradcheck(lambda m, x: x.topk(3, dim=0, largest=False).values, [x])
    gradcheck(lambda m, x: x.kthvalue(2, dim=1).values, [x])
    gradcheck(lambda m, x: x.kthvalue(3, dim=0, keepdim=True).values, [x])


TOPK_ERRORS = {
    "k_too_big": lambda m, x: x.topk(6),
    "k_negative": lambda m, x: x.topk(-1),
    "topk_dim": lambda m, x: x.topk(1, dim=2),
    "kth_zero": lambda m, x: x.kthvalue(0),
    "kth_too_big": lambda m, x: x.kthvalue(6),
    "kth_dim": lambda m, x: x.kthvalue(1, dim=-3),
}


@pytest.mark.parametrize("name", TOPK_ERRORS)
def test_topk_kthvalue_errors_like_torch(name):
    same_error(TOPK_ERRORS[name], [rand((3, 5))])


# --- unique ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("shape", [(10,), (3, 4), (), (0,)])
def test_unique_matches_torch(dtype, shape):
    x = np.asarray(_ties(shape, dtype, seed=9))
    for inverse in (False, True):
        for counts in (False, True):
            check(lambda m, x: m.unique(x, return_inverse=inverse, return_counts=counts), [x],
                  grad=False)
            check(lambda m, x: x.unique(sorted=True, return_inverse=inverse,
                                        return_counts=counts), [x], grad=False)
            check(lambda m, x: m.unique_consecutive(x, return_inverse=inverse,
                                                    return_counts=counts), [x], grad=False)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unique_dim_matches_torch(dim):
    x = np.array([[1, 2, 1, 2], [0, 5, 0, 5], [1, 2, 1, 2]], dtype=np.int64)
    check(lambda m, x: m.unique(x, dim=dim, return_inverse=True, return_counts=True), [x],
          grad=False)
    check(lambda m, x: m.unique_consecutive(x, dim=dim, return_inverse=True,
                                            return_counts=True), [x], grad=False)
    check(lambda m, x: x.unique_consecutive(dim=dim), [x], grad=False)


def test_unique_keeps_nan_apart_like_torch():
    x = np.array([1.0, np.nan, np.nan, 0.0], dtype=np.float32)
    check(lambda m, x: m.unique(x, return_counts=True), [x], grad=False)


def test_unique_is_not_differentiable_like_torch():
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0, 1.0], requires_grad=True)
        u = m.unique(x)
        assert u.requires_grad
        with pytest.raises(RuntimeError, match="derivative for .*unique.* is not implemented"):
            u.sum().backward()


# --- searchsorted / bucketize ---------------------------------------------------------------------


@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("out_int32", [False, True])
def test_searchsorted_1d(right, out_int32):
    seq = np.array([-1.0, 0.0, 0.0, 2.5, 4.0], dtype=np.float32)
    vals = np.array([[-2.0, 0.0, 1.0], [2.5, 4.0, 9.0]], dtype=np.float32)
    check(lambda m, s, v: m.searchsorted(s, v, right=right, out_int32=out_int32), [seq, vals],
          grad=False)
    check(lambda m, s, v: m.searchsorted(s, v, side="right" if right else "left"), [seq, vals],
          grad=False)
    check(lambda m, s: m.searchsorted(s, 0.0, right=right), [seq], grad=False)
    check(lambda m, s, v: m.searchsorted(s, v.long(), right=right), [seq, vals], grad=False)
    check(lambda m, s, v: m.bucketize(v, s, right=right, out_int32=out_int32), [seq, vals],
          grad=False)
    check(lambda m, s: m.bucketize(2.5, s, right=right), [seq], grad=False)


def test_searchsorted_nd_and_sorter():
    seq = np.sort(rand((2, 3, 6), seed=10), axis=-1)
    vals = rand((2, 3, 4), seed=11)
    check(lambda m, s, v: m.searchsorted(s, v), [seq, vals], grad=False)
    check(lambda m, s, v: m.searchsorted(s, v, right=True), [seq, vals], grad=False)
    unsorted = rand((7,), seed=12)
    order = np.argsort(unsorted)
    check(lambda m, s, v, o: m.searchsorted(s, v, sorter=o), [unsorted, vals, order], grad=False)
    out = ember.empty(0, dtype=ember.int64)
    r = ember.searchsorted(ember.tensor([1.0, 2.0]), ember.tensor([1.5]), out=out)
    assert r is out and out.tolist() == [1]


SEARCH_ERRORS = {
    "side_conflict": lambda m, s, v: m.searchsorted(s, v, side="left", right=True),
    "leading_dims": lambda m, s, v: m.searchsorted(s.reshape(1, 6), v),
    "bucketize_2d": lambda m, s, v: m.bucketize(v, s.reshape(2, 3)),
}


@pytest.mark.parametrize("name", SEARCH_ERRORS)
def test_search_errors_like_torch(name):
    same_error(SEARCH_ERRORS[name], [np.arange(6.0, dtype=np.float32), rand((2, 3))])


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple), data=st.data())
def test_hypothesis_sort_topk_match_torch(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _distinct(shape, "float64", seed=data.draw(st.integers(0, 99)))
    k = data.draw(st.integers(0, shape[dim]))
    descending = data.draw(st.booleans())
    check(lambda m, x: (x.sort(dim, descending), x.topk(k, dim, descending)), [x])
    if k:
        check(lambda m, x: x.kthvalue(k, dim, descending), [x])
