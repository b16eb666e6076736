"""The Tensor itself against torch: properties, conversions, Python protocols, NumPy interop,
pickling, legacy types, new_* methods, creation functions and the devices API."""

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from reference import assert_same, rand

import ember

A = rand((2, 3, 4), "float32", seed=1)


def pair(a, requires_grad=False):
    return (ember.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def same_error(fe, ft):
    """``fe()`` raises the exception type (and message) ``ft()`` raises."""
    with pytest.raises(Exception) as t_exc:
        ft()
    with pytest.raises(type(t_exc.value)) as e_exc:
        fe()
    return e_exc.value, t_exc.value


# --- properties ---------------------------------------------------------------------------------

def test_shape_size_dim_numel():
    e, t = pair(A)
    assert e.shape == t.shape and e.size() == t.size() and isinstance(e.size(), ember.Size)
    assert e.shape == (2, 3, 4) and e.size() == ember.Size([2, 3, 4])
    for d in range(-3, 3):
        assert e.size(d) == t.size(d)
        assert e.shape[d] == t.shape[d]
    assert e.dim() == t.dim() == e.ndim == e.ndimension() == 3
    assert e.numel() == t.numel() == e.nelement() == 24
    assert ember.numel(e) == 24
    same_error(lambda: e.size(3), lambda: t.size(3))
    assert e.element_size() == t.element_size() and e.itemsize == t.itemsize
    assert e.nbytes == t.nbytes
    assert e.stride() == t.stride() and e.stride(1) == t.stride(1)
    assert e.is_contiguous() and e.is_floating_point() and not e.is_complex()
    assert repr(e.shape) == repr(t.shape).replace("torch", "ember")


def test_size_object():
    s = ember.Size([2, 3])
    assert s == (2, 3) and isinstance(s, tuple) and s.numel() == 6
    assert repr(s) == "ember.Size([2, 3])"
    assert isinstance(s[0:1], ember.Size)
    assert isinstance(s + (4,), tuple)


def test_zero_dim_and_empty_properties():
    e, t = pair(np.float32(2.5))
    assert e.shape == t.shape == () and e.dim() == 0 and e.numel() == 1
    e, t = ember.zeros(0, 3), torch.zeros(0, 3)
    assert e.shape == t.shape and e.numel() == 0


def test_item_and_tolist():
    for a in [np.float32(1.5), np.array([7], dtype=np.int64), np.array(True), A,
              np.arange(6, dtype=np.int32).reshape(2, 3), np.array([[True, False]])]:
        e, t = pair(a)
        assert e.tolist() == t.tolist()
        assert type(e.tolist()) is type(t.tolist())
        if t.numel() == 1:
            assert e.item() == t.item() and type(e.item()) is type(t.item())
    e, t = pair(A)
    same_error(lambda: e.item(), lambda: t.item())
    assert ember.tensor(2.5, dtype=ember.float16).item() == 2.5


def test_is_leaf_requires_grad_device_dtype():
    e = ember.tensor([1.0, 2.0])
    assert e.device == ember.device("cpu") and str(e.device) == "cpu"
    assert e.is_cpu and not e.is_cuda and e.get_device() == -1
    assert e.dtype is ember.float32 and not e.requires_grad and e.is_leaf
    assert e.layout == torch.tensor([1.0]).layout.__repr__()


def test_T_and_mT():
    e, t = pair(rand((3, 4)))
    assert_same(e.T, t.T)
    assert_same(e.mT, t.mT)
    e, t = pair(A)
    assert_same(e.mT, t.mT)


# --- NumPy -------------------------------------------------------------------------------------

def test_numpy_shares_memory():
    e = ember.zeros(3)
    a = e.numpy()
    a[0] = 5
    assert e.tolist() == [5.0, 0.0, 0.0]
    e.add_(1)
    assert a.tolist() == [6.0, 1.0, 1.0]
    assert np.asarray(e) is not None and np.asarray(e)[0] == 6


def test_numpy_refuses_when_requires_grad():
    e, t = pair(A, requires_grad=True)
    ee, te = same_error(lambda: e.numpy(), lambda: t.numpy())
    assert str(ee) == str(te)
    assert e.detach().numpy().shape == (2, 3, 4)
    assert e.numpy(force=True).shape == (2, 3, 4)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
                                   np.int64, np.uint8, np.bool_, np.complex64, np.complex128])
