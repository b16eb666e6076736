"""Recurrent layers as fused primitives: ``RNNLayer`` runs one layer of an Elman RNN, LSTM or GRU
in one direction over a whole sequence.

Fused for speed: the Python loop over time steps is unavoidable, so its body is a few large array
operations on the arrays themselves (the input projection of every step is one GEMM before the
loop; each step is one recurrent GEMM and the fused gate arithmetic), and the backward pass is
back-propagation through time written the same way, returning the gradients of the input, the
initial states and every weight at once. No graph is built per step.

Sequences are handled internally as time-major "packed" rows: step ``t`` owns rows
``offset[t] : offset[t] + batch_sizes[t]`` of a 2-D array, and only the first ``batch_sizes[t]``
rows of the state are updated (sequences are sorted longest first), which covers padded
``(T, B, *)`` input (every step has ``B`` rows) and ``PackedSequence`` data alike.

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
    """``(first_row, rows)`` of every time step, in the order the layer visits them."""
    if batch_sizes is None:
        steps = [(t * batch, batch) for t in range(n_steps)]
    else:
        steps, off = [], 0
        for bs in batch_sizes:
            steps.append((off, bs))
            off += bs
    return steps[::-1] if reverse else steps


def _lstm_order(hidden: int):
    """Row order (o, i, f, g) of torch's (i, f, g, o) LSTM gates: the three sigmoid gates are
    contiguous and the three gates the cell gradient multiplies (i, f, g) too."""
    h = hidden
    return np.r_[3 * h:4 * h, 0:3 * h]


def _half_scale(xp, dtype, n_sigmoid: int, n_tanh: int):
    """0.5 for sigmoid-gate rows, 1 for tanh rows: sigmoid(z) = 0.5 * tanh(z / 2) + 0.5, so one
    ``tanh`` call activates every gate when the sigmoid rows are pre-scaled by one half."""
    return xp.concatenate([xp.full(n_sigmoid, 0.5, dtype), xp.ones(n_tanh, dtype)])


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
        if batch_sizes is None:
            if batch_first:
                batch, n_steps = x.shape[0], x.shape[1]
                x2 = xp.ascontiguousarray(x.transpose(1, 0, 2)).reshape(n_steps * batch, -1)
            else:
                n_steps, batch = x.shape[0], x.shape[1]
                x2 = x.reshape(n_steps * batch, x.shape[2])
        else:
            x2, n_steps, batch = x, len(batch_sizes), batch_sizes[0]
        steps = _steps(n_steps, batch_sizes, batch, reverse)
        save = bool(ctx.needs_input_grad)
        h0 = None if hx is None else (hx if index is None else hx[index])
        c0 = None if cx is None else (cx if index is None else cx[index])
        if mode == "LSTM":
            out, h, c, saved = _lstm_forward(xp, x2, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps,
                                             batch, save)
        elif mode == "GRU":
            out, h, saved = _gru_forward(xp, x2, h0, w_ih, w_hh, b_ih, b_hh, steps, batch, save)
            c = None
        else:
            out, h, saved = _rnn_forward(xp, x2, h0, w_ih, w_hh, b_ih, b_hh, steps, batch, save,
                                         mode == "RNN_RELU")
            c = None
        if save:
            ctx.save_for_backward(x, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr)
            ctx.x2, ctx.steps, ctx.saved, ctx.batch = x2, steps, saved, batch
            ctx.attrs = dict(mode=mode, batch_sizes=batch_sizes, batch_first=batch_first,
                             reverse=reverse, index=index)
            ctx.set_materialize_grads(False)  # an unused h_n / c_n costs nothing in backward
        if batch_sizes is None:
            out = out.reshape(n_steps, batch, -1)
            if batch_first:
                out = xp.ascontiguousarray(out.transpose(1, 0, 2))
        # the final states are copies: ``h`` may be a view of the output's last step
        h = h.copy() if index is None else h[None].copy()
        if c is not None:
            c = c.copy() if index is None else c[None].copy()
        return out, h, c

    @staticmethod
    def backward(ctx, g_out, g_h, g_c):
        if _state.enabled:  # create_graph: differentiate a Tensor-op recomputation instead
            return _grad_with_graph(ctx, (g_out, g_h, g_c))
        xp, dev = ctx.xp, ctx.device
        x, hx, cx, w_ih, w_hh, b_ih, b_hh, w_hr = (None if t is None else t._data
                                                    for t in ctx.saved_tensors)
        a = ctx.attrs
        index, batch = a["index"], ctx.batch
        go = None if g_out is None else g_out._data
        if go is not None and a["batch_sizes"] is None:
            if a["batch_first"]:
                go = go.transpose(1, 0, 2)
            go = xp.ascontiguousarray(go).reshape(-1, go.shape[2])
        gh = None if g_h is None else g_h._data.reshape(batch, -1)
        gc = None if g_c is None else g_c._data.reshape(batch, -1)
        need = ctx.needs_input_grad
        if a["mode"] == "LSTM":
            grads = _lstm_backward(xp, ctx, go, gh, gc, w_ih, w_hh, w_hr, need)
        elif a["mode"] == "GRU":
            grads = _gru_backward(xp, ctx, go, gh, w_ih, w_hh, need)
        else:
            grads = _rnn_backward(xp, ctx, go, gh, w_ih, w_hh, need)
        gx, dh0, dc0 = grads[0], grads[1], grads[2]
        if gx is not None and a["batch_sizes"] is None:
            gx = gx.reshape(x.shape[1], x.shape[0], -1).transpose(1, 0, 2) if a["batch_first"] \
                else gx.reshape(x.shape)
        ghx = _state_grad(xp, dh0, hx, index) if need[1] else None
        gcx = _state_grad(xp, dc0, cx, index) if need[2] else None
        result = [gx, ghx, gcx, *grads[3:]]
        return tuple(None if (r is None or not n) else Tensor._make(r, dev)
                     for r, n in zip(result, need))


def _state_grad(xp, d, full, index):
    """The gradient of the initial-state argument: ``d`` at ``index`` of ``full``'s shape."""
    if index is None:
        return d
    if full.shape[0] == 1:
        return d[None]
    g = xp.zeros(full.shape, d.dtype)
    g[index] = d
    return g


