"""Convolution and pooling kernels on arrays: im2col/col2im, the GEMMs, pooling windows.

Every function takes ``xp``, the array module (NumPy, or CuPy later), and works on arrays, not
Tensors. Layouts are PyTorch's: ``x`` is (N, C, *spatial), a convolution weight (O, C/groups,
*kernel). Spatial arguments are tuples with one entry per spatial dimension; ``pads`` is
``((lo, hi), ...)`` so that asymmetric padding (``padding='same'`` with even kernels) needs no
extra copy.

How a convolution is computed (each choice measured against torch's oneDNN on the tutorials'
layers, 2-core AVX-512 Zen 4 CPU; see benchmarks/conv.py): ``_Plan`` picks a column layout per
convolution (see its docstring), the batch is cut into chunks whose work-space stays near
``_CHUNK_BYTES`` (cache-resident: 2 MiB chunks ran the MNIST net's GEMMs 15% faster than 8 MiB
ones), and the chunks run on ember's threads, one per core, with BLAS single-threaded
(``ember.backend.threads``). The forward is one GEMM per chunk; the input gradient is W^T @ grad
then col2im (one add per kernel offset), or for stride 1 where col2im rows are short, a
convolution of the padded gradient with the flipped kernels; the weight gradient is one GEMM per
chunk with the batch folded into the reduction. Float32 stays float32 throughout.

OpenBLAS and OPENBLAS_CORETYPE: NumPy 2.4's bundled OpenBLAS 0.3.31 already selects its SkylakeX
kernels on this Zen 4 CPU (its ``get_corename`` says so; ``numpy.show_runtime()`` needs
threadpoolctl to show it). Forcing ``OPENBLAS_CORETYPE=Haswell`` or ``SkylakeX`` changed single-
threaded SGEMM speed on the conv shapes by under 5% either way (98-104 GFLOP/s per core: Zen 4
runs AVX-512 as two 256-bit halves, so AVX2 kernels reach the same peak), and the variable is
only read when NumPy loads the library, before ``import ember``. So ember sets nothing: a
process-wide environment change would surprise users and gain nothing measurable here.
"""

from __future__ import annotations

import itertools
import math

from ember.backend.threads import cuts, get_num_threads, parallel

__all__ = ["out_size", "pad", "windows", "conv_forward", "conv_input_grad", "conv_weight_grad",
           "col2im", "pool_pads", "max_pool", "flat_indices", "max_pool_scatter",
           "max_pool_gather", "avg_divisor", "window_sum", "window_sum_adjoint"]

_CHUNK_BYTES = 2 << 20
_WCHUNK_COLS = 1024
_P_MIN = 64
_FULL_MAX = 16.0
_TAPS_MIN_C = 64
_GW_PER_SAMPLE = 4
_PARALLEL_BYTES = 1 << 20


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


def _im2col(xp, x, kernel, stride, pads, dilation, out, kmajor):
    """Columns of ``x``: (N, C, *kernel, *out) or, K-major, (C, *kernel, N, *out); contiguous."""
    nd = len(kernel)
    v = windows(xp, pad(xp, x, pads), kernel, stride, dilation, out)
    ks, os_ = tuple(range(2 + nd, 2 + 2 * nd)), tuple(range(2, 2 + nd))
    order = (1,) + ks + (0,) + os_ if kmajor else (0, 1) + ks + os_
    return xp.ascontiguousarray(v.transpose(order))


