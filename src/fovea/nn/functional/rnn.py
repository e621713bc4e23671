"""Recurrent layers: one fused node per layer and direction over the whole sequence.

:class:`RecurrentLayer` runs a vanilla RNN (tanh or ReLU), an LSTM or a GRU over a sequence
in one ``Function``: the input projection of every time step is one matrix product, the
loop over time does only the recurrent product and the gate arithmetic, and backward is
hand-written backpropagation through time (the same loop in reverse, with the weight
gradients again one matrix product each). The composed twins (one small graph per time
step, differentiable to any order) are the cell functions of
:mod:`fovea.nn.functional.rnn_cells`; tests check the two against each other, against
finite differences and against PyTorch.

Gate layouts are PyTorch's: ``weight_ih`` is ``(G·H, I)`` with the gates stacked in the
order i, f, g, o (LSTM, G = 4) or r, z, n (GRU, G = 3); G = 1 for a vanilla RNN.
"""

from __future__ import annotations

import contextlib

from fovea.autograd import Function

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# Below this many multiply-adds per recurrent product, the time loop runs BLAS on one
# thread: waking a second thread for each small product costs more than it saves (measured
# 8x slower per training step at hidden size 128 on a loaded 2-core machine).
SERIAL_BLAS_BELOW = 1 << 23


@contextlib.contextmanager
def _loop_threads(ctx, macs: int):
    """Single-threaded BLAS for the loop's small products, where the device's kernels can
    set it (the CPU's ``blas`` family); nothing elsewhere."""
    blas = getattr(ctx.kernels, "blas", None)
    before = blas.get_num_threads() if blas is not None and macs < SERIAL_BLAS_BELOW else None
    if before is None or before == 1:
        yield
        return
    blas.set_num_threads(1)
    try:
        yield
    finally:
        blas.set_num_threads(before)


def _sigmoid(xp, a):
    # NOTE: σ(a) = (1 + tanh(a/2)) / 2 never overflows (1 / (1 + exp(-a)) does for a << 0).
    return 0.5 * (1.0 + xp.tanh(0.5 * a))


