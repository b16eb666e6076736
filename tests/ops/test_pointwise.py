import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import check, gradcheck, rand, same_error

import ember

# Input ranges that keep each function away from its poles and non-differentiable points.
DOMAINS = {"any": (-2.0, 2.0), "positive": (0.2, 3.0), "unit": (-0.9, 0.9), "gt1": (1.2, 3.0),
           "prob": (0.05, 0.95)}


def sample(shape, dtype, domain, seed=0):
    lo, hi = DOMAINS[domain]
    return rand(shape, dtype, low=lo, high=hi, seed=seed)


UNARY = {
    "exp": (lambda m, a: m.exp(a), "any"),
    "exp2": (lambda m, a: m.exp2(a), "any"),
    "expm1": (lambda m, a: m.expm1(a), "any"),
    "log": (lambda m, a: m.log(a), "positive"),
    "log2": (lambda m, a: m.log2(a), "positive"),
    "log10": (lambda m, a: m.log10(a), "positive"),
    "log1p": (lambda m, a: m.log1p(a), "positive"),
    "sqrt": (lambda m, a: m.sqrt(a), "positive"),
    "rsqrt": (lambda m, a: m.rsqrt(a), "positive"),
    "square": (lambda m, a: m.square(a), "any"),
    "reciprocal": (lambda m, a: m.reciprocal(a), "positive"),
    "sin": (lambda m, a: m.sin(a), "any"),
    "cos": (lambda m, a: m.cos(a), "any"),
    "tan": (lambda m, a: m.tan(a), "unit"),
    "asin": (lambda m, a: m.asin(a), "unit"),
    "arccos": (lambda m, a: m.arccos(a), "unit"),
    "atan": (lambda m, a: m.atan(a), "any"),
    "sinh": (lambda m, a: m.sinh(a), "any"),
    "cosh": (lambda m, a: m.cosh(a), "any"),
    "tanh": (lambda m, a: m.tanh(a), "any"),
    "asinh": (lambda m, a: m.asinh(a), "any"),
    "acosh": (lambda m, a: m.acosh(a), "gt1"),
    "arctanh": (lambda m, a: m.arctanh(a), "unit"),
    "sigmoid": (lambda m, a: m.sigmoid(a * 10), "any"),
    "logit": (lambda m, a: m.logit(a), "prob"),
    "logit_eps": (lambda m, a: m.logit(a, eps=0.2), "prob"),
    "erf": (lambda m, a: m.erf(a * 2), "any"),
    "erfc": (lambda m, a: m.erfc(a * 2), "any"),
    "erfinv": (lambda m, a: m.erfinv(a), "unit"),
    "lgamma": (lambda m, a: m.lgamma(a), "positive"),
    "digamma": (lambda m, a: m.digamma(a), "positive"),
    "polygamma1": (lambda m, a: m.polygamma(1, a), "positive"),
    "polygamma3": (lambda m, a: a.polygamma(3), "positive"),
    "sinc": (lambda m, a: m.sinc(a), "any"),
    "deg2rad": (lambda m, a: m.deg2rad(a), "any"),
    "rad2deg": (lambda m, a: m.rad2deg(a), "any"),
    "relu": (lambda m, a: m.relu(a), "any"),
    "frac": (lambda m, a: m.frac(a * 3), "any"),
    "floor": (lambda m, a: m.floor(a * 3), "any"),
    "ceil": (lambda m, a: m.ceil(a * 3), "any"),
    "round": (lambda m, a: m.round(a * 3), "any"),
    "round_decimals": (lambda m, a: m.round(a * 3, decimals=2), "any"),
    "round_negative_decimals": (lambda m, a: (a * 300).round(decimals=-1), "any"),
    "trunc": (lambda m, a: m.trunc(a * 3), "any"),
    "fix": (lambda m, a: m.fix(a * 3), "any"),
    "sign": (lambda m, a: m.sign(a), "any"),
    # + a: torch returns a ZeroTensor as the gradient of sgn alone, which .numpy() refuses
    "sgn": (lambda m, a: m.sgn(a) + a, "any"),
    "nan_to_num": (lambda m, a: m.nan_to_num(a, nan=1.0, posinf=2.0), "any"),
    "clamp": (lambda m, a: m.clamp(a, -0.5, 0.7), "any"),
    "clamp_min": (lambda m, a: m.clamp_min(a, 0.3), "any"),
    "clamp_max": (lambda m, a: a.clamp_max(0.3), "any"),
    "clip_min_only": (lambda m, a: m.clip(a, min=-1), "any"),
    "xlogy_scalar_x": (lambda m, a: m.xlogy(2.5, a), "positive"),
    "xlogy_scalar_y": (lambda m, a: m.xlogy(a, 3), "any"),
    "copysign_scalar": (lambda m, a: m.copysign(a, -1.0), "any"),
    "float_power_scalar": (lambda m, a: m.float_power(a, 2.5), "positive"),
    "float_power_scalar_base": (lambda m, a: m.float_power(2, a), "any"),
    "conj_real": (lambda m, a: m.conj(a) * 2, "any"),
    "real_real": (lambda m, a: m.real(a) * 2, "any"),
}

