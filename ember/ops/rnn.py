"""Recurrent layers as fused primitives: ``RNNLayer`` runs one layer of an Elman RNN, LSTM or GRU
in one direction over a whole sequence.

Fused for speed: the Python loop over time steps is unavoidable, so its body is a few array
operations on the arrays themselves - one recurrent GEMM and the gate arithmetic (all gates
activated by one ``tanh``) - with the input projection of every step done by one batched GEMM
before the loop. The backward pass is back-propagation through time written the same way, and
returns the gradients of the input, the initial states and every weight at once. No graph is
built per step.

Inside the loop every array is feature-major, ``(T, features, B)``: each gate of each step is
then a contiguous block, on which NumPy is several times faster than on strided views. Step ``t``
updates the first ``batch_sizes[t]`` columns of the state (packed sequences are sorted longest
first), which covers padded ``(T, B, *)`` / ``(B, T, *)`` input and ``PackedSequence`` data alike.

Gradients of gradients (``create_graph=True``): the backward then recomputes the layer with
differentiable Tensor ops (``reference_layer``) and differentiates that, so higher derivatives are
exact (see ``_grad_with_graph``).
"""

from __future__ import annotations

import numpy as np

from ember._tensor import Tensor
from ember.autograd.function import Primitive
from ember.autograd.grad_mode import _state

__all__ = ["RNNLayer", "rnn_layer", "reference_layer"]

_MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")


def _steps(n_steps: int, batch_sizes, batch: int, reverse: bool):
    """``(first_row, rows)`` of every time step of packed rows, in the order the layer visits them
    (the Tensor-op recomputation's view of a sequence)."""
    if batch_sizes is None:
        steps = [(t * batch, batch) for t in range(n_steps)]
    else:
        steps, off = [], 0
        for bs in batch_sizes:
            steps.append((off, bs))
            off += bs
    return steps[::-1] if reverse else steps


class _Layout:
    """How a sequence is laid out for the loop: every per-step array is ``(T, features, B)``, so
    that each gate of each step is one contiguous block (NumPy is several times slower on strided
    2-D views). Step ``t`` uses the first ``sizes[t]`` columns (sequences sorted longest first).
    """

    def __init__(self, xp, x, batch_sizes, batch_first, reverse):
        self.packed = batch_sizes is not None and any(b != batch_sizes[0] for b in batch_sizes)
        self.batch_first = batch_first and batch_sizes is None
        self.rows = batch_sizes is not None  # the caller's data is 2-D rows (N, F)
        if batch_sizes is None:
            n_steps, batch = (x.shape[1], x.shape[0]) if batch_first else x.shape[:2]
        else:
            n_steps, batch = len(batch_sizes), batch_sizes[0]
        self.n_steps, self.batch = n_steps, batch
        self.sizes = [batch] * n_steps if batch_sizes is None else list(batch_sizes)
        self.order = range(n_steps - 1, -1, -1) if reverse else range(n_steps)
        self.mask = None
        if self.packed:
            self.mask = xp.asarray(np.arange(batch)[None, :] < np.asarray(batch_sizes)[:, None])

    def to_steps(self, xp, a):
        """The caller's ``(T, B, F)`` / ``(B, T, F)`` / rows ``(N, F)`` as contiguous
        ``(T, F, B)`` (zeros where a packed sequence has ended)."""
        if self.packed:
            full = xp.zeros((self.n_steps, self.batch, a.shape[-1]), a.dtype)
            full[self.mask] = a
            a = full
        elif self.rows:
            a = a.reshape(self.n_steps, self.batch, a.shape[-1])
        elif self.batch_first:
            return xp.ascontiguousarray(a.transpose(1, 2, 0))
        return xp.ascontiguousarray(a.transpose(0, 2, 1))

    def from_time_batch(self, xp, a):
        """A ``(T, B, F)`` array in the caller's layout."""
        if self.packed:
            return a[self.mask]
        if self.rows:
            return a.reshape(-1, a.shape[-1])
        if self.batch_first:
            return xp.ascontiguousarray(a.transpose(1, 0, 2))
        return a

    def from_steps(self, xp, a):
        """A ``(T, F, B)`` array in the caller's layout, always a new array (the loop's buffers
        may be kept for backward)."""
        if self.batch_first:
            return a.transpose(2, 0, 1).copy()
        if self.packed:
            return a.transpose(0, 2, 1)[self.mask]
        a = a.transpose(0, 2, 1).copy()
        return a.reshape(-1, a.shape[-1]) if self.rows else a

    def buffer(self, xp, features, dtype):
        """A ``(T, features, B)`` array for per-step results: zeros when some columns are never
        written (packed), so whole-array arithmetic on it stays finite."""
        shape = (self.n_steps, features, self.batch)
        return xp.zeros(shape, dtype) if self.packed else xp.empty(shape, dtype)


