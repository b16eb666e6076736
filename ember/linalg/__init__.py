"""``ember.linalg``, as ``torch.linalg``: norms, inverses, determinants, solvers and
factorizations, with PyTorch's gradients and errors (``LinAlgError`` for singular or
non-positive-definite input). The implementations live in ``ember/ops/linalg.py``; the few
functions defined here differ from the top-level ones of the same name (``ember.norm``,
``ember.svd``...) only in their signature or return type.
"""

from __future__ import annotations

from ember import return_types
from ember.ops.linalg import (
    LinAlgError,
    _qr,
    _slogdet,
    _svd,
    cholesky_ex,
    det,
    eigh,
    eigvalsh,
    inv,
    inv_ex,
    linalg_cholesky,
    linalg_cross,
    linalg_norm,
    matmul,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    solve,
    solve_ex,
    svdvals,
    vecdot,
    vector_norm,
)

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "inv_ex", "det", "slogdet",
           "solve", "solve_ex", "cholesky", "cholesky_ex", "qr", "eigh", "eigvalsh", "svd",
           "svdvals", "pinv", "matrix_power", "matrix_rank", "matmul", "multi_dot", "vecdot",
           "cross", "diagonal"]


def norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):
    """A vector norm (over one dim, or of a 1-D input) or a matrix norm (over two dims, or of a 2-D
    input given ``ord``); without ``ord`` and ``dim``, the 2-norm of all elements."""
    return linalg_norm(A, ord, dim, keepdim, out=out, dtype=dtype)


def slogdet(A, *, out=None):
    """``(sign, logabsdet)`` of the determinant."""
    return return_types.linalg_slogdet(_slogdet(A, "linalg.slogdet"))


def cholesky(A, *, upper=False, out=None):
    """The lower Cholesky factor ``L`` (``A = L L^T``), or ``L^T`` when ``upper``;
    ``LinAlgError`` when ``A`` is not positive-definite."""
    return linalg_cholesky(A, upper=upper, out=out)


def qr(A, mode="reduced", *, out=None):
    """``(Q, R)`` with ``A = QR``: ``mode`` 'reduced' (default), 'complete', or 'r' (R only,
    Q empty)."""
    return return_types.linalg_qr(_qr(A, mode, "linalg.qr"))


def svd(A, full_matrices=True, *, driver=None, out=None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, ``S`` descending."""
    return return_types.linalg_svd(_svd(A, full_matrices, "linalg.svd"))


def cross(input, other, *, dim=-1, out=None):
    """The cross product of 3-vectors along ``dim`` (the last by default)."""
    result = linalg_cross(input, other, dim)
    if out is not None:
        from ember.ops.arithmetic import handle_out

        return handle_out(result, out, "linalg.cross")
    return result


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonal of each matrix (a view), over the last two dims by default."""
    return A.diagonal(offset, dim1, dim2)
