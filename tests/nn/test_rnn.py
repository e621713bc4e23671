"""nn.RNN / LSTM / GRU and their cells against torch.nn: parameter names and shapes, the
same state dict giving the same outputs, final states and gradients (float64) for every
combination of num_layers, bidirectional, batch_first, bias and initial states, packed
input, dropout between layers; and the one-line errors for bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from fovea.errors import ShapeError
from fovea.nn.utils.rnn import pack_padded_sequence
from oracle import needs_torch, torch

KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]
COMBOS = list(itertools.product([1, 2], [False, True], [False, True], [True, False]))


def _pair(kind, kwargs, *args, **kw):
    """A torch module and a fovea module of the same kind holding the same float64 weights."""
    t = getattr(torch.nn, kind)(*args, dtype=torch.float64, **kwargs, **kw)
    f = getattr(nn, kind)(*args, dtype=fovea.float64, **kwargs, **kw)
    f.load_state_dict(t.state_dict())
    return t, f


def _states(kind, h0, lib):
    if h0 is None:
        return None
    if kind == "LSTM":
        return lib.tensor(h0, requires_grad=True), lib.tensor(0.5 * h0[::-1].copy(),
                                                              requires_grad=True)
    return lib.tensor(h0, requires_grad=True)


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def _check_same(t_mod, f_mod, x, h0, kind, rng, packed_lengths=None, batch_first=False):
    xt = torch.tensor(x, requires_grad=True)
    xf = fovea.tensor(x, requires_grad=True)
    ht, hf = _states(kind, h0, torch), _states(kind, h0, fovea)
    it, i_f = xt, xf
    if packed_lengths is not None:
        it = torch.nn.utils.rnn.pack_padded_sequence(xt, packed_lengths, batch_first=batch_first,
                                                     enforce_sorted=False)
        i_f = pack_padded_sequence(xf, packed_lengths, batch_first=batch_first,
                                   enforce_sorted=False)
    ot, st = t_mod(it, ht)
    of, sf = f_mod(i_f, hf)
    if packed_lengths is not None:
        assert of.batch_sizes.tolist() == ot.batch_sizes.tolist()
        ot, of = ot.data, of.data
    assert of.shape == tuple(ot.shape) and of.dtype == fovea.float64
    np.testing.assert_allclose(of.detach().numpy(), ot.detach().numpy(), rtol=1e-10, atol=1e-12)
    loss_t = (ot * torch.tensor(up := rng.standard_normal(tuple(ot.shape)))).sum()
    loss_f = (of * fovea.tensor(up)).sum()
    for a, b in zip(_flat(st), _flat(sf)):
        assert b.shape == tuple(a.shape)
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        w = rng.standard_normal(tuple(a.shape))
        loss_t = loss_t + (a * torch.tensor(w)).sum()
        loss_f = loss_f + (b * fovea.tensor(w)).sum()
    loss_t.backward()
    loss_f.backward()
    np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-11)
    for name, p in t_mod.named_parameters():
        np.testing.assert_allclose(getattr(f_mod, name).grad.numpy(), p.grad.numpy(),
                                   rtol=1e-8, atol=1e-11, err_msg=name)
    if ht is not None:
        for a, b in zip(_flat(ht), _flat(hf)):
            np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-8, atol=1e-11)


@needs_torch
@pytest.mark.parametrize("kind,kwargs", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,bias", COMBOS)
@pytest.mark.parametrize("with_h0", [False, True])
def test_sequence_layer_matches_torch(kind, kwargs, num_layers, bidirectional, batch_first,
                                      bias, with_h0):
    rng = np.random.default_rng(num_layers + 2 * bidirectional + 4 * batch_first)
    t_mod, f_mod = _pair(kind, kwargs, 3, 4, num_layers, bias=bias, batch_first=batch_first,
                         bidirectional=bidirectional)
    assert list(f_mod.state_dict()) == list(t_mod.state_dict())
    x = rng.standard_normal((2, 5, 3) if batch_first else (5, 2, 3))
    d = 2 if bidirectional else 1
    h0 = rng.standard_normal((num_layers * d, 2, 4)) if with_h0 else None
    _check_same(t_mod, f_mod, x, h0, kind, rng)


@needs_torch
@pytest.mark.parametrize("kind,kwargs", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional,batch_first", [(False, False), (True, True),
                                                       (True, False)])
def test_packed_input_matches_torch(kind, kwargs, bidirectional, batch_first):
    rng = np.random.default_rng(3)
    t_mod, f_mod = _pair(kind, kwargs, 3, 4, 2, batch_first=batch_first,
                         bidirectional=bidirectional)
    x = rng.standard_normal((3, 6, 3) if batch_first else (6, 3, 3))
    h0 = rng.standard_normal((2 * (2 if bidirectional else 1), 3, 4))
    _check_same(t_mod, f_mod, x, h0, kind, rng, packed_lengths=[4, 6, 2],
                batch_first=batch_first)


@needs_torch
@pytest.mark.parametrize("kind,kwargs", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_unbatched_input_matches_torch(kind, kwargs):
    rng = np.random.default_rng(4)
    t_mod, f_mod = _pair(kind, kwargs, 3, 4, 2, bidirectional=True)
    x = rng.standard_normal((5, 3))
    ot, st = t_mod(torch.tensor(x))
    of, sf = f_mod(fovea.tensor(x))
    np.testing.assert_allclose(of.detach().numpy(), ot.detach().numpy(), atol=1e-12)
    for a, b in zip(_flat(st), _flat(sf)):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), atol=1e-12)


@needs_torch
@pytest.mark.parametrize("cell,kwargs", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                         ("LSTMCell", {}), ("GRUCell", {})])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(cell, kwargs, bias, batched):
    rng = np.random.default_rng(5)
    t, f = _pair(cell, kwargs, 3, 4, bias=bias)
    assert list(f.state_dict()) == list(t.state_dict())
    x = rng.standard_normal((2, 3) if batched else (3,))
    h = rng.standard_normal((2, 4) if batched else (4,))
    hx = (h, 0.3 * h) if cell == "LSTMCell" else h
    for state in (None, hx):
        args_t = [torch.tensor(x, requires_grad=True)]
        args_f = [fovea.tensor(x, requires_grad=True)]
        if state is not None:
            args_t.append(tuple(torch.tensor(s) for s in state) if cell == "LSTMCell"
                          else torch.tensor(state))
            args_f.append(tuple(fovea.tensor(s) for s in state) if cell == "LSTMCell"
                          else fovea.tensor(state))
        ot, of = _flat(t(*args_t)), _flat(f(*args_f))
        sum(o.pow(3).sum() for o in ot).backward()
        sum(o.pow(3).sum() for o in of).backward()
        for a, b in zip(ot, of):
            np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(args_f[0].grad.numpy(), args_t[0].grad.numpy(), atol=1e-11)
        for name, p in t.named_parameters():
            np.testing.assert_allclose(getattr(f, name).grad.numpy(), p.grad.numpy(),
                                       atol=1e-10)
            p.grad = None
            getattr(f, name).grad = None


@needs_torch
def test_default_init_has_torch_shapes_and_bounds():
    t, f = torch.nn.LSTM(5, 7, 2, bidirectional=True), nn.LSTM(5, 7, 2, bidirectional=True)
    assert [(k, tuple(v.shape)) for k, v in t.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in f.state_dict().items()]
    assert repr(f) == repr(t)
    for p in f.parameters():
        assert p.dtype == fovea.float32 and np.abs(p.detach().numpy()).max() <= 1 / np.sqrt(7)


def test_dropout_between_layers_only_in_training():
    fovea.manual_seed(0)
    m = nn.GRU(3, 4, 2, dropout=0.5).double()
    x = fovea.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    m.eval()
    with fovea.no_grad():
        a, _ = m(x)
        b, _ = m(x)
        assert np.array_equal(a.numpy(), b.numpy())
        m.train()
        c, _ = m(x)
        assert not np.allclose(a.numpy(), c.numpy())
    # the same as running the two layers by hand with no dropout in eval mode
    m1, m2 = nn.GRU(3, 4).double(), nn.GRU(4, 4).double()
    sd = m.state_dict()
    m1.load_state_dict({k: v for k, v in sd.items() if k.endswith("l0")})
    m2.load_state_dict({k.replace("l1", "l0"): v for k, v in sd.items() if k.endswith("l1")})
    np.testing.assert_allclose(m2(m1(x)[0])[0].detach().numpy(), a.numpy(), atol=1e-14)


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="dropout"):
        nn.LSTM(3, 4, 1, dropout=0.2)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_fused_and_composed_modules_agree(kind):
    """The fused BPTT node against the loop of composed cells (no PyTorch needed)."""
    rng = np.random.default_rng(6)
    m = getattr(nn, kind)(3, 4, 2, bidirectional=True, batch_first=True).double()
    x = rng.standard_normal((2, 5, 3))
    results = []
    for fused in (True, False):
        m.fused = fused
        m.zero_grad()
        xf = fovea.tensor(x, requires_grad=True)
        out, state = m(xf)
        (out.pow(2).sum() + sum(s.sum() for s in _flat(state))).backward()
        results.append([out.detach().numpy(), xf.grad.numpy()]
                       + [p.grad.numpy().copy() for p in m.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_composed_layer_has_second_derivatives_and_fused_says_so():
    m = nn.LSTM(2, 3).double()
    x = fovea.tensor(np.random.default_rng(7).standard_normal((4, 1, 2)), requires_grad=True)
    m.fused = False
    (g,) = fovea.grad(m(x)[0].pow(2).sum(), x, create_graph=True)
    (h,) = fovea.grad(g.sum(), x)
    assert h.shape == x.shape and np.abs(h.numpy()).sum() > 0
    m.fused = True
    with pytest.raises(RuntimeError, match="fused=False"):
        fovea.grad(m(x)[0].pow(2).sum(), x, create_graph=True)


# --- bad input: one line naming the argument ---------------------------------------------------
def _one_line(excinfo, *words):
    msg = str(excinfo.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, msg


def test_wrong_rank_and_feature_size():
    m = nn.LSTM(3, 4)
    with pytest.raises(ShapeError) as e:
        m(fovea.zeros(2, 2, 2, 3))
    _one_line(e, "LSTM", "2-D", "3-D", "4-D")
    with pytest.raises(ShapeError) as e:
        m(fovea.zeros(5, 2, 6))
    _one_line(e, "input_size=3", "(5, 2, 6)")
    with pytest.raises(ShapeError) as e:
        nn.GRUCell(3, 4)(fovea.zeros(2, 5))
    _one_line(e, "GRUCell", "input_size=3")


def test_hidden_state_shape_must_match_layers_times_directions():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    with pytest.raises(ShapeError) as e:
        m(fovea.zeros(5, 2, 3), fovea.zeros(2, 2, 4))
    _one_line(e, "hx", "num_layers * num_directions", "(4, 2, 4)", "(2, 2, 4)")
    with pytest.raises(ShapeError) as e:
        nn.LSTM(3, 4)(fovea.zeros(5, 2, 3), (fovea.zeros(1, 2, 4), fovea.zeros(1, 3, 4)))
    _one_line(e, "c_0", "(1, 2, 4)", "(1, 3, 4)")
    with pytest.raises(TypeError, match="tuple"):
        nn.LSTM(3, 4)(fovea.zeros(5, 2, 3), fovea.zeros(1, 2, 4))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout"):
        nn.LSTM(3, 4, 2, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
