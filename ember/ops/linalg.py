"""Linear algebra: matrix products (``matmul`` and its relatives, ``einsum``, ``tensordot``) and the
factorizations and norms behind ``ember.linalg`` (inv, det, solve, cholesky, qr, eigh, svd, ...).

Products go to NumPy's ``matmul``/``einsum`` (BLAS); float32 stays float32, and half-precision
types are multiplied in float32 and rounded back, as PyTorch's CPU kernels accumulate. ``Matmul``
takes two transpose flags so that its backward (``g @ b^T``, ``a^T @ g``) is itself a ``Matmul``
on the same arrays, with no transposed copies and no extra nodes. Gradients of the factorizations
are PyTorch's formulas written with Tensor ops, so they can be differentiated again.
"""

from __future__ import annotations

import math
import string
import warnings

import numpy as np

from ember import _tensor, return_types
from ember import dtypes as _dt
from ember._legacy_types import c_type_name, scalar_type_name
from ember.autograd.function import Primitive
from ember.backend import CPU, array_module, threads, to_device
from ember.ops.arithmetic import handle_out
from ember.ops.reduction import LinalgVectorNorm, normalize_dims
from ember.ops.shape import cat, wrap_dim

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv",
           "addbmm", "baddbmm", "addr", "einsum", "tensordot", "kron", "cross", "chain_matmul",
           "det", "logdet", "slogdet", "inverse", "pinverse", "matrix_power", "cholesky", "qr",
           "svd", "dist"]


class LinAlgError(RuntimeError):
    """A linear-algebra routine failed on its input (a singular or non positive-definite matrix),
    as ``torch.linalg.LinAlgError``."""


# --- dtype names and errors as PyTorch writes them ---------------------------------------------



def _dtype_of(a) -> _dt.dtype:
    d = a.dtype
    return d if isinstance(d, _dt.dtype) else _dt._FROM_NP[d]


def _name(a) -> str:
    """``Float``, ``Long``... for an array or tensor."""
    return scalar_type_name(a.dtype)


def _is_half(a) -> bool:
    return a.dtype.itemsize == 2 and a.dtype.kind in "fV"  # float16, bfloat16


def _expand_error(shape, target) -> RuntimeError:
    """PyTorch's error for an ``input`` of addmm & co. that does not broadcast to the product."""
    lead = len(target) - len(shape)
    for i in range(len(target) - 1, -1, -1):
        s = shape[i - lead] if i >= lead else 1
        if s != 1 and s != target[i] or lead < 0:
            break
    if lead < 0:
        return RuntimeError(f"expand: the number of sizes provided ({len(target)}) must be greater "
                            f"or equal to the number of dimensions in the tensor ({len(shape)})")
    return RuntimeError(f"The expanded size of the tensor ({target[i]}) must match the existing "
                        f"size ({shape[i - lead]}) at non-singleton dimension {i}.  Target sizes: "
                        f"{list(target)}.  Tensor sizes: {list(shape)}")


def _expands_to(shape, target) -> bool:
    lead = len(target) - len(shape)
    return lead >= 0 and all(s in (1, t) for s, t in zip(shape, target[lead:]))


def _broadcast_error(sa, sb) -> RuntimeError:
    n = max(len(sa), len(sb))
    a, b = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    i = next(i for i in range(n - 1, -1, -1) if a[i] != b[i] and a[i] != 1 and b[i] != 1)
    return RuntimeError(f"The size of tensor a ({a[i]}) must match the size of tensor b ({b[i]}) "
                        f"at non-singleton dimension {i}")


# --- matmul --------------------------------------------------------------------------------------

def _check_matmul_dtypes(a, b) -> None:
    """PyTorch's refusals: operands of two dtypes (no promotion in matmul), and bool operands."""
    if a.dtype == b.dtype and a.dtype.kind != "b":
        return
    one_a, one_b = a.ndim == 1, b.ndim == 1
    if a.dtype != b.dtype:
        if one_a and one_b:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{_name(a)} and {_name(b)}")
        if one_b:
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_name(b)}, "
                               f"{_name(a)}, and {_name(b)}")
        if b.ndim == 2 and a.ndim >= 1:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{c_type_name(a.dtype)} != {c_type_name(b.dtype)}")
        raise RuntimeError(f"expected scalar type {_name(a)} but found {_name(b)}")
    kernel = ("dot" if one_a and one_b else "addmv_impl_cpu" if one_b
              else "addmm_impl_cpu_" if b.ndim == 2 else "bmm")
    raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _matmul_shape_error(a, b) -> RuntimeError:
    """PyTorch's error for operands whose shapes do not multiply, worded per matmul case."""
    if a.ndim == 0 or b.ndim == 0:
        return RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                            f"{a.ndim}D and {b.ndim}D")
    if a.ndim == 1 and b.ndim == 1:
        n, m = a.shape[0], b.shape[0]
        return RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to "
                            f"have the same number of elements, but got {n} and {m} elements "
                            "respectively")
    rows = math.prod(a.shape[:-1])
    if b.ndim == 1:
        return RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{a.shape[-1]}), vec "
                            f"({b.shape[0]})")
    if b.ndim == 2:
        return RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{a.shape[-1]} and "
                            f"{b.shape[0]}x{b.shape[1]})")
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        return _broadcast_error(a.shape[:-2], b.shape[:-2])
    nb = math.prod(batch)
    return RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                        f"[{nb}, {a.shape[-1]}] but got: [{nb}, {b.shape[-2]}].")


def _mm(xp, a, b):
    """``a @ b`` (checked): one BLAS call when ``b`` is a matrix and ``a`` a stack of them."""
    if a.dtype != b.dtype or a.dtype.kind == "b":
        _check_matmul_dtypes(a, b)
    half = a.dtype if _is_half(a) else None
    if half is not None:
        a, b = a.astype(np.float32), b.astype(np.float32)
    try:
        if b.ndim == 2 and a.ndim > 2:
            # A (..., n, k) @ (k, m) is one (N, k) @ (k, m) product, not a loop of small ones.
            out = threads.matmul(xp, a.reshape(-1, a.shape[-1]), b).reshape(
                a.shape[:-1] + b.shape[-1:])
        else:
            out = threads.matmul(xp, a, b)
    except ValueError:
        raise _matmul_shape_error(a, b) from None
    return out if half is None else out.astype(half)


