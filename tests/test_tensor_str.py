"""Printing: ``repr(ember_tensor)`` must be torch's repr with ``torch.`` spelled ``ember.``."""

import numpy as np
import pytest
import torch

import ember
from ember._tensor_str import get_printoptions, printoptions, set_printoptions


def same_repr(a: np.ndarray, requires_grad=False):
    """ember and torch tensors over (copies of) the same array print identically."""
    a = np.array(a)  # 0-dim results of NumPy arithmetic are scalars, not arrays
    e, t = ember.from_numpy(a.copy()), torch.from_numpy(a.copy())
    if requires_grad:
        e.requires_grad_(True)
        t.requires_grad_(True)
    want = repr(t).replace("torch.", "ember.")
    assert repr(e) == want
    assert str(e) == want


@pytest.fixture(autouse=True)
def _restore_options():
    """Every test leaves both libraries' print options at their defaults."""
    yield
    set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


def _scaled(shape, scale, seed, dist="normal"):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape) if dist == "normal" else rng.uniform(-1, 1, shape)
    return a * scale


SHAPES = [(), (1,), (5,), (12,), (30,), (2, 3), (4, 1), (1, 4), (3, 4, 5), (2, 2, 2, 2), (7, 13),
          (2, 1, 3), (3, 30)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-5, 123.0, 1e5, 1e9, 1e-12])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_floats(shape, scale, dtype):
    same_repr(_scaled(shape, scale, seed=len(shape)).astype(dtype))
    same_repr(_scaled(shape, scale, seed=7, dist="uniform").astype(dtype))


@pytest.mark.parametrize("shape", [(), (4,), (3, 5), (2, 3, 4)])
def test_float16_and_bfloat16(shape):
    a = np.array(_scaled(shape, 3.0, seed=1))
    same_repr(a.astype(np.float16))
    e = ember.from_numpy(a.astype(np.float32)).to(ember.bfloat16)
    t = torch.from_numpy(a.astype(np.float32)).to(torch.bfloat16)
    assert repr(e) == repr(t).replace("torch.", "ember.")


@pytest.mark.parametrize("values", [
    [1.0, 2.0, 3.0], [0.0], [-0.0, 0.0], [1e8, 1.0], [1e9, 2.0], [1e-4, 1.0], [1e-5, 1.0],
    [1000.0, 1.0], [1001.0, 1.0], [0.5, 500.0], [0.5, 501.0], [123456789.0], [-1.5, 2.25],
    [float("nan")], [float("inf"), -float("inf")], [float("nan"), 1.0, 2.0], [float("nan"), 1.5],
    [float("inf"), 1e-6], [0.0, float("nan")], [1e-20, 1e20], [3.0, -4.0, 1e10], [0.1, 0.2, 0.3],
    [100.0, -200.0], [1e-4], [9.99999e-5], [2.5e-8, 0.0], [-5.0, float("nan"), float("inf")],
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_floats(values, dtype):
    same_repr(np.array(values, dtype=dtype))
    same_repr(np.array(values[0], dtype=dtype))
    same_repr(np.array([values, values], dtype=dtype))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.uint8])
@pytest.mark.parametrize("shape", [(), (6,), (3, 4), (2, 3, 2), (40,)])
def test_ints(dtype, shape):
    rng = np.random.default_rng(3)
    hi = 100 if dtype in (np.int8, np.uint8) else 100000
    lo = 0 if dtype is np.uint8 else -hi
    same_repr(rng.integers(lo, hi, size=shape).astype(dtype))


def test_int64_extremes():
    same_repr(np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]))


@pytest.mark.parametrize("shape", [(), (2,), (3, 3), (2, 2, 3)])
def test_bools(shape):
    same_repr(np.random.default_rng(0).random(shape) > 0.5)
    same_repr(np.ones(shape, dtype=bool))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex(dtype):
    same_repr(np.array([1 + 2j, 3 - 1j, -0.5j], dtype=dtype))
    same_repr(np.array([[1.5 + 2j, 3 - 1e-6j]], dtype=dtype))
    same_repr(np.array(2 - 3j, dtype=dtype))


@pytest.mark.parametrize("shape", [(1001,), (2000,), (40, 40), (11, 10, 10), (3, 400), (400, 3),
                                   (5, 5, 5, 5, 5)])
def test_summarised(shape):
    same_repr(_scaled(shape, 1.0, seed=2).astype(np.float32))
    same_repr(np.arange(np.prod(shape)).reshape(shape))


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0), (0, 2, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_, np.int32])
def test_empty(shape, dtype):
    same_repr(np.zeros(shape, dtype=dtype))


def test_requires_grad():
    same_repr(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32), requires_grad=True)
    same_repr(np.array(0.1, dtype=np.float32), requires_grad=True)
    same_repr(np.linspace(0, 1, 26).astype(np.float64), requires_grad=True)
    same_repr(np.zeros((0, 2), dtype=np.float32), requires_grad=True)


def test_wrapping_pushes_suffixes_to_a_new_line():
    # a last line nearly full: the dtype and requires_grad suffixes wrap with the indent
    for n in range(1, 20):
        same_repr(np.linspace(-3, 3, n).astype(np.float64), requires_grad=True)
        same_repr(np.arange(n * 7, dtype=np.int32) * 12345)


