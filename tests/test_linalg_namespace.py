"""``ember.linalg`` (and the top-level det/inverse/norm/... ) against ``torch.linalg``: values,
dtypes, shapes, gradients (float32 and float64), float64 gradcheck, errors and their messages."""

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from reference import check, gradcheck, rand, same_error

import ember
import ember.linalg


def spd(n, batch=(), dtype="float64", seed=0):
    """A well-conditioned symmetric positive-definite matrix (or a batch of them)."""
    x = rand(batch + (n, n), "float64", seed=seed)
    return (x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).astype(dtype)


def well_conditioned(n, batch=(), dtype="float64", seed=0):
    return (rand(batch + (n, n), "float64", seed=seed) + 4 * np.eye(n)).astype(dtype)


def sym(n, batch=(), dtype="float64", seed=0):
    x = rand(batch + (n, n), "float64", seed=seed)
    return ((x + np.swapaxes(x, -1, -2)) / 2).astype(dtype)


def test_namespace_is_importable_from_the_package():
    # ember/__init__.py must say `from ember import linalg, random` (as torch exposes them).
    code = "import ember; ember.linalg.inv; ember.linalg.LinAlgError; ember.random.manual_seed"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_public_name_is_torchs():
    for name in ember.linalg.__all__:
        assert hasattr(torch.linalg, name), name
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)


DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (2,)])
def test_inv_det_slogdet(dtype, batch):
    a = well_conditioned(3, batch, dtype)
    tol = dict(rtol=1e-4, atol=1e-5)
    check(lambda m, a: m.linalg.inv(a), [a], **tol)
    check(lambda m, a: m.inverse(a), [a], **tol)
    check(lambda m, a: a.inverse(), [a], **tol)
    check(lambda m, a: m.linalg.det(a), [a], **tol)
    check(lambda m, a: a.det(), [a], **tol)
    check(lambda m, a: tuple(m.linalg.slogdet(a)), [a], **tol)
    check(lambda m, a: tuple(m.slogdet(-a)), [a], **tol)
    check(lambda m, a: m.logdet(a), [a], **tol)
    check(lambda m, a: m.logdet(-a), [a], **tol)  # nan where the determinant is negative
    if dtype == "float64":
        for fn in (lambda m, a: m.linalg.inv(a), lambda m, a: m.linalg.det(a),
                   lambda m, a: m.linalg.slogdet(a)[1]):
            gradcheck(fn, [a])


def test_second_derivatives():
    a = ember.from_numpy(well_conditioned(3)).requires_grad_()
    b = ember.from_numpy(rand((3, 2), "float64")).requires_grad_()
    assert ember.autograd.gradgradcheck(ember.linalg.inv, (a,))
    assert ember.autograd.gradgradcheck(ember.linalg.det, (a,))
    assert ember.autograd.gradgradcheck(ember.linalg.solve, (a, b))
    assert ember.autograd.gradgradcheck(lambda x: ember.linalg.vector_norm(x, 3), (b,))
    assert ember.autograd.gradgradcheck(lambda x: ember.linalg.norm(x), (b,))
    s = ember.from_numpy(spd(3)).requires_grad_()
    # Cholesky reads one triangle: differentiate through a symmetric input, as torch's tests do.
    assert ember.autograd.gradgradcheck(lambda x: ember.linalg.cholesky((x + x.mT) / 2), (s,))


def test_det_of_singular_matrices():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    check(lambda m, a: m.linalg.det(a), [a], grad=False)
    # The gradient of det is the cofactor matrix, which exists at singular matrices too. (torch
    # returns zeros there; ember returns the cofactors.)
    x = ember.tensor(np.diag([0.0, 2.0, 3.0]), requires_grad=True)
    ember.linalg.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), np.diag([6.0, 0.0, 0.0]), atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_solve(dtype):
    tol = dict(rtol=1e-4, atol=1e-5)
    a, a_b = well_conditioned(3, dtype=dtype), well_conditioned(3, (2,), dtype)
    cases = [
        (lambda m, a, b: m.linalg.solve(a, b), [a, rand((3,), dtype)]),
        (lambda m, a, b: m.linalg.solve(a, b), [a, rand((3, 2), dtype)]),
        (lambda m, a, b: m.linalg.solve(a, b), [a_b, rand((2, 3), dtype)]),  # a batch of vectors
        (lambda m, a, b: m.linalg.solve(a, b), [a_b, rand((3, 4), dtype)]),  # broadcast batch
        (lambda m, a, b: m.linalg.solve(a, b), [a, rand((5, 3, 1), dtype)]),
        (lambda m, a, b: m.linalg.solve(a, b, left=False), [a, rand((4, 3), dtype)]),
        (lambda m, a, b: m.linalg.solve_ex(a, b)[0], [a, rand((3,), dtype)]),
    ]
    for fn, arrays in cases:
        check(fn, arrays, **tol)
        if dtype == "float64":
            gradcheck(fn, arrays)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (2,)])