METHODS = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square",
           "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
           "asinh", "atanh", "sigmoid", "erf", "erfc", "erfinv", "lgamma", "digamma", "sinc",
           "deg2rad", "rad2deg", "relu", "frac", "floor", "ceil", "round", "trunc", "sign",
           "sgn", "nan_to_num", "arcsin", "arctan", "arcsinh", "fix"]
METHOD_DOMAIN = {"log": "positive", "log2": "positive", "log10": "positive", "log1p": "positive",
                 "sqrt": "positive", "rsqrt": "positive", "reciprocal": "positive",
                 "lgamma": "positive", "digamma": "positive"}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 4), ()])
def test_unary_matches_torch(name, dtype, shape):
    fn, domain = UNARY[name]
    check(fn, [sample(shape, dtype, domain, seed=1)], rtol=2e-5 if dtype == "float32" else 1e-7)


@pytest.mark.parametrize("name", UNARY)
def test_unary_gradcheck(name):
    fn, domain = UNARY[name]
    gradcheck(fn, [sample((2, 3), "float64", domain, seed=2)])


@pytest.mark.parametrize("name", METHODS)
def test_methods_and_inplace_match_torch(name):
    domain = "any" if name not in ("asin", "acos", "atanh", "erfinv", "arcsin", "tan") else "unit"
    domain = METHOD_DOMAIN.get(name, domain)
    a = sample((2, 3), "float32", domain, seed=3)
    # torch returns a ZeroTensor (which .numpy() refuses) as the gradient of sgn
    check(lambda m, x: getattr(x, name)(), [a], grad=name != "sgn")
    # the in-place form on a non-leaf: same values and gradients through the rebased history
    # (torch has no derivative for the in-place inverse hyperbolic functions)
    grad = name not in ("sgn", "asinh", "atanh", "arcsinh")
    check(lambda m, x: getattr(x * 1, name + "_")(), [a], grad=grad)
    if not grad:
        gradcheck(lambda m, x: getattr(x * 1, name + "_")(), [a])


INT_INPUT = {
    "any": np.array([[-2, -1, 0], [1, 2, 3]], dtype=np.int64),
    "positive": np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64),
    "gt1": np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64),
    "unit": np.zeros((2, 3), dtype=np.int64),
}


@pytest.mark.parametrize("name", [n for n in UNARY if UNARY[n][1] != "prob"
                                  and n not in ("frac", "round_decimals",
                                                "round_negative_decimals")])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_unary_integer_inputs(name, dtype):
    fn, domain = UNARY[name]
    a = INT_INPUT[domain].astype(dtype)
    if dtype == "bool" and name == "relu":
        same_error(fn, [a])
        return
    check(fn, [a], grad=False)


def test_int_results_keep_dtype_and_floats_follow_the_default():
    i = ember.tensor([1, 2, 3])
    assert ember.exp(i).dtype is ember.float32
    assert ember.square(i).dtype is ember.int64
    assert ember.square(ember.tensor([True, False])).dtype is ember.int64
    assert ember.floor(i).dtype is ember.int64 and ember.floor(i) is not i
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.sqrt(i).dtype is ember.float64
    finally:
        ember.set_default_dtype(ember.float32)


BINARY = {
    "atan2": (lambda m, a, b: m.atan2(a, b), "any", "any"),
    "arctan2_method": (lambda m, a, b: a.arctan2(b), "any", "any"),
    "maximum": (lambda m, a, b: m.maximum(a, b), "any", "any"),
    "minimum": (lambda m, a, b: a.minimum(b), "any", "any"),
    "fmax": (lambda m, a, b: m.fmax(a, b), "any", "any"),
    "fmin": (lambda m, a, b: m.fmin(a, b), "any", "any"),
    "hypot": (lambda m, a, b: m.hypot(a, b), "any", "any"),
    "xlogy": (lambda m, a, b: m.xlogy(a, b), "any", "positive"),
    "logaddexp": (lambda m, a, b: m.logaddexp(a, b), "any", "any"),
    "logaddexp2": (lambda m, a, b: a.logaddexp2(b), "any", "any"),
    "copysign": (lambda m, a, b: m.copysign(a, b), "any", "any"),
    "float_power": (lambda m, a, b: m.float_power(a, b), "positive", "any"),
    "lerp": (lambda m, a, b: m.lerp(a, b, 0.3), "any", "any"),
    "lerp_far_end": (lambda m, a, b: a.lerp(b, 0.8), "any", "any"),
    "clamp_min_tensor": (lambda m, a, b: m.clamp(a, min=b), "any", "any"),
    "clamp_max_tensor": (lambda m, a, b: m.clamp_max(a, b), "any", "any"),
    "where": (lambda m, a, b: m.where(a > 0, a, b), "any", "any"),
    "where_method": (lambda m, a, b: a.where(b > 0.5, b), "any", "any"),
}


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)),
                                    ((), (2, 2))])
