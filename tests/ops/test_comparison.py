import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import check, rand, same_error

import ember

COMPARE = {
    "eq": lambda m, a, b: m.eq(a, b),
    "ne": lambda m, a, b: m.ne(a, b),
    "lt": lambda m, a, b: m.lt(a, b),
    "le": lambda m, a, b: m.le(a, b),
    "gt": lambda m, a, b: m.gt(a, b),
    "ge": lambda m, a, b: m.ge(a, b),
    "==": lambda m, a, b: a == b,
    "!=": lambda m, a, b: a != b,
    "<": lambda m, a, b: a < b,
    "<=": lambda m, a, b: a <= b,
    ">": lambda m, a, b: a > b,
    ">=": lambda m, a, b: a >= b,
    "not_equal": lambda m, a, b: m.not_equal(a, b),
    "less": lambda m, a, b: a.less(b),
    "less_equal": lambda m, a, b: m.less_equal(a, b),
    "greater": lambda m, a, b: a.greater(b),
    "greater_equal": lambda m, a, b: m.greater_equal(a, b),
}

DTYPE_PAIRS = [("float32", "float32"), ("float64", "float32"), ("int64", "float32"),
               ("int32", "int64"), ("uint8", "int64"), ("bool", "int32"), ("bool", "bool"),
               ("uint8", "int8")]


def ints(shape, dtype, seed):
    """Small values with many ties, so equality is exercised."""
    return np.random.default_rng(seed).integers(0, 3, size=shape).astype(dtype)


@pytest.mark.parametrize("name", COMPARE)
@pytest.mark.parametrize("dtypes", DTYPE_PAIRS)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)),
                                    ((), (2, 2))])
def test_comparisons_match_torch(name, dtypes, shapes):
    a, b = ints(shapes[0], dtypes[0], 1), ints(shapes[1], dtypes[1], 2)
    check(COMPARE[name], [a, b], grad=False)


@pytest.mark.parametrize("name", COMPARE)
@pytest.mark.parametrize("scalar", [1, 2.5, True, -1, 300, 0.1])
@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8", "bool", "int8"])
def test_comparisons_with_python_numbers(name, scalar, dtype):
    a = np.array([0, 1, 2, 255, 44, 127], dtype=np.int64).astype(dtype) if dtype != "bool" \
        else np.array([True, False])
    if dtype == "float32":
        a = np.array([0.1, 1.0, 2.5, -1.0, 300.0], dtype=np.float32)
    check(lambda m, x: COMPARE[name](m, x, scalar), [a], grad=False)


@pytest.mark.parametrize("name", COMPARE)
@pytest.mark.parametrize("scalar", [0.1, 0.3, 1, True])
def test_bfloat16_comparisons_with_python_numbers(name, scalar):
    # torch rounds the number to bfloat16 first (0.1 == tensor(0.1, bfloat16)); NumPy would widen.
    a = np.array([0.1, 0.3, 1.0, -0.5], dtype=np.float32)
    check(lambda m, x: COMPARE[name](m, x.to(m.bfloat16), scalar), [a], grad=False)


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_reflected_comparisons(op):
    a = ints((4,), "int64", 3)
    fn = {"==": lambda m, x: 1 == x, "!=": lambda m, x: 1 != x, "<": lambda m, x: 1 < x,
          "<=": lambda m, x: 1 <= x, ">": lambda m, x: 1.5 > x, ">=": lambda m, x: 1 >= x}[op]
    check(fn, [a], grad=False)


def test_comparison_results_carry_no_gradient():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    for r in (x > 1, x == x, ember.isclose(x, x), x.logical_not()):
        assert r.dtype is ember.bool and r.grad_fn is None and not r.requires_grad


def test_eq_with_other_objects_and_hashing():
    t = ember.tensor([1, 2, 3])
    assert (t == None) is False and (t != None) is True  # noqa: E711 - what is being tested
    assert (t == "a") is False and (t == [1, 2, 3]) is False and (t == (1, 2, 3)) is False
    with pytest.raises(TypeError):
        t < None
    with pytest.raises(TypeError):
        t >= "a"
    assert isinstance(hash(t), int) and hash(t) == hash(t)
    d = {t: 1, ember.tensor([1, 2, 3]): 2}
    assert len(d) == 2 and d[t] == 1
    assert t in {t}
    np.testing.assert_array_equal((t == np.array([1, 0, 3])).numpy(), [True, False, True])