def test_cholesky(dtype, batch):
    a = spd(3, batch, dtype)
    # Only the lower triangle is read: the gradient lands on it, symmetrized as torch does.
    check(lambda m, a: m.linalg.cholesky(a), [a], rtol=1e-4, atol=1e-5)
    check(lambda m, a: m.linalg.cholesky(a, upper=True), [a], rtol=1e-4, atol=1e-5)
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        check(lambda m, a: m.cholesky(a), [a], rtol=1e-4, atol=1e-5)
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        check(lambda m, a: a.cholesky(upper=True), [a], rtol=1e-4, atol=1e-5)
    check(lambda m, a: m.linalg.cholesky_ex(a)[0], [a], rtol=1e-4, atol=1e-5)
    if dtype == "float64":
        gradcheck(lambda m, a: m.linalg.cholesky((a + a.mT) / 2), [a])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, mode", [((4, 3), "reduced"), ((3, 3), "reduced"),
                                         ((2, 4), "reduced"), ((2, 3, 2), "reduced"),
                                         ((2, 4), "complete"), ((3, 3), "complete")])
def test_qr(shape, mode, dtype):
    a = rand(shape, dtype, seed=5)
    check(lambda m, a: tuple(m.linalg.qr(a, mode=mode)), [a], rtol=1e-4, atol=1e-5)
    if dtype == "float64":
        gradcheck(lambda m, a: tuple(m.linalg.qr(a, mode=mode)), [a])


def test_qr_modes_and_legacy_form():
    a = rand((4, 3), seed=6)
    check(lambda m, a: m.linalg.qr(a, mode="r")[1], [a], grad=False, rtol=1e-4, atol=1e-5)
    assert ember.linalg.qr(ember.from_numpy(a), mode="r").Q.shape == (0,)
    with pytest.warns(UserWarning, match="torch.qr is deprecated"):
        q, r = torch.qr(torch.from_numpy(a), some=False)
    with pytest.warns(UserWarning, match="torch.qr is deprecated"):
        e = ember.qr(ember.from_numpy(a), some=False)
    np.testing.assert_allclose(e.Q.numpy(), q.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(e.R.numpy(), r.numpy(), rtol=1e-4, atol=1e-5)
    for mode, shape in (("r", (4, 3)), ("complete", (4, 3))):
        for lib in (ember, torch):
            x = lib.from_numpy(rand(shape, seed=7)).requires_grad_()
            with pytest.raises(RuntimeError):
                lib.linalg.qr(x, mode=mode).R.sum().backward()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [(), (2,)])
def test_eigh(dtype, batch):
    a = sym(4, batch, dtype, seed=8)
    # Eigenvectors are defined up to sign: compare sign-free functions of them.
    fn = lambda m, a: (m.linalg.eigh(a)[0], m.linalg.eigh(a)[1] ** 2)  # noqa: E731
    check(fn, [a], rtol=1e-4, atol=1e-4)
    check(lambda m, a: m.linalg.eigvalsh(a, UPLO="U"), [a], rtol=1e-4, atol=1e-4)
    if dtype == "float64":
        # eigh reads one triangle: differentiate through a symmetric input.
        gradcheck(lambda m, a: tuple(x ** 2 for x in m.linalg.eigh((a + a.mT) / 2)), [a])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 4), (2, 3, 2)])
