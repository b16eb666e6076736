"""``F.linear`` (a fused matmul + bias primitive) and ``F.bilinear``."""

# ruff: noqa: A001, A002 - torch's argument names (``input``) are part of the API

from __future__ import annotations

import math

from ember._legacy_types import c_type_name, scalar_type_name
from ember._tensor import Tensor
from ember.autograd.function import Primitive
from ember.autograd.grad_mode import _state
from ember.backend.threads import matmul

__all__ = ["linear", "bilinear"]


class Linear(Primitive):
    """``x @ w.T + b`` in one op (fused for speed: one GEMM, the bias added in place)."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        if x.ndim == 0 or w.ndim == 0:
            raise RuntimeError("both arguments to linear need to be at least 1D, but they are "
                               f"{x.ndim}D and {w.ndim}D")
        n_in = w.shape[-1]
        if x.shape[-1] != n_in:
            rows = math.prod(x.shape[:-1])
            mat2 = f"{w.shape[1]}x{w.shape[0]}" if w.ndim == 2 else f"{w.shape[0]}x1"
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} "
                               f"and {mat2})")
        # torch's wording: addmm's (bias first) with a bias, matmul's without
        if b is not None and b.dtype != w.dtype:
            raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                               f"{scalar_type_name(b.dtype)} and {scalar_type_name(w.dtype)}")
        if x.dtype != w.dtype:
            if b is not None:
                raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                                   f"{scalar_type_name(x.dtype)} and {scalar_type_name(w.dtype)}")
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{c_type_name(x.dtype)} != {c_type_name(w.dtype)}")
        ctx.save_for_backward(x, w)
        xp = ctx.xp
        if w.ndim == 1:
            out = x @ w
        elif x.ndim > 2 and x.flags.c_contiguous:
            # one GEMM over all leading dimensions instead of a batched matmul
            out = matmul(xp, x.reshape(-1, n_in), w.T).reshape(x.shape[:-1] + (w.shape[0],))
        else:
            out = matmul(xp, x, w.T)
        if b is not None:
            if out.ndim == 0:
                out = out + b
            else:
                if b.ndim > out.ndim or (b.ndim and b.shape[-1] not in (1, out.shape[-1])):
                    raise RuntimeError(
                        f"The expanded size of the tensor ({out.shape[-1]}) must match the "
                        f"existing size ({b.shape[-1]}) at non-singleton dimension "
                        f"{out.ndim - 1}.  Target sizes: {list(out.shape)}.  Tensor sizes: "
                        f"{list(b.shape)}")
                out += b  # out is this op's own fresh array
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if w.ndim == 1 or _state.enabled:
            # create_graph (or the rare vector weight): differentiable Tensor ops
            gx = gw = None
            if w.ndim == 1:
                gu = g.unsqueeze(-1)
                gx = gu * w if need_x else None
                gw = (gu * x).reshape(-1, w.shape[0]).sum(0) if need_w else None
            else:
                gx = g.matmul(w) if need_x else None
                if need_w:
                    g2 = g.reshape(-1, w.shape[0])
                    gw = g2.t().matmul(x.reshape(-1, w.shape[1]))
            return gx, gw, g
        # the usual case: straight on the arrays, no graph to record
        ga, xa, wa = g._data, x._data, w._data
        dev = ctx.device
        g2 = ga.reshape(-1, wa.shape[0])
        xp = ctx.xp
        gx = Tensor._make(matmul(xp, ga, wa), dev) if need_x else None
        gw = Tensor._make(matmul(xp, g2.T, xa.reshape(-1, wa.shape[1])), dev) if need_w else None
        gb = Tensor._make(g2.sum(0), dev) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``.

    Shape: input ``(*, in_features)``, weight ``(out_features, in_features)``, output
    ``(*, out_features)``.
    """
    return Linear.apply(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """``y_k = x1^T A_k x2 + b_k``: input1 ``(*, in1)``, input2 ``(*, in2)``, weight
    ``(out, in1, in2)``."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, but got "
                           f"{weight.dim()}D")
    out_f, in1, in2 = weight.shape
    if input1.shape[-1] != in1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {in1}")
    if input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {in2}")
    lead = input1.shape[:-1]
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # (N, in1) @ (in1, out * in2) -> (N, out, in2), then contract in2 with x2
    t = x1.matmul(weight.permute(1, 0, 2).reshape(in1, out_f * in2)).reshape(-1, out_f, in2)
    y = t.matmul(x2.unsqueeze(-1)).squeeze(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(tuple(lead) + (out_f,))