def _lstm_order(hidden: int):
    """Row order (o, i, f, g) of torch's (i, f, g, o) LSTM gates: the three sigmoid gates are
    contiguous and the three gates the cell gradient multiplies (i, f, g) too."""
    h = hidden
    return np.r_[3 * h:4 * h, 0:3 * h]


def _half_scale(xp, dtype, n_sigmoid: int, n_tanh: int):
    """0.5 for sigmoid-gate rows, 1 for tanh rows: sigmoid(z) = 0.5 * tanh(z / 2) + 0.5, so one
    ``tanh`` call activates every gate when the sigmoid rows are pre-scaled by one half."""
    return xp.concatenate([xp.full(n_sigmoid, 0.5, dtype), xp.ones(n_tanh, dtype)])


def _project(xp, w, xs, bias):
    """``w @ x_t + bias`` for every step at once: ``(T, rows, B)``."""
    out = xp.matmul(w, xs)
    if bias is not None:
        out += bias[:, None]
    return out


def _step_input(xp, G, w, xs, bias, t, bs):
    """Step ``t``'s input pre-activations ``w @ x_t + bias``, writable: a view of ``G`` (all steps
    projected at once, kept for backward) or, without ``G`` (inference), computed now, so that no
    ``(T, gates, B)`` array is allocated."""
    if G is not None:
        return G[t, :, :bs]
    g = xp.matmul(w, xs[t, :, :bs])
    if bias is not None:
        g += bias[:, None]
    return g


def _init_state(xp, s0, size, batch, dtype):
    """An initial state ``(B, size)`` (None: zeros) as a private ``(size, B)`` array."""
    if s0 is None:
        return xp.zeros((size, batch), dtype)
    return s0.T.copy()  # a copy even when the transpose is contiguous: it is written in place


