"""Matrix products against torch: values, dtypes, shapes, every input gradient (float32 and
float64), float64 gradcheck (and gradgradcheck for the core products), and torch's errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import check, gradcheck, rand, same_error

import ember
import ember.linalg

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3,)),
    ((3,), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
    ((5, 1, 2, 3), (4, 3, 2)), ((1, 2, 3), (6, 3, 2)), ((0, 3), (3, 2)), ((2, 0), (0, 2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", MATMUL_SHAPES)
def test_matmul_matches_torch(shapes, dtype):
    a, b = rand(shapes[0], dtype, seed=1), rand(shapes[1], dtype, seed=2)
    check(lambda m, a, b: m.matmul(a, b), [a, b], rtol=1e-4, atol=1e-5)
    check(lambda m, a, b: a @ b, [a, b], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES[:11])
def test_matmul_gradcheck_and_gradgradcheck(shapes):
    a, b = rand(shapes[0], seed=3), rand(shapes[1], seed=4)
    gradcheck(lambda m, a, b: a @ b, [a, b])
    x = ember.from_numpy(a.astype(np.float64)).requires_grad_()
    y = ember.from_numpy(b.astype(np.float64)).requires_grad_()
    assert ember.autograd.gradgradcheck(lambda a, b: a @ b, (x, y))


def test_matmul_gradient_of_a_transposed_operand():
    # Non-contiguous operands (a transpose) take the same BLAS path and give the same gradients.
    check(lambda m, a, b: a.t() @ b.transpose(-1, -2), [rand((3, 2)), rand((4, 3))],
          rtol=1e-4, atol=1e-5)
    check(lambda m, a, b: a.mT @ b, [rand((2, 3, 2)), rand((3, 4))], rtol=1e-4, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(batch_a=st.lists(st.integers(1, 3), max_size=2), batch_b=st.lists(st.integers(1, 3),
                                                                           max_size=2),
       n=st.integers(1, 3), k=st.integers(1, 3), p=st.integers(1, 3),
       ones_a=st.booleans(), ones_b=st.booleans())
def test_matmul_batch_broadcasting_property(batch_a, batch_b, n, k, p, ones_a, ones_b):
    # Batch dims broadcast like elementwise ops; size-1 batch dims get summed gradients.
    if ones_a:
        batch_a = [1] * len(batch_a)
    if ones_b:
        batch_b = [1] * len(batch_b)
    try:
        np.broadcast_shapes(tuple(batch_a), tuple(batch_b))
    except ValueError:
        same_error(lambda m, a, b: a @ b, [rand(tuple(batch_a) + (n, k)),
                                          rand(tuple(batch_b) + (k, p))])
        return
    check(lambda m, a, b: a @ b, [rand(tuple(batch_a) + (n, k), "float64", seed=1),
                                  rand(tuple(batch_b) + (k, p), "float64", seed=2)])


def test_integer_and_half_matmul():
    check(lambda m, a, b: a @ b, [rand((2, 3), "int64"), rand((3, 4), "int64")], grad=False)
    check(lambda m, a, b: a @ b, [rand((2, 3), "int32"), rand((3,), "int32")], grad=False)
    check(lambda m, a, b: (a.half() @ b.half()).float(), [rand((2, 3)), rand((3, 4))],
          grad=False, rtol=1e-2, atol=1e-2)
    check(lambda m, a, b: (a.half() @ b.half()).float(), [rand((2, 3)), rand((3, 4))],
          rtol=1e-2, atol=1e-2, grad_rtol=2e-2, grad_atol=2e-2)


def test_float32_stays_float32():
    a = ember.randn(4, 5)
    assert (a @ ember.randn(5, 3)).dtype is ember.float32
    assert ember.einsum("ij,jk", a, ember.randn(5, 3)).dtype is ember.float32
    assert ember.linalg.inv(ember.randn(3, 3) + 3 * ember.eye(3)).dtype is ember.float32


@pytest.mark.parametrize("fn, shapes", [
    (lambda m, a, b: m.mm(a, b), [(2, 3), (3, 4)]),
    (lambda m, a, b: a.mm(b), [(2, 3), (3, 4)]),
    (lambda m, a, b: m.bmm(a, b), [(4, 2, 3), (4, 3, 5)]),
    (lambda m, a, b: a.bmm(b), [(4, 2, 3), (4, 3, 5)]),
    (lambda m, a, b: m.mv(a, b), [(2, 3), (3,)]),
    (lambda m, a, b: a.mv(b), [(2, 3), (3,)]),
    (lambda m, a, b: m.dot(a, b), [(3,), (3,)]),
    (lambda m, a, b: a.dot(b), [(3,), (3,)]),
    (lambda m, a, b: m.vdot(a, b), [(3,), (3,)]),
    (lambda m, a, b: m.inner(a, b), [(2, 3), (4, 3)]),
    (lambda m, a, b: m.inner(a, b), [(3,), (3,)]),
    (lambda m, a, b: m.inner(a, b), [(), (2, 3)]),
    (lambda m, a, b: a.inner(b), [(2, 2, 3), (3,)]),
    (lambda m, a, b: m.outer(a, b), [(2,), (3,)]),
    (lambda m, a, b: m.ger(a, b), [(2,), (3,)]),
    (lambda m, a, b: a.outer(b), [(2,), (3,)]),
    (lambda m, a, b: m.kron(a, b), [(2, 3), (4, 2)]),
    (lambda m, a, b: m.kron(a, b), [(2,), (3, 2)]),
    (lambda m, a, b: a.kron(b), [(2, 1, 2), (2, 3)]),
    (lambda m, a, b: m.linalg.cross(a, b), [(4, 3), (4, 3)]),
    (lambda m, a, b: m.linalg.cross(a, b), [(4, 3), (1, 3)]),
    (lambda m, a, b: m.cross(a, b, dim=0), [(3, 2), (3, 2)]),
    (lambda m, a, b: a.cross(b, dim=1), [(2, 3), (2, 3)]),
    (lambda m, a, b: m.tensordot(a, b, dims=2), [(3, 4, 5), (4, 5, 2)]),
    (lambda m, a, b: m.tensordot(a, b, dims=([1, 2], [1, 0])), [(3, 4, 5), (5, 4, 2)]),
    (lambda m, a, b: m.tensordot(a, b, dims=0), [(3,), (2,)]),
    (lambda m, a, b: m.tensordot(a, b, dims=([0], [1])), [(3, 4), (2, 3)]),
    (lambda m, a, b: m.linalg.vecdot(a, b), [(2, 3), (3,)]),
    (lambda m, a, b: m.linalg.vecdot(a, b, dim=0), [(2, 3), (2, 1)]),
    (lambda m, a, b: m.chain_matmul(a, b, a.t()), [(2, 3), (3, 3)]),
    (lambda m, a, b: m.linalg.multi_dot([b, a.t(), a]), [(2, 3), (3,)]),
    (lambda m, a, b: m.linalg.matmul(a, b), [(2, 3), (3,)]),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_products_match_torch(fn, shapes, dtype):
    arrays = [rand(s, dtype, seed=i) for i, s in enumerate(shapes)]
    check(fn, arrays, rtol=1e-4, atol=1e-5)
    if dtype == "float64":
        gradcheck(fn, arrays)


def test_outer_and_kron_promote_like_torch():
    check(lambda m, a, b: m.outer(a, b), [rand((2,), "float32"), rand((3,), "int64")], grad=False)
    check(lambda m, a, b: m.kron(a, b), [rand((2,), "float32"), rand((3,), "float64")],
          grad=False)


def test_cross_without_dim_warns_like_torch():
    with pytest.warns(UserWarning, match="without specifying the dim"):
        r = ember.cross(ember.ones(4, 3), ember.ones(4, 3))
    assert r.shape == (4, 3)


ADD_FNS = [
    (lambda m, c, a, b: m.addmm(c, a, b), [(3,), (2, 4), (4, 3)]),
    (lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2.0), [(2, 3), (2, 4), (4, 3)]),
    (lambda m, c, a, b: m.addmm(c, a, b, beta=0, alpha=-1.5), [(1, 3), (2, 4), (4, 3)]),
    (lambda m, c, a, b: c.addmm(a, b, alpha=3), [(), (2, 4), (4, 3)]),
    (lambda m, c, a, b: m.addmv(c, a, b), [(2,), (2, 4), (4,)]),
    (lambda m, c, a, b: c.addmv(a, b, beta=2, alpha=0.5), [(1,), (2, 4), (4,)]),
    (lambda m, c, a, b: m.baddbmm(c, a, b, beta=0.5, alpha=2), [(2, 1, 3), (2, 2, 4), (2, 4, 3)]),
    (lambda m, c, a, b: c.baddbmm(a, b), [(3,), (2, 2, 4), (2, 4, 3)]),
    (lambda m, c, a, b: m.addbmm(c, a, b), [(2, 3), (5, 2, 4), (5, 4, 3)]),
    (lambda m, c, a, b: c.addbmm(a, b, beta=-1, alpha=0.5), [(3,), (5, 2, 4), (5, 4, 3)]),
    (lambda m, c, a, b: m.addr(c, a, b, beta=2, alpha=3), [(2, 3), (2,), (3,)]),
]


@pytest.mark.parametrize("fn, shapes", ADD_FNS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_add_products_match_torch(fn, shapes, dtype):
    arrays = [rand(s, dtype, seed=i) for i, s in enumerate(shapes)]
    check(fn, arrays, rtol=1e-4, atol=1e-5)
    if dtype == "float64":
        gradcheck(fn, arrays)


@pytest.mark.parametrize("name, shapes", [
    ("addmm_", [(2, 3), (2, 4), (4, 3)]), ("addmv_", [(2,), (2, 4), (4,)]),
    ("baddbmm_", [(2, 2, 3), (2, 2, 4), (2, 4, 3)]), ("addbmm_", [(2, 3), (5, 2, 4), (5, 4, 3)]),
])
def test_inplace_add_products_on_a_non_leaf(name, shapes):
    def fn(m, c, a, b):
        d = c * 1.0
        r = getattr(d, name)(a, b, beta=0.5, alpha=2)
        assert r is d
        return d
    check(fn, [rand(s, "float64", seed=i) for i, s in enumerate(shapes)])


def test_addmm_beta_zero_ignores_nan_and_integers_work():
    c = ember.full((3,), float("nan"))
    r = ember.addmm(c, ember.ones(2, 4), ember.ones(4, 3), beta=0)
    np.testing.assert_array_equal(r.numpy(), np.full((2, 3), 4.0, np.float32))
    check(lambda m, c, a, b: m.addmm(c, a, b, beta=2, alpha=3),
          [rand((3,), "int64"), rand((2, 3), "int64"), rand((3, 3), "int64")], grad=False)


EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("bij,bjk->bik",
                                                                   [(2, 2, 3), (2, 3, 4)]),
    ("i,i->", [(3,), (3,)]), ("i,j->ij", [(2,), (3,)]), ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]),
    ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij->j", [(2, 2, 3)]), ("ij,ij->ij", [(3, 1), (1, 4)]),
    ("ij,j->ij", [(3, 1), (4,)]), ("...ij,...jk->...ik", [(5, 3, 2), (2, 4)]),
    ("...ij,...jk->...ik", [(5, 1, 3, 2), (4, 2, 4)]), ("b...,b->...", [(2, 3, 4), (2,)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]), ("iJ,Jk->ik", [(3, 2), (2, 4)]),
    ("ijk,jl,lk->il", [(2, 3, 4), (3, 5), (5, 4)]), ("ij,jk,kl,lm->im", [(2, 3), (3, 4), (4, 5),
                                                                        (5, 2)]),
    ("ii,ij->j", [(3, 3), (3, 2)]), ("ijj,k->ik", [(2, 3, 3), (4,)]), ("i,i,i->i", [(3,)] * 3),
    ("ab,cd->", [(2, 3), (4, 5)]), ("...", [(2, 3)]), ("i...->...", [(2, 3, 4)]),
]


@pytest.mark.parametrize("eq, shapes", EINSUM)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_einsum_matches_torch(eq, shapes, dtype):
    arrays = [rand(s, dtype, seed=i) for i, s in enumerate(shapes)]
    fn = lambda m, *ops: m.einsum(eq, *ops)  # noqa: E731
    check(fn, arrays, rtol=1e-4, atol=1e-5)
    if dtype == "float64":
        gradcheck(fn, arrays)


def test_einsum_same_operand_twice_list_and_sublist_forms():
    check(lambda m, a: m.einsum("ij,ij->", a, a), [rand((2, 3))])
    check(lambda m, a, b: m.einsum("ij,jk->ik", [a, b]), [rand((2, 3)), rand((3, 4))])
    check(lambda m, a, b: m.einsum(a, [0, 1], b, [1, 2], [0, 2]), [rand((2, 3)), rand((3, 4))])
    check(lambda m, a, b: m.einsum(a, [Ellipsis, 0], b, [0, 1]), [rand((5, 2, 3)), rand((3, 4))])
    check(lambda m, a, b: m.einsum("i,i->", a, b), [rand((3,), "int64"), rand((3,), "int64")],
          grad=False)


def test_einsum_output_is_not_a_view_and_double_backward_works():
    x = ember.randn(3, 3)
    y = ember.einsum("ij->ji", x)
    y.add_(1)
    assert not np.allclose(x.numpy(), y.numpy().T)
    a = ember.from_numpy(rand((2, 2), "float64")).requires_grad_()
    b = ember.from_numpy(rand((2, 3), "float64")).requires_grad_()
    assert ember.autograd.gradgradcheck(lambda a, b: ember.einsum("ii,ij->j", a, b), (a, b))


@pytest.mark.parametrize("fn, arrays", [
    (lambda m, a, b: m.mm(a, b), [rand((2, 3)), rand((4, 5))]),
    (lambda m, a, b: m.mm(a, b), [rand((2, 2, 3)), rand((3, 4))]),
    (lambda m, a, b: m.mm(a, b), [rand((3, 3)), rand((3,))]),
    (lambda m, a, b: m.mm(a, b), [rand((2, 3)), rand((3, 4), "float64")]),
    (lambda m, a, b: m.mm(a, b), [rand((2, 3), "int64"), rand((3, 4))]),
    (lambda m, a, b: m.mm(a, b), [rand((2, 3), "bool"), rand((3, 4), "bool")]),
    (lambda m, a, b: m.matmul(a, b), [rand((7, 2, 3)), rand((7, 4, 5))]),
    (lambda m, a, b: m.matmul(a, b), [rand((7, 2, 3)), rand((4, 5))]),
    (lambda m, a, b: m.matmul(a, b), [rand((2, 3)), rand((7, 4, 5))]),
    (lambda m, a, b: m.matmul(a, b), [rand((7, 2, 3)), rand((6, 3, 5))]),
    (lambda m, a, b: m.matmul(a, b), [rand((3,)), rand((4,))]),
    (lambda m, a, b: m.matmul(a, b), [rand((2, 3)), rand((4,))]),
    (lambda m, a, b: m.matmul(a, b), [rand((3,)), rand((4, 5))]),
    (lambda m, a, b: m.matmul(a, b), [rand((2, 4, 5)), rand((3,))]),
    (lambda m, a, b: m.matmul(a, b), [rand(()), rand((3,))]),
    (lambda m, a, b: m.matmul(a, b), [rand((3,)), rand((3,), "float64")]),
    (lambda m, a, b: m.matmul(a, b), [rand((2, 3)), rand((3,), "float64")]),
    (lambda m, a, b: m.matmul(a, b), [rand((2, 2, 3)), rand((2, 3, 2), "float64")]),
    (lambda m, a, b: m.bmm(a, b), [rand((2, 3)), rand((3, 4))]),
    (lambda m, a, b: m.bmm(a, b), [rand((2, 3, 3)), rand((3, 3))]),
    (lambda m, a, b: m.bmm(a, b), [rand((2, 2, 3)), rand((3, 3, 4))]),
    (lambda m, a, b: m.bmm(a, b), [rand((2, 2, 3)), rand((2, 4, 4))]),
    (lambda m, a, b: m.mv(a, b), [rand((2, 3)), rand((4,))]),
    (lambda m, a, b: m.mv(a, b), [rand((2, 2, 3)), rand((3,))]),
    (lambda m, a, b: m.dot(a, b), [rand((3,)), rand((4,))]),
    (lambda m, a, b: m.dot(a, b), [rand((3, 1)), rand((3,))]),
    (lambda m, a, b: m.dot(a, b), [rand((3,)), rand((3,), "float64")]),
    (lambda m, a, b: m.dot(a, b), [rand((3,), "bool"), rand((3,), "bool")]),
    (lambda m, a, b: m.vdot(a, b), [rand((2, 2)), rand((2, 2))]),
    (lambda m, a, b: m.inner(a, b), [rand((2, 3)), rand((4,))]),
    (lambda m, a, b: m.outer(a, b), [rand((2, 3)), rand((4,))]),
    (lambda m, a, b: m.tensordot(a, b, dims=1), [rand((2, 3)), rand((4, 5))]),
    (lambda m, a, b: m.tensordot(a, b, dims=1), [rand((3,)), rand((3,), "float64")]),
    (lambda m, a, b: m.einsum("ij,jk->ik", a, b), [rand((2, 3)), rand((4, 5))]),
    (lambda m, a, b: m.einsum("ij,jk->ik", a), [rand((2, 3)), rand((4, 5))]),
    (lambda m, a, b: m.einsum("ij->ik", a), [rand((2, 3)), rand((4, 5))]),
    (lambda m, a, b: m.einsum("ijk,jk->ik", a, b), [rand((3, 2)), rand((2, 4))]),
    (lambda m, a, b: m.einsum("ij,jk->iki", a, b), [rand((2, 3)), rand((3, 4))]),
    (lambda m, a, b: m.einsum("i,i->", a, b), [rand((3,)), rand((3,), "float64")]),
    (lambda m, a, b: m.einsum("ii->i", a), [rand((2, 3)), rand((3,))]),
    (lambda m, a, b: m.linalg.cross(a, b), [rand((4, 2)), rand((4, 2))]),
    (lambda m, a, b: m.linalg.cross(a, b), [rand((4, 3)), rand((2, 1, 3))]),
    (lambda m, a, b: m.linalg.cross(a, b), [rand((3,)), rand((3,), "float64")]),
    (lambda m, a, b: m.addmm(a, b, b), [rand((4,)), rand((3, 3))]),
    (lambda m, a, b: m.addmm(a, b, a), [rand((3,)), rand((3, 3))]),
    (lambda m, a, b: m.addmm(a, b, b), [rand((3,), "float64"), rand((3, 3))]),
    (lambda m, a, b: m.addmv(a, b, a), [rand((4,)), rand((2, 3))]),
    (lambda m, a, b: m.addmv(a, b, b), [rand((3,)), rand((3, 3))]),
    (lambda m, a, b: m.baddbmm(a, b, b), [rand((4,)), rand((2, 3, 3))]),
    (lambda m, a, b: m.addbmm(a, b, b), [rand((4,)), rand((2, 3, 3))]),
    (lambda m, a, b: m.addr(a, b, b), [rand((3, 4)), rand((3,))]),
    (lambda m, a, b: m.addr(a[0], a, b), [rand((3, 4)), rand((3,))]),
])
def test_product_errors_match_torch(fn, arrays):
    same_error(fn, arrays)


def test_product_error_messages():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(64x131072 and 128x10\)"):
        ember.zeros(64, 131072) @ ember.zeros(128, 10)
    with pytest.raises(RuntimeError, match=r"size mismatch, got input \(2\), mat \(2x3\), vec "
                                           r"\(4\)"):
        ember.mv(ember.zeros(2, 3), ember.zeros(4))
    with pytest.raises(RuntimeError, match=r"inconsistent tensor size, expected tensor \[3\] and "
                                           r"src \[4\]"):
        ember.dot(ember.zeros(3), ember.zeros(4))
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: "
                                           "float != double"):
        ember.zeros(2, 3) @ ember.zeros(3, 2, dtype=ember.float64)
    with pytest.raises(RuntimeError, match=r"Expected size for first two dimensions of batch2 "
                                           r"tensor to be: \[7, 3\] but got: \[7, 4\]\."):
        ember.zeros(7, 2, 3) @ ember.zeros(7, 4, 5)
    with pytest.raises(RuntimeError, match="einsum\\(\\): subscript j has size 4 for operand 1"):
        ember.einsum("ij,jk->ik", ember.zeros(2, 3), ember.zeros(4, 5))


def test_out_and_rmatmul():
    a, b = ember.randn(2, 3), ember.randn(3, 4)
    out = ember.empty(2, 4)
    assert ember.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out.numpy(), a.numpy() @ b.numpy(), rtol=1e-5)
    assert ember.mm(a, b, out=ember.empty(0)).shape == (2, 4)
    r = ember.Tensor.__rmatmul__(b, a)
    np.testing.assert_allclose(r.numpy(), a.numpy() @ b.numpy(), rtol=1e-5)
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
        ember.matmul(a.requires_grad_(), b, out=out)


def test_matmul_grad_fn_and_saved_version_check():
    a = ember.randn(2, 3, requires_grad=True)
    b = ember.randn(3, 4)
    y = a @ b
    assert y.grad_fn is not None and y.requires_grad
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_graph_node_names_match_torch():
    import torch

    def names(m):
        r = lambda *s: m.ones(*s, requires_grad=True)  # noqa: E731
        outs = [r(3) @ r(3), r(2, 3) @ r(3), r(3) @ r(3, 2), r(2, 3) @ r(3, 2),
                m.mm(r(2, 3), r(3, 2)),
                m.addmm(r(3), r(2, 3), r(3, 3)), m.addmv(r(2), r(2, 3), r(3)),
                m.baddbmm(r(3), r(2, 2, 3), r(2, 3, 3)), m.linalg.inv(m.eye(2).requires_grad_()),
                m.linalg.det(r(2, 2)), m.linalg.cross(r(3), r(3))]
        return [o.grad_fn.name().rsplit("::", 1)[-1] for o in outs]

    assert names(ember) == names(torch)


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3,)), ((5, 2, 3), (3, 4)),
                                    ((3,), (5, 3, 4)), ((2, 2, 3), (2, 3, 2))])
def test_complex_products_use_conjugate_gradients_like_torch(shapes):
    rng = np.random.default_rng(0)
    a, b = ((rng.normal(size=s) + 1j * rng.normal(size=s)).astype(np.complex128) for s in shapes)
    for part in ("real", "imag"):
        check(lambda m, a, b: getattr(a @ b, part), [a, b])
        eq = "...i,...ij->...j" if len(shapes[1]) > 1 else "i,i->"
        if len(shapes[0]) == 1:
            check(lambda m, a, b: getattr(m.einsum(eq, a, b), part), [a, b])