def test_from_numpy_dtypes_and_sharing(dtype):
    a = np.ones((2, 2), dtype=dtype)
    e, t = ember.from_numpy(a), torch.from_numpy(a)
    assert e.dtype.name == str(t.dtype).split(".")[1]
    a[0, 0] = 0
    assert e.tolist() == t.tolist()
    e.zero_()
    assert not a.any()


def test_from_numpy_errors():
    for a in [np.array(["a"]), np.array([object()]), np.array([1], dtype=">i4")]:
        same_error(lambda: ember.from_numpy(a), lambda: torch.from_numpy(a))
    same_error(lambda: ember.from_numpy([1, 2]), lambda: torch.from_numpy([1, 2]))
    neg = np.arange(4)[::-1]
    same_error(lambda: ember.from_numpy(neg), lambda: torch.from_numpy(neg))


def test_from_numpy_non_contiguous_view():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]
    e, t = ember.from_numpy(a), torch.from_numpy(a)
    assert e.stride() == t.stride() and e.tolist() == t.tolist()


def test_as_tensor_shares_when_it_can():
    a = np.arange(3, dtype=np.float32)
    e = ember.as_tensor(a)
    a[0] = 9
    assert e[0].item() == 9
    e2 = ember.as_tensor(a, dtype=ember.float64)
    a[1] = 9
    assert e2[1].item() == 1
    x = ember.tensor([1.0])
    assert ember.as_tensor(x) is x


# --- casts --------------------------------------------------------------------------------------

CASTS = ["float", "double", "half", "long", "int", "short", "char", "byte", "bool", "bfloat16"]


@pytest.mark.parametrize("cast", CASTS)
def test_cast_methods(cast):
    a = rand((3, 4), "float32", seed=2) * 3
    e, t = pair(a)
    assert_same(getattr(e, cast)(), getattr(t, cast)(), rtol=1e-2, atol=1e-2)


def test_to_forms():
    e, t = pair(A)
    assert_same(e.to(ember.float64), t.to(torch.float64))
    assert_same(e.to("cpu", ember.int32), t.to("cpu", torch.int32))
    assert_same(e.to(dtype=ember.float16), t.to(dtype=torch.float16), rtol=1e-3, atol=1e-3)
    assert_same(e.to(ember.tensor([1], dtype=ember.int64)), t.to(torch.tensor([1])))
    assert e.to(ember.float32) is e and t.to(torch.float32) is t
    assert e.to("cpu") is e
    assert e.to(ember.float32, copy=True) is not e
    assert e.to(ember.device("cpu")) is e
    assert e.cpu() is e
    same_error(lambda: e.to(foo=1), lambda: t.to(foo=1))
    # positional non_blocking and copy, as nn.Module.to passes them
    assert e.to("cpu", ember.float64, False).dtype is ember.float64
    assert e.to(ember.float32, False, True) is not e
    assert e.to("cpu", None, False) is e
    assert e.to(None).dtype is ember.float32


def test_type_and_type_as():
    e, t = pair(A)
    assert e.type() == t.type().replace("torch", "ember") == "ember.FloatTensor"
    assert e.type(ember.float64).dtype is ember.float64
    assert e.type("torch.LongTensor").dtype is ember.int64
    assert e.type("ember.IntTensor").dtype is ember.int32
    assert e.type(ember.DoubleTensor).dtype is ember.float64
    assert e.type_as(ember.tensor([1])).dtype is ember.int64
    assert ember.tensor([True]).type() == "ember.BoolTensor"
    assert ember.tensor([1]).type() == "ember.LongTensor"


def test_autograd_through_casts():
    def run(m):
        x = m.tensor(A, requires_grad=True)
        y = x.double() * 2
        z = y.float().half().float() * x
        (z.sum() + x.to(m.float64).sum()).backward()
        return y, z, x.grad, y.grad_fn.name()

    e, t = run(ember), run(torch)
    assert e[3] == t[3]
    assert_same(e[:3], t[:3], rtol=1e-3, atol=1e-3)


def test_cast_to_int_cuts_the_graph():
    e, t = pair(A, requires_grad=True)
    assert e.long().requires_grad == t.long().requires_grad is False


# --- clone, detach, contiguous ------------------------------------------------------------------