def test_binary_matches_torch(name, dtype, shapes):
    fn, da, db = BINARY[name]
    a, b = sample(shapes[0], dtype, da, seed=4), sample(shapes[1], dtype, db, seed=5)
    check(fn, [a, b], rtol=2e-5 if dtype == "float32" else 1e-7)


@pytest.mark.parametrize("name", BINARY)
def test_binary_gradcheck(name):
    fn, da, db = BINARY[name]
    gradcheck(fn, [sample((2, 3), "float64", da, seed=6), sample((3,), "float64", db, seed=7)])


@pytest.mark.parametrize("name", ["atan2", "maximum", "fmin", "xlogy", "copysign",
                                  "float_power", "where"])
def test_binary_mixed_dtypes(name):
    fn, da, db = BINARY[name]
    check(fn, [sample((3,), "float64", da, seed=8), sample((3,), "float32", db, seed=9)])
    a = INT_INPUT["positive"][0]
    check(fn, [a, sample((3,), "float32", db, seed=10)])
    if name not in ("atan2", "xlogy", "copysign", "float_power"):
        check(fn, [a, INT_INPUT["any"][0].astype(np.int32)], grad=False)


TERNARY = {
    "addcmul": (lambda m, a, b, c: m.addcmul(a, b, c, value=0.5), ("any", "any", "any")),
    "addcmul_method": (lambda m, a, b, c: a.addcmul(b, c), ("any", "any", "any")),
    "addcdiv": (lambda m, a, b, c: m.addcdiv(a, b, c, value=2), ("any", "any", "positive")),
    "addcdiv_method": (lambda m, a, b, c: a.addcdiv(b, c), ("any", "any", "positive")),
    "lerp_tensor_weight": (lambda m, a, b, w: m.lerp(a, b, w), ("any", "any", "any")),
    "clamp_tensors": (lambda m, x, lo, hi: m.clamp(x, lo, hi), ("any", "any", "any")),
    "clamp_tensors_method": (lambda m, x, lo, hi: x.clip(lo, hi), ("any", "any", "any")),
}