def _initial(xp, h0, batch, size, dtype):
    return xp.zeros((batch, size), dtype) if h0 is None else h0


# --- LSTM -----------------------------------------------------------------------------------------

def _lstm_forward(xp, x2, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps, batch, save):
    hidden = w_hh.shape[0] // 4
    n_out = w_hh.shape[1]
    H = hidden
    order = _lstm_order(hidden)
    scale = _half_scale(xp, w_ih.dtype, 3 * H, H)
    dtype = x2.dtype
    A = x2 @ (w_ih[order] * scale[:, None]).T  # pre-activations (o, i, f, g), sigmoid rows halved
    if b_ih is not None:
        A += (b_ih + b_hh)[order] * scale
    whh_t = (w_hh[order] * scale[:, None]).T
    whr_t = None if w_hr is None else w_hr.T
    n = x2.shape[0]
    out = xp.empty((n, n_out), dtype)
    TC = xp.empty((n, H), dtype) if save else None  # tanh(c_t)
    HP = xp.empty((n, n_out), dtype) if save else None  # h_(t-1) of each row
    CP = xp.empty((n, H), dtype) if save else None  # c_(t-1) of each row
    M = xp.empty((n, H), dtype) if save and w_hr is not None else None  # o * tanh(c) before W_hr
    h = _initial(xp, h0, batch, n_out, dtype)
    c = _initial(xp, c0, batch, H, dtype)
    own_h = own_c = False  # whether h / c may be written in place (not the caller's or a view)
    tanh, multiply = xp.tanh, xp.multiply
    for r0, bs in steps:
        r1 = r0 + bs
        hp, cp = h[:bs], c[:bs]
        at = A[r0:r1]
        at += hp @ whh_t
        tanh(at, out=at)
        sig = at[:, :3 * H]
        sig *= 0.5
        sig += 0.5
        o, i, f, g = at[:, :H], at[:, H:2 * H], at[:, 2 * H:3 * H], at[:, 3 * H:]
        cn = f * cp
        cn += i * g
        tc = tanh(cn, out=TC[r0:r1]) if save else tanh(cn)
        if save:
            HP[r0:r1] = hp
            CP[r0:r1] = cp
        if w_hr is None:
            hn = multiply(o, tc, out=out[r0:r1])
        else:
            m = multiply(o, tc, out=M[r0:r1]) if save else o * tc
            hn = xp.matmul(m, whr_t, out=out[r0:r1])
        if bs == batch:
            h, c, own_h, own_c = hn, cn, False, True
        else:
            if not own_h:
                h, own_h = h.copy(), True
            if not own_c:
                c, own_c = c.copy(), True
            h[:bs] = hn
            c[:bs] = cn
    return out, h, c, (A, TC, HP, CP, M)


