"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` over sequences and their one-step cells.

Parameter names, shapes, gate orders and initialisation are PyTorch's, so a PyTorch
``state_dict`` loads and gives the same outputs. The sequence layers run each layer and
direction as one fused node with hand-written backpropagation through time
(:mod:`fovea.nn.functional.rnn`); set ``layer.fused = False`` to run the composed cells
instead (slower, but differentiable to any order).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

import fovea
from fovea import backends, dtypes
from fovea.errors import ShapeError
from fovea.nn import init
from fovea.nn.functional.dropout import dropout as _dropout
from fovea.nn.functional.rnn_cells import (
    gru_cell,
    lstm_cell,
    recurrent_layer,
    rnn_relu_cell,
    rnn_tanh_cell,
)
from fovea.nn.modules._checks import check_float_dtype, check_tensor
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter
from fovea.nn.utils.rnn import PackedSequence, _index, _row_table
from fovea.tensor import Tensor

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _uniform_all(params, hidden_size, generator):
    """PyTorch's recurrent init: every weight and bias ~ U(-1/√H, 1/√H)."""
    k = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in params:
        init.uniform_(p, -k, k, generator=generator)


class RNNBase(Module):
    """The sequence layers' shared machinery (``mode``: RNN_TANH, RNN_RELU, LSTM or GRU).

    Shapes (L steps, N batch, D = 2 if bidirectional else 1):
        input (L, N, input_size), (N, L, input_size) with ``batch_first``, (L, input_size)
        unbatched, or a :class:`PackedSequence`;
        h_0 / c_0 (num_layers·D, N, hidden_size) (or without N when unbatched), default 0;
        output (L, N, D·hidden_size) (batch-first likewise), h_n / c_n like h_0.
    Parameters per layer k and direction: ``weight_ih_l{k}`` (G·H, in), ``weight_hh_l{k}``
    (G·H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H,), with ``_reverse`` for the backward
    direction; G = 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n), 1 (RNN).
    """

    fused = True  # one node per layer and direction with hand-written BPTT

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in _GATES:
            raise ValueError(f"RNNBase: unknown mode {mode!r}; expected one of {list(_GATES)}")
        for arg, v, low in (("input_size", input_size, 0), ("hidden_size", hidden_size, 1),
                            ("num_layers", num_layers, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name}: {arg} must be an integer >= {low}, got {v!r}")
        if isinstance(dropout, bool) or not 0 <= float(dropout) <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if proj_size:
            raise ValueError(f"{name}: proj_size is not supported by fovea (got {proj_size})")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} has no effect with num_layers=1 (it is "
                          "applied between layers)", stacklevel=2)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bool(bias), bool(batch_first)
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bool(bidirectional), 0
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp = backends.get(device).xp if device is not None else backends.default().xp
        gh = _GATES[mode] * hidden_size
        self._flat_weights_names = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in ("", "_reverse")[: self.num_directions]:
                shapes = [("weight_ih", (gh, in_size)), ("weight_hh", (gh, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gh,)), ("bias_hh", (gh,))]
                for base, shape in shapes:
                    pname = f"{base}_l{layer}{suffix}"
                    setattr(self, pname, Parameter(xp.empty(shape, dtype=dtype)))
                    self._flat_weights_names.append(pname)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _name(self) -> str:
        return type(self).__name__

    def reset_parameters(self, generator=None) -> None:
        """Every weight and bias ~ U(-1/√hidden_size, 1/√hidden_size) (PyTorch's init)."""
        _uniform_all(self.parameters(), self.hidden_size, generator)

    def flatten_parameters(self) -> None:
        """PyTorch compacts cuDNN weights here; fovea's layout needs nothing (no-op)."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters grouped per layer and direction: [[w_ih, w_hh, b_ih, b_hh], ...]."""
        per = 4 if self.bias else 2
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    # --- forward ---------------------------------------------------------------------------
    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        packed = isinstance(input, PackedSequence)
        lengths = None
        if packed:
            x, lengths, sorted_idx, unsorted_idx = _unpack(input)
            self._check_input(x)
            batched = True
            hx = _permute_hx(hx, sorted_idx)
        else:
            check_tensor(input, self._name)
            if input.ndim not in (2, 3):
                raise ShapeError(f"{self._name}: expected input to be 2-D (L, input_size) or 3-D "
                                 f"(L, N, input_size), got {input.ndim}-D with shape "
                                 f"{tuple(input.shape)}")
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)
            self._check_input(x)
        h0, c0 = self._initial_state(hx, x, batched)
        out, h_n, c_n = self._run(x, h0, c0, None if lengths is None else tuple(lengths))
        if packed:
            data = _pack_data(out, input.batch_sizes)
            output = PackedSequence(data, input.batch_sizes, input.sorted_indices,
                                    input.unsorted_indices)
            h_n = _permute_state(h_n, unsorted_idx)
            c_n = _permute_state(c_n, unsorted_idx)
        elif not batched:
            output, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        else:
            output = out.transpose(0, 1) if self.batch_first else out
        return output, ((h_n, c_n) if self.mode == "LSTM" else h_n)

    def _check_input(self, x: Tensor) -> None:
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{self._name}: input.size(-1) must be equal to input_size="
                             f"{self.input_size}, got input of shape {tuple(x.shape)}")
        check_float_dtype(x, self.weight_ih_l0.dtype, self._name)

    def _initial_state(self, hx, x: Tensor, batched: bool):
        """(h0, c0) as (num_layers·D, N, H) tensors (c0 None unless LSTM); checks hx."""
        n = x.shape[1]
        expected = (self.num_layers * self.num_directions, n, self.hidden_size)
        lstm = self.mode == "LSTM"
        if hx is None:
            h0 = fovea.zeros(expected, dtype=x.dtype, device=x.device)
            return h0, (h0 if lstm else None)
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0), got "
                                f"{type(hx).__name__}")
            states = [("h_0", hx[0]), ("c_0", hx[1])]
        else:
            states = [("hx", hx)]
        result = []
        for arg, s in states:
            check_tensor(s, f"{self._name} ({arg})")
            want = expected if batched else (expected[0], expected[2])
            if tuple(s.shape) != want:
                raise ShapeError(f"{self._name}: {arg} must have shape (num_layers * "
                                 f"num_directions, N, hidden_size) = {want}, got "
                                 f"{tuple(s.shape)}")
            check_float_dtype(s, x.dtype, f"{self._name} ({arg})")
            result.append(s if batched else s.unsqueeze(1))
        return result[0], (result[1] if lstm else None)

    def _run(self, x: Tensor, h0: Tensor, c0, lengths):
        """All layers and directions on (T, N, I): (output (T, N, D·H), h_n, c_n)."""
        lstm = self.mode == "LSTM"
        weights = self.all_weights
        h_out, c_out = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                o, h, c = recurrent_layer(x, h0[k], c0[k] if lstm else None, weights[k],
                                          self.mode, reverse=d == 1, lengths=lengths,
                                          fused=self.fused)
                outs.append(o)
                h_out.append(h)
                c_out.append(c)
            x = outs[0] if len(outs) == 1 else fovea.cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = _dropout(x, self.dropout, True)
        return x, fovea.stack(h_out, 0), (fovea.stack(c_out, 0) if lstm else None)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