def _matmul_grads(needs, a, b, g, ta=False, tb=False):
    """Gradients of ``op(a) @ op(b)`` (``op`` transposes when its flag is set) w.r.t. a and b,
    for every matmul case: 1-D operands are promoted (and the gradient demoted), batch dims
    broadcast (the engine sums them back)."""
    need_a, need_b = needs
    if a._data.dtype.kind == "c":  # complex: the gradients use conjugates (g @ b^H, a^H @ g)
        a, b = a.conj(), b.conj()
    if a.ndim == 1 and b.ndim == 1:
        return (g * b if need_a else None), (g * a if need_b else None)
    a_vec, b_vec = a.ndim == 1, b.ndim == 1
    if a_vec:
        a = a.reshape(1, a.shape[0])
        g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])
    if b_vec:
        b = b.reshape(b.shape[0], 1)
        g = g.reshape(g.shape + (1,))
    ga = gb = None
    if need_a:
        ga = Matmul.apply(b, g, ta=tb, tb=True) if ta else Matmul.apply(g, b, tb=not tb)
        if a_vec:
            ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])
    if need_b:
        if b.ndim == 2 and a.ndim > 2 and not ta:
            # Sum over the batch inside one product: (N, k)^T @ (N, m) instead of a batch of them.
            a2 = a.reshape(-1, a.shape[-1])
            g2 = g.reshape(-1, g.shape[-1])
            gb = Matmul.apply(g2, a2, ta=True) if tb else Matmul.apply(a2, g2, ta=True)
        else:
            gb = Matmul.apply(g, a, ta=True, tb=ta) if tb else Matmul.apply(a, g, ta=not ta)
        if b_vec:
            gb = gb.reshape(gb.shape[:-1])
    return ga, gb


_MATMUL_NODES = {(1, 1): "DotBackward0", (2, 1): "MvBackward0", (1, 2): "SqueezeBackward4",
                 (2, 2): "MmBackward0"}
_ADDMM_NODES = {(2, 1): "AddmvBackward0", (3, 3): "BaddbmmBackward0"}


class Matmul(Primitive):
    """``op(a) @ op(b)`` for every case of ``torch.matmul``; ``ta``/``tb`` transpose the last two
    dims of an operand (used by the backward, so gradients are products of the saved arrays)."""

    @staticmethod
    def forward(ctx, a, b, ta=False, tb=False):
        ctx.save_for_backward(a, b)
        ctx.ta, ctx.tb, ctx.nd = ta, tb, (a.ndim, b.ndim)
        if ta:
            a = a.swapaxes(-1, -2)
        if tb:
            b = b.swapaxes(-1, -2)
        return _mm(ctx.xp, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _matmul_grads(ctx.needs_input_grad, a, b, g, ctx.ta, ctx.tb)

    def name(self) -> str:
        """The node torch's matmul records for these operand ranks (``MmBackward0``...)."""
        return _MATMUL_NODES.get(self.nd, "UnsafeViewBackward0")


class Addmm(Primitive):
    """``beta * input + alpha * (a @ b)`` fused (one output array, no intermediate nodes); used by
    addmm, addmv, baddbmm and addbmm once their operands' ranks are checked."""

    @staticmethod
    def forward(ctx, c, a, b, beta=1, alpha=1):
        if c.dtype != b.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got {_name(c)} and "
                               f"{_name(b)}")
        ctx.save_for_backward(a, b)
        ctx.beta, ctx.alpha, ctx.nd = beta, alpha, (a.ndim, b.ndim)
        out = _mm(ctx.xp, a, b)
        if c.shape != out.shape and not _expands_to(c.shape, out.shape):
            raise _expand_error(c.shape, out.shape)
        if alpha != 1:
            ctx.xp.multiply(out, alpha, out=out, casting="unsafe")
        if beta != 0:
            ctx.xp.add(out, c if beta == 1 else c * beta, out=out, casting="unsafe")
        return out

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_c, need_a, need_b = ctx.needs_input_grad
        gc = (g if ctx.beta == 1 else g * ctx.beta) if need_c else None
        gab = g if ctx.alpha == 1 else g * ctx.alpha
        ga, gb = _matmul_grads((need_a, need_b), a, b, gab) if need_a or need_b else (None, None)
        return gc, ga, gb

    def name(self) -> str:
        return _ADDMM_NODES.get(self.nd, "AddmmBackward0")


def matmul(input, other, *, out=None):
    """The matrix product of two tensors, with all of ``torch.matmul``'s cases: 1-D operands are
    promoted to matrices (and the added dim removed), batch dims broadcast."""
    if out is None:
        return Matmul.apply(input, other)
    return handle_out(Matmul.apply(input, other), out, "matmul")


def mm(input, mat2, *, out=None):
    """The product of two matrices (2-D only; see ``matmul`` for the general case)."""
    if input.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return handle_out(Matmul.apply(input, mat2), out, "mm")


def _check_bmm(b1, b2) -> None:
    if b1.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b2.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    if b2.shape[0] != b1.shape[0] or b2.shape[1] != b1.shape[2]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{b1.shape[0]}, {b1.shape[2]}] but got: [{b2.shape[0]}, "
                           f"{b2.shape[1]}].")


def bmm(input, mat2, *, out=None):
    """Batched matrix product of two 3-D tensors with the same batch size (no broadcasting)."""
    _check_bmm(input, mat2)
    return handle_out(Matmul.apply(input, mat2), out, "bmm")


def mv(input, vec, *, out=None):
    """The product of a matrix and a vector."""
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    return handle_out(Matmul.apply(input, vec), out, "mv")


def _check_vectors(a, b) -> None:
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")


def dot(input, tensor, *, out=None):
    """The dot product of two 1-D tensors of the same dtype."""
    _check_vectors(input, tensor)
    return handle_out(Matmul.apply(input, tensor), out, "dot")


def vdot(input, other, *, out=None):
    """The dot product with the first vector conjugated."""
    _check_vectors(input, other)
    a = input.conj() if input.is_complex() else input
    return handle_out(Matmul.apply(a, other), out, "vdot")


def inner(input, other, *, out=None):
    """Sum of products over the last dims: shape ``input.shape[:-1] + other.shape[:-1]``."""
    if input.ndim == 0 or other.ndim == 0:
        return handle_out(input * other, out, "inner")
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input.shape)} and {list(other.shape)}")
    return handle_out(tensordot(input, other, dims=([-1], [-1])), out, "inner")


def outer(input, vec2, *, out=None):
    """The outer product of two vectors (dtypes promote, as a product does)."""
    if input.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {input.ndim}-D")
    if vec2.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    return handle_out(input.reshape(input.shape[0], 1) * vec2, out, "outer")


ger = outer


def _check_addmm(mat1, mat2) -> None:
    if mat1.ndim != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {mat1.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix, got {mat2.ndim}-D tensor")


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)``; with ``beta=0`` ``input`` is ignored (nan too)."""
    _check_addmm(mat1, mat2)
    return handle_out(Addmm.apply(input, mat1, mat2, beta=beta, alpha=alpha), out, "addmm")


def _check_addmv(input, mat, vec) -> None:
    if mat.ndim != 2 or vec.ndim != 1 or input.ndim > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, "
                           f"{vec.ndim}")
    if input.ndim == 1 and input.shape[0] not in (1, mat.shape[0]) or mat.shape[1] != vec.shape[0]:
        n = input.shape[0] if input.ndim else 1
        raise RuntimeError(f"size mismatch, got input ({n}), mat ({mat.shape[0]}x{mat.shape[1]}), "
                           f"vec ({vec.shape[0]})")


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat @ vec)``."""
    _check_addmv(input, mat, vec)
    return handle_out(Addmm.apply(input, mat, vec, beta=beta, alpha=alpha), out, "addmv")


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    _check_bmm(batch1, batch2)
    return handle_out(Addmm.apply(input, batch1, batch2, beta=beta, alpha=alpha), out, "baddbmm")