@pytest.mark.parametrize("name", TERNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_ternary_matches_torch(name, dtype):
    fn, domains = TERNARY[name]
    shapes = [(2, 3), (3,), (2, 1)]
    arrays = [sample(s, dtype, d, seed=11 + i) for i, (s, d) in enumerate(zip(shapes, domains))]
    check(fn, arrays, rtol=2e-5 if dtype == "float32" else 1e-7)


@pytest.mark.parametrize("name", TERNARY)
def test_ternary_gradcheck(name):
    fn, domains = TERNARY[name]
    arrays = [sample((2, 3), "float64", d, seed=20 + i) for i, d in enumerate(domains)]
    gradcheck(fn, arrays)


def test_addcmul_addcdiv_dtypes():
    i = np.array([1, 2, 3])
    check(lambda m, a, b: m.addcmul(a, a, b, value=2), [i, i * 2], grad=False)
    check(lambda m, a, b: m.addcmul(a, b, b, value=2.5), [i, i], grad=False)  # value truncated
    check(lambda m, a, b: m.addcmul(a, b, b), [rand((3,)), i], grad=False)
    check(lambda m, a, b, c: m.addcmul(a, b, c), [rand((3,)), rand((3,), "float64"),
                                                  rand((3,))])
    same_error(lambda m, a, b: m.addcdiv(a, b, b), [rand((3,)), i])


def test_where_promotion_and_scalars():
    cond = np.array([True, False, True])
    i, f = np.array([1, 2, 3]), rand((3,), seed=1)
    check(lambda m, c, a, b: m.where(c, a, b), [cond, i, f])
    check(lambda m, c: m.where(c, 1, 2.5), [cond], grad=False)
    check(lambda m, c: m.where(c, 1, 2), [cond], grad=False)
    check(lambda m, c, a: m.where(c, a, 2), [cond, f])
    check(lambda m, c, a: m.where(c, 2.5, a), [cond, i], grad=False)
    check(lambda m, c, a, b: m.where(c, a, b), [cond, rand((), "float64"), f])
    check(lambda m, c, a, b: m.where(c, a, b), [cond.reshape(3, 1), f, rand((2, 1, 3))])
    check(lambda m, c, a: m.where(c, a, a * 2), [np.array(True), f])


def test_where_errors_and_uint8_condition():
    f = rand((3,))
    same_error(lambda m, c, a: m.where(c, a, a), [np.array([1, 0, 1]), f])
    same_error(lambda m, c, a: m.where(c, a, a), [np.array([True, False]), f])
    cond = ember.tensor([1, 0, 1], dtype=ember.uint8)
    with pytest.warns(UserWarning, match="uint8 condition"):
        r = ember.where(cond, ember.ones(3), ember.zeros(3))
    assert r.tolist() == [1.0, 0.0, 1.0]


def test_where_one_argument_is_nonzero():
    c = np.array([[True, False], [False, True]])
    check(lambda m, a: m.where(a), [c], grad=False)


def test_clamp_promotion_and_bound_order():
    i = np.array([1, 2, 3])
    f = rand((4,), seed=2)
    check(lambda m, a: m.clamp(a, 0.5), [i], grad=False)
    check(lambda m, a: m.clamp(a, 1, 2), [i], grad=False)
    check(lambda m, a: m.clamp(a, 0, 1), [np.array([True, False])], grad=False)
    check(lambda m, a, lo: m.clamp(a, lo), [i, np.array([1.5])], grad=False)
    check(lambda m, a, lo: m.clamp(a, min=lo), [i, rand((), "float64")], grad=False)
    check(lambda m, a: m.clamp(a, 1.0, -1.0), [f])  # max wins where min > max
    check(lambda m, a, hi: m.clamp(a, min=m.full_like(hi, -0.5), max=hi), [f, rand((), seed=3)])
    same_error(lambda m, a, hi: m.clamp(a, min=-0.5, max=hi), [f, rand((1,), seed=3)])
    same_error(lambda m, a: m.clamp(a), [f])
    same_error(lambda m, a: a.clamp_(0.5), [i])


SPECIAL_POINTS = [
    # (function, inputs): where torch's gradient conventions matter
    (lambda m, a: m.clamp(a, 0.0, 1.0), [np.array([0.0, 1.0, 0.5, 2.0, -1.0])]),
    (lambda m, a: m.clamp_min(a, 0.0), [np.array([0.0, 1.0, -1.0])]),
    (lambda m, a, lo, hi: m.clamp(a, lo, hi),
     [np.array([0.0, 1.0, 5.0, 3.0]), np.array([1.0, 1.0, 1.0, 4.0]), np.array([2.0] * 4)]),
    (lambda m, a, b: m.maximum(a, b), [np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 4.0])]),
    (lambda m, a, b: m.minimum(a, b), [np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 4.0])]),
    (lambda m, a, b: m.fmax(a, b), [np.array([1.0, np.nan, 3.0]), np.array([1.0, 1.0, np.nan])]),
    (lambda m, a, b: m.fmin(a, b), [np.array([1.0, np.nan, 3.0]), np.array([1.0, 1.0, np.nan])]),
    (lambda m, a, b: m.maximum(a, b), [np.array([np.nan, 1.0]), np.array([0.0, np.nan])]),
    (lambda m, a: m.sqrt(a), [np.array([0.0, 4.0])]),
    (lambda m, a: m.relu(a), [np.array([0.0, 1.0, -1.0])]),
    (lambda m, a: m.sign(a), [np.array([0.0, -0.0, 2.0, -3.0, np.nan])]),
    (lambda m, a: m.round(a), [np.array([0.5, 1.5, 2.5, -0.5, -2.5])]),
    (lambda m, a, b: m.copysign(a, b), [np.array([0.0, 1.0, -2.0]), np.array([-1.0, -1.0, 1.0])]),
    (lambda m, a, b: m.xlogy(a, b), [np.array([0.0, 1.0, 0.0, 0.0]),
                                     np.array([0.0, 2.0, 1.0, np.nan])]),
    (lambda m, a: m.logit(a), [np.array([-0.5, 0.5, 1.5])]),
    (lambda m, a: m.logit(a, 0.1), [np.array([0.05, 0.5, 0.95, 0.1])]),
    (lambda m, a: m.nan_to_num(a), [np.array([np.nan, 1.0, np.inf, -np.inf])]),
    (lambda m, a: m.sinc(a), [np.array([0.0, 0.5, -1.0])]),
    (lambda m, a: m.acosh(a), [np.array([1.0, 2.0])]),
    (lambda m, a, b: m.hypot(a, b), [np.array([0.0, 3.0]), np.array([0.0, 4.0])]),
    (lambda m, a: m.sigmoid(a), [np.array([-800.0, -100.0, 0.0, 100.0, 800.0])]),
    (lambda m, a: m.erfinv(a), [np.array([-1.0, 1.0, 0.0, 1.5, np.nan])]),
    (lambda m, a: m.lgamma(a), [np.array([0.0, -1.0, -0.5, np.inf, -np.inf, np.nan, 1.0, 2.0])]),
    # (not at -1, -2...: torch's trigamma there is a large finite number, ember's inf)
    (lambda m, a: m.digamma(a), [np.array([0.0, -0.0, -0.5, np.inf, -np.inf, 1e-300])]),
    (lambda m, a: m.digamma(a.detach()), [np.array([-1.0, -2.0, -7.0])]),
    (lambda m, a: m.polygamma(1, a) + m.polygamma(2, a) + m.polygamma(3, a),
     [np.array([np.inf, -np.inf, np.nan, -0.0])]),
    (lambda m, a: m.polygamma(1, a), [np.array([0.0, -0.5, 1e-3, 100.0])]),
    (lambda m, a: m.polygamma(2, a), [np.array([0.0, -0.5, -2.5])]),
    (lambda m, a: m.erf(a), [np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 30.0])]),
    (lambda m, a: m.erfc(a), [np.array([np.inf, -np.inf, np.nan, 0.0, -30.0, 27.0])]),
    (lambda m, a: m.nan_to_num(a, 0.5, 7.0, -7.0), [np.array([np.nan, np.inf, -np.inf, 1.0])]),
]