class RNNLayer(Primitive):
    """One recurrent layer, one direction, the whole sequence (fused for speed; see above).

    Arguments: ``x`` ``(T, B, I)`` (``(B, T, I)`` if ``batch_first``; packed rows ``(N, I)`` when
    ``batch_sizes`` is given), ``hx`` / ``cx`` the initial states (None: zeros) - ``(K, B, P)``
    with this layer's at ``index``, or ``(B, P)`` when ``index`` is None - and torch's weights.
    Returns ``(output, h_n, c_n)``: the output laid out like ``x`` with ``P`` features, the final
    states shaped ``(1, B, .)`` (``(B, .)`` when ``index`` is None); ``c_n`` is None but for LSTM.
    """

    @staticmethod
    def forward(ctx, x, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, *, mode, batch_sizes=None,
                batch_first=False, reverse=False, index=None):
        xp = ctx.xp
        lay = _Layout(xp, x, batch_sizes, batch_first, reverse)
        xs = lay.to_steps(xp, x)
        save = bool(ctx.needs_input_grad)
        h0 = None if hx is None else (hx if index is None else hx[index])
        c0 = None if cx is None else (cx if index is None else cx[index])
        if mode == "LSTM":
            out, h, c, saved = _lstm_forward(xp, lay, xs, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr,
                                             save)
        elif mode == "GRU":
            out, h, saved = _gru_forward(xp, lay, xs, h0, w_ih, w_hh, b_ih, b_hh, save)
            c = None
        else:
            out, h, saved = _rnn_forward(xp, lay, xs, h0, w_ih, w_hh, b_ih, b_hh, save,
                                         mode == "RNN_RELU")
            c = None
        if save:
            ctx.save_for_backward(x, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr)
            ctx.lay, ctx.xs, ctx.saved = lay, xs, saved
            ctx.attrs = dict(mode=mode, batch_sizes=batch_sizes, batch_first=batch_first,
                             reverse=reverse, index=index)
            ctx.set_materialize_grads(False)  # an unused h_n / c_n costs nothing in backward
        # copies: the final states may be views of buffers that backward reads
        h = h.T.copy()
        if index is not None:
            h = h[None]
        if c is not None:
            c = c.T.copy()
            if index is not None:
                c = c[None]
        return lay.from_steps(xp, out), h, c

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        if _state.enabled:  # create_graph: differentiate a Tensor-op recomputation instead
            return _grad_with_graph(ctx, (g_out, g_h, g_c))
        xp, dev, lay = ctx.xp, ctx.device, ctx.lay
        x, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr = (None if t is None else t._data
                                                    for t in ctx.saved_tensors)
        index = ctx.attrs["index"]
        go = None if g_out is None else lay.to_steps(xp, g_out._data)
        # state gradients as private (size, B) arrays: the loop accumulates into them
        gh = None if g_h is None else g_h._data.reshape(lay.batch, -1).T.copy()
        gc = None if g_c is None else g_c._data.reshape(lay.batch, -1).T.copy()
        need = ctx.needs_input_grad
        mode = ctx.attrs["mode"]
        if mode == "LSTM":
            grads = _lstm_backward(xp, ctx, go, gh, gc, w_ih, w_hh, w_hr, need)
        elif mode == "GRU":
            grads = _gru_backward(xp, ctx, go, gh, w_ih, w_hh, need)
        else:
            grads = _rnn_backward(xp, ctx, go, gh, w_ih, w_hh, need, mode == "RNN_RELU")
        gx, dh0, dc0 = grads[0], grads[1], grads[2]
        if gx is not None:
            gx = lay.from_time_batch(xp, gx)
        ghx = _state_grad(xp, dh0, hx, index) if need[1] else None
        gcx = _state_grad(xp, dc0, cx, index) if need[2] else None
        result = [gx, ghx, gcx, *grads[3:]]
        return tuple(None if (r is None or not n) else Tensor._make(r, dev)
                     for r, n in zip(result, need))


def _state_grad(xp, d, full, index):
    """The gradient of an initial-state argument from ``d`` ``(size, B)``: ``d.T`` at ``index``
    of ``full``'s shape."""
    d = xp.ascontiguousarray(d.T)
    if index is None:
        return d
    if full.shape[0] == 1:
        return d[None]
    g = xp.zeros(full.shape, d.dtype)
    g[index] = d
    return g


# --- LSTM -----------------------------------------------------------------------------------------

