"""Convolution and pooling kernels on arrays: im2col/col2im, the GEMMs, pooling windows.

Every function takes ``xp``, the array module (NumPy, or CuPy later), and works on arrays, not
Tensors. Layouts are PyTorch's: ``x`` is (N, C, *spatial), a convolution weight (O, C/groups,
*kernel). Spatial arguments are tuples with one entry per spatial dimension; ``pads`` is
``((lo, hi), ...)`` so that asymmetric padding (``padding='same'`` with even kernels) needs no
extra copy.

How the convolution is computed (measured on a 2-core AVX-512 CPU against torch's oneDNN, see
benchmarks/conv.py): the batch is cut into chunks whose im2col work-space stays near
``_CHUNK_BYTES`` (cache-resident, and below glibc's 32 MiB mmap threshold, so no page faults on
every call); each chunk's windows are copied once from a strided view into a column matrix and
multiplied with one batched GEMM (OpenBLAS already uses both cores). Large outputs use the
"batched" layout (N, K, P) whose GEMM writes (N, O, P) = NCHW directly; small outputs (P < _P_MIN,
the deep layers of VGG) use the "K-major" layout (K, N*P): one wide GEMM instead of N thin ones.
The input gradient is W^T @ grad followed by col2im (one strided add per kernel offset); the weight
gradient is one GEMM per chunk with the batch folded into the reduction dimension.
"""

from __future__ import annotations

import itertools
import math

__all__ = ["out_size", "pad", "windows", "conv_forward", "conv_input_grad", "conv_weight_grad",
           "col2im"]

_CHUNK_BYTES = 8 << 20
_P_MIN = 64


def out_size(size: int, k: int, s: int, lo: int, hi: int, d: int) -> int:
    """Number of windows of a convolution or pooling along one dimension."""
    return (size + lo + hi - d * (k - 1) - 1) // s + 1