@pytest.mark.parametrize("case", range(len(SPECIAL_POINTS)))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_special_points_and_gradient_conventions(case, dtype):
    fn, arrays = SPECIAL_POINTS[case]
    arrays = [a.astype(dtype) for a in arrays]
    # inf and nan results come silently, as torch gives them. (The errstate is for check()'s
    # weighted sum of inf - inf: ember's sum warns from inside NumPy's own module.)
    with np.errstate(invalid="ignore"):
        check(fn, arrays, rtol=1e-5 if dtype == "float32" else 1e-10)


def test_erf_erfc_are_float64_accurate():
    x = np.concatenate([np.linspace(-30, 30, 4001), np.geomspace(1e-300, 1e-3, 50),
                        [0.46875, -0.46875, 4.0, -4.0, 26.5, -26.5, 5.9, 0.4687500001]])
    e, t = ember.from_numpy(x), torch.from_numpy(x)
    np.testing.assert_allclose(ember.erf(e).numpy(), torch.erf(t).numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(ember.erfc(e).numpy(), torch.erfc(t).numpy(), rtol=1e-12,
                               atol=1e-300)
    assert ember.erf(e).dtype is ember.float64


def test_erfinv_is_float64_accurate():
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 4001), np.geomspace(1e-300, 0.4, 50),
                        -np.geomspace(1e-10, 0.5, 20), [0.5, -0.5, 0.49999999, 0.9999999999]])
    e, t = ember.from_numpy(y), torch.from_numpy(y)
    np.testing.assert_allclose(ember.erfinv(e).numpy(), torch.erfinv(t).numpy(), rtol=1e-12,
                               atol=0)
    # and it inverts erf, up to the last bits, even very near +-1
    y = np.array([1 - 1e-15, -(1 - 2 ** -52), 1 - 1e-12, 0.9999999, 1e-20])
    x = ember.erfinv(ember.from_numpy(y))
    np.testing.assert_allclose(ember.erfc(x.abs()).numpy(), 1 - np.abs(y), rtol=1e-12)


def test_gamma_family_float64_accuracy():
    x = np.concatenate([np.linspace(0.01, 30, 500), np.linspace(-9.95, -0.05, 100),
                        [1.4616321449683622, 1e-8, 1e5]])
    e, t = ember.from_numpy(x), torch.from_numpy(x)
    np.testing.assert_allclose(ember.lgamma(e).numpy(), torch.lgamma(t).numpy(), rtol=1e-12,
                               atol=1e-14)
    np.testing.assert_allclose(ember.digamma(e).numpy(), torch.digamma(t).numpy(), rtol=1e-10,
                               atol=1e-13)
    for n in (1, 2, 3, 5):
        pos = x[x > 0]
        # torch's trigamma is good to about 5e-10 (ember's to 1e-15, against SciPy)
        np.testing.assert_allclose(ember.polygamma(n, ember.from_numpy(pos)).numpy(),
                                   torch.polygamma(n, torch.from_numpy(pos)).numpy(),
                                   rtol=1e-9 if n == 1 else 1e-10, atol=1e-13)
    neg = np.array([-0.5, -1.5, -2.25, -3.75])
    np.testing.assert_allclose(ember.polygamma(1, ember.from_numpy(neg)).numpy(),
                               torch.polygamma(1, torch.from_numpy(neg)).numpy(), rtol=1e-9)


def test_second_derivatives():
    from ember.autograd import gradgradcheck

    for fn in (lambda x: x.exp(), lambda x: x.tanh(), lambda x: x.sigmoid(), lambda x: x.erf(),
               lambda x: x.log1p(), lambda x: x.sqrt(), lambda x: x.lgamma(),
               lambda x: x.atan2(x * 2 + 1), lambda x: x.clamp(0.5, 1.5) * x):
        x = ember.tensor([0.3, 0.7, 1.2], dtype=ember.float64, requires_grad=True)
        assert gradgradcheck(fn, (x,))