def _lstm_forward(xp, lay, xs, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, save):
    H = w_hh.shape[0] // 4
    n_out = w_hh.shape[1]
    dtype = xs.dtype
    order = _lstm_order(H)
    scale = _half_scale(xp, dtype, 3 * H, H)
    bias = None if b_ih is None else (b_ih + b_hh)[order] * scale
    # pre-activations of the gates (o, i, f, g), sigmoid rows halved; activated in place
    wih = w_ih[order] * scale[:, None]
    G = _project(xp, wih, xs, bias) if save else None
    whh = w_hh[order] * scale[:, None]
    out = lay.buffer(xp, n_out, dtype)
    TC = lay.buffer(xp, H, dtype) if save else None  # tanh(c_t)
    HP = lay.buffer(xp, n_out, dtype) if save else None  # h_(t-1)
    CP = lay.buffer(xp, H, dtype) if save else None  # c_(t-1)
    M = lay.buffer(xp, H, dtype) if save and w_hr is not None else None  # o * tanh(c)
    batch = lay.batch
    h = _init_state(xp, h0, n_out, batch, dtype)
    c = _init_state(xp, c0, H, batch, dtype)
    own_h = True  # whether h may be written in place (it is not a view of ``out``)
    tanh, multiply, matmul = xp.tanh, xp.multiply, xp.matmul
    for t in lay.order:
        bs = lay.sizes[t]
        hp, cp = h[:, :bs], c[:, :bs]
        gt = _step_input(xp, G, wih, xs, bias, t, bs)
        gt += matmul(whh, hp)
        tanh(gt, out=gt)
        sig = gt[:3 * H]
        sig *= 0.5
        sig += 0.5
        o, i, f, g = gt[:H], gt[H:2 * H], gt[2 * H:3 * H], gt[3 * H:]
        cn = f * cp
        cn += i * g
        tc = tanh(cn, out=TC[t, :, :bs]) if save else tanh(cn)
        if save:
            HP[t, :, :bs] = hp
            CP[t, :, :bs] = cp
        if w_hr is None:
            hn = multiply(o, tc, out=out[t, :, :bs])
        else:
            m = multiply(o, tc, out=M[t, :, :bs]) if save else o * tc
            hn = matmul(w_hr, m, out=out[t, :, :bs])
        if bs == batch:
            h, c, own_h = hn, cn, False
        else:
            if not own_h:
                h, own_h = h.copy(), True
            h[:, :bs] = hn
            c[:, :bs] = cn
    return out, h, c, (G, TC, HP, CP, M)


def _lstm_backward(xp, ctx, go, gh, gc, w_ih, w_hh, w_hr, need):
    G, TC, HP, CP, M = ctx.saved
    lay = ctx.lay
    H = w_hh.shape[0] // 4
    n_out = w_hh.shape[1]
    dtype = G.dtype
    batch = lay.batch
    order = _lstm_order(H)
    whh_t = xp.ascontiguousarray(w_hh[order].T)
    wih = w_ih[order]
    whr_t = None if w_hr is None else xp.ascontiguousarray(w_hr.T)
    grads = _Grads(xp, ctx, need, wih, whh_t.shape[::-1], 4 * H, dtype)
    gw_hr = xp.zeros(w_hr.shape, dtype) if w_hr is not None and need[7] else None
    dh_state = xp.zeros((n_out, batch), dtype) if gh is None else gh
    dc_state = xp.zeros((H, batch), dtype) if gc is None else gc
    dA = xp.empty((4, H, batch), dtype)  # one step's gate gradients (o, i, f, g)
    S = xp.empty((3 * H, batch), dtype)
    multiply, subtract, matmul = xp.multiply, xp.subtract, xp.matmul
    for t in reversed(lay.order):
        bs = lay.sizes[t]
        gt = G[t, :, :bs]
        o, i, f, g = gt[:H], gt[H:2 * H], gt[2 * H:3 * H], gt[3 * H:]
        tc = TC[t, :, :bs]
        da, s = dA[:, :, :bs], S[:, :bs]
        dh = dh_state[:, :bs].copy() if go is None else go[t, :, :bs] + dh_state[:, :bs]
        if w_hr is not None:
            if gw_hr is not None:
                gw_hr += matmul(dh, M[t, :, :bs].T)
            dm = matmul(whr_t, dh)
        else:
            dm = dh
        subtract(1, gt[:3 * H], out=s)
        s *= gt[:3 * H]  # sigmoid' of o, i, f
        multiply(dm, tc, out=da[0])
        da[0] *= s[:H]  # d o_pre = dm * tanh(c) * o'
        dc = tc * tc
        subtract(1, dc, out=dc)
        dc *= o
        dc *= dm
        dc += dc_state[:, :bs]  # dc = dm * o * tanh'(c) + the next step's
        multiply(g, s[H:2 * H], out=da[1])  # d i_pre = dc * g * i'
        multiply(CP[t, :, :bs], s[2 * H:], out=da[2])  # d f_pre = dc * c_(t-1) * f'
        multiply(g, g, out=da[3])
        subtract(1, da[3], out=da[3])
        da[3] *= i  # d g_pre = dc * i * g'
        da[1:] *= dc
        multiply(dc, f, out=dc_state[:, :bs])
        d2 = da.reshape(4 * H, bs)
        matmul(whh_t, d2, out=dh_state[:, :bs])
        grads.recurrent(t, bs, d2, HP)
        grads.inputs(t, bs, d2)
    inv = np.argsort(order)  # back to torch's (i, f, g, o) rows
    gw_ih, gw_hh, gb = (None if g is None else g[inv]
                        for g in (grads.gw_ih, grads.gw_hh, grads.gb_ih))
    return (grads.gx, dh_state, dc_state, gw_ih, gw_hh, gb, (None if gb is None else gb.copy()),
            gw_hr)