def test_clone_copies_and_is_differentiable():
    e, t = pair(A, requires_grad=True)
    ce, ct = e.clone(), t.clone()
    assert ce.grad_fn.name() == ct.grad_fn.name() == "CloneBackward0"
    (ce * 2).sum().backward()
    (ct * 2).sum().backward()
    assert_same(e.grad, t.grad)
    c = ember.ones(2)
    d = c.clone()
    d.add_(1)
    assert c.tolist() == [1.0, 1.0]
    assert ember.clone(c).tolist() == [1.0, 1.0]


def test_detach_and_contiguous():
    e = ember.tensor(A, requires_grad=True)
    d = e.detach()
    assert d.data_ptr() == e.data_ptr() and not d.requires_grad
    assert e.contiguous() is e
    nt = e.transpose(0, 2)
    assert not nt.is_contiguous()
    c = nt.contiguous()
    assert c.is_contiguous() and c.tolist() == nt.tolist() and c.requires_grad
    t = torch.tensor(A).transpose(0, 2)
    assert nt.stride() == t.stride() and c.stride() == t.contiguous().stride()


# --- Python protocols ---------------------------------------------------------------------------

def test_len_iter_bool_float_int_index():
    e, t = pair(A)
    assert len(e) == len(t) == 2
    assert [x.shape for x in e] == [x.shape for x in t]
    assert [x.tolist() for x in e] == [x.tolist() for x in t]
    same_error(lambda: len(ember.tensor(1.0)), lambda: len(torch.tensor(1.0)))
    same_error(lambda: iter(ember.tensor(1.0)), lambda: iter(torch.tensor(1.0)))
    same_error(lambda: bool(e), lambda: bool(t))
    same_error(lambda: bool(ember.zeros(0)), lambda: bool(torch.zeros(0)))
    assert bool(ember.tensor([0.0])) is False and bool(ember.tensor(3)) is True
    assert float(ember.tensor([2.5])) == 2.5 and int(ember.tensor(2.7)) == 2
    same_error(lambda: float(e), lambda: float(t))
    assert [10, 20, 30][ember.tensor(1)] == 20
    assert operator_index(ember.tensor([2])) == 2
    same_error(lambda: [1, 2][ember.tensor(1.0)], lambda: [1, 2][torch.tensor(1.0)])
    same_error(lambda: [1, 2][ember.tensor([0, 1])], lambda: [1, 2][torch.tensor([0, 1])])
    assert complex(ember.tensor(1.5)) == 1.5 + 0j


def operator_index(x):
    import operator

    return operator.index(x)


def test_format():
    e, t = pair(np.float32(3.14159))
    for spec in ["", ".2f", ">10.3f", "e", "g"]:
        assert format(e, spec) == format(t, spec)
    e, t = pair(np.arange(3))
    assert f"{e}" == f"{t}".replace("torch", "ember")
    assert f"{ember.tensor(7)}" == f"{torch.tensor(7)}"
    same_error(lambda: format(e, ".2f"), lambda: format(t, ".2f"))


def test_hash_and_identity():
    a, b = ember.tensor([1.0]), ember.tensor([1.0])
    assert hash(a) != hash(b) or a is not b
    assert len({a, b}) == 2
    assert {a: 1}[a] == 1


def test_pickle_roundtrip():
    for a, rg in [(A, True), (np.arange(5), False), (np.array(True), False)]:
        e = ember.tensor(a, requires_grad=rg)
        r = pickle.loads(pickle.dumps(e))
        assert r.tolist() == e.tolist() and r.dtype is e.dtype and r.requires_grad == rg
        assert r.is_leaf and r.data_ptr() != e.data_ptr()


def test_pickle_keeps_views_shape():
    e = ember.tensor(A)[:, 1]
    r = pickle.loads(pickle.dumps(e))
    assert r.shape == (2, 4) and r.tolist() == e.tolist()


def test_deepcopy():
    e = ember.tensor(A, requires_grad=True)
    (e * 2).sum().backward()
    d = copy.deepcopy(e)
    assert d is not e and d.tolist() == e.tolist() and d.requires_grad and d.is_leaf
    assert d.grad is not None and d.grad.tolist() == e.grad.tolist()
    d.detach().add_(1)
    assert d.tolist() != e.tolist()
    memo_pair = copy.deepcopy([e, e])
    assert memo_pair[0] is memo_pair[1]
    t = torch.tensor(A, requires_grad=True)
    same_error(lambda: copy.deepcopy(e * 2), lambda: copy.deepcopy(t * 2))
    assert copy.copy(e) is not None