def test_svd(shape, dtype):
    a = rand(shape, dtype, seed=9)
    tol = dict(rtol=1e-4, atol=1e-4)

    def fn(m, a):  # singular vectors are defined up to sign: compare sign-free functions
        u, s, vh = m.linalg.svd(a, full_matrices=False)
        return s, u ** 2, vh ** 2, u @ vh

    check(fn, [a], **tol)
    check(lambda m, a: m.linalg.svdvals(a), [a], **tol)
    check(lambda m, a: m.linalg.svd(a)[1], [a], **tol)
    check(lambda m, a: m.svd(a)[1], [a], **tol)
    check(lambda m, a: m.linalg.pinv(a), [a], **tol)
    check(lambda m, a: m.pinverse(a), [a], **tol)
    if dtype == "float64":
        gradcheck(fn, [a])
        gradcheck(lambda m, a: m.linalg.pinv(a), [a])


def test_svd_full_matrices_and_legacy_svd():
    a = rand((4, 2), "float64", seed=10)
    u, s, vh = ember.linalg.svd(ember.from_numpy(a))
    assert u.shape == (4, 4) and s.shape == (2,) and vh.shape == (2, 2)
    np.testing.assert_allclose((u[:, :2] * s) @ vh, a, atol=1e-12)
    check(lambda m, a: (m.linalg.svd(a)[0] ** 2).sum(-2), [a], rtol=1e-6, atol=1e-6)
    U, S, V = ember.svd(ember.from_numpy(a))
    np.testing.assert_allclose((U * S) @ V.mT, a, atol=1e-12)
    assert ember.svd(ember.from_numpy(a), some=False).U.shape == (4, 4)


def test_matrix_rank_and_power():
    check(lambda m, a: m.linalg.matrix_rank(a), [rand((3, 4))], grad=False)
    low = rand((4, 2), "float64") @ rand((2, 4), "float64", seed=1)
    check(lambda m, a: m.linalg.matrix_rank(a), [low], grad=False)
    a = well_conditioned(3)
    for n in (0, 1, 2, 3, 5, -1, -2):
        check(lambda m, a: m.linalg.matrix_power(a, n), [a])
        check(lambda m, a: a.matrix_power(n), [a], rtol=1e-4)
    gradcheck(lambda m, a: m.linalg.matrix_power(a, 3), [a])
    gradcheck(lambda m, a: m.matrix_power(a, -2), [a])
    check(lambda m, a: m.linalg.matrix_power(a, 3), [rand((2, 2), "int64")], grad=False)
    check(lambda m, a: m.linalg.matrix_power(a, 0), [rand((2, 3, 3))])


VECTOR_ORDS = [2, 1, math.inf, -math.inf, 0, 3, 0.5, -1, 1.5]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", VECTOR_ORDS)
@pytest.mark.parametrize("dim, keepdim", [(None, False), (None, True), (1, False), ((0, 2), True),
                                          (-1, True)])
def test_vector_norm(ord, dim, keepdim, dtype):
    a = rand((2, 3, 4), dtype, seed=11)
    fn = lambda m, a: m.linalg.vector_norm(a, ord, dim, keepdim)  # noqa: E731
    check(fn, [a], rtol=1e-4, atol=1e-5)
    if dtype == "float64":
        gradcheck(fn, [a])


def test_vector_norm_special_cases():
    check(lambda m, a: m.linalg.vector_norm(a), [np.zeros((3,), np.float32)])  # subgradient 0
    check(lambda m, a: m.linalg.vector_norm(a, 3), [np.zeros((3,), np.float32)])
    check(lambda m, a: m.linalg.vector_norm(a, math.inf),
          [np.array([1.0, -3.0, 3.0, 2.0], np.float32)])  # ties share the gradient
    check(lambda m, a: m.linalg.vector_norm(a, dtype=m.float64), [rand((3,))])
    check(lambda m, a: m.linalg.vector_norm(a, 0), [rand((0,))])
    check(lambda m, a: m.linalg.vector_norm(a), [rand((0,))])
    check(lambda m, a: (m.linalg.vector_norm(a.half()) - 0).float(), [rand((5,))], rtol=1e-3,
          atol=1e-3, grad_rtol=1e-2, grad_atol=1e-2)
    check(lambda m, a: m.linalg.vector_norm(a, dim=()), [rand((2, 3))])
    big = rand((64, 32), seed=3)  # the one-BLAS-dot fast path
    check(lambda m, a: m.linalg.vector_norm(a), [big], rtol=1e-5)