class _Grads:
    """The weight, bias and input gradients of a layer, accumulated step by step from the
    gradients of the pre-activations: small GEMMs on data that is still in cache, and no
    ``(T, gates, B)`` array to allocate."""

    def __init__(self, xp, ctx, need, w_ih, whh_shape, rows, dtype, hh_bias=False):
        lay = ctx.lay
        self.xp, self.xs, self.w_ih = xp, ctx.xs, w_ih
        self.gw_ih = xp.zeros((rows, w_ih.shape[1]), dtype) if need[3] else None
        self.gw_hh = xp.zeros(whh_shape, dtype) if need[4] else None
        self.gb_ih = xp.zeros(rows, dtype) if need[5] or (need[6] and not hh_bias) else None
        self.gb_hh = xp.zeros(rows, dtype) if need[6] and hh_bias else None
        self.gx = xp.zeros((lay.n_steps, lay.batch, w_ih.shape[1]), dtype) if need[0] else None

    def recurrent(self, t, bs, d, HP):
        """Step ``t``'s ``W_hh`` (and, for GRU, ``b_hh``) share: ``d`` ``(rows, bs)``."""
        if self.gw_hh is not None:
            self.gw_hh += self.xp.matmul(d, HP[t, :, :bs].T)
        if self.gb_hh is not None:
            self.gb_hh += d.sum(1)

    def inputs(self, t, bs, d, rows=slice(None)):
        """Step ``t``'s share of ``W_ih[rows]``, ``b_ih[rows]`` and the input gradient."""
        matmul = self.xp.matmul
        if self.gw_ih is not None:
            self.gw_ih[rows] += matmul(d, self.xs[t, :, :bs].T)
        if self.gb_ih is not None:
            self.gb_ih[rows] += d.sum(1)
        if self.gx is not None:
            self.gx[t, :bs] += matmul(d.T, self.w_ih[rows])


# --- GRU ------------------------------------------------------------------------------------------

def _gru_forward(xp, lay, xs, h0, w_ih, w_hh, b_ih, b_hh, save):
    H = w_hh.shape[0] // 3
    dtype = xs.dtype
    scale = _half_scale(xp, dtype, 2 * H, H)
    bias, b_hn = None, None
    if b_ih is not None:
        bias = b_ih * scale
        bias[:2 * H] += b_hh[:2 * H] * 0.5
        b_hn = b_hh[2 * H:, None]
    wih = w_ih * scale[:, None]
    G = _project(xp, wih, xs, bias) if save else None  # (r, z, n) input parts, r and z halved
    whh = w_hh * scale[:, None]
    out = lay.buffer(xp, H, dtype)
    HP = lay.buffer(xp, H, dtype) if save else None
    GHN = lay.buffer(xp, H, dtype) if save else None  # W_hn h + b_hn
    batch = lay.batch
    h = _init_state(xp, h0, H, batch, dtype)
    own_h = True
    tanh, subtract, matmul = xp.tanh, xp.subtract, xp.matmul
    for t in lay.order:
        bs = lay.sizes[t]
        hp = h[:, :bs]
        gates = matmul(whh, hp)
        gt = _step_input(xp, G, wih, xs, bias, t, bs)
        rz = gt[:2 * H]
        rz += gates[:2 * H]
        tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        ghn = gates[2 * H:]
        if b_hn is not None:
            ghn += b_hn
        if save:
            GHN[t, :, :bs] = ghn
            HP[t, :, :bs] = hp
        nt = gt[2 * H:]
        nt += gt[:H] * ghn
        tanh(nt, out=nt)
        hn = subtract(hp, nt, out=out[t, :, :bs])  # h' = n + z * (h - n)
        hn *= gt[H:2 * H]
        hn += nt
        if bs == batch:
            h, own_h = hn, False
        else:
            if not own_h:
                h, own_h = h.copy(), True
            h[:, :bs] = hn
    return out, h, (G, HP, GHN)


