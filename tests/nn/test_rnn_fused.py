"""The fused per-layer node (hand-written backpropagation through time) and the composed
cells through the op harness: against PyTorch's layers (forward and gradients), against
finite differences, on the stand-in device; the composed cells also to second order. Every
mode, both directions, with and without biases and with variable lengths."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
from fovea.nn.functional.rnn import RecurrentLayer
from fovea.nn.functional.rnn_cells import gru_cell, lstm_cell, rnn_relu_cell, rnn_tanh_cell
from oracle import check_op, torch

T, B, I, H = 4, 3, 3, 2
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _torch_module(mode, bias):
    if mode == "LSTM":
        return torch.nn.LSTM(I, H, bias=bias, dtype=torch.float64)
    if mode == "GRU":
        return torch.nn.GRU(I, H, bias=bias, dtype=torch.float64)
    return torch.nn.RNN(I, H, nonlinearity="tanh" if mode == "RNN_TANH" else "relu", bias=bias,
                        dtype=torch.float64)


def _reverse_index(lengths):
    """(T, B) time index that reverses each sequence inside its length (an involution)."""
    t = np.arange(T)[:, None]
    n = np.asarray(lengths if lengths is not None else [T] * B)[None, :]
    return np.where(t < n, n - 1 - t, t)


def _torch_layer(mode, bias, reverse, lengths):
    """PyTorch's one-layer module run as the fused node's twin: returns (T + k, B, H)."""
    def fn(x, h0, *rest):
        lstm = mode == "LSTM"
        c0, rest = (rest[0], rest[1:]) if lstm else (None, rest)
        names = ["weight_ih_l0", "weight_hh_l0"] + (["bias_ih_l0", "bias_hh_l0"] if bias else [])
        module = _torch_module(mode, bias)
        cols = torch.arange(B)
        rev = torch.tensor(_reverse_index(lengths))
        xin = x[rev, cols] if reverse else x
        state = (h0[None], c0[None]) if lstm else h0[None]
        if lengths is not None:
            xin = torch.nn.utils.rnn.pack_padded_sequence(xin, lengths, enforce_sorted=False)
        out, st = torch.func.functional_call(module, dict(zip(names, rest)), (xin, state))
        if lengths is not None:
            out = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)[0]
        if reverse:
            out = out[rev, cols]
        finals = [st[0][0], st[1][0]] if lstm else [st[0]]
        return torch.cat([out] + [f[None] for f in finals], 0)
    return fn


def _arrays(mode, bias, rng):
    g = GATES[mode] * H
    shapes = [(T, B, I), (B, H)] + ([(B, H)] if mode == "LSTM" else []) + [(g, I), (g, H)]
    if bias:
        shapes += [(g,), (g,)]
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, (4, 1, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_layer_against_torch_and_finite_differences(mode, reverse, lengths, bias):
    rng = np.random.default_rng(len(mode) + 2 * reverse + 4 * bias)
    arrays = _arrays(mode, bias, rng)
    params = dict(mode=mode, has_bias=bias, reverse=reverse, lengths=lengths)
    check_op(lambda *ts: RecurrentLayer.apply(*ts, **params),
             None if torch is None else _torch_layer(mode, bias, reverse, lengths),
             arrays, second_order=False)


def _torch_cell(kind, bias):
    def fn(x, h, *rest):
        lstm = kind == "lstm"
        c, rest = (rest[0], rest[1:]) if lstm else (None, rest)
        module = {"tanh": lambda: torch.nn.RNNCell(I, H, bias=bias, dtype=torch.float64),
                  "relu": lambda: torch.nn.RNNCell(I, H, bias=bias, nonlinearity="relu",
                                                   dtype=torch.float64),
                  "lstm": lambda: torch.nn.LSTMCell(I, H, bias=bias, dtype=torch.float64),
                  "gru": lambda: torch.nn.GRUCell(I, H, bias=bias, dtype=torch.float64)}[kind]()
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
        out = torch.func.functional_call(module, dict(zip(names, rest)),
                                         (x, (h, c) if lstm else h))
        return torch.cat(out, 1) if lstm else out
    return fn


@pytest.mark.parametrize("kind", ["tanh", "relu", "lstm", "gru"])
@pytest.mark.parametrize("bias", [True, False])
def test_composed_cells_to_second_order(kind, bias):
    mode = {"tanh": "RNN_TANH", "relu": "RNN_RELU", "lstm": "LSTM", "gru": "GRU"}[kind]
    rng = np.random.default_rng(11 + bias)
    arrays = _arrays(mode, bias, rng)
    arrays[0] = arrays[0][0]  # one step: (B, I)


    def fv(x, h, *rest):
        if kind == "lstm":
            return fovea.cat(lstm_cell(x, h, *rest), 1)
        return {"tanh": rnn_tanh_cell, "relu": rnn_relu_cell, "gru": gru_cell}[kind](x, h, *rest)

    check_op(fv, None if torch is None else _torch_cell(kind, bias), arrays)