MATRIX_ORDS = ["fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", MATRIX_ORDS)
@pytest.mark.parametrize("dim, keepdim", [((-2, -1), False), ((0, 2), True), ((2, 0), False)])
def test_matrix_norm(ord, dim, keepdim, dtype):
    a = rand((3, 2, 4), dtype, seed=12)
    fn = lambda m, a: m.linalg.matrix_norm(a, ord, dim, keepdim)  # noqa: E731
    check(fn, [a], rtol=1e-4, atol=1e-5)
    if dtype == "float64":
        gradcheck(fn, [a])


@pytest.mark.parametrize("fn, shape", [
    (lambda m, a: m.linalg.norm(a), (2, 3, 4)),
    (lambda m, a: m.linalg.norm(a, keepdim=True), (2, 3)),
    (lambda m, a: m.linalg.norm(a, 1), (4,)),
    (lambda m, a: m.linalg.norm(a, math.inf), (3, 4)),
    (lambda m, a: m.linalg.norm(a, "nuc"), (3, 4)),
    (lambda m, a: m.linalg.norm(a, -1, dim=(0, 1)), (3, 4, 2)),
    (lambda m, a: m.linalg.norm(a, 3, dim=1), (3, 4, 2)),
    (lambda m, a: m.linalg.norm(a, dim=(1, 2)), (3, 4, 2)),
    (lambda m, a: m.norm(a), (2, 3, 4)),
    (lambda m, a: m.norm(a, dim=1, keepdim=True), (2, 3, 4)),
    (lambda m, a: m.norm(a, p=1), (2, 3, 4)),
    (lambda m, a: m.norm(a, p="fro", dim=(0, 1)), (2, 3, 4)),
    (lambda m, a: m.norm(a, p="nuc"), (3, 4)),
    (lambda m, a: m.norm(a, p=math.inf, dim=0), (3, 4)),
    (lambda m, a: a.norm(), (3, 4)),
    (lambda m, a: a.norm(p=3, dim=-1), (3, 4)),
    (lambda m, a: m.dist(a, m.ones(4) * 0.5), (3, 4)),
    (lambda m, a: a.dist(m.ones(3, 4), 1), (3, 4)),
])
def test_norm_forms(fn, shape):
    check(fn, [rand(shape, seed=13)], rtol=1e-4, atol=1e-5)
    gradcheck(fn, [rand(shape, seed=13)])


def test_singular_and_not_positive_definite_raise_linalg_error_with_torchs_message():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]], np.float32)
    batch = np.stack([np.eye(2, dtype=np.float32), singular])
    cases = [
        (lambda m, a: m.linalg.inv(a), singular),
        (lambda m, a: m.linalg.inv(a), batch),
        (lambda m, a: m.inverse(a), singular),
        (lambda m, a: m.linalg.solve(a, a[..., 0]), singular),
        (lambda m, a: m.linalg.solve(a, a), batch),
        (lambda m, a: m.linalg.cholesky(a), -np.eye(3, dtype=np.float32)),
        (lambda m, a: m.linalg.cholesky(a), np.stack([np.eye(3), -np.eye(3)]).astype(np.float32)),
        (lambda m, a: m.linalg.cholesky(a), np.array([[1.0, 2.0], [2.0, 1.0]], np.float32)),
        (lambda m, a: m.linalg.matrix_power(a, -1), singular),
    ]
    for fn, a in cases:
        with pytest.raises(torch.linalg.LinAlgError) as t:
            fn(torch, torch.from_numpy(a))
        with pytest.raises(ember.linalg.LinAlgError) as e:
            fn(ember, ember.from_numpy(a))
        assert str(e.value) == str(t.value)


def test_ex_variants_report_info():
    inv, info = ember.linalg.inv_ex(ember.zeros(2, 2))
    assert info.dtype is ember.int32 and info.item() == 1
    L, info = ember.linalg.cholesky_ex(ember.from_numpy(np.stack([np.eye(2), -np.eye(2)])))
    np.testing.assert_array_equal(info.numpy(), [0, 1])
    L, info = ember.linalg.cholesky_ex(ember.eye(2) * 4)
    assert info.item() == 0 and np.allclose(L.numpy(), 2 * np.eye(2))
    with pytest.raises(ember.linalg.LinAlgError):
        ember.linalg.inv_ex(ember.zeros(2, 2), check_errors=True)