# --- constructors and legacy types --------------------------------------------------------------

def test_tensor_class_constructor():
    e = ember.Tensor(2, 3)
    assert e.shape == (2, 3) and e.dtype is ember.float32
    assert ember.Tensor(ember.Size([4, 2])).shape == torch.Tensor(torch.Size([4, 2])).shape
    assert_same(ember.Tensor((4,)), torch.Tensor((4,)))  # a tuple is data, a Size is a shape
    e, t = ember.Tensor([1, 2]), torch.Tensor([1, 2])
    assert_same(e, t)
    assert_same(ember.Tensor([[1.5], [2.5]]), torch.Tensor([[1.5], [2.5]]))
    assert ember.Tensor().shape == torch.Tensor().shape == (0,)
    assert isinstance(e, ember.Tensor) and type(e) is ember.Tensor


@pytest.mark.parametrize("name,dtype", [("FloatTensor", "float32"), ("DoubleTensor", "float64"),
                                        ("LongTensor", "int64"), ("IntTensor", "int32"),
                                        ("BoolTensor", "bool"), ("ByteTensor", "uint8"),
                                        ("HalfTensor", "float16"), ("ShortTensor", "int16"),
                                        ("CharTensor", "int8")])
def test_legacy_types(name, dtype):
    E, T = getattr(ember, name), getattr(torch, name)
    e, t = E([1, 0, 2]), T([1, 0, 2])
    assert_same(e, t)
    assert E(2, 3).shape == (2, 3) and E(2, 3).dtype is getattr(ember, dtype)
    assert isinstance(e, E) and isinstance(e, ember.Tensor)
    assert isinstance(t, T)
    other = ember.FloatTensor if name != "FloatTensor" else ember.LongTensor
    assert not isinstance(e, other)
    x = ember.tensor([1.5, 2.5])
    assert_same(x.type(E), torch.tensor([1.5, 2.5]).type(T))
    assert e.type() == f"ember.{name}"


def test_new_methods():
    for dtype in ("float64", "int32"):
        e = ember.zeros(2, dtype=getattr(ember, dtype))
        t = torch.zeros(2, dtype=getattr(torch, dtype))
        assert_same(e.new_zeros(2, 3), t.new_zeros(2, 3))
        assert_same(e.new_zeros((2, 3)), t.new_zeros((2, 3)))
        assert_same(e.new_ones([4]), t.new_ones([4]))
        assert_same(e.new_full((2,), 3), t.new_full((2,), 3))
        assert_same(e.new_full((2,), 2.5), t.new_full((2,), 2.5))
        assert_same(e.new_tensor([1, 2]), t.new_tensor([1, 2]))
        assert_same(e.new_tensor([1.7]), t.new_tensor([1.7]))
        assert e.new_empty(3, 1).shape == t.new_empty(3, 1).shape
        assert e.new_empty((3,)).dtype.name == dtype
        assert_same(e.new_zeros(2, dtype=ember.bool), t.new_zeros(2, dtype=torch.bool))
    e = ember.zeros(2)
    assert e.new_ones(2, requires_grad=True).requires_grad
    assert e.new_ones(ember.Size([3])).shape == (3,)
    same_error(lambda: e.new_full(2, 1.0), lambda: torch.zeros(2).new_full(2, 1.0))


# --- creation functions -------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    [1, 2, 3], [1.0, 2, 3], [True, False], [True, 2], [1, 2.5, True], [[1, 2], [3, 4]], 3, 2.5,
    True, [], [[]], [1 + 2j, 3], [[1.5]], (1, 2), [(1, 2), (3, 4)], [np.float64(1.5)],
])
def test_tensor_dtype_inference(data):
    assert_same(ember.tensor(data), torch.tensor(data))


def test_tensor_from_numpy_arrays_keeps_dtype():
    for dt in (np.float64, np.int32, np.uint8, np.float16):
        a = np.ones(3, dtype=dt)
        assert_same(ember.tensor(a), torch.tensor(a))
    assert_same(ember.tensor(np.float64(2.5)), torch.tensor(np.float64(2.5)))
    assert_same(ember.tensor(np.int32(3)), torch.tensor(np.int32(3)))
    a = np.ones(3)
    e = ember.tensor(a)
    a[0] = 5
    assert e.tolist() == [1.0, 1.0, 1.0], "tensor() copies"