def test_complex_comparisons():
    z = np.array([1 + 1j, 2 - 1j], dtype=np.complex64)
    check(lambda m, a: a == a, [z], grad=False)
    check(lambda m, a: a != 1 + 1j, [z], grad=False)
    same_error(lambda m, a: a < a, [z])
    same_error(lambda m, a: m.ge(a, 1), [z])


def test_comparison_errors():
    same_error(lambda m, a, b: m.eq(a, b), [np.ones(3), np.ones(2)])
    same_error(lambda m, a, b: a < b, [np.ones((2, 3)), np.ones((3, 2))])


INPLACE = ["eq_", "ne_", "lt_", "le_", "gt_", "ge_", "less_", "greater_equal_", "not_equal_"]


@pytest.mark.parametrize("name", INPLACE)
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
@pytest.mark.parametrize("other", [1, 1.5, "tensor"])
def test_inplace_comparisons(name, dtype, other):
    a = ints((2, 3), dtype, 4)

    def fn(m, x):
        y = x.clone()
        r = getattr(y, name)(m.ones(3, dtype=m.int64) if other == "tensor" else other)
        assert r is y
        return y

    check(fn, [a], grad=False)


def test_inplace_comparison_gradients_are_zero():
    a, b = rand((2, 3), seed=20), rand((3,), seed=21)
    for name in ("eq_", "ne_", "lt_", "le_", "gt_", "ge_"):
        check(lambda m, x, y: getattr(x * 1, name)(y) * x, [a, b])
        check(lambda m, x: getattr(x * 1, name)(0.5) * x, [a])
    x = ember.tensor([0.2, 0.8], requires_grad=True)
    assert (x * 1).lt_(0.5).grad_fn is not None


LOGICAL = {
    "and": lambda m, a, b: m.logical_and(a, b),
    "or": lambda m, a, b: m.logical_or(a, b),
    "xor": lambda m, a, b: a.logical_xor(b),
    "not": lambda m, a, b: m.logical_not(a),
    "not_method": lambda m, a, b: b.logical_not(),
}


@pytest.mark.parametrize("name", LOGICAL)
@pytest.mark.parametrize("dtypes", [("float32", "int64"), ("bool", "bool"), ("uint8", "float64"),
                                    ("complex64", "int32")])
def test_logical_ops(name, dtypes):
    a, b = ints((2, 3), dtypes[0], 5), ints((3,), dtypes[1], 6)
    check(LOGICAL[name], [a, b], grad=False)


def test_logical_inplace_and_errors():
    f, i = rand((3,), seed=1), ints((3,), "int64", 7)
    check(lambda m, a, b: a.clone().logical_and_(b), [f, i], grad=False)
    check(lambda m, a, b: a.clone().logical_or_(b), [i, f], grad=False)
    check(lambda m, a, b: a.clone().logical_xor_(b), [ints((3,), "bool", 8), i], grad=False)
    check(lambda m, a: a.clone().logical_not_(), [f], grad=False)
    same_error(lambda m, a: m.logical_and(a, 1), [i])
    same_error(lambda m, a: m.logical_or(True, a), [i])
    out = ember.empty(3, dtype=ember.bool)
    assert ember.logical_not(ember.from_numpy(i), out=out) is out


BITWISE = {
    "&": lambda m, a, b: a & b,
    "|": lambda m, a, b: a | b,
    "^": lambda m, a, b: a ^ b,
    "and": lambda m, a, b: m.bitwise_and(a, b),
    "or": lambda m, a, b: a.bitwise_or(b),
    "xor": lambda m, a, b: m.bitwise_xor(a, b),
    "~": lambda m, a, b: ~a,
    "not": lambda m, a, b: m.bitwise_not(b),
}

SHIFTS = {
    "<<": lambda m, a, b: a << b,
    ">>": lambda m, a, b: a >> b,
    "left": lambda m, a, b: m.bitwise_left_shift(a, b),
    "right": lambda m, a, b: a.bitwise_right_shift(b),
}


def wide_ints(shape, dtype, seed):
    return np.random.default_rng(seed).integers(-100, 100, size=shape).astype(dtype)


@pytest.mark.parametrize("name", BITWISE)
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int32", "int64"), ("uint8", "uint8"),
                                    ("bool", "bool"), ("bool", "int32"), ("int8", "uint8")])
def test_bitwise_ops(name, dtypes):
    a, b = wide_ints((2, 3), dtypes[0], 9), wide_ints((3,), dtypes[1], 10)
    check(BITWISE[name], [a, b], grad=False)