class _Plan:
    """The geometry of one convolution and the strategy chosen for it.

    ``layout`` is "unit" (1x1, stride 1, no padding: the input is its own column matrix),
    "full" (stride 1: columns are whole rows of the flattened padded image, so im2col and
    col2im copy and add long contiguous runs; the GEMM also computes the few positions between
    rows' ends, which are thrown away), "batched" ((N, K, P) columns whose GEMM writes NCHW
    directly), "kmajor" ((K, N*P) columns: one wide GEMM when P is small) or "taps" (small
    padded images, as VGG's deep layers: one GEMM per kernel offset over just the positions
    where it meets the image, so the padding's zeros cost nothing; on 4x4 images with 3x3
    kernels that is 31% of the work, on 2x2 56%).
    """

    def __init__(self, x_shape, w_shape, stride, pads, dilation, groups, out=None):
        N, C = x_shape[:2]
        O, Cg = w_shape[:2]
        kernel = tuple(w_shape[2:])
        spatial = tuple(x_shape[2:])
        natural = tuple(out_size(n, k, s, lo, hi, d) for n, k, s, (lo, hi), d in
                        zip(spatial, kernel, stride, pads, dilation))
        if out is None:
            out = natural
        elif any(o > m for o, m in zip(out, natural)):  # windows past the end see zeros only
            pads = tuple((lo, hi + max(o - m, 0) * s) for (lo, hi), o, m, s in
                         zip(pads, out, natural, stride))
        self.N, self.C, self.O, self.Cg, self.G = N, C, O, Cg, groups
        self.kernel, self.stride, self.pads, self.dilation = kernel, stride, pads, dilation
        self.spatial, self.out = spatial, tuple(out)
        self.padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, pads))
        self.K, self.P = math.prod(kernel), math.prod(out)
        self.CK = Cg * self.K
        padded_any = any(lo or hi for lo, hi in pads)
        nd = len(kernel)
        if all(s == 1 for s in stride) and self.P:  # full-width geometry
            self.st = tuple(math.prod(self.padded[i + 1:]) for i in range(nd))
            self.L = sum((o - 1) * s for o, s in zip(out, self.st)) + 1
        if all(k == 1 for k in kernel) and all(s == 1 for s in stride) and not padded_any:
            self.layout = "unit"
        elif padded_any and self.P < _P_MIN and Cg >= _TAPS_MIN_C:
            self.layout = "taps"
            self.taps = self._taps()
        elif hasattr(self, "L") and (self.L / self.P - 1) * (O // groups) <= _FULL_MAX:
            # worth it while the extra GEMM work (L/P - 1, times the output channels that
            # share each column) stays below the strided copies' cost (measured)
            self.layout = "full"
            self.offs = [sum(o * d * s for o, d, s in zip(offs, dilation, self.st))
                         for offs in itertools.product(*(range(k) for k in kernel))]
        else:
            self.layout = "kmajor" if self.P < _P_MIN else "batched"
        cols_len = self.L if self.layout == "full" else self.P
        per_sample = C * self.K * cols_len * 4
        self.chunks = _split(N, per_sample, _CHUNK_BYTES)
        # the weight gradient adds one (O, C*K) partial product per chunk: chunks of at least
        # _WCHUNK_COLS columns keep those additions small next to the GEMMs
        self.wchunks = _split(N, per_sample, max(_CHUNK_BYTES,
                                                 per_sample * _WCHUNK_COLS // max(cols_len, 1)))

    def _taps(self):
        """Per kernel offset: the output and input boxes where it meets the image."""
        taps = []
        for t, offs in enumerate(itertools.product(*(range(k) for k in self.kernel))):
            outs, ins = [], []
            for o, n, size, s, (lo, _), d in zip(offs, self.out, self.spatial, self.stride,
                                                 self.pads, self.dilation):
                o0 = max(0, -(-(lo - o * d) // s))
                o1 = min(n, (size - 1 + lo - o * d) // s + 1)
                i0 = o0 * s - lo + o * d
                outs.append(slice(o0, o1))
                ins.append(slice(i0, i0 + (o1 - o0 - 1) * s + 1, s))
            if all(sl.stop > sl.start for sl in outs):
                taps.append((t, (slice(None), slice(None)) + tuple(outs),
                             (slice(None), slice(None)) + tuple(ins)))
        return taps

    def cols(self, xp, x, kmajor=False):
        """The column matrix of ``x`` (a chunk): (n, G, CK, P or L) or K-major (G, CK, n*P)."""
        n = x.shape[0]
        G, CK = self.G, self.CK
        if self.layout == "unit":
            if kmajor:
                return xp.ascontiguousarray(x.reshape(n, G, CK, self.P).transpose(1, 2, 0, 3)
                                            ).reshape(G, CK, n * self.P)
            return x.reshape(n, G, CK, self.P)
        if self.layout == "full":
            xpad = pad(xp, x, self.pads)
            isz = xpad.itemsize
            sn, sc = xpad.strides[:2]
            ks = tuple(d * s * isz for d, s in zip(self.dilation, self.st))
            if kmajor:
                v = xp.lib.stride_tricks.as_strided(
                    xpad, (self.C,) + self.kernel + (n, self.L), (sc,) + ks + (sn, isz),
                    writeable=False)
                return xp.ascontiguousarray(v).reshape(G, CK, n * self.L)
            v = xp.lib.stride_tricks.as_strided(
                xpad, (n, self.C) + self.kernel + (self.L,), (sn, sc) + ks + (isz,),
                writeable=False)
            return xp.ascontiguousarray(v).reshape(n, G, CK, self.L)
        c = _im2col(xp, x, self.kernel, self.stride, self.pads, self.dilation, self.out, kmajor)
        return c.reshape(G, CK, n * self.P) if kmajor else c.reshape(n, G, CK, self.P)

    def valid(self, xp, a):
        """The output positions of a full-width array (..., L): a view (..., *out)."""
        isz = a.itemsize
        return xp.lib.stride_tricks.as_strided(
            a, a.shape[:-1] + self.out, a.strides[:-1] + tuple(s * isz for s in self.st))

    def widen(self, xp, g):
        """A gradient (n, O, *out) as a full-width (n, O, L) array, zero between rows."""
        if self.layout != "full":
            return g.reshape(g.shape[:2] + (self.P,))
        gf = xp.zeros(g.shape[:2] + (self.L,), dtype=g.dtype)
        self.valid(xp, gf)[...] = g
        return gf


def _split(n: int, per_sample: int, target: int):
    """Batch slices of about ``target`` bytes of work-space each, of equal sizes, in a multiple
    of the number of cores (so that the cores get equal shares)."""
    count = max(1, -(-n * per_sample // target))
    workers = get_num_threads()
    if n >= workers and n * per_sample >= _PARALLEL_BYTES:  # handing work over costs ~0.1 ms
        count = -(-count // workers) * workers
    return cuts(n, min(count, max(n, 1)))


def _channels_first(xp, a):
    """(n, C, *spatial) -> contiguous (C, n, *spatial)."""
    return xp.ascontiguousarray(a.swapaxes(0, 1))


def _tap_weights(xp, w, pl):
    """The weight as one (G, O/G, C/G) matrix per kernel offset: (K, G, O/G, C/G)."""
    O = w.shape[0]
    wk = w.reshape(pl.G, O // pl.G, pl.Cg, pl.K).transpose(3, 0, 1, 2)
    return xp.ascontiguousarray(wk)


def conv_forward(xp, x, w, stride, pads, dilation, groups, out=None):
    """``y = conv(x, w)`` (no bias): (N, O, *out); ``out`` defaults to every whole window."""
    pl = _Plan(x.shape, w.shape, stride, pads, dilation, groups, out)
    N, O, G = pl.N, pl.O, pl.G
    y = xp.empty((N, O) + pl.out, dtype=x.dtype)
    if N == 0 or O == 0 or pl.P == 0:
        return y
    wm = w.reshape(G, O // G, pl.CK)
    if pl.layout == "unit":
        xp.matmul(wm, pl.cols(xp, x), out=y.reshape(N, G, O // G, pl.P))
        return y

    if pl.layout == "taps":
        wk = _tap_weights(xp, w, pl)

    def body(sl):
        n = sl.stop - sl.start
        if pl.layout == "taps":
            xk = _channels_first(xp, x[sl])
            yk = xp.zeros((O, n) + pl.out, dtype=x.dtype)
            for t, outs, ins in pl.taps:
                r = xp.matmul(wk[t], xp.ascontiguousarray(xk[ins]).reshape(G, pl.Cg, -1))
                yk[outs] += r.reshape((O, n) + yk[outs].shape[2:])
            y[sl] = yk.swapaxes(0, 1)
        elif pl.layout == "kmajor":  # one wide GEMM, then (O, n, P) -> (n, O, P)
            yk = xp.matmul(wm, pl.cols(xp, x[sl], kmajor=True))
            y[sl] = yk.reshape((O, n) + pl.out).swapaxes(0, 1)
        elif pl.layout == "full":
            yf = xp.matmul(wm, pl.cols(xp, x[sl]))
            y[sl] = pl.valid(xp, yf.reshape(n, O, pl.L))
        else:
            xp.matmul(wm, pl.cols(xp, x[sl]), out=y[sl].reshape(n, G, O // G, pl.P))

    parallel(xp, pl.chunks, body)
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
    G = groups
    kernel = w.shape[2:]
    pl = _Plan((N, w.shape[1] * G) + tuple(in_spatial), w.shape, stride, pads, dilation, G,
               g.shape[2:])
    # padding of g that makes exactly in_spatial windows (output_padding included)
    fpads = tuple((d * (k - 1) - lo, n - o + lo) for (lo, hi), d, k, n, o in
                  zip(pads, dilation, kernel, in_spatial, g.shape[2:]))
    if (pl.layout in ("batched", "kmajor") or (pl.layout == "full" and pl.P < _P_MIN)) and all(
            s == 1 for s in stride) and all(lo >= 0 and hi >= 0 for lo, hi in fpads):
        # Stride 1: the input gradient is the convolution of the gradient, padded by the
        # kernel's reach, with the flipped kernels: no col2im additions, which cost most where
        # rows are short (measured: 8x8 VGG layers 17% faster, 7x7 ones 22%; slower elsewhere).
        nd = len(kernel)
        wf = w[(Ellipsis,) + (slice(None, None, -1),) * nd]
        wf = wf.reshape((G, O // G, w.shape[1]) + tuple(kernel)).swapaxes(1, 2)
        wf = xp.ascontiguousarray(wf).reshape((w.shape[1] * G, O // G) + tuple(kernel))
        return conv_forward(xp, g, wf, stride, fpads, dilation, G, tuple(in_spatial))
    C, CK, P, nd = pl.C, pl.CK, pl.P, len(pl.kernel)
    gx = xp.empty((N, C) + tuple(in_spatial), dtype=g.dtype)
    if N == 0 or C == 0:
        return gx
    wt = w.reshape(G, O // G, CK).swapaxes(1, 2)
    if pl.layout == "unit":
        xp.matmul(wt, g.reshape(N, G, O // G, P), out=gx.reshape(N, G, pl.Cg, P))
        return gx
    inner = (Ellipsis,) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(in_spatial, pads))

    if pl.layout == "taps":
        wk = _tap_weights(xp, w, pl).swapaxes(2, 3)

    def body(sl):
        n = sl.stop - sl.start
        if pl.layout == "taps":
            gk = _channels_first(xp, g[sl])
            gxk = xp.zeros((C, n) + tuple(in_spatial), dtype=g.dtype)
            for t, outs, ins in pl.taps:
                r = xp.matmul(wk[t], xp.ascontiguousarray(gk[outs]).reshape(G, O // G, -1))
                gxk[ins] += r.reshape((C, n) + gxk[ins].shape[2:])
            gx[sl] = gxk.swapaxes(0, 1)
            return
        if pl.layout == "full":
            cols = xp.matmul(wt, pl.widen(xp, g[sl]).reshape(n, G, O // G, pl.L))
            cols = cols.reshape((n, C, pl.K, pl.L))
            buf = xp.zeros((n, C, math.prod(pl.padded)), dtype=g.dtype)
            for j, off in enumerate(pl.offs):  # contiguous runs: fast adds
                buf[:, :, off:off + pl.L] += cols[:, :, j]
            gx[sl] = buf.reshape((n, C) + pl.padded)[inner]
            return
        buf = xp.zeros((n, C) + pl.padded, dtype=g.dtype)
        if pl.layout == "kmajor":
            g2 = xp.ascontiguousarray(g[sl].reshape(n, G, O // G, P).transpose(1, 2, 0, 3))
            cols = xp.matmul(wt, g2.reshape(G, O // G, n * P)).reshape(
                (C,) + pl.kernel + (n,) + pl.out)
            order = (1 + nd, 0) + tuple(range(1, 1 + nd)) + tuple(range(2 + nd, 2 + 2 * nd))
            cols = cols.transpose(order)  # viewed as (n, C, *kernel, *out)
        else:
            cols = xp.matmul(wt, g[sl].reshape(n, G, O // G, P)).reshape(
                (n, C) + pl.kernel + pl.out)
        col2im(xp, cols, buf, stride, dilation, pl.out)
        gx[sl] = buf[inner]

    parallel(xp, pl.chunks, body)
    return gx


def conv_weight_grad(xp, x, g, kernel, stride, pads, dilation, groups):
    """The gradient of ``conv(x, w)`` with respect to ``w`` of spatial size ``kernel``."""
    N, C = x.shape[:2]
    O = g.shape[1]
    G = groups
    pl = _Plan(x.shape, (O, C // G) + tuple(kernel), stride, pads, dilation, G, g.shape[2:])
    CK = pl.CK
    gwt = xp.zeros((G, CK, O // G), dtype=x.dtype)
    if N == 0 or O == 0:
        return gwt.reshape((O, pl.Cg) + tuple(kernel))
    # One GEMM per chunk, the batch folded into the reduction. It computes w's gradient
    # transposed, columns @ grad^T: OpenBLAS runs (A, B^T) products 15-25% slower than (A, B)
    # ones here, and the small (CK, O) result is cheap to transpose at the end.

    if pl.layout == "taps":
        def taps_body(sl, part):
            xk, gk = _channels_first(xp, x[sl]), _channels_first(xp, g[sl])
            for t, outs, ins in pl.taps:
                xr = xp.ascontiguousarray(xk[ins]).reshape(G, pl.Cg, -1)
                gr = xp.ascontiguousarray(gk[outs]).reshape(G, O // G, -1)
                part[t] += xp.matmul(gr, xr.swapaxes(1, 2))

        parts = parallel(xp, pl.wchunks, taps_body,
                     lambda: xp.zeros((pl.K, G, O // G, pl.Cg), dtype=x.dtype))
        gk = parts[0]
        for part in parts[1:]:
            gk += part
        # (K, G, O/G, Cg) -> (O, Cg, *kernel): one transposition, 4x cheaper than two
        return xp.ascontiguousarray(gk.transpose(1, 2, 3, 0)).reshape(
            (O, pl.Cg) + tuple(kernel))

    if CK * _GW_PER_SAMPLE <= pl.P and pl.layout != "taps":
        # Few weights per output position (first layers: C = 1 or 3): per-sample GEMMs read the
        # gradient where it lies, where the K-major product would first copy all of it twice.
        def sample_body(sl, part):
            n = sl.stop - sl.start
            if pl.layout == "unit":
                cols = x[sl].reshape(n, G, CK, pl.P)
            else:
                cols = _im2col(xp, x[sl], pl.kernel, stride, pads, dilation, pl.out, False)
            gs = g[sl].reshape(n, G, O // G, pl.P).swapaxes(2, 3)
            part += xp.matmul(cols.reshape(n, G, CK, pl.P), gs).sum(axis=0)

        for part in parallel(xp, pl.chunks, sample_body,
                         lambda: xp.zeros((G, CK, O // G), dtype=x.dtype)):
            gwt += part
        return xp.ascontiguousarray(gwt.swapaxes(1, 2)).reshape((O, pl.Cg) + tuple(kernel))

    def body(sl, part):
        n = sl.stop - sl.start
        gk = pl.widen(xp, g[sl])
        width = gk.shape[-1]
        g2 = xp.ascontiguousarray(gk.reshape(n, G, O // G, width).transpose(1, 2, 0, 3))
        cols = pl.cols(xp, x[sl], kmajor=True)
        part += xp.matmul(cols, g2.reshape(G, O // G, n * width).swapaxes(1, 2))

    for part in parallel(xp, pl.wchunks, body,
                         lambda: xp.zeros((G, CK, O // G), dtype=x.dtype)):
        gwt += part
    return xp.ascontiguousarray(gwt.swapaxes(1, 2)).reshape((O, pl.Cg) + tuple(kernel))


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
    Batch chunks run on all cores (every step is a ufunc, which releases the GIL).
    """
    xpad = pad(xp, x, pads, _lowest(xp, x.dtype))
    sl = _offsets(kernel, stride, dilation, out)
    y = xp.empty(x.shape[:2] + tuple(out), dtype=x.dtype)
    small = len(sl) < 256
    arg = xp.empty(y.shape, dtype=xp.uint8 if small else xp.int32) if with_arg else None

    def body(b):
        xs, yb = xpad[b], y[b]
        yb[...] = xs[sl[0]]
        for s in sl[1:]:
            xp.maximum(yb, xs[s], out=yb)
        if not with_arg:
            return
        # The first maximal offset, found with byte-wide boolean arithmetic: ``where`` and
        # masked copies branch on a random mask and cost 5-50x more here.
        ab = arg[b]
        ab[...] = 0
        found = xp.equal(xs[sl[0]], yb)
        hit = xp.empty(yb.shape, dtype=bool)
        for o in range(1, len(sl)):
            xp.equal(xs[sl[o]], yb, out=hit)
            xp.greater(hit, found, out=hit)  # hit and not found
            if small:
                ab += hit.view(xp.uint8) * xp.uint8(o)
            else:
                ab += hit * o
            found |= hit

    parallel(xp, _split(x.shape[0], xpad[:1].nbytes, _CHUNK_BYTES), body)
    if with_arg and x.dtype.kind == "f" and xp.isnan(y).any():  # PyTorch: the last NaN wins
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
    sl = _offsets(kernel, stride, dilation, out)
    finite = bool(xp.isfinite(g).all())
    no_overlap = _no_overlap(kernel, stride, dilation)

    def body(b):
        gb, ab, gxb = g[b], arg[b], gx[b]
        mask = xp.empty(gb.shape, dtype=bool)
        for o, s in enumerate(sl):
            xp.equal(ab, o, out=mask)
            if not finite:  # masks by multiplication would spread 0 * inf = nan
                gxb[s] += xp.where(mask, gb, 0)
            elif no_overlap:  # every position in one window at most: write, not add
                xp.multiply(gb, mask, out=gxb[s])
            else:
                gxb[s] += gb * mask

    parallel(xp, _split(g.shape[0], gx[:1].nbytes, _CHUNK_BYTES), body)
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