class RecurrentLayer(Function):
    """One layer, one direction: ``(x, h0[, c0], w_ih, w_hh[, b_ih, b_hh]) -> packed``.

    Shapes: x (T, B, I), h0 and c0 (B, H), w_ih (G·H, I), w_hh (G·H, H), biases (G·H,).
    The result is one array so that backward runs once: (T + 1, B, H) holding the outputs
    of the T steps then h_T, or (T + 2, B, H) for an LSTM with c_T last.

    Params:
        mode: one of ``MODES``.
        has_bias: whether b_ih and b_hh are given.
        reverse: run from the last step to the first (the backward direction).
        lengths: None, or the B sequence lengths (each ≤ T): step t of sequence b is run
            only when t < lengths[b]; elsewhere the output is 0 and the state is carried.
    """

    @staticmethod
    def forward(ctx, x, h0, *rest, mode, has_bias=True, reverse=False, lengths=None):
        xp = ctx.xp
        lstm, gru = mode == "LSTM", mode == "GRU"
        c0, rest = (rest[0], rest[1:]) if lstm else (None, rest)
        w_ih, w_hh = rest[0], rest[1]
        b_ih, b_hh = (rest[2], rest[3]) if has_bias else (None, None)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        w_in, w_hh_t = w_ih, w_hh.T
        b_in = (b_ih if gru else b_ih + b_hh) if has_bias else None  # GRU keeps b_hn apart
        if lstm:
            # NOTE: inside the loop the gates are laid out i, f, o, g with the sigmoid rows
            # halved, so that one tanh serves all four: σ(a) = (1 + tanh(a/2)) / 2. The
            # weights are permuted and scaled, not the (T, B, 4H) projections (T·B/I times
            # fewer elements).
            perm, scale = _lstm_layout(xp, H, x.dtype)
            w_in = w_ih[perm] * scale[:, None]
            w_hh_t = (w_hh[perm] * scale[:, None]).T
            b_in = b_in[perm] * scale if has_bias else None
        # Input projections of every step at once: (T, B, G·H).
        xw = (x.reshape(T * B, -1) @ w_in.T).reshape(T, B, -1)
        if has_bias:
            xw += b_in
        w_hh_t = xp.ascontiguousarray(w_hh_t)  # NOTE: h @ W_hhᵀ measured 30% faster this way
        mask = _mask(xp, lengths, T, x.dtype)
        out = xp.zeros((T + (2 if lstm else 1), B, H), dtype=x.dtype)
        hs = xp.empty((T + 1, B, H), dtype=x.dtype)  # states in processing order
        hs[0] = h0
        acts = xp.empty((T, B, GATES[mode] * H), dtype=x.dtype)  # gate activations by time
        if lstm:
            cs = xp.empty((T + 1, B, H), dtype=x.dtype)
            cs[0] = c0
            tcs = xp.empty((T, B, H), dtype=x.dtype)
        if gru:
            ghn = xp.empty((T, B, H), dtype=x.dtype)  # W_hn h + b_hn, needed by backward
        with _loop_threads(ctx, B * w_hh.shape[0] * H):
            h, c = h0, c0
            for k in range(T):
                t = T - 1 - k if reverse else k
                a = h @ w_hh_t
                if lstm:
                    a += xw[t]
                    act = acts[t]  # i, f, o, g written in place: backward reads them back
                    xp.tanh(a, out=act)
                    sig = act[:, :3 * H]
                    sig *= 0.5
                    sig += 0.5
                    i, f, o, g = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
                    c_new = f * c + i * g
                    tc = xp.tanh(c_new)
                    h_new = o * tc
                    tcs[t] = tc
                elif gru:
                    if has_bias:
                        a += b_hh
                    rz = _sigmoid(xp, xw[t, :, :2 * H] + a[:, :2 * H])
                    r, z = rz[:, :H], rz[:, H:]
                    n = xp.tanh(xw[t, :, 2 * H:] + r * a[:, 2 * H:])
                    h_new = n + z * (h - n)
                    acts[t, :, :2 * H], acts[t, :, 2 * H:] = rz, n
                    ghn[t] = a[:, 2 * H:]
                else:
                    a += xw[t]
                    h_new = xp.tanh(a) if mode == "RNN_TANH" else xp.maximum(a, 0)
                    acts[t] = h_new
                if mask is None:
                    h = h_new
                    out[t] = h
                    if lstm:
                        c = c_new
                else:
                    m = mask[t]
                    h = h + m * (h_new - h)  # carried where the sequence has ended
                    out[t] = m * h_new
                    if lstm:
                        c = c + m * (c_new - c)
                hs[k + 1] = h
                if lstm:
                    cs[k + 1] = c
        out[T] = h
        if lstm:
            out[T + 1] = c
        ctx.mode, ctx.has_bias, ctx.reverse, ctx.lengths = mode, has_bias, reverse, lengths
        ctx.save_for_backward(x, w_ih, w_hh, hs, acts, *((cs, tcs) if lstm else ()),
                              *((ghn,) if gru else ()))
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.recording:
            raise RuntimeError("RecurrentLayer: the fused backward through time cannot be "
                               "differentiated again; build the layer with fused=False "
                               "(the composed cells) for higher-order gradients")
        return _bptt(ctx, grad)


def _lstm_layout(xp, H, dtype):
    """Row order i, f, o, g of PyTorch's i, f, g, o blocks, and the scale 1/2 of the sigmoid
    rows (so that tanh of the scaled pre-activation gives every gate)."""
    idx = xp.arange(4 * H)
    perm = xp.concatenate([idx[:2 * H], idx[3 * H:], idx[2 * H:3 * H]])
    scale = xp.concatenate([xp.full(3 * H, 0.5, dtype=dtype), xp.ones(H, dtype=dtype)])
    return perm, scale


def _mask(xp, lengths, T, dtype):
    """(T, B, 1) with 1 where step t of sequence b exists, or None when all are full."""
    if lengths is None:
        return None
    steps = xp.arange(T).reshape(T, 1, 1)
    return (steps < xp.asarray(lengths).reshape(1, -1, 1)).astype(dtype)