@pytest.mark.parametrize("name", SHIFTS)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "int8"])
def test_shifts_including_out_of_range_amounts(name, dtype):
    a = wide_ints((2, 7), dtype, 11)
    info = np.iinfo(dtype)
    amounts = np.array([0, 1, 3, info.bits - 1, info.bits, info.bits + 5,
                        -1 if info.min < 0 else 2], dtype=dtype)
    check(SHIFTS[name], [a, amounts], grad=False)


@pytest.mark.parametrize("expr", [
    lambda m, a: a & 3, lambda m, a: 3 & a, lambda m, a: a | True, lambda m, a: 6 ^ a,
    lambda m, a: a << 2, lambda m, a: 1 << (a & 7), lambda m, a: 64 >> (a & 7),
    lambda m, a: m.bitwise_and(a, 5), lambda m, a: m.bitwise_or(5, a),
    lambda m, a: a.bitwise_xor(-1), lambda m, a: m.bitwise_left_shift(a, 1),
])
@pytest.mark.parametrize("dtype", ["int64", "uint8", "int32"])
def test_bitwise_with_python_numbers(expr, dtype):
    check(expr, [np.abs(wide_ints((5,), dtype, 12))], grad=False)


def test_bitwise_bool_and_number_promotion():
    b = ints((4,), "bool", 13)
    check(lambda m, a: a & True, [b], grad=False)
    check(lambda m, a: a | 1, [b], grad=False)
    check(lambda m, a: a ^ a, [b], grad=False)
    check(lambda m, a: a & -1, [np.array([1, 2, 255], dtype=np.uint8)], grad=False)


@pytest.mark.parametrize("name", ["__iand__", "__ior__", "__ixor__", "__ilshift__",
                                  "__irshift__", "bitwise_and_", "bitwise_or_", "bitwise_xor_",
                                  "bitwise_left_shift_", "bitwise_right_shift_"])
def test_bitwise_inplace(name):
    a, b = np.abs(wide_ints((2, 3), "int64", 14)), np.abs(wide_ints((3,), "int32", 15)) % 5

    def fn(m, x, y):
        z = x.clone()
        r = getattr(z, name)(y)
        assert r is z
        return z

    check(fn, [a, b], grad=False)
    x = ember.tensor([1, 2, 3])
    x &= 1
    x |= ember.tensor([4, 4, 4])
    x <<= 1
    assert x.tolist() == [10, 8, 10]


def test_bitwise_inplace_bitwise_not():
    check(lambda m, a: a.clone().bitwise_not_(), [wide_ints((3,), "int32", 16)], grad=False)
    check(lambda m, a: a.clone().bitwise_not_(), [ints((3,), "bool", 17)], grad=False)


BITWISE_ERRORS = [
    (lambda m, a: a & a, [rand((3,))]),
    (lambda m, a: a | 1, [rand((3,), "float64")]),
    (lambda m, a: a & 2.5, [np.array([1, 2])]),
    (lambda m, a, b: a ^ b, [np.array([1, 2]), rand((2,))]),
    (lambda m, a: m.bitwise_not(a), [rand((3,))]),
    (lambda m, a: ~a, [rand((3,))]),
    (lambda m, a: ~a, [np.array([1j])]),
    (lambda m, a: a << 1.5, [np.array([1, 2])]),
    (lambda m, a: a << a, [np.array([True, False])]),
    (lambda m, a: a >> a, [rand((2,))]),
    (lambda m, a: a.__ior__(1), [np.array([True, False])]),
    (lambda m, a: a.bitwise_and_(1), [rand((2,))]),
    (lambda m, a, b: a & b, [np.ones(3, dtype=np.int64), np.ones(2, dtype=np.int64)]),
]


@pytest.mark.parametrize("case", range(len(BITWISE_ERRORS)))
def test_bitwise_errors_match_torch(case):
    fn, arrays = BITWISE_ERRORS[case]
    same_error(fn, arrays)


def test_equal():
    f = rand((2, 3), seed=1)
    for a, b in [(f, f), (f, f.astype(np.float64)), (f, f + 1), (f, f[:1]), (f, f.T),
                 (np.array([1, 2]), np.array([1.0, 2.0])), (np.array([1]), np.array([True])),
                 (np.array([np.nan]), np.array([np.nan])), (np.zeros(0), np.zeros(0)),
                 (np.array(1.0), np.array([1.0]))]:
        check(lambda m, x, y: m.equal(x, y), [a, b], grad=False)
        check(lambda m, x, y: x.equal(y), [a, b], grad=False)
    assert ember.equal(ember.ones(2), ember.ones(2)) is True
    same_error(lambda m, x: m.equal(x, 1.0), [f])