@pytest.mark.parametrize("fn, arrays", [
    (lambda m, a: m.linalg.inv(a), [rand((2, 3))]),
    (lambda m, a: m.linalg.inv(a), [rand((3,))]),
    (lambda m, a: m.linalg.inv(a), [rand((2, 2), "int64")]),
    (lambda m, a: m.linalg.inv(a.half()), [rand((2, 2))]),
    (lambda m, a: m.linalg.det(a), [rand((2, 3))]),
    (lambda m, a: m.linalg.det(a), [rand((2, 2), "int64")]),
    (lambda m, a: m.linalg.slogdet(a), [rand((3,))]),
    (lambda m, a, b: m.linalg.solve(a, b), [rand((2, 2)), rand((3,))]),
    (lambda m, a, b: m.linalg.solve(a, b), [rand((2, 2)), rand((3, 1))]),
    (lambda m, a, b: m.linalg.solve(a, b), [rand((2, 2)), rand((2,), "float64")]),
    (lambda m, a, b: m.linalg.solve(a, b), [rand((3, 2, 2)), rand((3, 3))]),
    (lambda m, a, b: m.linalg.solve(a, b, left=False), [rand((2, 2)), rand((2, 3))]),
    (lambda m, a: m.linalg.cholesky(a), [rand((2, 3))]),
    (lambda m, a: m.linalg.cholesky(a), [rand((2, 2), "int64")]),
    (lambda m, a: m.linalg.eigh(a), [rand((2, 3))]),
    (lambda m, a: m.linalg.eigh(a, UPLO="X"), [rand((2, 2))]),
    (lambda m, a: m.linalg.qr(a), [rand((3,))]),
    (lambda m, a: m.linalg.qr(a, mode="foo"), [rand((3, 3))]),
    (lambda m, a: m.linalg.qr(a), [rand((2, 2), "int64")]),
    (lambda m, a: m.linalg.svd(a), [rand((3,))]),
    (lambda m, a: m.linalg.matrix_power(a, 2), [rand((2, 3))]),
    (lambda m, a: m.linalg.matrix_power(a, 2.0), [rand((2, 2))]),
    (lambda m, a: m.linalg.matrix_power(a, 2), [rand((2,))]),
    (lambda m, a: m.linalg.matrix_power(a, -1), [rand((2, 2), "int64")]),
    (lambda m, a: m.linalg.norm(a, ord="foo"), [rand((3, 3))]),
    (lambda m, a: m.linalg.norm(a, ord="fro"), [rand((3,))]),
    (lambda m, a: m.linalg.norm(a, ord=2), [rand((2, 3, 3))]),
    (lambda m, a: m.linalg.vector_norm(a), [rand((3,), "int64")]),
    (lambda m, a: m.linalg.vector_norm(a, ord="fro"), [rand((3,))]),
    (lambda m, a: m.linalg.vector_norm(a, dim=2), [rand((2, 3))]),
    (lambda m, a: m.linalg.vector_norm(a, dim=(0, 0)), [rand((2, 3))]),
    (lambda m, a: m.linalg.vector_norm(a, ord=math.inf), [rand((0,))]),
    (lambda m, a: m.linalg.vector_norm(a, ord=-1), [rand((0,))]),
    (lambda m, a: m.linalg.vector_norm(a, dtype=m.float32), [rand((3,), "float64")]),
    (lambda m, a: m.linalg.matrix_norm(a), [rand((3,))]),
    (lambda m, a: m.linalg.matrix_norm(a, ord=3), [rand((3, 3))]),
    (lambda m, a: m.linalg.matrix_norm(a, dim=(0, 0)), [rand((2, 3))]),
    (lambda m, a: m.linalg.matrix_norm(a, dim=(0, 1, 2)), [rand((2, 3, 4))]),
    (lambda m, a: m.norm(a), [rand((3,), "int64")]),
])
def test_errors_match_torch(fn, arrays):
    same_error(fn, arrays)


def test_error_messages():
    with pytest.raises(RuntimeError, match="linalg.inv: A must be batches of square matrices, but "
                                           "they are 2 by 3 matrices"):
        ember.linalg.inv(ember.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"linalg.solve: Incompatible shapes of A and B for the "
                                           r"equation AX = B \(2x2 and 3x1\)"):
        ember.linalg.solve(ember.eye(2), ember.zeros(3))
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order 3 not supported."):
        ember.linalg.matrix_norm(ember.eye(2), 3)