def _flatten_batches(batch1, batch2):
    """``sum_b batch1[b] @ batch2[b]`` is one product: (n, B*k) @ (B*k, m)."""
    nb, n, k = batch1.shape
    return (batch1.transpose(0, 1).reshape(n, nb * k), batch2.reshape(nb * k, batch2.shape[2]))


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``."""
    _check_bmm(batch1, batch2)
    m1, m2 = _flatten_batches(batch1, batch2)
    return handle_out(Addmm.apply(input, m1, m2, beta=beta, alpha=alpha), out, "addbmm")


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.ndim}-D")
    prod = outer(vec1, vec2)
    if input.shape != prod.shape and not _expands_to(tuple(input.shape), tuple(prod.shape)):
        raise _expand_error(tuple(input.shape), tuple(prod.shape))
    result = prod * alpha if alpha != 1 else prod
    if beta != 0:
        result = result + (input if beta == 1 else input * beta)
    return handle_out(result, out, "addr")


def chain_matmul(*matrices, out=None):
    """The product of 2-D tensors, left to right (deprecated in torch for ``linalg.multi_dot``)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    result = matrices[0]
    for m in matrices[1:]:
        result = mm(result, m)
    return handle_out(result, out, "chain_matmul")


# --- einsum and tensordot ------------------------------------------------------------------------

_LETTERS = string.ascii_letters
_PATHS: dict = {}  # (equation, shapes) -> contraction order: np.einsum_path is slow to recompute


def _einsum_arrays(xp, equation, arrays):
    if len(arrays) < 3 or xp is not np:
        return xp.einsum(equation, *arrays, optimize=len(arrays) == 2)
    key = (equation, tuple(a.shape for a in arrays))
    path = _PATHS.get(key)
    if path is None:
        if len(_PATHS) > 4096:
            _PATHS.clear()
        path = _PATHS[key] = np.einsum_path(equation, *arrays, optimize="greedy")[0]
    return np.einsum(equation, *arrays, optimize=path)


class Einsum(Primitive):
    """``einsum`` on an explicit equation of single letters (no ellipsis); the backward of each
    operand is another einsum: the gradient with the other operands, plus ones for labels only
    that operand had, and identity factors to put repeated labels back on their diagonal."""

    @staticmethod
    def forward(ctx, *arrays, inputs, output, sizes):
        ctx.save_for_backward(*arrays)
        ctx.inputs, ctx.output, ctx.sizes = inputs, output, sizes
        half = arrays[0].dtype if _is_half(arrays[0]) else None
        if half is not None:
            arrays = tuple(a.astype(np.float32) for a in arrays)
        out = _einsum_arrays(ctx.xp, ",".join(inputs) + "->" + output, arrays)
        if len(arrays) == 1 and out.base is not None:
            out = out.copy()  # a transpose or diagonal would alias the input
        return out if half is None else out.astype(half)

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        return tuple(_einsum_grad(i, g, operands, ctx.inputs, ctx.output, ctx.sizes) if need
                     else None for i, need in enumerate(ctx.needs_input_grad))


def _einsum_grad(i, g, operands, inputs, output, sizes):
    target = inputs[i]
    others = [j for j in range(len(inputs)) if j != i]
    elsewhere = set(output).union(*(inputs[j] for j in others))
    fresh = (c for c in _LETTERS if c not in sizes)
    renamed, deltas, seen = [], [], set()
    for c in target:
        if c in seen:  # a repeated label: the gradient lives on the diagonal of (c, f)
            f = next(fresh)
            renamed.append(f)
            deltas.append(c + f)
        else:
            seen.add(c)
            renamed.append(c)
    repeated = {d[0] for d in deltas}
    ones = [c for c in dict.fromkeys(target) if c not in elsewhere and c not in repeated]
    dt, dev = g._data.dtype, g.device
    xp = array_module(dev)
    consts = ([_tensor.Tensor._make(xp.ones(sizes[c], dtype=dt), dev) for c in ones]
              + [_tensor.Tensor._make(xp.eye(sizes[d[0]], dtype=dt), dev) for d in deltas])
    subs = [output] + [inputs[j] for j in others] + ones + deltas
    new_sizes = dict(sizes)
    new_sizes.update({d[1]: sizes[d[0]] for d in deltas})
    rest = [operands[j] for j in others]
    if dt.kind == "c":  # complex: the gradient contracts with the conjugated operands
        rest = [o.conj() for o in rest]
    return Einsum.apply(g, *rest, *consts, inputs=tuple(subs), output="".join(renamed),
                        sizes=new_sizes)


def _sublist_equation(args):
    """``einsum(op0, [0, 1], op1, [1, 2], [0, 2])`` -> ``"AB,BC->AC"`` and the operands."""
    def term(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, int) and 0 <= s < 52:
                out.append(_LETTERS[s + 26] if s < 26 else _LETTERS[s - 26])
            else:
                raise RuntimeError(f"einsum(): expected subscript to be within the range [0, 52) "
                                   f"but got {s}")
        return "".join(out)

    operands, terms = list(args[0::2]), [term(s) for s in args[1::2]]
    if len(args) % 2:
        operands.pop()
        return ",".join(terms) + "->" + term(args[-1]), operands
    return ",".join(terms), operands


def einsum(*args):
    """Sums of products over labelled dims: ``einsum("ij,jk->ik", a, b)``, with ellipsis,
    implicit outputs, repeated labels (diagonals), size-1 broadcasting, and the sublist form."""
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand, or "
                        "at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    inputs, output, sizes = _parse_einsum(equation.replace(" ", ""), operands)
    d = operands[0].dtype
    for o in operands[1:]:
        if o.dtype is not d:
            raise RuntimeError(f"expected scalar type {scalar_type_name(d)} but found "
                               f"{scalar_type_name(o.dtype)}")
    return Einsum.apply(*operands, inputs=inputs, output=output, sizes=sizes)