CLOSE_CASES = [
    (np.array([1.0, 2.0, np.nan, np.inf, -np.inf, 1e-9]),
     np.array([1.0 + 1e-6, 2.1, np.nan, np.inf, np.inf, 0.0])),
    (np.array([1e10, 1e-10, 0.0, 1.0]), np.array([1.00001e10, 1e-11, 1e-9, np.nan])),
    (np.array([1, 5, 100, -3]), np.array([2, 5, 101, -3])),
    (np.array([True, False]), np.array([False, False])),
    (np.array([1 + 1j, 2j, np.nan * 1j]), np.array([1 + 1.000001j, 2.1j, np.nan * 1j])),
]


@pytest.mark.parametrize("case", range(len(CLOSE_CASES)))
@pytest.mark.parametrize("kw", [{}, {"equal_nan": True}, {"rtol": 0.2, "atol": 0},
                                {"rtol": 0, "atol": 1}, {"rtol": 0, "atol": 0},
                                {"atol": float("inf")}])
def test_isclose_allclose(case, kw):
    a, b = CLOSE_CASES[case]
    for dt in ({np.float64, np.float32} if a.dtype.kind == "f" else {a.dtype}):
        x, y = a.astype(dt), b.astype(dt)
        check(lambda m, p, q: m.isclose(p, q, **kw), [x, y], grad=False)
        check(lambda m, p, q: p.isclose(q, **kw), [x, y], grad=False)
        check(lambda m, p, q: m.allclose(p, q, **kw), [x, y], grad=False)
        check(lambda m, p, q: p.allclose(q, **kw), [x, y], grad=False)


def test_isclose_broadcasts_and_checks_arguments():
    check(lambda m, a, b: m.isclose(a, b), [rand((2, 3)), rand((3,))], grad=False)
    check(lambda m, a, b: m.allclose(a, b), [rand((1,)), rand((1,)) * np.ones(2, np.float32)],
          grad=False)
    f, d = rand((3,)), rand((3,), "float64")
    same_error(lambda m, a, b: m.isclose(a, b), [f, d])
    same_error(lambda m, a, b: m.allclose(a, b), [np.array([1, 2]), rand((2,))])
    same_error(lambda m, a: m.isclose(a, a, rtol=-1), [f])
    same_error(lambda m, a: m.isclose(a, a, atol=-1e-3), [f])
    same_error(lambda m, a: m.isclose(a, 1.0), [f])
    same_error(lambda m, a, b: m.allclose(a, b), [rand((2,)), rand((3,))])
    assert isinstance(ember.allclose(ember.ones(2), ember.ones(2)), bool)


def test_out_argument():
    a, b = ember.tensor([1, 2, 3]), ember.tensor([3, 2, 1])
    out = ember.empty(3, dtype=ember.bool)
    assert ember.lt(a, b, out=out) is out and out.tolist() == [True, False, False]
    out = ember.empty(3, dtype=ember.int64)
    ember.bitwise_and(a, b, out=out)
    assert out.tolist() == [1, 2, 1]


def test_methods_match_functions():
    a, b = ember.tensor([1.0, 2.0, 3.0]), ember.tensor([3.0, 2.0, 1.0])
    for name in ("eq", "ne", "lt", "le", "gt", "ge"):
        assert getattr(a, name)(b).tolist() == getattr(ember, name)(a, b).tolist()
    assert torch.equal(torch.tensor([1]), torch.tensor([1])) == ember.equal(
        ember.tensor([1]), ember.tensor([1]))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=3),
       st.lists(st.booleans(), min_size=3, max_size=3),
       st.sampled_from(["lt", "==", "ge", "&", "^", "<<"]))
def test_broadcasting_property(shape, drop, name):
    """Any pair of broadcast-compatible shapes gives torch's shape and values."""
    other = [1 if d else n for n, d in zip(shape, drop)]
    other = other[len(other) // 2:]
    fn = {**COMPARE, **BITWISE, **SHIFTS}[name]
    check(fn, [ints(tuple(shape), "int64", 18), ints(tuple(other), "int32", 19)], grad=False)