def test_tensor_of_tensors_in_lists():
    parts_e = [ember.tensor(1.5), ember.tensor(2.0)]
    parts_t = [torch.tensor(1.5), torch.tensor(2.0)]
    assert_same(ember.tensor(parts_e), torch.tensor(parts_t))
    assert_same(ember.tensor([ember.tensor([1, 2]), ember.tensor([3, 4])]),
                torch.tensor([[1, 2], [3, 4]]))
    assert_same(ember.tensor([ember.tensor(1, dtype=ember.int32), 2.5]),
                torch.tensor([torch.tensor(1, dtype=torch.int32), 2.5]))


def test_tensor_dtype_device_requires_grad_args():
    assert_same(ember.tensor([1, 2], dtype=ember.float64),
                torch.tensor([1, 2], dtype=torch.float64))
    assert_same(ember.tensor([1.9, -1.9], dtype=ember.int64),
                torch.tensor([1.9, -1.9], dtype=torch.int64))
    e = ember.tensor([1.0], requires_grad=True, device="cpu")
    assert e.requires_grad and e.is_leaf


def test_tensor_errors():
    same_error(lambda: ember.tensor([[1, 2], [3]]), lambda: torch.tensor([[1, 2], [3]]))
    same_error(lambda: ember.tensor("abc"), lambda: torch.tensor("abc"))
    same_error(lambda: ember.tensor([None]), lambda: torch.tensor([None]))


def test_tensor_of_a_tensor_warns_and_copies():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        y = ember.tensor(x)
    assert not y.requires_grad and y.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("fn", ["zeros", "ones", "empty"])
def test_filled(fn):
    E, T = getattr(ember, fn), getattr(torch, fn)
    for args, kw in [((2, 3), {}), (((2, 3),), {}), (([4],), {}), (((),), {}), ((0,), {}),
                     ((2,), {"dtype": "int32"}), ((3,), {"dtype": "bool"}),
                     ((ember.Size([2, 2]),), {})]:
        ke = {k: getattr(ember, v) for k, v in kw.items()}
        kt = {k: getattr(torch, v) for k, v in kw.items()}
        targs = tuple(torch.Size(a) if isinstance(a, ember.Size) else a for a in args)
        e, t = E(*args, **ke), T(*targs, **kt)
        assert e.shape == t.shape and e.dtype.name == str(t.dtype).split(".")[1]
        if fn != "empty":
            assert_same(e, t)
    assert E(2, requires_grad=True).requires_grad
    same_error(lambda: E(-1), lambda: T(-1))
    same_error(lambda: E(), lambda: T())
    same_error(lambda: E(2.5), lambda: T(2.5))


def test_full():
    for args in [((2, 3), 1.5), ((2,), 7), ((2,), True), ([3], 2j), ((), 4.0)]:
        assert_same(ember.full(*args), torch.full(*args))
    assert_same(ember.full((2,), 7, dtype=ember.float64), torch.full((2,), 7, dtype=torch.float64))
    assert_same(ember.full((2,), ember.tensor(3.0)), torch.full((2,), torch.tensor(3.0)))


@pytest.mark.parametrize("fn", ["zeros_like", "ones_like", "empty_like"])
def test_like(fn):
    E, T = getattr(ember, fn), getattr(torch, fn)
    for a in [A, np.arange(4, dtype=np.int32), np.array(True)]:
        e, t = pair(a)
        re, rt = E(e), T(t)
        assert re.shape == rt.shape and re.dtype.name == str(rt.dtype).split(".")[1]
        if fn != "empty_like":
            assert_same(re, rt)
        re, rt = E(e, dtype=ember.float64), T(t, dtype=torch.float64)
        assert re.dtype is ember.float64 and re.shape == rt.shape
    x = ember.tensor(A, requires_grad=True)
    assert not E(x).requires_grad and E(x, requires_grad=True).requires_grad


def test_full_like():
    e, t = pair(np.arange(4, dtype=np.int32))
    assert_same(ember.full_like(e, 2.7), torch.full_like(t, 2.7))
    assert_same(ember.full_like(e, 2.7, dtype=ember.float32),
                torch.full_like(t, 2.7, dtype=torch.float32))