def _bptt(ctx, grad):
    """Backpropagation through time: the forward loop in reverse, then the weight products."""
    xp, mode, reverse = ctx.xp, ctx.mode, ctx.reverse
    lstm, gru = mode == "LSTM", mode == "GRU"
    saved = ctx.saved_tensors
    x, w_ih, w_hh, hs, acts = saved[:5]
    if lstm:
        cs, tcs = saved[5:7]
    if gru:
        ghn = saved[5]
    T, B, _ = x.shape
    H = w_hh.shape[1]
    mask = _mask(xp, ctx.lengths, T, x.dtype)
    if lstm:
        # Everything but the incoming gradient, for all steps at once (in the loop's gate
        # order i, f, o, g): Q = ∂gates/∂pre-activation times the factor each gate's
        # gradient meets (g, c_{t-1}, tanh c_t, i), P = o (1 - tanh² c_t).
        perm, _ = _lstm_layout(xp, H, x.dtype)
        c_prev = cs[:T] if not reverse else cs[:T][::-1]
        i, f, o, g = (acts[:, :, j * H:(j + 1) * H] for j in range(4))
        d_in = acts * (1 - acts)  # σ′ for i, f, o (the g block is overwritten below)
        d_in[:, :, :H] *= g
        d_in[:, :, H:2 * H] *= c_prev
        d_in[:, :, 2 * H:3 * H] *= tcs
        d_in[:, :, 3 * H:] = i * (1 - g * g)
        P = o * (1 - tcs * tcs)
        w_hh_loop = w_hh[perm]
    else:
        d_in = xp.empty_like(acts)  # gradient of the input-side pre-activations, by time
    d_hh = xp.empty_like(acts) if gru else d_in  # of the hidden-side ones (GRU differs)
    gh = grad[T].copy()
    gc = grad[T + 1].copy() if lstm else None
    with _loop_threads(ctx, B * w_hh.shape[0] * H):
        for k in range(T - 1, -1, -1):
            t = T - 1 - k if reverse else k
            g_new = gh + grad[t]  # the gradient of this step's fresh state
            if mask is not None:
                m = mask[t]
                g_new *= m
                gh_carry = gh * (1 - m)
            if lstm:
                gc_new = g_new * P[t]
                gc_new += gc if mask is None else gc * m
                d = d_in[t]  # Q[t], turned into the pre-activation gradient in place
                d[:, :H] *= gc_new  # i
                d[:, H:2 * H] *= gc_new  # f
                d[:, 2 * H:3 * H] *= g_new  # o
                d[:, 3 * H:] *= gc_new  # g
                f = acts[t, :, H:2 * H]
                gc = gc_new * f if mask is None else gc_new * f + gc * (1 - m)
                gh = d @ w_hh_loop
            elif gru:
                r, z, n = acts[t, :, :H], acts[t, :, H:2 * H], acts[t, :, 2 * H:]
                h_prev = hs[k]
                dn = g_new * (1 - z) * (1 - n * n)
                dr = dn * ghn[t] * r * (1 - r)
                dz = g_new * (h_prev - n) * z * (1 - z)
                d_in[t, :, :H], d_in[t, :, H:2 * H], d_in[t, :, 2 * H:] = dr, dz, dn
                d_hh[t, :, :H], d_hh[t, :, H:2 * H], d_hh[t, :, 2 * H:] = dr, dz, dn * r
                gh = d_hh[t] @ w_hh + g_new * z
            else:
                h_new = acts[t]
                d = g_new * (1 - h_new * h_new) if mode == "RNN_TANH" else g_new * (h_new > 0)
                d_in[t] = d
                gh = d @ w_hh
            if mask is not None:
                gh += gh_carry
    # The weight gradients of all steps at once: (G·H, T·B) @ (T·B, ·).
    h_prev = hs[:T] if not reverse else hs[:T][::-1]  # the state each time step started from
    flat_in = d_in.reshape(T * B, -1)
    flat_hh = d_hh.reshape(T * B, -1)
    if lstm:  # from the loop's gate order back to PyTorch's
        back = xp.argsort(perm)
        dx = (flat_in @ w_ih[perm]).reshape(x.shape)
        dw_ih = (flat_in.T @ x.reshape(T * B, -1))[back]
        dw_hh = (flat_hh.T @ h_prev.reshape(T * B, H))[back]
        db = flat_in.sum(axis=0)[back]
        biases = [db, db.copy()]  # b_ih and b_hh get the same gradient, in separate arrays
    else:
        dx = (flat_in @ w_ih).reshape(x.shape)
        dw_ih = flat_in.T @ x.reshape(T * B, -1)
        dw_hh = flat_hh.T @ h_prev.reshape(T * B, H)
        biases = [flat_in.sum(axis=0), flat_hh.sum(axis=0)]
    grads = [dx, gh] + ([gc] if lstm else []) + [dw_ih, dw_hh]
    if ctx.has_bias:
        grads += biases
    return tuple(grads)
