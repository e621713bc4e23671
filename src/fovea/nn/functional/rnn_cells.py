"""Recurrent cells composed of ordinary ops, and one layer over a sequence (fused or not).

The cells are one time step each, built from ``linear``, ``sigmoid``, ``tanh`` and
elementwise ops, so they are differentiable to any order; PyTorch's ``RNNCell``,
``LSTMCell`` and ``GRUCell`` are these functions with parameters. :func:`recurrent_layer`
runs one layer and direction over a sequence either with the fused node
:class:`fovea.nn.functional.rnn.RecurrentLayer` (fast, first-order gradients) or as a loop
of these cells (the composed twin, any order).

Shapes: x (B, I), h and c (B, H), w_ih (G·H, I), w_hh (G·H, H), biases (G·H,) or None.
"""

from __future__ import annotations

import fovea
from fovea.nn.functional.linear import linear
from fovea.nn.functional.rnn import RecurrentLayer


def rnn_tanh_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh); returns (B, H)."""
    return (linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)).tanh()


def rnn_relu_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh); returns (B, H)."""
    return (linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)).relu()


def lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step; gates i, f, g, o; returns (h', c') each (B, H).

    i, f, o = σ(·), g = tanh(·) of x W_ihᵀ + b_ih + h W_hhᵀ + b_hh;
    c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c').
    """
    a = linear(x, w_ih, b_ih) + linear(h, w_hh, b_hh)
    i, f, g, o = a.chunk(4, 1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (PyTorch's form); gates r, z, n; returns h' (B, H).

    r, z = σ(x W_iᵀ + b_i + h W_hᵀ + b_h) for their rows; n = tanh(x W_inᵀ + b_in +
    r ⊙ (h W_hnᵀ + b_hn)); h' = (1 − z) ⊙ n + z ⊙ h.
    """
    xi_r, xi_z, xi_n = linear(x, w_ih, b_ih).chunk(3, 1)
    hh_r, hh_z, hh_n = linear(h, w_hh, b_hh).chunk(3, 1)
    r = (xi_r + hh_r).sigmoid()
    z = (xi_z + hh_z).sigmoid()
    n = (xi_n + r * hh_n).tanh()
    return n + z * (h - n)


def recurrent_layer(x, h0, c0, weights, mode, *, reverse=False, lengths=None, fused=True):
    """One layer, one direction over a sequence.

    Args:
        x: (T, B, I). h0, c0: (B, H) (c0 only for ``mode="LSTM"``, else None).
        weights: (w_ih, w_hh) or (w_ih, w_hh, b_ih, b_hh).
        mode: ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.
        reverse: run from the last valid step back to the first.
        lengths: None or a tuple of B ints: sequence b has steps 0..lengths[b]-1; later
            outputs are 0 and the state stops changing.
        fused: one :class:`RecurrentLayer` node (hand-written BPTT) rather than a loop of
            composed cells.

    Returns:
        (output (T, B, H), h_T (B, H), c_T (B, H) or None).
    """
    lstm = mode == "LSTM"
    T = x.shape[0]
    if fused:
        ins = (x, h0) + ((c0,) if lstm else ()) + tuple(weights)
        packed = RecurrentLayer.apply(*ins, mode=mode, has_bias=len(weights) == 4,
                                      reverse=reverse, lengths=lengths)
        return packed[:T], packed[T], (packed[T + 1] if lstm else None)
    cell = {"RNN_TANH": rnn_tanh_cell, "RNN_RELU": rnn_relu_cell, "GRU": gru_cell}.get(mode)
    mask = None
    if lengths is not None:
        steps = fovea.arange(T, device=x.device).reshape(T, 1, 1)
        mask = (steps < fovea.tensor(list(lengths), device=x.device).reshape(1, -1, 1))
        mask = mask.to(x.dtype)
    h, c = h0, c0
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        if lstm:
            h_new, c_new = lstm_cell(x[t], h, c, *weights)
        else:
            h_new = cell(x[t], h, *weights)
        if mask is None:
            h, outs[t] = h_new, h_new
            c = c_new if lstm else None
        else:
            m = mask[t]
            h, outs[t] = h + m * (h_new - h), m * h_new
            c = c + m * (c_new - c) if lstm else None
    return fovea.stack(outs, 0), h, c