def _gru_backward(xp, ctx, go, gh, w_ih, w_hh, need):
    G, HP, GHN = ctx.saved
    lay = ctx.lay
    H = w_hh.shape[0] // 3
    dtype = G.dtype
    batch = lay.batch
    whh_t = xp.ascontiguousarray(w_hh.T)
    grads = _Grads(xp, ctx, need, w_ih, w_hh.shape, 3 * H, dtype, hh_bias=True)
    dh_state = xp.zeros((H, batch), dtype) if gh is None else gh
    DG = xp.empty((3 * H, batch), dtype)  # one step's gradients of (r_pre, z_pre, W_hn h + b_hn)
    DN = xp.empty((H, batch), dtype)  # and of n_pre (the input side's n rows)
    S = xp.empty((2 * H, batch), dtype)
    multiply, subtract, matmul = xp.multiply, xp.subtract, xp.matmul
    for t in reversed(lay.order):
        bs = lay.sizes[t]
        gt = G[t, :, :bs]
        r, z, n = gt[:H], gt[H:2 * H], gt[2 * H:]
        hp = HP[t, :, :bs]
        dg, dn, s = DG[:, :bs], DN[:, :bs], S[:, :bs]
        dh = dh_state[:, :bs].copy() if go is None else go[t, :, :bs] + dh_state[:, :bs]
        subtract(1, gt[:2 * H], out=s)
        s *= gt[:2 * H]  # sigmoid' of r, z
        multiply(n, n, out=dn)
        subtract(1, dn, out=dn)
        dn *= dh
        dn -= dn * z  # d n_pre = dh * (1 - z) * tanh'(n)
        multiply(dn, GHN[t, :, :bs], out=dg[:H])
        dg[:H] *= s[:H]  # d r_pre = d n_pre * (W_hn h + b_hn) * r'
        subtract(hp, n, out=dg[H:2 * H])
        dg[H:2 * H] *= dh
        dg[H:2 * H] *= s[H:]  # d z_pre = dh * (h - n) * z'
        multiply(dn, r, out=dg[2 * H:])  # d (W_hn h + b_hn) = d n_pre * r
        hs = matmul(whh_t, dg, out=dh_state[:, :bs])
        dh *= z
        hs += dh
        grads.recurrent(t, bs, dg, HP)
        grads.inputs(t, bs, dg[:2 * H], slice(0, 2 * H))
        grads.inputs(t, bs, dn, slice(2 * H, 3 * H))
    return (grads.gx, dh_state, None, grads.gw_ih, grads.gw_hh, grads.gb_ih, grads.gb_hh, None)


# --- Elman RNN ------------------------------------------------------------------------------------