def _parse_einsum(eq, operands):
    """The equation with ellipses spelled out as letters: (input terms, output term, sizes)."""
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    for i, ch in enumerate(eq):
        if not (ch in _LETTERS or ch in ".,->"):
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation "
                               "string, subscripts must be in [a-zA-Z]")
    if len(terms) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    used = set(c for c in eq if c in _LETTERS)
    free = [c for c in _LETTERS if c not in used]
    ell = 0
    for k, (t, op) in enumerate(zip(terms, operands)):
        if "..." in t:
            named = len(t) - 3
            if named > op.ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                                   f"is more than the number of dimensions ({op.ndim}) for "
                                   f"operand {k}")
            ell = max(ell, op.ndim - named)
        elif len(t) != op.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(t)}) "
                               f"does not match the number of dimensions ({op.ndim}) for operand "
                               f"{k} and no ellipsis was given")
    ell_letters = "".join(free[:ell])
    inputs, sizes = [], {}
    for k, (t, op) in enumerate(zip(terms, operands)):
        if "..." in t:
            n = op.ndim - (len(t) - 3)
            t = t.replace("...", ell_letters[ell - n:] if n else "")
        inputs.append(t)
        seen = {}
        for c, s in zip(t, op.shape):
            if c in seen and seen[c] != s:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the "
                                   f"sizes don't match, {seen[c]} != {s}")
            seen[c] = s
            prev = sizes.get(c)
            if prev is not None and prev != s and 1 not in (prev, s):
                raise RuntimeError(f"einsum(): subscript {c} has size {s} for operand {k} which "
                                   f"does not broadcast with previously seen size {prev}")
            sizes[c] = s if prev is None or prev == 1 else prev
    if arrow:
        for c in rhs.replace("...", ""):
            if c not in sizes:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
            if rhs.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the "
                                   "output")
        output = rhs.replace("...", ell_letters)
    else:
        counts = {}
        for t in inputs:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        output = ell_letters + "".join(sorted(c for c, n in counts.items()
                                              if n == 1 and c not in ell_letters))
    return tuple(inputs), output, sizes


def tensordot(a, b, dims=2, out=None):
    """Sum of products over ``dims``: the last ``dims`` dims of ``a`` with the first of ``b``, or
    two lists of dims to contract."""
    if isinstance(dims, _tensor.Tensor):
        dims = dims.item() if dims.numel() == 1 else dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(-dims, 0)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    if a.dtype is not b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    ta, tb = list(_LETTERS[:a.ndim]), list(_LETTERS[a.ndim:a.ndim + b.ndim])
    for x, y in zip(da, db):
        i, j = wrap_dim(x, a.ndim), wrap_dim(y, b.ndim)
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[i]} in dim {x} and second has size {b.shape[j]} in dim "
                               f"{y}")
        tb[j] = ta[i]
    contracted = set(ta[wrap_dim(x, a.ndim)] for x in da)
    output = "".join(c for c in ta if c not in contracted) + "".join(c for c in tb
                                                                      if c not in contracted)
    sizes = dict(zip(ta, a.shape))
    sizes.update(zip(tb, b.shape))
    result = Einsum.apply(a, b, inputs=("".join(ta), "".join(tb)), output=output, sizes=sizes)
    return handle_out(result, out, "tensordot")


def kron(input, other, *, out=None):
    """The Kronecker product (block ``(i, j)`` is ``input[i, j] * other``)."""
    n = max(input.ndim, other.ndim)
    sa = (1,) * (n - input.ndim) + tuple(input.shape)
    sb = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(tuple(x for s in sa for x in (s, 1)))
    b = other.reshape(tuple(x for s in sb for x in (1, s)))
    return handle_out((a * b).reshape(tuple(x * y for x, y in zip(sa, sb))), out, "kron")


class LinalgCross(Primitive):
    @staticmethod
    def forward(ctx, a, b, dim):
        ctx.save_for_backward(a, b)
        ctx.dim = dim
        return ctx.xp.cross(a, b, axis=dim)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = LinalgCross.apply(b, g, dim=ctx.dim) if ctx.needs_input_grad[0] else None
        gb = LinalgCross.apply(g, a, dim=ctx.dim) if ctx.needs_input_grad[1] else None
        return ga, gb


def linalg_cross(input, other, dim=-1, name="linalg.cross"):
    """The cross product of 3-vectors along ``dim`` (inputs broadcast; same dtype required)."""
    if input.ndim != other.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {_name(input)} but found {_name(other)}")
    d = wrap_dim(dim, input.ndim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"{name}: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    return LinalgCross.apply(input, other, dim=d - input.ndim)


def cross(input, other, dim=None, *, out=None):
    """The cross product along ``dim`` (by default, with a deprecation warning as in torch, the
    first dim of size 3)."""
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in a "
                      "future release.", UserWarning, stacklevel=2)
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        if 3 not in shape:
            raise RuntimeError("no dimension of size 3 in input")
        dim = shape.index(3)
    return handle_out(linalg_cross(input, other, dim, "linalg.cross"), out, "cross")


# --- checks shared by the factorizations ---------------------------------------------------------

def _check_float(name, a) -> None:
    d = a.dtype
    if not (d.is_floating_point or d.is_complex):
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got "
                           f"{scalar_type_name(d)}")


def _check_square_shape(name, a) -> None:
    if a.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{name}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")


def _check_square(name, a) -> None:
    """At least 2-D, square, float32/64 or complex (PyTorch's wording for each)."""
    _check_square_shape(name, a)
    _check_float(name, a)
    if a.dtype.itemsize == 2:
        raise RuntimeError(f"{name}: Low precision dtypes not supported. Got "
                           f"{scalar_type_name(a.dtype)}")


def _batch_prefix(a, i) -> str:
    return f"(Batch element {i}): " if a.ndim > 2 else ""


def _first_zero_pivot(m) -> int:
    """LAPACK getrf's ``info`` for one matrix: the 1-based index of the first exactly zero pivot of
    an LU factorization with partial pivoting, or 0 (only run to word an error)."""
    a = np.array(m, dtype=np.complex128 if np.iscomplexobj(m) else np.float64)
    n = a.shape[0]
    for k in range(n):
        p = k + int(np.argmax(np.abs(a[k:, k])))
        if a[p, k] == 0:
            return k + 1
        a[[k, p]] = a[[p, k]]
        a[k + 1:, k:] -= np.outer(a[k + 1:, k] / a[k, k], a[k, k:])
    return 0


def _singular_error(name, a, message) -> LinAlgError:
    """``name: (Batch element i): <message>`` for the first singular matrix of the batch."""
    mats = _host(a).reshape((-1,) + a.shape[-2:])
    for i, m in enumerate(mats):
        info = _first_zero_pivot(m)
        if info:
            return LinAlgError(f"{name}: {_batch_prefix(a, i)}" + message.format(info=info))
    return LinAlgError(f"{name}: " + message.format(info=a.shape[-1]))


_INV_SINGULAR = ("The diagonal element {info} is zero, the inversion could not be completed "
                 "because the input matrix is singular.")


def _host(a):
    """An array on the CPU (for the few computations done there: wording errors, cofactors)."""
    return to_device(a, CPU)


def _const(ref, array):
    """``array`` (computed from saved values) as a constant tensor on ``ref``'s device."""
    if isinstance(array, np.generic):
        array = np.asarray(array)
    return _tensor.Tensor._make(to_device(array, ref.device), ref.device)


def _eye(n, like):
    """An ``n x n`` identity constant with ``like``'s dtype and device."""
    return _const(like, array_module(like.device).eye(n, dtype=like._data.dtype))


# --- inverse, determinants, solve ----------------------------------------------------------------