def _unpack(seq: PackedSequence):
    """A packed batch as (T, N, *) padded in sorted order, its lengths and permutations."""
    batch_sizes = np.asarray(seq.batch_sizes.tolist(), dtype=np.int64)
    rows, lengths = _row_table(batch_sizes, batch_sizes.size)
    data = seq.data
    pad = fovea.zeros((1,) + tuple(data.shape[1:]), dtype=data.dtype, device=data.device)
    return _index(fovea.cat([data, pad], 0), rows), lengths.tolist(), seq.sorted_indices, \
        seq.unsorted_indices


def _pack_data(out: Tensor, batch_sizes: Tensor) -> Tensor:
    """The rows of a sorted (T, N, *) batch that a PackedSequence with ``batch_sizes`` keeps."""
    bs = np.asarray(batch_sizes.tolist(), dtype=np.int64)
    t_idx, b_idx = np.nonzero(np.arange(int(bs[0]))[None, :] < bs[:, None])
    return _index(out, t_idx, b_idx)


def _permute_state(s, order):
    return s if s is None or order is None else s.index_select(1, order.to(s.device))


def _permute_hx(hx, sorted_idx):
    if hx is None or sorted_idx is None:
        return hx
    if isinstance(hx, (tuple, list)):
        return tuple(_permute_state(s, sorted_idx) for s in hx)
    return _permute_state(hx, sorted_idx)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh) (or ReLU).

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, dtype=None)``; shapes as in
    :class:`RNNBase`; returns (output, h_n).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o; c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t).

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, dtype=None)``; ``forward(input, (h_0, c_0))`` returns
    (output, (h_n, c_n)).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit (PyTorch's form): gates r, z, n; h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}.

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, dtype=None)``; returns (output, h_n).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# --- one-step cells ----------------------------------------------------------------------
class RNNCellBase(Module):
    """A single recurrent step with parameters ``weight_ih`` (G·H, I), ``weight_hh`` (G·H, H),
    ``bias_ih``, ``bias_hh`` (G·H,). Input (N, I) or (I,); hidden (N, H) or (H,)."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        for arg, v, low in (("input_size", input_size, 0), ("hidden_size", hidden_size, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name}: {arg} must be an integer >= {low}, got {v!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bool(bias)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp = backends.get(device).xp if device is not None else backends.default().xp
        gh = self._gates * hidden_size
        self.weight_ih = Parameter(xp.empty((gh, input_size), dtype=dtype))
        self.weight_hh = Parameter(xp.empty((gh, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(xp.empty((gh,), dtype=dtype))
            self.bias_hh = Parameter(xp.empty((gh,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self, generator=None) -> None:
        """Every weight and bias ~ U(-1/√hidden_size, 1/√hidden_size) (PyTorch's init)."""
        _uniform_all(self.parameters(), self.hidden_size, generator)

    def _weights(self):
        w = [self.weight_ih, self.weight_hh]
        return w + [self.bias_ih, self.bias_hh] if self.bias else w

    def _prepare(self, input, states):
        """Checks; returns (x (N, I), [state (N, H) ...], batched)."""
        name = type(self).__name__
        check_tensor(input, name)
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: expected input to be 1-D (input_size,) or 2-D "
                             f"(N, input_size), got {input.ndim}-D with shape "
                             f"{tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input.size(-1) must be equal to input_size="
                             f"{self.input_size}, got input of shape {tuple(input.shape)}")
        check_float_dtype(input, self.weight_ih.dtype, name)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        want = (x.shape[0], self.hidden_size)
        out = []
        for arg, s in states:
            if s is None:
                s = fovea.zeros(want, dtype=x.dtype, device=x.device)
            else:
                check_tensor(s, f"{name} ({arg})")
                if tuple(s.shape) != (want if batched else want[1:]):
                    raise ShapeError(f"{name}: {arg} must have shape "
                                     f"{want if batched else want[1:]}, got {tuple(s.shape)}")
                s = s if batched else s.unsqueeze(0)
            out.append(s)
        return x, out, batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh) (or ReLU); returns (N, H) (or (H,))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        x, (h,), batched = self._prepare(input, [("hx", hx)])
        cell = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        h = cell(x, h, *self._weights())
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c))`` returns (h', c'), each (N, H) (or (H,))."""

    _gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        states = [("h", None), ("c", None)] if hx is None else [("h", hx[0]), ("c", hx[1])]
        x, (h, c), batched = self._prepare(input, states)
        h, c = lstm_cell(x, h, c, *self._weights())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n); returns h' (N, H) (or (H,))."""

    _gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        x, (h,), batched = self._prepare(input, [("hx", hx)])
        h = gru_cell(x, h, *self._weights())
        return h if batched else h.squeeze(0)