def _lstm_backward(xp, ctx, go, gh, gc, w_ih, w_hh, w_hr, need):
    A, TC, HP, CP, M = ctx.saved
    steps, batch, x2 = ctx.steps, ctx.batch, ctx.x2
    H = w_hh.shape[0] // 4
    n_out = w_hh.shape[1]
    order = _lstm_order(H)
    dtype = A.dtype
    n = A.shape[0]
    # the step-independent factors of every gate's gradient, for all steps at once
    S = A[:, :3 * H] * (1 - A[:, :3 * H])  # sigmoid' of o, i, f
    G = A[:, 3 * H:]
    Q = xp.empty((n, 4, H), dtype)
    Q[:, 0] = TC * S[:, :H]  # d o_pre = dm * tanh(c) * o'
    Q[:, 1] = G * S[:, H:2 * H]  # d i_pre = dc * g * i'
    Q[:, 2] = CP * S[:, 2 * H:]  # d f_pre = dc * c_(t-1) * f'
    Q[:, 3] = A[:, H:2 * H] * (1 - G * G)  # d g_pre = dc * i * g'
    P = A[:, :H] * (1 - TC * TC)  # dc += dm * o * tanh'(c)
    F = A[:, 2 * H:3 * H]
    dA = xp.empty((n, 4, H), dtype)
    DH = xp.empty((n, n_out), dtype) if w_hr is not None else None
    whh = w_hh[order]
    dh_state = xp.zeros((batch, n_out), dtype) if gh is None else gh.astype(dtype, copy=True)
    dc_state = xp.zeros((batch, H), dtype) if gc is None else gc.astype(dtype, copy=True)
    multiply, matmul = xp.multiply, xp.matmul
    for r0, bs in reversed(steps):
        r1 = r0 + bs
        dh = dh_state[:bs].copy() if go is None else go[r0:r1] + dh_state[:bs]
        if w_hr is not None:
            DH[r0:r1] = dh
            dm = dh @ w_hr
        else:
            dm = dh
        dc = dm * P[r0:r1]
        dc += dc_state[:bs]
        multiply(dm, Q[r0:r1, 0], out=dA[r0:r1, 0])
        multiply(dc[:, None, :], Q[r0:r1, 1:], out=dA[r0:r1, 1:])
        multiply(dc, F[r0:r1], out=dc_state[:bs])
        matmul(dA[r0:r1].reshape(bs, 4 * H), whh, out=dh_state[:bs])
    dA = dA.reshape(n, 4 * H)
    inv = np.argsort(order)
    gx = dA @ w_ih[order] if need[0] else None
    gw_ih = (dA.T @ x2)[inv] if need[3] else None
    gw_hh = (dA.T @ HP)[inv] if need[4] else None
    gb = dA.sum(0)[inv] if need[5] or need[6] else None
    gw_hr = DH.T @ M if w_hr is not None and need[7] else None
    return gx, dh_state, dc_state, gw_ih, gw_hh, gb, (None if gb is None else gb.copy()), gw_hr


# --- GRU ------------------------------------------------------------------------------------------

def _gru_forward(xp, x2, h0, w_ih, w_hh, b_ih, b_hh, steps, batch, save):
    H = w_hh.shape[0] // 3
    dtype = x2.dtype
    scale = _half_scale(xp, w_ih.dtype, 2 * H, H)
    A = x2 @ (w_ih * scale[:, None]).T  # (r, z, n) input parts, r and z rows halved
    b_hn = None
    if b_ih is not None:
        A += b_ih * scale
        A[:, :2 * H] += b_hh[:2 * H] * 0.5
        b_hn = b_hh[2 * H:]
    whh_t = (w_hh * scale[:, None]).T
    n = x2.shape[0]
    out = xp.empty((n, H), dtype)
    HP = xp.empty((n, H), dtype) if save else None
    GHN = xp.empty((n, H), dtype) if save else None  # W_hn h + b_hn of each row
    h = _initial(xp, h0, batch, H, dtype)
    own_h = False
    tanh, subtract = xp.tanh, xp.subtract
    for r0, bs in steps:
        r1 = r0 + bs
        hp = h[:bs]
        gates = hp @ whh_t
        at = A[r0:r1]
        rz = at[:, :2 * H]
        rz += gates[:, :2 * H]
        tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5
        ghn = gates[:, 2 * H:]
        if b_hn is not None:
            ghn += b_hn
        if save:
            GHN[r0:r1] = ghn
            HP[r0:r1] = hp
        nt = at[:, 2 * H:]
        nt += at[:, :H] * ghn
        tanh(nt, out=nt)
        hn = subtract(hp, nt, out=out[r0:r1])  # h' = n + z * (h - n)
        hn *= at[:, H:2 * H]
        hn += nt
        if bs == batch:
            h, own_h = hn, False
        else:
            if not own_h:
                h, own_h = h.copy(), True
            h[:bs] = hn
    return out, h, (A, HP, GHN)