class LinalgInvEx(Primitive):
    @staticmethod
    def forward(ctx, a):
        try:
            out = ctx.xp.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise _singular_error("linalg.inv", a, _INV_SINGULAR) from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors  # d(A^-1) = -A^-1 dA A^-1, so gA = -A^-T g A^-T
        return -Matmul.apply(Matmul.apply(x, g, ta=True), x, tb=True)


def inv(A, *, out=None):
    """The inverse of a square matrix (or of each in a batch); ``LinAlgError`` when singular."""
    _check_square("linalg.inv", A)
    return handle_out(LinalgInvEx.apply(A), out, "linalg.inv")


def inverse(input, *, out=None):
    """``torch.inverse``: the same as ``linalg.inv``."""
    return inv(input, out=out)


def inv_ex(A, *, check_errors=False, out=None):
    """``(inverse, info)``: ``info`` is 0, or the LAPACK code of a singular matrix (not raised
    unless ``check_errors``)."""
    _check_square("linalg.inv_ex", A)
    try:
        result = LinalgInvEx.apply(A)
        info = np.zeros(A.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        mats = _host(A._data).reshape((-1,) + tuple(A.shape[-2:]))
        info = np.array([_first_zero_pivot(m) for m in mats], np.int32).reshape(A.shape[:-2])
        with np.errstate(all="ignore"):
            result = _const(A, np.linalg.pinv(mats).reshape(A.shape) * np.inf)
    return return_types.linalg_inv_ex(result, _const(A, info))


def _cofactor_t(a):
    """``adj(A)^T`` of each matrix via the SVD (valid when A is singular, unlike det * A^-T)."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    prods = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return (u * prods[..., None, :]) @ vh * sign[..., None, None]


class LinalgDet(Primitive):
    @staticmethod
    def forward(ctx, a):
        out = ctx.xp.asarray(ctx.xp.linalg.det(a))  # an array, so the saved output is linked
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, d = ctx.saved_tensors
        scale = (g * d).reshape(g.shape + (1, 1))
        if (d._data != 0).all():
            return scale * LinalgInvEx.apply(a).mT  # d det = det * tr(A^-1 dA)
        # Singular: the cofactor matrix, a constant here (second derivatives are not available).
        return g.reshape(g.shape + (1, 1)) * _const(a, _cofactor_t(_host(a._data)))


def det(A, *, out=None):
    """The determinant of a square matrix (or of each in a batch)."""
    _check_square("linalg.det", A)
    return handle_out(LinalgDet.apply(A), out, "linalg.det")


class LinalgSlogdet(Primitive):
    @staticmethod
    def forward(ctx, a):
        sign, logabs = ctx.xp.linalg.slogdet(a)
        ctx.save_for_backward(a)
        return ctx.xp.asarray(sign), ctx.xp.asarray(logabs)

    @staticmethod
    def backward(ctx, g_sign, g_logabs):
        (a,) = ctx.saved_tensors
        if g_logabs is None:
            return None
        g = g_logabs.reshape(g_logabs.shape + (1, 1))
        try:
            return g * LinalgInvEx.apply(a).mT  # d log|det A| = tr(A^-1 dA)
        except LinAlgError:  # singular: the gradient is infinite
            with np.errstate(divide="ignore", invalid="ignore"):
                return g * _const(a, _cofactor_t(_host(a._data)) / 0.0)


def _slogdet(A, name):
    _check_square(name, A)
    return LinalgSlogdet.apply(A)


def slogdet(input, *, out=None):
    """``(sign, logabsdet)`` of the determinant, as ``torch.slogdet``."""
    return return_types.slogdet(_slogdet(input, "linalg.slogdet"))


def logdet(input):
    """``log(det(input))``: nan for a negative determinant, -inf for a singular matrix."""
    sign, logabs = _slogdet(input, "logdet")
    neg = _host(sign._data) < 0
    if neg.any():  # nan there, and (as torch) no gradient through those entries
        dt = logabs._data.dtype
        return (logabs * _const(logabs, (~neg).astype(dt))
                + _const(logabs, np.where(neg, np.nan, 0).astype(dt)))
    return logabs


class LinalgSolveEx(Primitive):
    """``X`` with ``op(A) X = B`` (``op`` transposes when ``ta``); B is a (batch of) matrix."""

    @staticmethod
    def forward(ctx, a, b, ta=False):
        ctx.ta = ta
        try:
            out = ctx.xp.linalg.solve(a.swapaxes(-1, -2) if ta else a, b)
        except np.linalg.LinAlgError:
            msg = "The solver failed because the input matrix is singular."
            mats = _host(a).reshape((-1,) + a.shape[-2:])
            i = next((i for i, m in enumerate(mats) if _first_zero_pivot(m)), 0)
            raise LinAlgError(f"torch.linalg.solve: {_batch_prefix(a, i)}{msg}") from None
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = LinalgSolveEx.apply(a, g, ta=not ctx.ta)  # op(A)^-T g
        ga = None
        if ctx.needs_input_grad[0]:
            ga = -(Matmul.apply(x, gb, tb=True) if ctx.ta else Matmul.apply(gb, x, tb=True))
        return ga, (gb if ctx.needs_input_grad[1] else None)


def solve(A, B, *, left=True, out=None):
    """``X`` with ``A X = B`` (or ``X A = B`` when ``left=False``); B may be a (batch of) vector."""
    _check_square("linalg.solve", A)
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of "
                           f"type {_name(A)} and B of type {_name(B)} instead")
    n = A.shape[-1]
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if vector:
        if B.shape[-1] != n or not left:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                               f"{'AX' if left else 'XA'} = B ({n}x{n} and {B.shape[-1]}x1)")
        x = LinalgSolveEx.apply(A, B.reshape(B.shape + (1,)))
        return handle_out(x.reshape(x.shape[:-1]), out, "linalg.solve")
    if B.ndim < 2 or (B.shape[-2] if left else B.shape[-1]) != n:
        shape = f"{B.shape[-2]}x{B.shape[-1]}" if B.ndim >= 2 else f"{B.shape[-1]}x1"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                           f"{'AX' if left else 'XA'} = B ({n}x{n} and {shape})")
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise _broadcast_error(A.shape[:-2], B.shape[:-2]) from None
    if left:
        return handle_out(LinalgSolveEx.apply(A, B), out, "linalg.solve")
    return handle_out(LinalgSolveEx.apply(A, B.mT, ta=True).mT, out, "linalg.solve")  # X A = B


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """``(result, info)`` of ``solve``; errors are raised regardless (ember has no partial
    results to return)."""
    x = solve(A, B, left=left)
    return return_types.linalg_solve_ex(x, _const(x, np.zeros(A.shape[:-2], np.int32)))


def matrix_power(A, n, *, out=None):
    """``A`` multiplied by itself ``n`` times (``n < 0``: the inverse's power; 0: identity)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    _check_square_shape("linalg.matrix_power", A)
    return handle_out(_matrix_power(A, int(n)), out, "linalg.matrix_power")


def _matrix_power(A, n):
    if n == 0:  # the identity, still connected to A (with a zero gradient) as in torch
        return A * 0 + _eye(A.shape[-1], A)
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:  # binary powering: log2(n) products, each differentiable
        if n & 1:
            result = base if result is None else Matmul.apply(result, base)
        n >>= 1
        if n:
            base = Matmul.apply(base, base)
    return result


# --- Cholesky, QR, eigh, SVD ----------------------------------------------------------------------

def _not_pd_order(m) -> int:
    """LAPACK potrf's ``info`` for one matrix: the order of the first leading minor that is not
    positive-definite, or 0 (only run to word an error)."""
    m = np.array(m, dtype=np.complex128 if np.iscomplexobj(m) else np.float64)
    L = np.zeros_like(m)
    for j in range(m.shape[0]):
        d = (m[j, j] - L[j, :j] @ L[j, :j].conj()).real
        if not d > 0:
            return j + 1
        L[j, j] = np.sqrt(d)
        L[j + 1:, j] = (m[j + 1:, j] - L[j + 1:, :j] @ L[j, :j].conj()) / L[j, j]
    return 0


def _not_pd_error(name, a) -> LinAlgError:
    mats = _host(a).reshape((-1,) + a.shape[-2:])
    for i, m in enumerate(mats):
        order = _not_pd_order(m)
        if order:
            return LinAlgError(
                f"{name}: {_batch_prefix(a, i)}The factorization could not be completed because "
                f"the input is not positive-definite (the leading minor of order {order} is not "
                "positive-definite).")
    return LinAlgError(f"{name}: The factorization could not be completed because the input is "
                       "not positive-definite.")


class LinalgCholeskyEx(Primitive):
    """Lower-triangular ``L`` with ``A = L L^T`` (only A's lower triangle is read)."""

    @staticmethod
    def forward(ctx, a):
        try:
            out = ctx.xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise _not_pd_error("linalg.cholesky", a) from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        # PyTorch's formula: gA = L^-T phi(L^T gL) L^-1, symmetrized, phi = tril, diagonal halved.
        (L,) = ctx.saved_tensors
        n = L.shape[-1]
        dt = L._data.dtype
        half_tril = np.tril(np.ones((n, n), dtype=dt)) - 0.5 * np.eye(n, dtype=dt)
        p = Matmul.apply(L, g.tril(), ta=True) * _const(L, half_tril)
        s = LinalgSolveEx.apply(L, p, ta=True)  # L^-T phi
        s = LinalgSolveEx.apply(L, s.mT, ta=True).mT  # (L^-T phi) L^-1
        return (s + s.mT) * 0.5


def cholesky(input, upper=False, *, out=None):
    """``torch.cholesky`` (deprecated in torch, with this warning, for ``linalg.cholesky``)."""
    warnings.warn("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be "
                  "removed in a future PyTorch release.\nL = torch.cholesky(A)\nshould be "
                  "replaced with\nL = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, "
                  "upper=True)\nshould be replaced with\nU = torch.linalg.cholesky(A).mH\nThis "
                  "transform will produce equivalent results for all valid (symmetric positive "
                  "definite) inputs.", UserWarning, stacklevel=2)
    return linalg_cholesky(input, upper=upper, out=out)


def linalg_cholesky(A, *, upper=False, out=None):
    """The Cholesky factor of a symmetric positive-definite matrix: lower ``L`` with
    ``A = L L^T``, or ``U = L^T`` when ``upper``; ``LinAlgError`` if not positive-definite."""
    _check_square("linalg.cholesky", A)
    L = LinalgCholeskyEx.apply(A)
    return handle_out(L.mT if upper else L, out, "linalg.cholesky")


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """``(L, info)``: ``info`` is the order of the first leading minor that is not
    positive-definite (0 when it succeeded)."""
    try:
        L = linalg_cholesky(A, upper=upper)
        info = np.zeros(A.shape[:-2], dtype=np.int32)
    except LinAlgError:
        if check_errors:
            raise
        mats = _host(A._data).reshape((-1,) + tuple(A.shape[-2:]))
        info = np.array([_not_pd_order(m) for m in mats], np.int32).reshape(A.shape[:-2])
        L = _const(A, np.full(A.shape, np.nan, dtype=A._data.dtype))
    return return_types.linalg_cholesky_ex(L, _const(L, info))


def _copyltu(m):
    """The symmetric matrix with ``m``'s lower triangle: tril(m, -1) + tril(m, -1)^T + diag(m)."""
    low = m.tril(-1)
    return low + low.mT + m * _eye(m.shape[-1], m)


def _qr_backward_tall(gQ, gR, Q, R):
    """``A = QR`` with Q m x n, R n x n (m >= n): gA = (gQ + Q copyltu(M)) R^-T,
    M = R gR^T - gQ^T Q."""
    M = None
    if gR is not None:
        M = Matmul.apply(R, gR, tb=True)
    if gQ is not None:
        qq = Matmul.apply(gQ, Q, ta=True)
        M = -qq if M is None else M - qq
    b = Matmul.apply(Q, _copyltu(M))
    if gQ is not None:
        b = b + gQ
    return LinalgSolveEx.apply(R, b.mT).mT  # b R^-T


class LinalgQr(Primitive):
    @staticmethod
    def forward(ctx, a, mode):
        ctx.mode = mode
        if mode == "r":
            r = ctx.xp.linalg.qr(a, mode="r")
            return ctx.xp.empty((0,), dtype=a.dtype), r
        q, r = ctx.xp.linalg.qr(a, mode=mode)
        ctx.save_for_backward(a, q, r)
        return q, r

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you are "
                               "going to differentiate through linalg.qr.")
        a, Q, R = ctx.saved_tensors
        m, n = a.shape[-2:]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        if m >= n:
            return _qr_backward_tall(gQ, gR, Q, R)
        # Wide: A = [X | Y], R = [U | V] with X = QU, Y = QV; V's gradient moves to Y and Q.
        Y = a.narrow(-1, m, n - m)
        U = R.narrow(-1, 0, m)
        gU = gV = None
        if gR is not None:
            gU, gV = gR.narrow(-1, 0, m), gR.narrow(-1, m, n - m)
        gQ_x = gQ
        if gV is not None:
            extra = Matmul.apply(Y, gV, tb=True)
            gQ_x = extra if gQ_x is None else gQ_x + extra
        gX = _qr_backward_tall(gQ_x, gU, Q, U)
        gY = Matmul.apply(Q, gV) if gV is not None else Y * 0
        return cat([gX, gY], -1)


def _qr(A, mode, name):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' "
                           "(default), 'r', or 'complete'")
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    _check_float(name, A)
    return LinalgQr.apply(A, mode=mode)