def _rnn_forward(xp, lay, xs, h0, w_ih, w_hh, b_ih, b_hh, save, relu):
    H = w_hh.shape[0]
    dtype = xs.dtype
    out = _project(xp, w_ih, xs, None if b_ih is None else b_ih + b_hh)  # becomes the output
    HP = lay.buffer(xp, H, dtype) if save else None
    batch = lay.batch
    h = _init_state(xp, h0, H, batch, dtype)
    own_h = True
    matmul = xp.matmul
    for t in lay.order:
        bs = lay.sizes[t]
        hp = h[:, :bs]
        if save:
            HP[t, :, :bs] = hp
        hn = out[t, :, :bs]
        hn += matmul(w_hh, hp)
        if relu:
            xp.maximum(hn, 0, out=hn)
        else:
            xp.tanh(hn, out=hn)
        if bs == batch:
            h, own_h = hn, False
        else:
            if not own_h:
                h, own_h = h.copy(), True
            h[:, :bs] = hn
    return out, h, (out, HP)


def _rnn_backward(xp, ctx, go, gh, w_ih, w_hh, need, relu):
    out, HP = ctx.saved
    lay = ctx.lay
    H = w_hh.shape[0]
    dtype = out.dtype
    whh_t = xp.ascontiguousarray(w_hh.T)
    grads = _Grads(xp, ctx, need, w_ih, w_hh.shape, H, dtype)
    dh_state = xp.zeros((H, lay.batch), dtype) if gh is None else gh
    DA = xp.empty((H, lay.batch), dtype)
    multiply, matmul = xp.multiply, xp.matmul
    for t in reversed(lay.order):
        bs = lay.sizes[t]
        h = out[t, :, :bs]
        da = DA[:, :bs]
        if relu:
            xp.greater(h, 0, out=da)  # the derivative, written as 0 / 1 in the gradient's dtype
        else:
            multiply(h, h, out=da)
            xp.subtract(1, da, out=da)
        if go is not None:
            da *= go[t, :, :bs] + dh_state[:, :bs]
        else:
            da *= dh_state[:, :bs]
        matmul(whh_t, da, out=dh_state[:, :bs])
        grads.recurrent(t, bs, da, HP)
        grads.inputs(t, bs, da)
    gb = grads.gb_ih
    return (grads.gx, dh_state, None, grads.gw_ih, grads.gw_hh, gb,
            (None if gb is None else gb.copy()), None)


# --- the differentiable path (create_graph) -------------------------------------------------------

def reference_layer(x, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, *, mode, batch_sizes=None,
                    batch_first=False, reverse=False, index=None):
    """``RNNLayer`` written with differentiable Tensor ops, one small graph per time step: what
    double backward differentiates. Same arguments and results as ``RNNLayer.apply``."""
    from ember.nn._functional.linear import linear
    from ember.ops.creation import zeros
    from ember.ops.pointwise import relu, sigmoid, tanh
    from ember.ops.shape import cat

    if batch_sizes is None:
        if batch_first:
            x = x.transpose(0, 1)
        n_steps, batch = x.shape[0], x.shape[1]
        x2 = x.reshape(n_steps * batch, x.shape[2])
    else:
        x2, n_steps, batch = x, len(batch_sizes), batch_sizes[0]
    n_out = w_hh.shape[1]
    hidden = w_hh.shape[0] // {"LSTM": 4, "GRU": 3}.get(mode, 1)
    h = hx if index is None or hx is None else hx[index]
    c = cx if index is None or cx is None else cx[index]
    if h is None:
        h = zeros((batch, n_out), dtype=x.dtype, device=x.device)
    if c is None and mode == "LSTM":
        c = zeros((batch, hidden), dtype=x.dtype, device=x.device)
    gi = linear(x2, w_ih, b_ih)
    outs = {}
    for r0, bs in _steps(n_steps, batch_sizes, batch, reverse):
        hp = h[:bs]
        g = gi[r0:r0 + bs]
        gh = linear(hp, w_hh, b_hh)
        if mode == "LSTM":
            i, f, gg, o = (g + gh).chunk(4, 1)
            cn = sigmoid(f) * c[:bs] + sigmoid(i) * tanh(gg)
            hn = sigmoid(o) * tanh(cn)
            if w_hr is not None:
                hn = linear(hn, w_hr)
            c = cn if bs == batch else cat([cn, c[bs:]])
        elif mode == "GRU":
            r_i, z_i, n_i = g.chunk(3, 1)
            r_h, z_h, n_h = gh.chunk(3, 1)
            r = sigmoid(r_i + r_h)
            z = sigmoid(z_i + z_h)
            nt = tanh(n_i + r * n_h)
            hn = (1 - z) * nt + z * hp
        else:
            hn = relu(g + gh) if mode == "RNN_RELU" else tanh(g + gh)
        outs[r0] = hn
        h = hn if bs == batch else cat([hn, h[bs:]])
    out = cat([outs[k] for k in sorted(outs)])
    if batch_sizes is None:
        out = out.reshape(n_steps, batch, -1)
        if batch_first:
            out = out.transpose(0, 1).contiguous()
    if index is not None:
        h = h.unsqueeze(0)
        c = None if c is None else c.unsqueeze(0)
    return out, h, (c if mode == "LSTM" else None)