def test_inplace_forms_on_non_leaf_tensors():
    a, b, c = rand((2, 3), seed=1), rand((3,), seed=2), rand((2, 3), seed=3, positive=True)
    check(lambda m, x: (x * 1).clamp_(-0.5, 0.5), [a])
    check(lambda m, x: (x * 1).clamp_min_(0.0).clamp_max_(0.5), [a])
    check(lambda m, x, y, z: (x * 1).addcmul_(y, z, value=2), [a, b, c])
    check(lambda m, x, y, z: (x * 1).addcdiv_(y, z, value=-0.5), [a, b, c])
    check(lambda m, x, y: (x * 1).lerp_(y, 0.3), [a, b])
    check(lambda m, x, y: (x * 1).lerp_(y, m.full_like(y, 0.7)), [a, b])
    check(lambda m, x, y: (x * 1).atan2_(y), [a, b])
    check(lambda m, x, y: (x * 1).hypot_(y), [a, b])
    check(lambda m, x, y: (x * 1).copysign_(y), [a, b])
    check(lambda m, x, y: (x * 1).xlogy_(y), [a, c])
    check(lambda m, x: (x * 1).logit_(0.1), [a])
    check(lambda m, x: (x * 1).round_(decimals=1), [a])
    check(lambda m, x: (x * 1).polygamma_(1), [c])
    check(lambda m, x: x.double().float_power_(2), [a])
    check(lambda m, x: (x * 1).nan_to_num_(posinf=1.0), [a])


def test_inplace_on_leaf_and_views():
    x = ember.tensor([0.5, -1.0, 2.0])
    assert x.exp_() is x
    np.testing.assert_allclose(x.numpy(), np.exp([0.5, -1.0, 2.0]).astype(np.float32))
    base = ember.zeros(2, 3)
    base[0].add_(1.0).exp_()
    np.testing.assert_allclose(base.numpy(), [[math.e] * 3, [0.0] * 3], rtol=1e-6)
    leaf = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.sigmoid_()


def test_out_argument():
    a = rand((2, 3), seed=4)
    out = ember.empty(2, 3)
    r = ember.exp(ember.from_numpy(a), out=out)
    assert r is out
    np.testing.assert_allclose(out.numpy(), np.exp(a), rtol=1e-6)
    out64 = ember.empty(2, 3, dtype=ember.float64)
    ember.clamp(ember.from_numpy(a), -0.1, 0.1, out=out64)
    assert out64.dtype is ember.float64 and float(out64.max()) == float(np.float32(0.1))
    cond = ember.tensor([True, False, True])
    out = ember.empty(3)
    ember.where(cond, ember.ones(3), ember.zeros(3), out=out)
    assert out.tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
        ember.sin(ember.ones(3, requires_grad=True), out=ember.empty(3))


def test_complex_functions():
    z = (rand((4,), "float64", seed=1) + 1j * rand((4,), "float64", seed=2)).astype(np.complex128)
    for fn in (lambda m, x: m.exp(x), lambda m, x: m.log(x), lambda m, x: m.sqrt(x),
               lambda m, x: m.sin(x), lambda m, x: m.tanh(x), lambda m, x: m.sigmoid(x),
               lambda m, x: m.reciprocal(x), lambda m, x: m.sgn(x),
               lambda m, x: m.conj(x).resolve_conj(),
               lambda m, x: m.real(x), lambda m, x: m.imag(x), lambda m, x: m.square(x),
               lambda m, x: m.isreal(x), lambda m, x: m.isnan(x)):
        out = check(lambda m, x: fn(m, x), [z], rtol=1e-10, grad=False)[1]
        if out.dtype.is_complex:  # gradients through real-valued parts of the result
            check(lambda m, x: m.real(fn(m, x)) * 2 + m.imag(fn(m, x)) * 3, [z], rtol=1e-10)
    check(lambda m, x: (m.real(x) * m.imag(x)).sum(), [z], rtol=1e-10)


def test_real_imag_are_views_and_settable():
    z = ember.tensor([1 + 2j, 3 - 4j])
    z.real.mul_(10)
    assert z.tolist() == [10 + 2j, 30 - 4j]
    z.imag = ember.tensor([0.0, 1.0])
    assert z.tolist() == [10 + 0j, 30 + 1j]
    f = ember.ones(2)
    assert f.real is f and ember.conj(f) is f and f.conj() is f and not f.is_conj()


def test_predicates():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -1.5])
    for name in ("isnan", "isinf", "isposinf", "isneginf", "isfinite", "isreal"):
        check(lambda m, a: getattr(m, name)(a), [x], grad=False)
        check(lambda m, a: getattr(a, name)(), [x.astype(np.float32)], grad=False)
        check(lambda m, a: getattr(m, name)(a), [np.array([1, 2])], grad=False)
        check(lambda m, a: getattr(m, name)(a), [np.array([True])], grad=False)
    t = ember.tensor([1.0, float("nan")], requires_grad=True)
    assert ember.isnan(t).grad_fn is None and not ember.isnan(t).requires_grad