def qr(input, some=True, *, out=None):
    """``torch.qr`` (deprecated in torch, with this warning, for ``linalg.qr``): ``some=False`` is
    mode 'complete'."""
    warnings.warn("torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a "
                  "future PyTorch release.\nThe boolean parameter 'some' has been replaced with a "
                  "string parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\n"
                  "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')", UserWarning,
                  stacklevel=2)
    return return_types.qr(_qr(input, "reduced" if some else "complete", "linalg.qr"))


class LinalgEigh(Primitive):
    """Eigenvalues (ascending) and orthonormal eigenvectors of a symmetric/Hermitian matrix."""

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = ctx.xp.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gL, gV):
        # PyTorch's formula: gA = V (skew(V^T gV) / E + diag(gL)) V^T, E_ij = L_j - L_i.
        L, V = ctx.saved_tensors
        inner = None
        if gV is not None:
            vg = Matmul.apply(V, gV, ta=True)
            eye = _eye(L.shape[-1], L)
            E = L.unsqueeze(-2) - L.unsqueeze(-1) + eye  # the diagonal of skew(.) is 0 anyway
            inner = (vg - vg.mT) * 0.5 / E
        if gL is not None:
            diag = gL.diag_embed()
            inner = diag if inner is None else inner + diag
        return Matmul.apply(Matmul.apply(V, inner), V, tb=True)