def _grad_with_graph(ctx, grads):
    """The backward of ``RNNLayer`` under create_graph: recompute the layer with Tensor ops on
    detached stand-ins of its inputs, differentiate that, and re-attach the result to the real
    inputs (``_Reattach``) so that it can be differentiated again."""
    from ember.autograd.grad_mode import enable_grad

    inputs = ctx.saved_tensors
    leaves = [None if t is None else t.detach().requires_grad_(bool(n))
              for t, n in zip(inputs, ctx.needs_input_grad)]
    with enable_grad():
        outs = reference_layer(*leaves, **ctx.attrs)
    return _attached_grad(list(outs), leaves, list(inputs), list(grads))


def _attached_grad(outputs, leaves, originals, grad_outputs):
    """The vector-Jacobian product of ``outputs`` (a graph over ``leaves``, detached stand-ins of
    ``originals``) with ``grad_outputs``; under create_graph, as tensors whose graph leads to
    ``originals`` and ``grad_outputs``."""
    from ember import autograd

    create = _state.enabled
    g_leaves = [None if g is None else g.detach().requires_grad_(create and g.requires_grad)
                for g in grad_outputs]
    pairs = [(o, g) for o, g in zip(outputs, g_leaves)
             if o is not None and g is not None and o.requires_grad]
    wanted = [i for i, t in enumerate(leaves) if t is not None and t.requires_grad]
    values = [None] * len(leaves)
    if pairs and wanted:
        got = autograd.grad([o for o, _ in pairs], [leaves[i] for i in wanted],
                            [g for _, g in pairs], retain_graph=True, create_graph=create,
                            allow_unused=True)
        for i, v in zip(wanted, got):
            values[i] = v
    if not create or all(v is None for v in values):
        return tuple(values)
    return _Reattach.apply(*originals, *grad_outputs, values=values,
                           leaves=leaves + g_leaves)


class _Reattach(Primitive):
    """Tensors computed from detached stand-ins (``leaves``) of this op's arguments, given back as
    functions of the arguments themselves: its backward differentiates ``values`` with respect to
    the stand-ins."""

    @staticmethod
    def forward(ctx, *arrays, values, leaves):
        ctx.save_for_backward(*arrays)
        ctx.values, ctx.leaves = values, leaves
        ctx.set_materialize_grads(False)
        return tuple(None if v is None else v._data for v in values)

    @staticmethod
    def backward(ctx, *grads):
        return _attached_grad(ctx.values, ctx.leaves, list(ctx.saved_tensors), list(grads))


def rnn_layer(x, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, *, mode, batch_sizes=None,
              batch_first=False, reverse=False, index=None):
    """Run one recurrent layer in one direction: ``(output, h_n, c_n)`` (see ``RNNLayer``)."""
    if mode not in _MODES:
        raise ValueError(f"Unrecognized RNN mode: {mode}")
    return RNNLayer.apply(x, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr, mode=mode,
                          batch_sizes=batch_sizes, batch_first=batch_first, reverse=reverse,
                          index=index)