def test_heaviside():
    x, v = np.array([-1.5, 0.0, 2.0, 0.0]), np.array([0.5, 0.25, 0.5, 0.75])
    check(lambda m, a, b: m.heaviside(a, b), [x, v], grad=False)
    check(lambda m, a, b: a.heaviside(b), [x.astype(np.int64), v.astype(np.int64)], grad=False)
    check(lambda m, a, b: m.heaviside(a, b), [x, np.array(0.5)], grad=False)
    same_error(lambda m, a, b: m.heaviside(a, b), [x, v.astype(np.float32)])
    t = ember.tensor([0.0, 1.0], requires_grad=True)
    y = ember.heaviside(t, ember.tensor([0.5]))
    with pytest.raises(RuntimeError, match="heaviside is not implemented"):
        y.sum().backward()


def test_float_power():
    check(lambda m, a, b: m.float_power(a, b), [np.array([1, 2, 3]), np.array([2, 0, 1])],
          grad=False)
    check(lambda m, a: m.float_power(a, 2), [rand((3,), "float32")])
    check(lambda m, a: a.float_power(2), [rand((3,), "float32")])
    check(lambda m, a: m.float_power(a, 1j), [rand((3,), "float32", positive=True)], grad=False)
    same_error(lambda m, a: a.float_power_(2), [rand((3,), "float32")])


def test_lerp_rules():
    f, d = rand((3,), seed=1), rand((3,), "float64", seed=2)
    same_error(lambda m, a, b: m.lerp(a, b, 0.5), [f, d])
    same_error(lambda m, a, b, w: m.lerp(a, b, w), [f, f, d])
    same_error(lambda m, a: m.lerp(a, a, 0.5), [np.array([1, 2])])
    check(lambda m, a, b, w: m.lerp(a, b, w), [f, f * 2, np.array(0.3, dtype=np.float32)])
    check(lambda m, a, b: m.lerp(a, b, 2), [f, d.astype(np.float32)])


def test_round_decimals_and_rounding_dtypes():
    x = np.array([1.2345, 125.0, -2.5, 0.125, 1e10], dtype=np.float32)
    for d in (-2, -1, 0, 1, 2, 3):
        check(lambda m, a: m.round(a, decimals=d), [x])
        check(lambda m, a: m.round(a, decimals=d), [x.astype(np.float64)])
    same_error(lambda m, a: m.round(a, decimals=1), [np.array([1, 2])])


ERRORS = [
    (lambda m, a: m.sign(a), [np.array([1 + 1j])]),
    (lambda m, a: m.floor(a), [np.array([True])]),
    (lambda m, a: m.floor(a), [np.array([1 + 1j])]),
    (lambda m, a: m.frac(a), [np.array([1, 2])]),
    (lambda m, a: m.relu(a), [np.array([True])]),
    (lambda m, a: m.relu(a), [np.array([1j])]),
    (lambda m, a: m.clamp(a, 0, 1), [np.array([1j])]),
    (lambda m, a: m.erf(a), [np.array([1j], dtype=np.complex64)]),
    (lambda m, a: m.erfinv(a), [np.array([1j], dtype=np.complex64)]),
    (lambda m, a: m.logit(a), [np.array([1j], dtype=np.complex64)]),
    (lambda m, a: m.lgamma(a), [np.array([1j], dtype=np.complex64)]),
    (lambda m, a: m.deg2rad(a), [np.array([1j])]),
    (lambda m, a: m.isposinf(a), [np.array([1j])]),
    (lambda m, a: m.imag(a), [np.array([1.0])]),
    (lambda m, a: m.polygamma(-1, a), [np.array([1.0])]),
    (lambda m, a, b: m.hypot(a, b), [np.array([1, 2]), np.array([1, 2])]),
    (lambda m, a, b: m.logaddexp(a, b), [np.array([1, 2]), np.array([1, 2])]),
    (lambda m, a, b: m.atan2(a, b), [np.array([1j]), np.array([1j])]),
    (lambda m, a, b: m.maximum(a, b), [np.array([1j]), np.array([1j])]),
    (lambda m, a, b: m.maximum(a, b), [np.ones(3), np.ones(4)]),
    (lambda m, a: m.maximum(a, 2.0), [np.ones(3)]),
    (lambda m, a: m.minimum(2, a), [np.ones(3)]),
    (lambda m, a: m.atan2(a, 1.0), [np.ones(3)]),
    (lambda m, a: m.copysign(1.0, a), [np.ones(3)]),
    (lambda m, a: m.heaviside(a, 0.5), [np.ones(3)]),
    (lambda m, a: a.exp_(), [np.array([1, 2])]),
    (lambda m, a: a.sqrt_(), [np.array([1, 2])]),
    (lambda m, a: a.sin_(), [np.array([True])]),
    (lambda m, a, b: m.where(a > 0, a, b), [np.ones(3), np.ones(2)]),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    fn, arrays = ERRORS[case]
    same_error(fn, arrays)


def test_grad_fn_names_match_torch():
    x = ember.tensor([0.5], requires_grad=True)
    assert x.exp().grad_fn.name() == "ExpBackward0"
    assert ember.maximum(x, x).grad_fn.name() == "MaximumBackward0"
    assert ember.where(x > 0, x, x).grad_fn.name() == "WhereBackward0"
    assert x.sigmoid().grad_fn.name() == "SigmoidBackward0"
    assert x.relu().grad_fn.name() == "ReluBackward0"


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=3),
       st.lists(st.booleans(), min_size=3, max_size=3),
       st.sampled_from(["maximum", "atan2", "hypot", "xlogy", "where", "lerp"]))