def _eigh(A, UPLO, name):
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _check_square(name, A)
    return LinalgEigh.apply(A, uplo=UPLO)


def eigh(A, UPLO="L", *, out=None):
    """``(eigenvalues, eigenvectors)`` of a symmetric (Hermitian) matrix, values ascending; only
    the ``UPLO`` triangle is read."""
    return return_types.linalg_eigh(_eigh(A, UPLO, "linalg.eigh"))


def eigvalsh(A, UPLO="L", *, out=None):
    """The eigenvalues (ascending) of a symmetric (Hermitian) matrix."""
    return handle_out(_eigh(A, UPLO, "linalg.eigvalsh")[0], out, "linalg.eigvalsh")


class LinalgSvd(Primitive):
    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = ctx.xp.linalg.svd(a, full_matrices=full_matrices)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        # PyTorch's svd_backward (real case), assuming distinct singular values.
        U, S, Vh = ctx.saved_tensors
        m, n = U.shape[-2], Vh.shape[-1]
        k = S.shape[-1]
        if U.shape[-1] != k:  # full_matrices: the extra columns do not affect A
            U = U.narrow(-1, 0, k)
            gU = gU.narrow(-1, 0, k) if gU is not None else None
        if Vh.shape[-2] != k:
            Vh = Vh.narrow(-2, 0, k)
            gVh = gVh.narrow(-2, 0, k) if gVh is not None else None
        if gU is None and gVh is None:
            if gS is None:
                return None
            return Matmul.apply(U * gS.unsqueeze(-2), Vh)
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _eye(k, S)
        if gU is not None:
            ugu = Matmul.apply(U, gU, ta=True)
            ugu = ugu - ugu.mT
        if gVh is not None:
            vgv = Matmul.apply(Vh, gVh, tb=True)
            vgv = vgv - vgv.mT
        if gU is not None and gVh is not None:
            inner = (ugu * S.unsqueeze(-2) + S.unsqueeze(-1) * vgv) / E
        elif gU is not None:
            inner = ugu * (S.unsqueeze(-2) / E)
        else:
            inner = S.unsqueeze(-1) * (vgv / E)
        if gS is not None:
            inner = inner + gS.diag_embed()
        if m > n and gU is not None:
            gA = Matmul.apply(U, inner)
            gus = gU / S.unsqueeze(-2)
            gA = gA + gus - Matmul.apply(U, Matmul.apply(U, gus, ta=True))
            return Matmul.apply(gA, Vh)
        if m < n and gVh is not None:
            gA = Matmul.apply(inner, Vh)
            sgv = gVh / S.unsqueeze(-1)
            gA = gA + sgv - Matmul.apply(Matmul.apply(sgv, Vh, tb=True), Vh)
            return Matmul.apply(U, gA)
        return Matmul.apply(U, Matmul.apply(inner, Vh))


def _svd(A, full_matrices, name):
    if A.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor A must have at least 2 dimensions.")
    _check_float(name, A)
    return LinalgSvd.apply(A, full_matrices=full_matrices)


def svd(input, some=True, compute_uv=True, *, out=None):
    """``torch.svd``: ``(U, S, V)`` with ``V`` (not its transpose); ``some=False`` gives full
    square ``U`` and ``V``; ``compute_uv=False`` gives zero-filled ``U`` and ``V``."""
    U, S, Vh = _svd(input, not some, "linalg.svd")
    if not compute_uv:
        return return_types.svd(U.detach() * 0, S, Vh.detach().mT * 0)
    return return_types.svd(U, S, Vh.mT)


def svdvals(A, *, out=None):
    """The singular values, descending."""
    if A.ndim < 2:
        raise RuntimeError("linalg.svd: The input tensor A must have at least 2 dimensions.")
    _check_float("linalg.svd", A)
    if not A.requires_grad:
        s = array_module(A.device).linalg.svd(A._data, compute_uv=False)
        return handle_out(_const(A, s), out, "linalg.svdvals")
    return handle_out(LinalgSvd.apply(A, full_matrices=False)[1], out, "linalg.svdvals")


class LinalgPinv(Primitive):
    """The pseudo-inverse (through the SVD, singular values below the tolerance dropped)."""

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        xp = ctx.xp
        u, s, vh = xp.linalg.svd(a, full_matrices=False, hermitian=hermitian)
        smax = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), s.dtype)
        tol = xp.maximum(atol, rtol * smax)
        keep = s > tol
        s_inv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(s.dtype)
        out = xp.matmul(vh.swapaxes(-1, -2).conj() * s_inv[..., None, :], u.swapaxes(-1, -2).conj())
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        # PyTorch's pinv_backward (real case).
        A, P = ctx.saved_tensors
        m, n = A.shape[-2:]
        gh = g.mT
        if m <= n:
            K = Matmul.apply(gh, P)
            KPh = Matmul.apply(K, P, tb=True)
            return (-Matmul.apply(P, K).mT + KPh - Matmul.apply(Matmul.apply(A, P), KPh)
                    + Matmul.apply(Matmul.apply(P, P, ta=True), gh - Matmul.apply(K, A)))
        K = Matmul.apply(P, gh)
        PhK = Matmul.apply(P, K, ta=True)
        return (-Matmul.apply(K, P).mT
                + Matmul.apply(Matmul.apply(gh - Matmul.apply(A, K), P), P, tb=True)
                + PhK - Matmul.apply(Matmul.apply(PhK, P), A))