def pad(xp, x, pads, value=0):
    """``x`` with its last ``len(pads)`` dimensions padded by ``value`` (``x`` if no padding)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    lead = x.ndim - len(pads)
    shape = x.shape[:lead] + tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[lead:], pads))
    out = xp.full(shape, value, dtype=x.dtype) if value != 0 else xp.zeros(shape, dtype=x.dtype)
    out[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(x.shape[lead:], pads))] = x
    return out


def windows(xp, x, kernel, stride, dilation, out):
    """A read-only view (N, C, *out, *kernel) of every window of ``x`` (already padded)."""
    nd = len(kernel)
    st = x.strides
    shape = x.shape[:2] + tuple(out) + tuple(kernel)
    strides = st[:2] + tuple(st[2 + i] * stride[i] for i in range(nd)) + tuple(
        st[2 + i] * dilation[i] for i in range(nd))
    return xp.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def _chunks(n: int, per_sample: int):
    """Batch slices whose work-space (``per_sample`` bytes per sample) is about _CHUNK_BYTES."""
    step = max(1, min(n, _CHUNK_BYTES // max(per_sample, 1)))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _im2col(xp, x, kernel, stride, pads, dilation, out, kmajor):
    """Columns of ``x``: (N, C, *kernel, *out) or, K-major, (C, *kernel, N, *out); contiguous."""
    nd = len(kernel)
    v = windows(xp, pad(xp, x, pads), kernel, stride, dilation, out)
    ks, os_ = tuple(range(2 + nd, 2 + 2 * nd)), tuple(range(2, 2 + nd))
    order = (1,) + ks + (0,) + os_ if kmajor else (0, 1) + ks + os_
    return xp.ascontiguousarray(v.transpose(order))


def _unit(kernel, stride, pads, dilation) -> bool:
    """A 1x1 convolution without stride or padding: the input is its own column matrix."""
    return all(k == 1 for k in kernel) and all(s == 1 for s in stride) and not any(
        lo or hi for lo, hi in pads)


def conv_forward(xp, x, w, stride, pads, dilation, groups, out=None):
    """``y = conv(x, w)`` (no bias): (N, O, *out); ``out`` defaults to every whole window."""
    N, C = x.shape[:2]
    O, Cg = w.shape[:2]
    kernel = w.shape[2:]
    if out is None:
        out = tuple(out_size(x.shape[2 + i], k, stride[i], *pads[i], dilation[i])
                    for i, k in enumerate(kernel))
    P, K, G = math.prod(out), math.prod(kernel), groups
    wm = w.reshape(G, O // G, Cg * K)
    y = xp.empty((N, O) + out, dtype=x.dtype)
    if N == 0 or O == 0:
        return y
    if _unit(kernel, stride, pads, dilation):
        xp.matmul(wm, x.reshape(N, G, Cg, P), out=y.reshape(N, G, O // G, P))
        return y
    kmajor = P < _P_MIN
    for sl in _chunks(N, C * K * P * x.itemsize):
        n = sl.stop - sl.start
        cols = _im2col(xp, x[sl], kernel, stride, pads, dilation, out, kmajor)
        if kmajor:  # one wide GEMM, then (G, O/G, n, P) -> (n, O, P)
            yk = xp.matmul(wm, cols.reshape(G, Cg * K, n * P))
            y[sl] = yk.reshape((O, n) + out).swapaxes(0, 1)
        else:
            xp.matmul(wm, cols.reshape(n, G, Cg * K, P), out=y[sl].reshape(n, G, O // G, P))
    return y


def col2im(xp, cols, buf, stride, dilation, out):
    """Add ``cols`` (A, B, *kernel, *out) into ``buf`` (A, B, *padded_spatial), window by window."""
    nd = len(out)
    kernel = cols.shape[2:2 + nd]
    for offs in itertools.product(*(range(k) for k in kernel)):
        dst = (slice(None), slice(None)) + tuple(
            slice(o * dilation[i], o * dilation[i] + stride[i] * (out[i] - 1) + 1, stride[i])
            for i, o in enumerate(offs))
        buf[dst] += cols[(slice(None), slice(None)) + offs]
    return buf


def conv_input_grad(xp, g, w, in_spatial, stride, pads, dilation, groups):
    """The gradient of ``conv(x, w)`` with respect to ``x`` of spatial size ``in_spatial``.

    This is also the transposed convolution of ``g`` by ``w``.
    """
    N, O = g.shape[:2]
    Cg = w.shape[1]
    kernel, out = w.shape[2:], g.shape[2:]
    G, K, P = groups, math.prod(w.shape[2:]), math.prod(g.shape[2:])
    C = Cg * G
    gx = xp.empty((N, C) + tuple(in_spatial), dtype=g.dtype)
    if N == 0 or C == 0:
        return gx
    wt = w.reshape(G, O // G, Cg * K).swapaxes(1, 2)
    if _unit(kernel, stride, pads, dilation):
        xp.matmul(wt, g.reshape(N, G, O // G, P), out=gx.reshape(N, G, Cg, P))
        return gx
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(in_spatial, pads))
    inner = (Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(in_spatial, pads))
    kmajor = P < _P_MIN
    for sl in _chunks(N, C * K * P * g.itemsize):
        n = sl.stop - sl.start
        buf = xp.zeros((n, C) + padded, dtype=g.dtype)
        if kmajor:
            g2 = xp.ascontiguousarray(g[sl].reshape(n, G, O // G, P).transpose(1, 2, 0, 3))
            cols = xp.matmul(wt, g2.reshape(G, O // G, n * P)).reshape((C,) + kernel + (n,) + out)
            col2im(xp, _kmajor_as_batched(cols, len(out)), buf, stride, dilation, out)
        else:
            cols = xp.matmul(wt, g[sl].reshape(n, G, O // G, P))
            col2im(xp, cols.reshape((n, C) + kernel + out), buf, stride, dilation, out)
        gx[sl] = buf[inner]
    return gx


def _kmajor_as_batched(cols, nd):
    """A (C, *kernel, N, *out) array viewed as (N, C, *kernel, *out)."""
    order = (1 + nd, 0) + tuple(range(1, 1 + nd)) + tuple(range(2 + nd, 2 + 2 * nd))
    return cols.transpose(order)


def conv_weight_grad(xp, x, g, kernel, stride, pads, dilation, groups):
    """The gradient of ``conv(x, w)`` with respect to ``w`` of spatial size ``kernel``."""
    N, C = x.shape[:2]
    O = g.shape[1]
    out = g.shape[2:]
    G, K, P = groups, math.prod(kernel), math.prod(out)
    Cg = C // G
    gw = xp.zeros((G, O // G, Cg * K), dtype=x.dtype)
    if N == 0 or O == 0:
        return gw.reshape((O, Cg) + tuple(kernel))
    for sl in _chunks(N, C * K * P * x.itemsize):
        n = sl.stop - sl.start
        g2 = xp.ascontiguousarray(g[sl].reshape(n, G, O // G, P).transpose(1, 2, 0, 3))
        if _unit(kernel, stride, pads, dilation):
            cols = xp.ascontiguousarray(x[sl].reshape(n, G, Cg, P).transpose(1, 2, 0, 3))
        else:
            cols = _im2col(xp, x[sl], kernel, stride, pads, dilation, out, True)
        gw += xp.matmul(g2.reshape(G, O // G, n * P),
                        cols.reshape(G, Cg * K, n * P).swapaxes(1, 2))
    return gw.reshape((O, Cg) + tuple(kernel))
