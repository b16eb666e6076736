"""Reductions, scans and softmax against torch: values, dtypes, shapes, indices, gradients and
errors."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import assert_same, check, gradcheck, rand, same_error

import ember


def ties(shape, seed=0, high=3):
    """Small integers as floats: rows with repeated values (ties for max, median, mode)."""
    return np.random.default_rng(seed).integers(0, high, size=shape).astype(np.float32)


def with_zeros(shape, seed=0, zeros=((0, 1),)):
    a = rand(shape, seed=seed)
    for z in zeros:
        a[z] = 0
    return a


def with_nans(shape, seed=0):
    a = rand(shape, seed=seed)
    a[np.random.default_rng(seed).random(shape) < 0.3] = np.nan
    return a


# name -> (fn(m, x), input array); each is checked forward and backward against torch in float32
# and float64, and gradchecked in float64.
DIFFERENTIABLE = {
    "sum": (lambda m, a: m.sum(a), rand((3, 4))),
    "sum_dim": (lambda m, a: a.sum(1), rand((3, 4))),
    "sum_dims_keepdim": (lambda m, a: m.sum(a, (0, -1), keepdim=True), rand((2, 3, 4))),
    "sum_0d": (lambda m, a: a.sum(0), rand(())),
    "sum_dtype": (lambda m, a: a.sum(1, dtype=m.float64), rand((3, 4))),
    "nansum": (lambda m, a: m.nansum(a, 1), with_nans((3, 4))),
    "mean": (lambda m, a: m.mean(a), rand((3, 4))),
    "mean_dims": (lambda m, a: a.mean((0, 2), keepdim=True), rand((2, 3, 4))),
    "mean_dtype": (lambda m, a: m.mean(a, -1, dtype=m.float64), rand((3, 4))),
    "nanmean": (lambda m, a: m.nanmean(a, 0), with_nans((4, 3))),
    "nanmean_all": (lambda m, a: a.nanmean(), with_nans((4, 3))),
    "prod": (lambda m, a: m.prod(a), rand((2, 3), positive=True)),
    "prod_dim": (lambda m, a: a.prod(1, keepdim=True), rand((3, 4))),
    "prod_one_zero": (lambda m, a: m.prod(a), with_zeros((2, 3))),
    "prod_two_zeros": (lambda m, a: m.prod(a), with_zeros((2, 3), zeros=((0, 1), (1, 2)))),
    "prod_dim_zeros": (lambda m, a: m.prod(a, 1), with_zeros((3, 4), zeros=((0, 1), (1, 0),
                                                                             (1, 3)))),
    "max_all": (lambda m, a: m.max(a), rand((3, 4))),
    "max_all_ties": (lambda m, a: a.max(), ties((3, 4))),
    "min_all_ties": (lambda m, a: m.min(a), ties((3, 4))),
    "max_dim": (lambda m, a: m.max(a, 1), rand((3, 4))),
    "max_dim_ties": (lambda m, a: a.max(0, keepdim=True), ties((4, 3))),
    "min_dim": (lambda m, a: m.min(a, dim=-1, keepdim=True), rand((3, 4))),
    "max_0d": (lambda m, a: m.max(a, 0), rand(())),
    "amax": (lambda m, a: m.amax(a, 1), ties((3, 5))),
    "amax_all": (lambda m, a: a.amax(), ties((3, 5))),
    "amin_dims": (lambda m, a: m.amin(a, (0, 2), keepdim=True), ties((2, 3, 4))),
    "aminmax": (lambda m, a: tuple(m.aminmax(a)), ties((3, 4))),
    "aminmax_dim": (lambda m, a: tuple(a.aminmax(dim=0, keepdim=True)), ties((3, 4))),
    "var": (lambda m, a: m.var(a), rand((3, 4))),
    "var_dim": (lambda m, a: a.var(1, keepdim=True), rand((3, 4))),
    "var_correction": (lambda m, a: m.var(a, (0, 1), correction=0), rand((2, 3, 4))),
    "var_unbiased_positional": (lambda m, a: m.var(a, 0, False, True), rand((3, 4))),
    "var_unbiased_only": (lambda m, a: m.var(a, False), rand((3, 4))),
    "std": (lambda m, a: m.std(a), rand((3, 4))),
    "std_dim": (lambda m, a: a.std(-1, correction=2), rand((3, 5))),
    "std_positional": (lambda m, a: m.std(a, 1, True, True), rand((3, 4))),
    "std_constant_row": (lambda m, a: m.std(a, 1), np.array([[1., 1, 1], [1, 2, 4]], np.float32)),
    "var_mean": (lambda m, a: m.var_mean(a, 1), rand((3, 4))),
    "std_mean": (lambda m, a: m.std_mean(a, dim=0, keepdim=True), rand((3, 4))),
    "norm": (lambda m, a: m.norm(a), rand((3, 4))),
    "norm_fro_dim": (lambda m, a: m.norm(a, "fro", dim=1), rand((3, 4))),
    "norm_p1": (lambda m, a: a.norm(1), rand((3, 4))),
    "norm_p3_dim": (lambda m, a: m.norm(a, 3, 1, keepdim=True), rand((3, 4))),
    "norm_p1_5": (lambda m, a: m.norm(a, 1.5), rand((3, 4))),
    "norm_p0_5": (lambda m, a: m.norm(a, 0.5, dim=0), rand((3, 4))),
    "norm_inf": (lambda m, a: m.norm(a, float("inf"), dim=1), ties((3, 4))),
    "norm_neg_inf": (lambda m, a: m.norm(a, -float("inf")), rand((3, 4))),
    "norm_p0": (lambda m, a: m.norm(a, 0), with_zeros((3, 4))),
    "norm_zero_row": (lambda m, a: m.norm(a, dim=1), with_zeros((2, 2), zeros=((0, 0), (0, 1)))),
    "norm_dtype": (lambda m, a: m.norm(a, 2, 1, dtype=m.float64), rand((3, 4))),
    "logsumexp": (lambda m, a: m.logsumexp(a, 1), rand((3, 4))),
    "logsumexp_dims": (lambda m, a: a.logsumexp((0, 1), keepdim=True), rand((3, 4))),
    "logsumexp_large": (lambda m, a: m.logsumexp(a * 500, 0), rand((3, 4))),
    "cumsum": (lambda m, a: m.cumsum(a, 1), rand((3, 4))),
    "cumsum_neg": (lambda m, a: a.cumsum(-2), rand((3, 4, 2))),
    "cumsum_0d": (lambda m, a: a.cumsum(0), rand(())),
    "cumprod": (lambda m, a: m.cumprod(a, 1), rand((3, 4))),
    "cumprod_zeros": (lambda m, a: m.cumprod(a, 1), with_zeros((3, 5), zeros=((0, 1), (1, 0),
                                                                              (1, 3), (2, 4)))),
    "cumprod_dim0_zeros": (lambda m, a: a.cumprod(0), with_zeros((4, 2), zeros=((1, 0),))),
    "cummax": (lambda m, a: tuple(m.cummax(a, 1)), ties((3, 5))),
    "cummin": (lambda m, a: tuple(a.cummin(0)), rand((4, 3))),
    "median": (lambda m, a: m.median(a), rand((3, 5))),
    "median_ties": (lambda m, a: a.median(), ties((3, 4))),
    "median_dim": (lambda m, a: tuple(m.median(a, 1)), ties((3, 6))),
    "median_dim_keepdim": (lambda m, a: tuple(a.median(0, keepdim=True)), rand((5, 3))),
    "nanmedian": (lambda m, a: m.nanmedian(a), with_nans((3, 4))),
    "nanmedian_dim": (lambda m, a: tuple(m.nanmedian(a, 1)), with_nans((4, 5))),
    "mode": (lambda m, a: tuple(m.mode(a)), ties((3, 7))),
    "mode_dim0": (lambda m, a: tuple(a.mode(0, keepdim=True)), ties((6, 3))),
    "softmax": (lambda m, a: m.softmax(a, 1), rand((3, 4))),
    "softmax_dim0": (lambda m, a: a.softmax(0), rand((3, 4, 2))),
    "softmax_large": (lambda m, a: m.softmax(a * 1000, -1), rand((3, 4))),
    "softmax_dtype": (lambda m, a: m.softmax(a, 1, dtype=m.float64), rand((3, 4))),
    "log_softmax": (lambda m, a: m.log_softmax(a, 1), rand((3, 4))),
    "log_softmax_method": (lambda m, a: a.log_softmax(-1), rand((2, 3, 4))),
    "log_softmax_large": (lambda m, a: a.log_softmax(0) * 1, rand((3, 4)) * 1000),
    "trace": (lambda m, a: m.trace(a), rand((3, 4))),
}

# gradcheck's finite differences need inputs away from kinks (ties, zeros of |x|) and NaNs.
NOT_GRADCHECKED = {"max_all_ties", "min_all_ties", "max_dim_ties", "amax", "amax_all", "amin_dims",
                   "aminmax", "aminmax_dim", "norm_inf", "norm_p0", "norm_zero_row", "cummax",
                   "median_ties", "median_dim", "mode", "mode_dim0", "nansum", "nanmean",
                   "nanmean_all", "nanmedian", "nanmedian_dim", "std_constant_row",
                   "logsumexp_large", "softmax_large", "log_softmax_large"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_matches_torch(name, dtype):
    fn, a = DIFFERENTIABLE[name]
    check(fn, [a.astype(dtype)], rtol=1e-5 if dtype == "float64" else 2e-5, atol=1e-5)


# The ops whose cases above have ties or NaNs, gradchecked on distinct values.
GRADCHECK_DISTINCT = {
    "amax": lambda m, a: m.amax(a, 1), "amin_dims": lambda m, a: m.amin(a, (0, 1), keepdim=True),
    "aminmax": lambda m, a: tuple(m.aminmax(a, dim=0)), "cummax": lambda m, a: m.cummax(a, 1)[0],
    "median_dim": lambda m, a: m.median(a, 0)[0], "mode": lambda m, a: m.mode(a, 1)[0],
    "nanmedian": lambda m, a: m.nanmedian(a), "nanmedian_dim": lambda m, a: m.nanmedian(a, 1)[0],
    "nansum": lambda m, a: m.nansum(a, 0), "nanmean": lambda m, a: m.nanmean(a, 1),
    "norm_inf": lambda m, a: m.norm(a, float("inf"), dim=1), "max_all": lambda m, a: a.max(),
    "min_dim": lambda m, a: a.min(0, keepdim=True)[0],
}


@pytest.mark.parametrize("name", sorted(set(DIFFERENTIABLE) - NOT_GRADCHECKED))
def test_gradcheck(name):
    fn, a = DIFFERENTIABLE[name]
    gradcheck(fn, [a])


@pytest.mark.parametrize("name", GRADCHECK_DISTINCT)
def test_gradcheck_distinct_values(name):
    gradcheck(GRADCHECK_DISTINCT[name], [rand((3, 4), seed=5)])


# Gradients of gradients: the backward formulas are themselves differentiable.
SECOND_ORDER = {
    "sum": (lambda m, a: a.sum(1) ** 2, rand((2, 3))),
    "mean": (lambda m, a: a.mean(0) ** 2, rand((2, 3))),
    "prod": (lambda m, a: m.prod(a, 1), rand((2, 3), positive=True)),
    "prod_zero": (lambda m, a: m.prod(a, 1), with_zeros((2, 3))),
    "cumprod_zero": (lambda m, a: m.cumprod(a, 1), with_zeros((2, 4), zeros=((0, 1), (1, 0),
                                                                             (1, 2)))),
    "cumsum": (lambda m, a: m.cumsum(a, 0) ** 2, rand((3, 2))),
    "var": (lambda m, a: a.var(1), rand((2, 3))),
    "std": (lambda m, a: a.std(0), rand((3, 2))),
    "norm": (lambda m, a: m.norm(a, dim=1), rand((2, 3))),
    "norm_p3": (lambda m, a: m.norm(a, 3), rand((2, 3))),
    "logsumexp": (lambda m, a: m.logsumexp(a, 1), rand((2, 3))),
    "softmax": (lambda m, a: m.softmax(a, 1), rand((2, 3))),
    "log_softmax": (lambda m, a: m.log_softmax(a, 0), rand((3, 2))),
    "amax": (lambda m, a: m.amax(a, 1) ** 2, rand((2, 3))),
    "max_dim": (lambda m, a: m.max(a, 1).values ** 2, rand((2, 3))),
}


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_order_matches_torch(name):
    fn, a = SECOND_ORDER[name]
    grads = []
    for m in (ember, torch):
        x = m.from_numpy(a.astype(np.float64)).requires_grad_()
        out = fn(m, x)
        w = m.from_numpy(np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)))
        (g,) = m.autograd.grad((out * w).sum(), x, create_graph=True)
        (gg,) = m.autograd.grad((g * g).sum(), x)
        grads.append((g, gg))
    assert_same(grads[0], grads[1], rtol=1e-6, atol=1e-8)


def test_gradgradcheck():
    for fn, a in [SECOND_ORDER["cumprod_zero"], SECOND_ORDER["softmax"], SECOND_ORDER["std"]]:
        x = ember.from_numpy(a.astype(np.float64)).requires_grad_()
        assert ember.autograd.gradgradcheck(lambda t, fn=fn: fn(ember, t), (x,))


def test_cumprod_zeros_without_create_graph_matches_graph_form():
    # The O(n) array form (plain backward) and the differentiable form (create_graph) agree.
    a = with_zeros((3, 6), zeros=((0, 2), (1, 0), (1, 4), (2, 5)))
    w = rand((3, 6), "float64", seed=7)
    grads = []
    for create_graph in (False, True):
        x = ember.from_numpy(a.astype(np.float64)).requires_grad_()
        (g,) = ember.autograd.grad((x.cumprod(1) * ember.from_numpy(w)).sum(), x,
                                   create_graph=create_graph)
        grads.append(g.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


# Integer, bool and other non-differentiable results: value, dtype and shape.
NON_DIFFERENTIABLE = {
    "sum_int": (lambda m, a: m.sum(a), rand((3, 4), "int32")),
    "sum_bool_dim": (lambda m, a: a.sum(0), rand((3, 4), "bool")),
    "sum_uint8": (lambda m, a: a.sum(), rand((3, 4), "uint8")),
    "sum_int_dtype": (lambda m, a: m.sum(a, 1, dtype=m.float32), rand((3, 4), "int64")),
    "nansum_int": (lambda m, a: m.nansum(a), rand((3, 4), "int64")),
    "mean_int_dtype": (lambda m, a: m.mean(a, 1, dtype=m.float64), rand((3, 4), "int64")),
    "prod_int": (lambda m, a: m.prod(a, 0), rand((3, 4), "int32")),
    "prod_bool": (lambda m, a: a.prod(), rand((3, 4), "bool")),
    "max_int": (lambda m, a: m.max(a, 1), rand((3, 4), "int64")),
    "max_bool": (lambda m, a: m.max(a), rand((3, 4), "bool")),
    "amin_int": (lambda m, a: m.amin(a, 0), rand((3, 4), "int32")),
    "argmax": (lambda m, a: m.argmax(a), rand((3, 4))),
    "argmax_dim": (lambda m, a: m.argmax(a, 1), ties((3, 4))),
    "argmax_keepdim": (lambda m, a: a.argmax(keepdim=True), rand((3, 4))),
    "argmax_dim_keepdim": (lambda m, a: m.argmax(a, 0, keepdim=True), rand((3, 4))),
    "argmin": (lambda m, a: a.argmin(), ties((3, 4))),
    "argmin_dim": (lambda m, a: m.argmin(a, dim=-1), ties((3, 4))),
    "argmax_0d": (lambda m, a: m.argmax(a, 0, True), rand(())),
    "argmax_nan": (lambda m, a: m.argmax(a), np.array([1, np.nan, 2, np.nan], np.float32)),
    "max_nan": (lambda m, a: m.max(a, 0), np.array([1, np.nan, 2, np.nan], np.float32)),
    "all": (lambda m, a: m.all(a), rand((3, 4), "bool")),
    "all_dim": (lambda m, a: a.all(1), rand((3, 4), "int64")),
    "all_dims": (lambda m, a: m.all(a, (0, 1)), rand((3, 4))),
    "all_uint8": (lambda m, a: m.all(a), rand((3, 4), "uint8")),
    "any": (lambda m, a: m.any(a), rand((3, 4), "bool")),
    "any_dim_keepdim": (lambda m, a: a.any(0, keepdim=True), rand((3, 4), "bool")),
    "count_nonzero": (lambda m, a: m.count_nonzero(a), rand((3, 4), "int64")),
    "count_nonzero_dim": (lambda m, a: a.count_nonzero(1), rand((3, 4), "int64")),
    "count_nonzero_dims": (lambda m, a: m.count_nonzero(a, (0, 1)), with_zeros((3, 4))),
    "cumsum_int": (lambda m, a: m.cumsum(a, 0), rand((3, 4), "int32")),
    "cumsum_bool": (lambda m, a: a.cumsum(1), rand((3, 4), "bool")),
    "cumsum_dtype": (lambda m, a: m.cumsum(a, 1, dtype=m.float64), rand((3, 4), "int64")),
    "cumprod_bool": (lambda m, a: m.cumprod(a, 1), rand((3, 4), "bool")),
    "cummax_int": (lambda m, a: m.cummax(a, 1), rand((3, 4), "int64")),
    "cummax_nan": (lambda m, a: m.cummax(a, 0),
                   np.array([1, np.nan, 2, np.nan, 3], np.float32)),
    "cummin_nan": (lambda m, a: m.cummin(a, 0),
                   np.array([1, np.nan, 2, np.nan, 3], np.float32)),
    "median_int": (lambda m, a: m.median(a), rand((3, 4), "int64")),
    "median_int_even": (lambda m, a: m.median(a), np.array([1, 2, 3, 4])),
    "median_dim_int": (lambda m, a: m.median(a, 0), rand((5, 4), "int64")),
    "median_nan": (lambda m, a: m.median(a), np.array([1, np.nan, 2], np.float32)),
    "median_dim_nan": (lambda m, a: m.median(a, 1),
                       np.array([[1, np.nan, 2, np.nan], [3, 1, 2, 0]], np.float32)),
    "nanmedian_dim_all_nan": (lambda m, a: m.nanmedian(a, 1),
                              np.array([[np.nan, np.nan, 1], [np.nan] * 3], np.float32)),
    "nanmedian_all_nan": (lambda m, a: m.nanmedian(a), np.array([np.nan, np.nan], np.float32)),
    "median_0d_dim": (lambda m, a: m.median(a, 0), rand(())),
    "mode_int": (lambda m, a: m.mode(a), rand((4, 9), "int64")),
    "mode_nan": (lambda m, a: m.mode(a), np.array([2, 2, np.nan, np.nan, np.nan], np.float32)),
    "mode_0d": (lambda m, a: m.mode(a, 0), rand(())),
    "logsumexp_int": (lambda m, a: m.logsumexp(a, 0), rand((3, 4), "int64")),
    "logsumexp_inf": (lambda m, a: m.logsumexp(a, 1),
                      np.array([[np.inf, 1], [-np.inf, -np.inf], [np.nan, 1]], np.float32)),
    "softmax_inf": (lambda m, a: m.softmax(a, 1),
                    np.array([[np.inf, 1], [-np.inf, -np.inf], [-np.inf, 0]], np.float32)),
    "log_softmax_inf": (lambda m, a: m.log_softmax(a, 1),
                        np.array([[-np.inf, -np.inf], [-np.inf, 0]], np.float32)),
    "softmax_int_dtype": (lambda m, a: m.softmax(a, 0, dtype=m.float64), rand((3, 4), "int64")),
    "trace_int": (lambda m, a: m.trace(a), rand((3, 3), "int32")),
    "norm_complex": (lambda m, a: m.norm(a.to(m.complex64) * (1 + 2j), dim=1), rand((2, 3))),
    "var_complex": (lambda m, a: m.var(a.to(m.complex64) * (1 - 1j), 1), rand((2, 3))),
}


@pytest.mark.parametrize("name", NON_DIFFERENTIABLE)
def test_non_differentiable_matches_torch(name):
    fn, a = NON_DIFFERENTIABLE[name]
    check(fn, [a], grad=False)


# Half precision: results in the input's dtype, accumulated in float32 as torch does (a naive
# float16 running sum of 300 elements would be visibly off).
HALF = {
    "sum": lambda m, a: a.sum(1), "nansum": lambda m, a: m.nansum(a), "mean": lambda m, a: a.mean(),
    "prod": lambda m, a: a[:, :40].prod(1), "cumsum": lambda m, a: a.cumsum(1),
    "cumprod": lambda m, a: a[:, :40].cumprod(1), "max": lambda m, a: a.max(1),
    "amax": lambda m, a: a.amax(0), "var": lambda m, a: a.var(1), "std": lambda m, a: a.std(),
    "norm": lambda m, a: a.norm(dim=1), "logsumexp": lambda m, a: a.logsumexp(1),
    "softmax": lambda m, a: a.softmax(1), "log_softmax": lambda m, a: a.log_softmax(1),
    "median": lambda m, a: a.median(), "cummax": lambda m, a: a.cummax(1).values,
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", HALF)
def test_half_precision_matches_torch(name, dtype):
    if getattr(ember, dtype) is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    fn = HALF[name]
    a = rand((3, 300), seed=1)
    if "prod" in name:  # products of values near 1 stay representable
        a = 1 + a / 20
    check(lambda m, a: fn(m, a.to(getattr(m, dtype))), [a], rtol=1e-2, atol=1e-2,
          grad=dtype == "float16")


# Reductions of tensors with no elements, where torch returns a result.
EMPTY = {
    "sum": lambda m, a: m.sum(a, 0),
    "sum_all": lambda m, a: a.sum(),
    "mean": lambda m, a: m.mean(a),
    "mean_dim": lambda m, a: m.mean(a, 0),
    "prod": lambda m, a: m.prod(a, 0),
    "max_nonempty_dim": lambda m, a: m.max(a, 1),
    "amax_nonempty_dim": lambda m, a: m.amax(a, 1),
    "argmax_nonempty_dim": lambda m, a: m.argmax(a, 1),
    "median_nonempty_dim": lambda m, a: m.median(a, 1),
    "median_all": lambda m, a: m.median(a),
    "logsumexp": lambda m, a: m.logsumexp(a, 0),
    "norm": lambda m, a: m.norm(a),
    "softmax": lambda m, a: m.softmax(a, 0),
    "log_softmax": lambda m, a: m.log_softmax(a, 1),
    "cumsum": lambda m, a: m.cumsum(a, 0),
    "cumprod": lambda m, a: m.cumprod(a, 1),
    "cummax": lambda m, a: m.cummax(a, 0),
    "all": lambda m, a: m.all(a),
    "any": lambda m, a: m.any(a, 0),
    "count_nonzero": lambda m, a: m.count_nonzero(a),
}


@pytest.mark.parametrize("name", EMPTY)
def test_empty_matches_torch(name):
    # logsumexp's -inf results would make the weighted sum of outputs NaN: compare values only.
    check(EMPTY[name], [np.zeros((0, 3), np.float32)], grad=name != "logsumexp")


ERRORS = {
    "sum_dim_out_of_range": (lambda m, a: m.sum(a, 2), rand((3, 4))),
    "sum_repeated_dim": (lambda m, a: a.sum((0, -2)), rand((3, 4))),
    "sum_0d_repeated_dim": (lambda m, a: a.sum((0, -1)), rand(())),
    "sum_float_dim": (lambda m, a: a.sum(1.5), rand((3, 4))),
    "mean_int": (lambda m, a: m.mean(a), rand((3, 4), "int64")),
    "mean_int_dtype": (lambda m, a: m.mean(a, dtype=m.int32), rand((3, 4))),
    "nanmean_int": (lambda m, a: m.nanmean(a), rand((3, 4), "int64")),
    "max_dim_out_of_range": (lambda m, a: m.max(a, 5), rand((3, 4))),
    "max_0d_dim_out_of_range": (lambda m, a: m.max(a, 1), rand(())),
    "max_empty": (lambda m, a: m.max(a), np.zeros((0, 3), np.float32)),
    "min_empty_dim": (lambda m, a: m.min(a, 0), np.zeros((0, 3), np.float32)),
    "amax_empty": (lambda m, a: m.amax(a), np.zeros((0,), np.float32)),
    "amax_empty_dim": (lambda m, a: m.amax(a, -2), np.zeros((0, 3), np.float32)),
    "argmax_empty": (lambda m, a: m.argmax(a), np.zeros((0, 3), np.float32)),
    "argmin_empty_dim": (lambda m, a: m.argmin(a, 0), np.zeros((0, 3), np.float32)),
    "aminmax_empty": (lambda m, a: m.aminmax(a), np.zeros((0, 3), np.float32)),
    "aminmax_empty_dim": (lambda m, a: m.aminmax(a, dim=0), np.zeros((0, 3), np.float32)),
    "aminmax_tuple_dim": (lambda m, a: m.aminmax(a, dim=(0, 1)), rand((3, 4))),
    "median_empty_dim": (lambda m, a: m.median(a, 0), np.zeros((0, 3), np.float32)),
    "mode_empty_dim": (lambda m, a: m.mode(a, 0), np.zeros((0, 3), np.float32)),
    "prod_tuple_dim": (lambda m, a: m.prod(a, (0, 1)), rand((3, 4))),
    "cumsum_no_dim": (lambda m, a: m.cumsum(a), rand((3, 4))),
    "cumsum_dim_out_of_range": (lambda m, a: a.cumsum(2), rand((3, 4))),
    "var_int": (lambda m, a: m.var(a), rand((3, 4), "int64")),
    "std_unbiased_and_correction": (lambda m, a: m.std(a, 0, unbiased=True, correction=1),
                                    rand((3, 4))),
    "norm_int": (lambda m, a: m.norm(a), rand((3, 4), "int64")),
    "norm_inf_empty": (lambda m, a: m.norm(a, float("inf")), np.zeros((0, 3), np.float32)),
    "softmax_int": (lambda m, a: m.softmax(a, 0), rand((3, 4), "int64")),
    "softmax_dim_out_of_range": (lambda m, a: a.softmax(2), rand((3, 4))),
    "log_softmax_int": (lambda m, a: a.log_softmax(1), rand((3, 4), "int64")),
    "logsumexp_dim_out_of_range": (lambda m, a: m.logsumexp(a, -3), rand((3, 4))),
    "all_dim_out_of_range": (lambda m, a: m.all(a, 5), rand((3, 4))),
    "trace_3d": (lambda m, a: m.trace(a), rand((2, 3, 4))),
    "trace_bool": (lambda m, a: m.trace(a), rand((2, 2), "bool")),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    fn, a = ERRORS[name]
    same_error(fn, [a])


def test_error_messages():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        ember.ones(2, 3).sum(2)
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype. Input dtype "
                                           "must be either a floating point or complex dtype. "
                                           "Got: Long"):
        ember.ones(2, dtype=ember.int64).mean()
    with pytest.raises(RuntimeError, match="max\\(\\): Expected reduction dim to be specified"):
        ember.zeros(0).max()
    with pytest.raises(IndexError, match="amax\\(\\): Expected reduction dim -2 to have non-zero"):
        ember.amax(ember.zeros(0, 3), -2)


def test_degrees_of_freedom_warning():
    x = ember.ones(1, requires_grad=True)
    with pytest.warns(UserWarning, match="var\\(\\): degrees of freedom is <= 0"):
        v = ember.var(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.var(torch.ones(1))
    assert_same(v, t)
    with pytest.warns(UserWarning, match="std\\(\\): degrees of freedom is <= 0"):
        ember.std(ember.ones(2, 3), 1, correction=3)


def test_return_types():
    x = ember.tensor([[1.0, 3.0], [2.0, 0.0]])
    r = ember.max(x, 1)
    assert isinstance(r, ember.return_types.max) and isinstance(r, tuple)
    assert r.values is r[0] and r.indices is r[1]
    values, indices = r
    assert values.tolist() == [3.0, 2.0] and indices.tolist() == [1, 0]
    assert repr(r) == ("ember.return_types.max(\nvalues=tensor([3., 2.]),\n"
                       "indices=tensor([1, 0]))")
    assert type(ember.min(x, 0)).__name__ == "min"
    assert type(x.median(0)).__name__ == "median" and type(x.mode()).__name__ == "mode"
    assert type(x.cummax(0)).__name__ == "cummax" and type(x.nanmedian(1)).__name__ == "nanmedian"
    mm = x.aminmax()
    assert mm.min.item() == 0.0 and mm.max.item() == 3.0
    assert repr(mm).startswith("ember.return_types.aminmax(\nmin=tensor(0.),\nmax=tensor(3.))")
    import pickle

    again = pickle.loads(pickle.dumps(r))
    assert type(again) is ember.return_types.max and again.values.tolist() == [3.0, 2.0]
    assert ember.return_types.sort((values, indices)) == ember.return_types.sort(values, indices)
    with pytest.raises(TypeError, match="takes a 2-sequence"):
        ember.return_types.topk((values,))
    assert type(ember.var_mean(x)) is tuple and type(ember.std_mean(x, 0)) is tuple


def test_max_min_with_other_are_elementwise():
    a, b = rand((3, 4), seed=1), rand((3, 4), seed=2)
    check(lambda m, a, b: (m.max(a, b), m.min(a, b), a.max(b), m.max(a, other=b)), [a, b])


def test_out_arguments():
    x = ember.tensor([[1.0, 5.0], [3.0, 2.0]])
    out = ember.empty(2)
    r = ember.sum(x, 1, out=out)
    assert r is out and out.tolist() == [6.0, 5.0]
    values, indices = ember.empty(2), ember.empty(2, dtype=ember.int64)
    r = ember.max(x, 0, out=(values, indices))
    assert r.values is values and values.tolist() == [3.0, 5.0] and indices.tolist() == [1, 0]
    out = ember.empty(2, 2)
    ember.cumsum(x, 0, out=out)
    assert out.tolist() == [[1.0, 5.0], [4.0, 7.0]]


def test_inplace_scans():
    x = ember.tensor([1.0, 2.0, 3.0])
    assert x.cumsum_(0) is x and x.tolist() == [1.0, 3.0, 6.0]
    x.cumprod_(0)
    assert x.tolist() == [1.0, 3.0, 18.0]
    leaf = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = leaf * 1
    y.cumprod_(0)
    y.sum().backward()
    assert leaf.grad.tolist() == [1 + 2 + 6, 1 + 3, 2]


def test_mode_index_is_last_occurrence():
    # torch's index for rows longer than 16 is unspecified; ember's is the last occurrence.
    a = np.array([2, 7, 2, 7, 7, 1] * 4, np.float32)
    r = ember.mode(ember.from_numpy(a))
    assert r.values.item() == 7 and r.indices.item() == 22


def test_softmax_is_stable_and_sums_to_one():
    x = ember.tensor([[1000.0, 0.0, -1000.0], [1e-3, 1e-3, 1e-3]])
    s = ember.softmax(x, 1)
    np.testing.assert_allclose(s.sum(1).numpy(), [1.0, 1.0], rtol=1e-6)
    assert np.isfinite(ember.log_softmax(x, 1).numpy()).all()
    assert np.isfinite(ember.logsumexp(x * 100, 1).numpy()).all()


def test_norm_nuclear_uses_matrix_norm():
    pytest.importorskip("ember.linalg")
    check(lambda m, a: m.norm(a, "nuc"), [rand((3, 4))])


# --- property tests: random shapes, dims and keepdim --------------------------------------------


@st.composite
def shape_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=4)))
    ndim = len(shape)
    if draw(st.booleans()) or ndim == 0:
        dims = draw(st.one_of(st.none(), st.sampled_from([-1, 0]) if ndim == 0 else st.none()))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        dims = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
        if len(dims) == 1 and draw(st.booleans()):
            dims = dims[0]
    return shape, dims, draw(st.booleans())


def _run_both(fn, a):
    """fn on ember and torch: the same results (with gradients), or the same exception type."""
    with warnings.catch_warnings():  # var's degrees-of-freedom warning is tested on its own
        warnings.simplefilter("ignore", UserWarning)
        _compare(fn, a)


def _compare(fn, a):
    try:
        expected = fn(torch, torch.from_numpy(a.copy()))
    except Exception:  # noqa: BLE001 - compared below
        same_error(fn, [a])
        return
    # Infinite results (logsumexp of nothing) make the weighted output sum NaN: values only then.
    check(fn, [a], grad=bool(torch.isfinite(expected).all()))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(shape_and_dims(), st.sampled_from(["sum", "mean", "amax"]))
def test_reductions_over_random_dims(case, op):
    shape, dims, keepdim = case
    a = rand(shape, seed=len(shape))
    if dims is None:
        fns = {"sum": lambda m, a: m.sum(a, dim=None, keepdim=keepdim),
               "mean": lambda m, a: m.mean(a, dim=None, keepdim=keepdim),
               "amax": lambda m, a: m.amax(a, (), keepdim)}
    else:
        fns = {"sum": lambda m, a: a.sum(dims, keepdim),
               "mean": lambda m, a: a.mean(dims, keepdim=keepdim),
               "amax": lambda m, a: m.amax(a, dims, keepdim=keepdim)}
    _run_both(fns[op], a)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(shape_and_dims(), st.sampled_from(["var", "logsumexp", "norm"]))
def test_more_reductions_over_random_dims(case, op):
    shape, dims, keepdim = case
    a = rand(shape, "float64", seed=3)
    fns = {"var": lambda m, a: m.var(a, dims, keepdim=keepdim, correction=0),
           "logsumexp": lambda m, a: m.logsumexp(a, () if dims is None else dims, keepdim),
           "norm": lambda m, a: m.norm(a, 3, dims, keepdim)}
    if op == "logsumexp" and dims is None:
        return  # torch.logsumexp needs a dim
    _run_both(fns[op], a)


NODE_NAMES = {
    "sum": lambda m, x: x.sum(), "sum_dim": lambda m, x: x.sum(1), "mean": lambda m, x: x.mean(),
    "mean_dim": lambda m, x: x.mean(1), "prod": lambda m, x: x.prod(),
    "prod_dim": lambda m, x: x.prod(1), "max": lambda m, x: x.max(),
    "max_dim": lambda m, x: x.max(1)[0], "min": lambda m, x: x.min(),
    "min_dim": lambda m, x: x.min(1)[0], "amax": lambda m, x: x.amax(),
    "amin": lambda m, x: x.amin(1), "std": lambda m, x: x.std(1), "var": lambda m, x: x.var(),
    "norm": lambda m, x: x.norm(), "logsumexp": lambda m, x: x.logsumexp(1),
    "cumsum": lambda m, x: x.cumsum(1), "cumprod": lambda m, x: x.cumprod(1),
    "cummax": lambda m, x: x.cummax(1)[0], "cummin": lambda m, x: x.cummin(1)[0],
    "median": lambda m, x: x.median(), "median_dim": lambda m, x: x.median(1)[0],
    "nanmedian": lambda m, x: x.nanmedian(), "nanmedian_dim": lambda m, x: x.nanmedian(1)[0],
    "mode": lambda m, x: x.mode(1)[0], "softmax": lambda m, x: x.softmax(1),
    "log_softmax": lambda m, x: x.log_softmax(1), "trace": lambda m, x: x.trace(),
    "nansum": lambda m, x: x.nansum(),
}


@pytest.mark.parametrize("name", NODE_NAMES)
def test_grad_fn_names_match_torch(name):
    a = rand((3, 4))
    names = [NODE_NAMES[name](m, m.from_numpy(a).requires_grad_()).grad_fn.name()
             for m in (ember, torch)]
    assert names[0] == names[1]


def test_numpy_argument_names_as_torch_accepts_them():
    import torch

    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    for lib in (torch, ember):
        t = lib.from_numpy(x.copy())
        assert t.argmax(axis=1).tolist() == x.argmax(axis=1).tolist()
        assert tuple(lib.sum(t, axis=0, keepdims=True).shape) == (1, 4)
        assert tuple(lib.cat([t, t], axis=0).shape) == (6, 4)
        assert tuple(t.max(axis=1).values.shape) == (3,)