def _gru_backward(xp, ctx, go, gh, w_ih, w_hh, need):
    A, HP, GHN = ctx.saved
    steps, batch, x2 = ctx.steps, ctx.batch, ctx.x2
    H = w_hh.shape[0] // 3
    dtype = A.dtype
    n = A.shape[0]
    R, Z, Nn = A[:, :H], A[:, H:2 * H], A[:, 2 * H:]
    K1 = (1 - Z) * (1 - Nn * Nn)  # dh -> d n_pre
    K2 = GHN * R * (1 - R)  # d n_pre -> d r_pre
    K3 = (HP - Nn) * Z * (1 - Z)  # dh -> d z_pre
    DG = xp.empty((n, 3 * H), dtype)  # gradients of (r_pre, z_pre, W_hn h + b_hn)
    DN = xp.empty((n, H), dtype)  # gradient of n_pre (the input side's n rows)
    dh_state = xp.zeros((batch, H), dtype) if gh is None else gh.astype(dtype, copy=True)
    multiply, matmul = xp.multiply, xp.matmul
    for r0, bs in reversed(steps):
        r1 = r0 + bs
        dh = dh_state[:bs].copy() if go is None else go[r0:r1] + dh_state[:bs]
        dnp = multiply(dh, K1[r0:r1], out=DN[r0:r1])
        multiply(dnp, K2[r0:r1], out=DG[r0:r1, :H])
        multiply(dh, K3[r0:r1], out=DG[r0:r1, H:2 * H])
        multiply(dnp, R[r0:r1], out=DG[r0:r1, 2 * H:])
        hs = matmul(DG[r0:r1], w_hh, out=dh_state[:bs])
        dh *= Z[r0:r1]
        hs += dh
    DA = DG.copy()
    DA[:, 2 * H:] = DN
    gx = DA @ w_ih if need[0] else None
    gw_ih = DA.T @ x2 if need[3] else None
    gw_hh = DG.T @ HP if need[4] else None
    gb_ih = DA.sum(0) if need[5] else None
    gb_hh = DG.sum(0) if need[6] else None
    return gx, dh_state, None, gw_ih, gw_hh, gb_ih, gb_hh, None


# --- Elman RNN ------------------------------------------------------------------------------------

def _rnn_forward(xp, x2, h0, w_ih, w_hh, b_ih, b_hh, steps, batch, save, relu):
    H = w_hh.shape[0]
    dtype = x2.dtype
    A = x2 @ w_ih.T
    if b_ih is not None:
        A += b_ih + b_hh
    whh_t = w_hh.T
    out = xp.empty((x2.shape[0], H), dtype)
    HP = xp.empty((x2.shape[0], H), dtype) if save else None
    h = _initial(xp, h0, batch, H, dtype)
    own_h = False
    matmul = xp.matmul
    for r0, bs in steps:
        r1 = r0 + bs
        hp = h[:bs]
        if save:
            HP[r0:r1] = hp
        hn = matmul(hp, whh_t, out=out[r0:r1])
        hn += A[r0:r1]
        if relu:
            xp.maximum(hn, 0, out=hn)
        else:
            xp.tanh(hn, out=hn)
        if bs == batch:
            h, own_h = hn, False
        else:
            if not own_h:
                h, own_h = h.copy(), True
            h[:bs] = hn
    # the activation's derivative, kept instead of the output (which the caller may change)
    D = None
    if save:
        D = (out > 0).astype(dtype) if relu else 1 - out * out
    return out, h, (D, HP)


def _rnn_backward(xp, ctx, go, gh, w_ih, w_hh, need):
    D, HP = ctx.saved
    steps, batch, x2 = ctx.steps, ctx.batch, ctx.x2
    dtype = D.dtype
    DA = xp.empty(D.shape, dtype)
    dh_state = xp.zeros((batch, D.shape[1]), dtype) if gh is None else gh.astype(dtype, copy=True)
    multiply, matmul = xp.multiply, xp.matmul
    for r0, bs in reversed(steps):
        r1 = r0 + bs
        dh = dh_state[:bs] if go is None else go[r0:r1] + dh_state[:bs]
        da = multiply(dh, D[r0:r1], out=DA[r0:r1])
        matmul(da, w_hh, out=dh_state[:bs])
    gx = DA @ w_ih if need[0] else None
    gw_ih = DA.T @ x2 if need[3] else None
    gw_hh = DA.T @ HP if need[4] else None
    gb = DA.sum(0) if need[5] or need[6] else None
    return gx, dh_state, None, gw_ih, gw_hh, gb, (None if gb is None else gb.copy()), None


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