def test_broadcasting_property(shape, drop, name):
    """Any pair of broadcast-compatible shapes gives torch's shape, values and gradients."""
    other = [1 if d else n for n, d in zip(shape, drop)][: len(shape)]
    other = other[len(other) // 2:]  # also fewer dimensions
    fn, da, db = BINARY[name]
    check(fn, [sample(tuple(shape), "float64", da, seed=1),
               sample(tuple(other), "float64", db, seed=2)], rtol=1e-7)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("zero", [0, 0.0])
def test_where_with_zero_keeps_bits(dtype, zero):
    # where(c, x, 0) and where(c, 0, x) take a branch-free path; nan, inf and -0.0 must survive
    # where kept and become +0 where dropped, as in torch.
    x = np.array([np.nan, np.inf, -np.inf, -0.0, 1.5, -2.0, np.nan, 3.0], dtype=dtype)
    cond = np.array([True, False, True, True, False, True, False, True])
    e, t = check(lambda m, c, a: m.where(c, a, zero), [cond, x])
    assert (np.signbit(e.detach().numpy()) == np.signbit(t.detach().numpy())).all()
    check(lambda m, c, a: m.where(c, zero, a), [cond, x])
    check(lambda m, c, a: m.where(c, a, zero), [cond[:1], x])  # broadcast: the general path
    check(lambda m, c, a: m.where(c, a, zero), [cond, x.reshape(2, 4).T.copy().T.reshape(-1)])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_where_with_negative_zero_keeps_its_sign(dtype):
    x = np.array([1.5, -2.0, np.nan, 3.0], dtype=dtype)
    cond = np.array([True, False, True, False])
    for fn in (lambda m, c, a: m.where(c, a, -0.0), lambda m, c, a: m.where(c, -0.0, a)):
        e, t = check(fn, [cond, x])
        assert (np.signbit(e.detach().numpy()) == np.signbit(t.detach().numpy())).all()


def test_relu_grad_passes_nan_like_torch():
    x = np.array([1.0, -2.0, np.nan, np.inf, 0.0, 3.0], dtype=np.float32)
    check(lambda m, a: m.relu(a), [x])
    check(lambda m, a: m.nn.functional.relu(a[::2]), [x])


BF16_WITH_NUMBERS = {
    "clamp": lambda m, x: x.clamp(0.2, 0.6),
    "clamp_max": lambda m, x: x.clamp(max=0.2),
    "lerp": lambda m, x: x.lerp(x * 2, 0.3),
    "addcmul": lambda m, x: x.addcmul(x, x, value=0.3),
    "addcdiv": lambda m, x: x.addcdiv(x, x + 2, value=0.3),
    "deg2rad": lambda m, x: x.deg2rad(),
    "rad2deg": lambda m, x: x.rad2deg(),
    "logit": lambda m, x: x.abs().logit(eps=0.2),
    "sinc": lambda m, x: x.sinc(),
}


@pytest.mark.parametrize("name", BF16_WITH_NUMBERS)
def test_bfloat16_stays_bfloat16_with_python_numbers(name):
    # NumPy computes bfloat16 with a Python float in float32; torch rounds back to bfloat16.
    x = np.array([0.1, 0.3, 0.7, -0.5, 0.0], dtype=np.float32)
    check(lambda m, a: BF16_WITH_NUMBERS[name](m, a.to(m.bfloat16)), [x], grad=False, rtol=0,
          atol=0)


@pytest.mark.parametrize("call", [
    lambda m: m.lerp(m.ones(2), m.ones(2, dtype=m.long), 0.5),
    lambda m: m.lerp(m.ones(2), m.ones(2, dtype=m.int32), 0.5),
    lambda m: m.nn.functional.conv2d(m.ones(1, 1, 3, 3), m.ones(1, 1, 2, 2),
                                     m.ones(1, dtype=m.long)),
])
def test_c_type_names_in_errors_match_torch(call):
    # torch prints C++ type names here ("long int"), which ember once printed as "int64"
    with pytest.raises(RuntimeError) as t_err:
        call(torch)
    with pytest.raises(RuntimeError) as e_err:
        call(ember)
    assert str(e_err.value) == str(t_err.value)