@pytest.mark.parametrize("args,kw", [
    ((5,), {}), ((2, 9), {}), ((1, 10, 3), {}), ((10, 0, -3), {}), ((0, 1, 0.1), {}),
    ((0.5, 3.0), {}), ((-1, 1, 0.25), {}), ((5,), {"dtype": "float64"}),
    ((0, 1, 0.3), {"dtype": "float64"}), ((1.5, 8), {"dtype": "int64"}),
    ((0, 10, 3), {"dtype": "int32"}), ((0.5, 10, 2.5), {"dtype": "int64"}),
    ((0.5, 10, 2.5), {"dtype": "int32"}), ((1, 2, 0.0001), {}),
    ((0, 100, 0.37), {"dtype": "float64"}),
    ((0,), {}), ((0, 2.2, 0.2), {}), ((-3.7, 4.1, 0.37), {}), ((10.0,), {}),
    ((0, 5, 1), {"dtype": "float16"}), ((1, 2, 0.001), {}),
])
def test_arange(args, kw):
    e = ember.arange(*args, **{k: getattr(ember, v) for k, v in kw.items()})
    t = torch.arange(*args, **{k: getattr(torch, v) for k, v in kw.items()})
    assert_same(e, t, rtol=0, atol=0)


def test_arange_errors_and_tensor_bounds():
    same_error(lambda: ember.arange(0, 10, 0), lambda: torch.arange(0, 10, 0))
    same_error(lambda: ember.arange(10, 0, 1), lambda: torch.arange(10, 0, 1))
    assert_same(ember.arange(ember.tensor(4)), torch.arange(torch.tensor(4)))
    assert ember.arange(3, requires_grad=False).tolist() == [0, 1, 2]


@pytest.mark.parametrize("args,kw", [
    ((0, 1, 5), {}), ((0, 1, 1000), {}), ((-3.5, 7.25, 17), {}), ((1, 0, 4), {}),
    ((0, 1, 1), {}), ((0, 1, 0), {}), ((0, 10, 7), {"dtype": "int64"}),
    ((0, 1, 11), {"dtype": "float64"}), ((2, 2, 3), {}), ((-1e3, 1e3, 333), {}),
    ((0.1, 0.7, 100), {}), ((1, 2, 2), {}), ((0, 1, 3), {"dtype": "float16"}),
    ((-5, 5, 10), {"dtype": "int32"}),
])
def test_linspace_exact(args, kw):
    e = ember.linspace(*args, **{k: getattr(ember, v) for k, v in kw.items()})
    t = torch.linspace(*args, **{k: getattr(torch, v) for k, v in kw.items()})
    assert_same(e, t, rtol=0, atol=0)


def test_linspace_fuzz_exact_in_float32():
    rng = np.random.default_rng(0)
    for _ in range(200):
        lo, hi = rng.uniform(-100, 100, size=2).tolist()
        n = int(rng.integers(2, 300))
        assert_same(ember.linspace(lo, hi, n), torch.linspace(lo, hi, n), rtol=0, atol=0)


def test_linspace_errors():
    same_error(lambda: ember.linspace(0, 1, -1), lambda: torch.linspace(0, 1, -1))