def pinv(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The Moore-Penrose pseudo-inverse: singular values at or below ``max(atol, rtol * s_max)``
    are treated as zero (default ``rtol``: ``eps * max(m, n)`` when no tolerance is given)."""
    if A.ndim < 2:
        raise RuntimeError("linalg.pinv: The input tensor A must have at least 2 dimensions.")
    _check_float("linalg.pinv", A)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else (
            float(np.finfo(A._data.dtype).eps) * max(A.shape[-2:]))
    atol = 0.0 if atol is None else atol
    result = LinalgPinv.apply(A, atol=atol, rtol=rtol, hermitian=hermitian)
    return handle_out(result, out, "linalg.pinv")


def pinverse(input, rcond=1e-15):
    """``torch.pinverse``: ``linalg.pinv`` with a relative tolerance ``rcond``."""
    return pinv(input, rtol=rcond)


def matrix_rank(A, *, atol=None, rtol=None, hermitian=False, out=None):
    """The number of singular values above ``max(atol, rtol * s_max)`` (int64)."""
    s = _host(svdvals(A.detach())._data)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else (
            float(np.finfo(s.dtype).eps) * max(A.shape[-2:]))
    atol = 0.0 if atol is None else atol
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,), s.dtype)
    rank = (s > np.maximum(atol, rtol * smax)).sum(axis=-1).astype(np.int64)
    return handle_out(_const(A, np.asarray(rank)), out, "linalg.matrix_rank")


def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices; the first and last may be vectors."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    result = tensors[0]
    for t in tensors[1:]:
        result = Matmul.apply(result, t)
    return handle_out(result, out, "linalg.multi_dot")


def vecdot(x, y, *, dim=-1, out=None):
    """The dot product along ``dim`` (the first argument conjugated), broadcasting."""
    if x.is_complex():
        x = x.conj()
    return handle_out((x * y).sum(dim), out, "linalg.vecdot")


# --- norms ---------------------------------------------------------------------------------------

def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """``(sum |x|^ord)^(1/ord)`` over ``dim`` (all dims by default); ``ord`` may be inf, -inf or 0
    (the number of non-zeros)."""
    if isinstance(ord, str) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    _check_float("linalg.vector_norm", x)
    if dtype is not None:
        dtype = _dt.to_dtype(dtype)
        if not _dt.can_cast(x.dtype, dtype) or (x.dtype.itemsize > dtype.itemsize
                                                and x.dtype.is_complex == dtype.is_complex):
            raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({_name(x)}) should be "
                               f"convertible without narrowing to the specified dtype "
                               f"({scalar_type_name(dtype)})")
        x = x.to(dtype)
    dims = normalize_dims(None if dim is None or dim == () or dim == [] else dim, x.ndim)
    p = float(ord)
    if p < 0 or p == math.inf:
        if any(x.shape[d] == 0 for d in dims) or x.numel() == 0:
            shown = "inf" if p == math.inf else ("-inf" if p == -math.inf else f"{p:g}")
            raise RuntimeError(f"linalg.vector_norm cannot compute the {shown} norm on an empty "
                               "tensor because the operation does not have an identity")
    return handle_out(LinalgVectorNorm.apply(x, p=p, dim=dims, keepdim=keepdim), out,
                      "linalg.vector_norm")


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """A matrix norm over the two dims ``dim``: 'fro', 'nuc', or ord 1, -1, 2, -2, inf, -inf."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if ord not in _MATRIX_ORDS or isinstance(ord, bool):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    dim = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                           f"{' '.join(str(d) for d in dim)}")
    d0, d1 = (wrap_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    _check_float("linalg.matrix_norm", A)
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim, out=out)
    if ord in ("nuc", 2, -2):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        r = vector_norm(s, 1 if ord == "nuc" else (math.inf if ord == 2 else -math.inf), -1)
        if keepdim:
            for d in sorted((d0, d1)):
                r = r.unsqueeze(d)
        return handle_out(r, out, "linalg.matrix_norm")
    # ord 1: the largest column sum of |A| (sum over rows d0, max over d1); inf: rows and columns
    # swapped; -1 and -inf take the smallest.
    inner, outer_d = (d0, d1) if ord in (1, -1) else (d1, d0)
    sums = vector_norm(A, 1, inner, keepdim=True)
    r = vector_norm(sums, math.inf if ord > 0 else -math.inf, outer_d, keepdim=True)
    if not keepdim:
        r = r.reshape(tuple(s for i, s in enumerate(r.shape) if i not in (d0, d1)))
    return handle_out(r, out, "linalg.matrix_norm")


def linalg_norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):
    """``ember.linalg.norm``: a vector norm (1 dim, or a 1-D input) or a matrix norm (2 dims, or
    a 2-D input given ``ord``); without ``ord`` and ``dim`` the 2-norm of the flattened input."""
    if dim is not None:
        dim = (dim,) if isinstance(dim, int) else tuple(dim)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype, out=out)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype, out=out)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {A.ndim}D.")
        dim = tuple(range(A.ndim))
    if len(dim) == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, dim, keepdim, dtype=dtype, out=out)
    return matrix_norm(A, ord, dim, keepdim, dtype=dtype, out=out)


def dist(input, other, p=2):
    """The ``p``-norm of ``input - other`` (broadcast)."""
    return vector_norm(input - other, p)


# --- Tensor methods ------------------------------------------------------------------------------

class LinalgMethods:
    """Tensor methods of this family."""

    __slots__ = ()

    def matmul(self, other):
        return Matmul.apply(self, other)

    def __matmul__(self, other):
        return Matmul.apply(self, other)

    def __rmatmul__(self, other):
        return Matmul.apply(other, self)

    def mm(self, mat2):
        return mm(self, mat2)

    def bmm(self, mat2):
        return bmm(self, mat2)

    def mv(self, vec):
        return mv(self, vec)

    def dot(self, other):
        return dot(self, other)

    def vdot(self, other):
        return vdot(self, other)

    def inner(self, other):
        return inner(self, other)

    def outer(self, vec2):
        return outer(self, vec2)

    ger = outer

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        _check_addmm(mat1, mat2)
        return self._inplace(Addmm, mat1, mat2, beta=beta, alpha=alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addmv_(self, mat, vec, *, beta=1, alpha=1):
        _check_addmv(self, mat, vec)
        return self._inplace(Addmm, mat, vec, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        _check_bmm(batch1, batch2)
        return self._inplace(Addmm, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        _check_bmm(batch1, batch2)
        return self._inplace(Addmm, *_flatten_batches(batch1, batch2), beta=beta, alpha=alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def kron(self, other):
        return kron(self, other)

    def cross(self, other, dim=None):
        return cross(self, other, dim)

    def det(self):
        return det(self)

    def logdet(self):
        return logdet(self)

    def slogdet(self):
        return slogdet(self)

    def inverse(self):
        return inv(self)

    def pinverse(self, rcond=1e-15):
        return pinverse(self, rcond)

    def matrix_power(self, n):
        return matrix_power(self, n)

    def cholesky(self, upper=False):
        return cholesky(self, upper)

    def qr(self, some=True):
        return qr(self, some)

    def svd(self, some=True, compute_uv=True):
        return svd(self, some, compute_uv)

    def dist(self, other, p=2):
        return dist(self, other, p)
