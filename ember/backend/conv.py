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
           "col2im", "pool_pads", "max_pool", "flat_indices", "max_pool_scatter",
           "max_pool_gather", "avg_divisor", "window_sum", "window_sum_adjoint"]

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


# --- pooling -------------------------------------------------------------------------------------
# A pooling window is visited one kernel offset at a time: ``_offsets`` gives, per offset, the
# strided slices selecting that element of every window, so each step is one vectorised operation
# over the output (K steps in all) and nothing of window size is ever materialised.

def _offsets(kernel, stride, dilation, out):
    """Per kernel offset (row-major), the slices of a padded array picking it in every window."""
    return [(Ellipsis,) + tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                                for o, d, s, n in zip(offs, dilation, stride, out))
            for offs in itertools.product(*(range(k) for k in kernel))]


def pool_pads(in_spatial, kernel, stride, padding, dilation, out):
    """``((lo, hi), ...)`` covering every window, the last ones of ``ceil_mode`` included."""
    return tuple((p, max(p, (n - 1) * s + d * (k - 1) + 1 - size - p))
                 for size, k, s, p, d, n in zip(in_spatial, kernel, stride, padding, dilation, out))


def _lowest(xp, dtype):
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


def max_pool(xp, x, kernel, stride, pads, dilation, out, with_arg):
    """Window maxima (N, C, *out) and, if ``with_arg``, each window's argmax as a kernel offset.

    NaN wins, as in PyTorch (``maximum`` propagates it); among equal maxima the first offset wins.
    """
    xpad = pad(xp, x, pads, _lowest(xp, x.dtype))
    sl = _offsets(kernel, stride, dilation, out)
    y = xpad[sl[0]].copy()
    for s in sl[1:]:
        xp.maximum(y, xpad[s], out=y)
    if not with_arg:
        return y, None
    # The first maximal offset, found with byte-wide boolean arithmetic: ``where`` and masked
    # copies branch on a random mask and cost 5-50x more here.
    small = len(sl) < 256
    arg = xp.zeros(y.shape, dtype=xp.uint8 if small else xp.int32)
    found = xp.equal(xpad[sl[0]], y)
    hit = xp.empty(y.shape, dtype=bool)
    for o in range(1, len(sl)):
        xp.equal(xpad[sl[o]], y, out=hit)
        xp.greater(hit, found, out=hit)  # hit and not found
        if small:
            arg += hit.view(xp.uint8) * xp.uint8(o)
        else:
            arg += hit * o
        found |= hit
    if x.dtype.kind == "f" and xp.isnan(y).any():  # PyTorch keeps the last NaN of a window
        for o, s in enumerate(sl):
            arg[xp.isnan(xpad[s])] = o
    return y, arg


def flat_indices(xp, arg, kernel, stride, pads, dilation, in_spatial):
    """Kernel offsets ``arg`` as PyTorch's indices: positions in the flattened input plane."""
    nd = len(kernel)
    out = arg.shape[-nd:]
    offs = xp.asarray(list(itertools.product(*(range(k) for k in kernel))), dtype=xp.int64)
    idx = xp.zeros(arg.shape, dtype=xp.int64)
    for i in range(nd):
        pos = xp.arange(out[i], dtype=xp.int64) * stride[i] - pads[i][0]
        pos = pos.reshape((-1,) + (1,) * (nd - 1 - i)) + offs[:, i][arg] * dilation[i]
        idx *= in_spatial[i]
        idx += pos
    return idx


def _no_overlap(kernel, stride, dilation) -> bool:
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


def _crop(buf, in_spatial, pads):
    return buf[(Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(in_spatial, pads))]


def max_pool_scatter(xp, g, arg, kernel, stride, pads, dilation, in_spatial):
    """The adjoint of ``max_pool_gather``: each window's ``g`` sent to its argmax."""
    out = g.shape[2:]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(in_spatial, pads))
    gx = xp.zeros(g.shape[:2] + padded, dtype=g.dtype)
    mask = xp.empty(g.shape, dtype=bool)
    sl = _offsets(kernel, stride, dilation, out)
    if not xp.isfinite(g).all():  # masks by multiplication would spread 0 * inf = nan
        for o, s in enumerate(sl):
            gx[s] += xp.where(xp.equal(arg, o, out=mask), g, 0)
    elif _no_overlap(kernel, stride, dilation):  # every position in one window at most: write
        for o, s in enumerate(sl):
            xp.multiply(g, xp.equal(arg, o, out=mask), out=gx[s])
    else:
        for o, s in enumerate(sl):
            gx[s] += g * xp.equal(arg, o, out=mask)
    return xp.ascontiguousarray(_crop(gx, in_spatial, pads))


def max_pool_gather(xp, h, arg, kernel, stride, pads, dilation):
    """``h`` read at each window's argmax: (N, C, *arg.shape[2:])."""
    hpad = pad(xp, h, pads)
    y = xp.zeros(arg.shape, dtype=h.dtype)
    mask = xp.empty(arg.shape, dtype=bool)
    for o, s in enumerate(_offsets(kernel, stride, dilation, arg.shape[2:])):
        y += xp.where(xp.equal(arg, o, out=mask), hpad[s], 0)
    return y


def avg_divisor(xp, in_spatial, kernel, stride, padding, out, count_include_pad, dtype):
    """PyTorch's divisor of every average-pooling window, shaped to broadcast over (*out)."""
    div = None
    nd = len(kernel)
    for i in range(nd):
        start = xp.arange(out[i]) * stride[i] - padding[i]
        end = xp.minimum(start + kernel[i], in_spatial[i] + padding[i])
        if count_include_pad:
            n = end - start
        else:
            n = xp.minimum(end, in_spatial[i]) - xp.maximum(start, 0)
        n = n.reshape((-1,) + (1,) * (nd - 1 - i))
        div = n if div is None else div * n
    return div.astype(dtype)


def window_sum(xp, x, kernel, stride, pads, out):
    """The sum of every window (zero padding)."""
    xpad = pad(xp, x, pads)
    sl = _offsets(kernel, stride, (1,) * len(kernel), out)
    y = xpad[sl[0]].copy()
    for s in sl[1:]:
        y += xpad[s]
    return y


def window_sum_adjoint(xp, g, kernel, stride, pads, in_spatial):
    """The adjoint of ``window_sum``: ``g`` added back to every element of its window."""
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(in_spatial, pads))
    gx = xp.zeros(g.shape[:2] + padded, dtype=g.dtype)
    for s in _offsets(kernel, stride, (1,) * len(kernel), g.shape[2:]):
        gx[s] += g
    return xp.ascontiguousarray(_crop(gx, in_spatial, pads))