@pytest.mark.parametrize("args,kw", [
    ((0, 2, 5), {}), ((-2, 2, 9), {}), ((0, 3, 4), {"base": 2.0}), ((1, 0, 3), {}),
    ((0, 1, 5), {"dtype": "float64"}), ((0, 2, 3), {"dtype": "int64"}), ((0, 1, 1), {}),
])
def test_logspace(args, kw):
    ke = {k: getattr(ember, v) if k == "dtype" else v for k, v in kw.items()}
    kt = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
    assert_same(ember.logspace(*args, **ke), torch.logspace(*args, **kt), rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64"])
def test_logspace_fuzz_exact(dtype):
    rng = np.random.default_rng(1)
    for _ in range(60):
        lo, hi = rng.uniform(-4, 4, size=2).tolist()
        n, base = int(rng.integers(0, 100)), float(rng.choice([10.0, 2.0, 2.718281828]))
        e = ember.logspace(lo, hi, n, base, dtype=getattr(ember, dtype))
        t = torch.logspace(lo, hi, n, base, dtype=getattr(torch, dtype))
        assert_same(e, t, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_arange_fuzz_exact(dtype):
    rng = np.random.default_rng(2)
    for _ in range(60):
        lo = float(rng.uniform(-50, 50))
        st = float(rng.uniform(0.01, 3)) * float(rng.choice([1, -1]))
        hi = lo + st * int(rng.integers(1, 300))
        e = ember.arange(lo, hi, st, dtype=getattr(ember, dtype))
        t = torch.arange(lo, hi, st, dtype=getattr(torch, dtype))
        assert_same(e, t, rtol=0, atol=0)


def test_double_to_half_rounds_through_float_like_torch():
    # values just off a float16 tie: rounding twice (via float32) and once disagree
    rng = np.random.default_rng(0)
    h = rng.uniform(1, 2, 200).astype(np.float16).astype(np.float64)
    vals = h + 2.0 ** -11 + rng.choice([-1, 1], 200) * 2.0 ** -40
    assert_same(ember.tensor(vals.tolist(), dtype=ember.float16),
                torch.tensor(vals.tolist(), dtype=torch.float16), rtol=0, atol=0)
    assert_same(ember.from_numpy(vals).half(), torch.from_numpy(vals).half(), rtol=0, atol=0)
    assert_same(ember.tensor(vals, dtype=ember.float16),
                torch.tensor(vals, dtype=torch.float16), rtol=0, atol=0)
    assert_same(ember.full((1,), vals[0], dtype=ember.float16),
                torch.full((1,), vals[0], dtype=torch.float16), rtol=0, atol=0)


@pytest.mark.parametrize("args,kw", [((3,), {}), ((2, 4), {}), ((4, 2), {}), ((0,), {}),
                                     ((3,), {"dtype": "int64"}), ((2, 2), {"dtype": "bool"})])
def test_eye(args, kw):
    e = ember.eye(*args, **{k: getattr(ember, v) for k, v in kw.items()})
    t = torch.eye(*args, **{k: getattr(torch, v) for k, v in kw.items()})
    assert_same(e, t)
    same_error(lambda: ember.eye(-1), lambda: torch.eye(-1))


def test_scalar_tensor():
    assert_same(ember.scalar_tensor(3), torch.scalar_tensor(3))
    assert_same(ember.scalar_tensor(3, dtype=ember.int64),
                torch.scalar_tensor(3, dtype=torch.int64))


def test_creation_with_out():
    out = ember.empty(3)
    r = ember.arange(3, out=out)
    t = torch.arange(3, out=torch.empty(3))
    assert r is out and out.tolist() == t.tolist()


def test_is_tensor_and_friends():
    x = ember.tensor([1.0])
    assert ember.is_tensor(x) and not ember.is_tensor(np.ones(1))
    assert ember.is_floating_point(x) and not ember.is_complex(x)


# --- devices ------------------------------------------------------------------------------------

def test_device_objects():
    for spec in ["cpu", "cuda", "cuda:1", "meta"]:
        e, t = ember.device(spec), torch.device(spec)
        assert str(e) == str(t) and repr(e) == repr(t)
        assert e.type == t.type and e.index == t.index
    assert ember.device("cuda", 2) == ember.device("cuda:2")
    assert ember.device("cuda:0") != ember.device("cuda")
    assert ember.device(ember.device("cuda:3")).index == 3
    assert hash(ember.device("cuda:1")) == hash(ember.device("cuda", 1))
    assert pickle.loads(pickle.dumps(ember.device("cuda:1"))) == ember.device("cuda:1")
    assert str(ember.device("cuda", 1)) == "cuda:1"


def test_device_parsing_errors():
    for bad in ["gpu", "cuda:x", "cuda:-1", "cpu:0:1", ""]:
        same_error(lambda: ember.device(bad), lambda: torch.device(bad))
    same_error(lambda: ember.device("cuda:1", 1), lambda: torch.device("cuda:1", 1))


def test_cuda_unavailable_here():
    if ember.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert ember.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.tensor([1.0]).cuda()
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.tensor([1.0]).to("cuda:0")
    assert ember.tensor([1.0]).to("cpu").device == ember.device("cpu")


def test_math_constants_not_shadowed():
    assert math.isclose(float(ember.tensor(math.pi)), math.pi, rel_tol=1e-6)


def test_assigning_grad_is_checked_like_torch():
    import torch

    for lib in (torch, ember):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="gradient of size"):
            x.grad = lib.ones(3)
        with pytest.raises(RuntimeError, match="dtype"):
            x.grad = lib.ones(2, dtype=lib.float64)
        with pytest.raises(TypeError, match="Tensor or None"):
            x.grad = 3
        x.grad = lib.full((2,), 5.0)
        assert x.grad.tolist() == [5.0, 5.0]
        del x.grad
        assert x.grad is None