def test_results_of_ops_show_grad_fn():
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    e, t = ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for fe, ft in [(e + 1, t + 1), (e * e, t * t), (e - 2, t - 2), (e / 3, t / 3), (-e, -t)]:
        assert repr(fe) == repr(ft)
    with ember.no_grad():
        assert repr(e * 2) == "tensor([2., 4., 6.])"


def test_acceptance_strings():
    assert repr(ember.from_numpy(np.linspace(0, 1, 1000))[:10]) == (
        "tensor([0.0000, 0.0010, 0.0020, 0.0030, 0.0040, 0.0050, 0.0060, 0.0070, 0.0080,\n"
        "        0.0090], dtype=ember.float64)")
    assert repr(ember.tensor(0.1, requires_grad=True)) == "tensor(0.1000, requires_grad=True)"
    assert repr(ember.tensor(3.14159265)) == "tensor(3.1416)"
    assert repr(ember.tensor([1.5, 2.0])) == "tensor([1.5000, 2.0000])"
    assert repr(ember.tensor([[1, 2], [3, 4]])) == "tensor([[1, 2],\n        [3, 4]])"
    assert repr(ember.tensor(2.0, dtype=ember.float64)) == "tensor(2., dtype=ember.float64)"
    assert repr(ember.tensor([True, False])) == "tensor([ True, False])"


def test_default_dtype_changes_the_dtype_suffix():
    old = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        same_repr(np.array([1.5, 2.0], dtype=np.float64))
        same_repr(np.array([1.5, 2.0], dtype=np.float32))
        same_repr(np.array([1 + 1j], dtype=np.complex128))
        same_repr(np.array([1 + 1j], dtype=np.complex64))
        same_repr(np.zeros((0,), dtype=np.float32))
    finally:
        ember.set_default_dtype(old)
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("opts", [
    {"precision": 2}, {"precision": 8}, {"threshold": 5}, {"edgeitems": 1, "threshold": 5},
    {"linewidth": 40}, {"linewidth": 200}, {"sci_mode": True}, {"sci_mode": False},
    {"profile": "short"}, {"profile": "full"}, {"edgeitems": 0, "threshold": 5},
    {"precision": 0},
])
def test_set_printoptions(opts):
    set_printoptions(**opts)
    torch.set_printoptions(**opts)
    for a in [_scaled((30,), 1.0, 1), _scaled((6, 7), 1e-5, 2), np.arange(20),
              _scaled((3, 4, 5), 50, 3), np.array([1.0, 2.0]), np.array([1e10, 1.0]),
              _scaled((2000,), 1.0, 4)]:
        same_repr(a.astype(np.float32) if a.dtype == np.float64 else a)


def test_get_printoptions_roundtrip_and_context():
    assert get_printoptions() == {"precision": 4, "threshold": 1000, "edgeitems": 3,
                                  "linewidth": 80, "sci_mode": None}
    with printoptions(precision=2):
        assert repr(ember.tensor([1.12345])) == "tensor([1.12])"
    assert repr(ember.tensor([1.12345])) == "tensor([1.1235])"
    set_printoptions(threshold=5)
    assert repr(ember.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    set_printoptions(profile="default")
    assert repr(ember.arange(10)) == "tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])"


def test_views_and_non_contiguous():
    a = _scaled((4, 6), 2.0, 5).astype(np.float32)
    same_repr(a.T)
    same_repr(a[::2, 1::3])


def test_subclass_prefix_and_parameter_style():
    class MyTensor(ember.Tensor):
        pass

    class Parameter(ember.Tensor):
        def __repr__(self):
            return "Parameter containing:\n" + super().__repr__()

    base = ember.tensor([1.0, 2.0])
    assert repr(MyTensor(base)) == "MyTensor([1., 2.])"
    p = Parameter(base)
    p.requires_grad_(True)
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"


def test_format_and_str():
    x = ember.tensor(3.14159)
    assert f"{x:.2f}" == "3.14"
    assert f"{ember.tensor([1, 2])}" == "tensor([1, 2])"
    assert repr(ember.tensor([1.0]), ) == str(ember.tensor([1.0]))


def test_printing_records_nothing():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    v = y._version
    repr(y)
    assert y._version == v and x.grad is None


def test_fuzz_mixed_magnitudes():
    """Random shapes, magnitudes, integer-valued floats and specials, all dtypes of floats."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        shape = tuple(rng.integers(1, 6, size=rng.integers(0, 4)))
        a = rng.standard_normal(shape) * 10.0 ** rng.integers(-12, 12)
        kind = rng.integers(0, 5)
        if kind == 1:
            a = np.round(a)
        elif kind == 2:
            a = a * 10.0 ** rng.integers(-6, 6, size=shape)
        elif kind == 3:
            a = np.array(a)
            a.flat[rng.integers(0, a.size)] = rng.choice([np.nan, np.inf, -np.inf, 0.0])
        with np.errstate(over="ignore"):
            same_repr(np.array(a).astype(rng.choice([np.float16, np.float32, np.float64])))


def test_top_level_names():
    assert ember.set_printoptions is set_printoptions
    assert ember.get_printoptions is get_printoptions
    ember.set_printoptions(precision=1)
    assert repr(ember.tensor([1.25])) == "tensor([1.2])"
