"""nn.utils.rnn: pack_padded_sequence, pad_packed_sequence, pad_sequence, pack_sequence and
unpad/unpack against PyTorch and a hand-worked example, gradients through the harness, and
the one-line errors (unsorted lengths without enforce_sorted=False, bad lengths)."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
from fovea.errors import ShapeError
from fovea.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)
from oracle import check_op, needs_torch, torch

X = np.random.default_rng(0).standard_normal((6, 4, 3))
CASES = [([6, 4, 4, 1], True), ([2, 6, 1, 4], False), ([3, 3, 3, 3], False),
         ([2, 5, 5, 1], False)]


def test_hand_worked_packing():
    x = fovea.tensor(np.arange(12.0).reshape(3, 4).T.copy())  # (T=4, B=3): x[t, b] = 4b + t
    p = pack_padded_sequence(x, [4, 2, 1])
    assert p.batch_sizes.tolist() == [3, 2, 1, 1] and p.batch_sizes.dtype == fovea.int64
    assert p.data.tolist() == [0.0, 4.0, 8.0, 1.0, 5.0, 2.0, 3.0]
    assert p.sorted_indices is None and p.unsorted_indices is None
    padded, lengths = pad_packed_sequence(p, batch_first=True, padding_value=-1)
    assert lengths.tolist() == [4, 2, 1]
    assert padded.tolist() == [[0, 1, 2, 3], [4, 5, -1, -1], [8, -1, -1, -1]]
    q = pack_padded_sequence(x, [1, 4, 2], enforce_sorted=False)
    assert q.sorted_indices.tolist() == [1, 2, 0] and q.unsorted_indices.tolist() == [2, 0, 1]
    assert q.data.tolist() == [4.0, 8.0, 0.0, 5.0, 9.0, 6.0, 7.0]


@needs_torch
@pytest.mark.parametrize("lengths,enforce_sorted", CASES)
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_and_pad_match_torch(lengths, enforce_sorted, batch_first):
    x = X.transpose(1, 0, 2).copy() if batch_first else X
    p = pack_padded_sequence(fovea.tensor(x), lengths, batch_first, enforce_sorted)
    tp = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(lengths),
                                                 batch_first, enforce_sorted)
    np.testing.assert_array_equal(p.data.numpy(), tp.data.numpy())
    assert p.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for a, b in ((p.sorted_indices, tp.sorted_indices), (p.unsorted_indices,
                                                         tp.unsorted_indices)):
        assert (a is None and b is None) or a.tolist() == b.tolist()
    for total in (None, 8):
        a, la = pad_packed_sequence(p, batch_first, -1.5, total)
        b, lb = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first, -1.5, total)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert la.tolist() == lb.tolist()


@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, side):
    rng = np.random.default_rng(1)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    a = pad_sequence([fovea.tensor(s) for s in seqs], batch_first, 0.5, side)
    b = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 0.5, side)
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_round_trips_without_torch():
    rng = np.random.default_rng(2)
    seqs = [fovea.tensor(rng.standard_normal((n, 2))) for n in (2, 5, 3)]
    for got, want in zip(unpack_sequence(pack_sequence(seqs, enforce_sorted=False)), seqs):
        assert np.array_equal(got.numpy(), want.numpy())
    padded = pad_sequence(seqs, batch_first=True)
    assert padded.shape == (3, 5, 2) and padded[0, 2:].abs().sum().item() == 0
    for got, want in zip(unpad_sequence(padded, [2, 5, 3], batch_first=True), seqs):
        assert np.array_equal(got.numpy(), want.numpy())
    p = pack_sequence(seqs, enforce_sorted=False)
    assert isinstance(p, PackedSequence) and p.to(fovea.float32).data.dtype == fovea.float32


@pytest.mark.parametrize("batch_first", [False, True])
def test_gradients_flow_through_packing(batch_first):
    lengths = [2, 6, 1, 4]
    x = X.transpose(1, 0, 2).copy() if batch_first else X

    def fv(t):
        p = pack_padded_sequence(t, lengths, batch_first, enforce_sorted=False)
        return pad_packed_sequence(p.__class__(p.data * p.data, *p[1:]), total_length=8)[0]

    def tf(t):
        p = torch.nn.utils.rnn.pack_padded_sequence(t, lengths, batch_first,
                                                    enforce_sorted=False)
        return torch.nn.utils.rnn.pad_packed_sequence(p._replace(data=p.data * p.data),
                                                      total_length=8)[0]

    check_op(fv, None if torch is None else tf, [x],
             numpy_fn=lambda a: _numpy_pad_square(a, lengths, batch_first))


def _numpy_pad_square(a, lengths, batch_first):
    a = a.transpose(1, 0, 2) if batch_first else a
    out = np.zeros((8,) + a.shape[1:])
    for b, n in enumerate(lengths):
        out[:n, b] = a[:n, b] ** 2
    return out


def test_unsorted_lengths_need_enforce_sorted_false():
    with pytest.raises(ValueError) as e:
        pack_padded_sequence(fovea.zeros(5, 3, 2), [2, 5, 3])
    msg = str(e.value)
    assert "\n" not in msg and "lengths" in msg and "enforce_sorted=False" in msg


def test_bad_lengths_are_one_line_errors():
    with pytest.raises(ShapeError, match="lengths has 2 entries but the batch has 3"):
        pack_padded_sequence(fovea.zeros(5, 3, 2), [5, 2])
    with pytest.raises(ValueError, match="positive"):
        pack_padded_sequence(fovea.zeros(5, 3, 2), [5, 2, 0])
    with pytest.raises(ShapeError, match="longer than"):
        pack_padded_sequence(fovea.zeros(5, 3, 2), [6, 2, 1])
    p = pack_padded_sequence(fovea.zeros(5, 3, 2), [5, 2, 1])
    with pytest.raises(ValueError, match="total_length"):
        pad_packed_sequence(p, total_length=3)
    with pytest.raises(ShapeError, match="sequence 1"):
        pad_sequence([fovea.zeros(2, 3), fovea.zeros(2, 4)])


# --- truncated BPTT and gradient flow per step ------------------------------------------------
def test_truncated_windows_detach_and_cover_the_sequence():
    import fovea.nn as nn
    from fovea.nn.utils.bptt import detach_state, truncated_windows

    x = fovea.tensor(np.random.default_rng(4).standard_normal((10, 2, 3)))
    y = fovea.arange(20).reshape(10, 2)
    wins = list(truncated_windows(x, y, 4))
    assert [w.shape[0] for w, _ in wins] == [4, 4, 2]
    assert np.array_equal(fovea.cat([w for w, _ in wins]).numpy(), x.numpy())
    m = nn.LSTM(3, 5).double()
    state, full = None, m(x)[0]
    outs = []
    for w, _ in wins:
        out, state = m(w, detach_state(state))
        assert state[0].grad_fn is not None  # this window's graph only
        outs.append(out)
    # carrying the state gives the full sequence's outputs ...
    np.testing.assert_allclose(fovea.cat(outs).detach().numpy(), full.detach().numpy(),
                               atol=1e-14)
    # ... while the last window's gradient no longer reaches the first window's input
    xg = x.detach().requires_grad_(True)
    state = None
    for w, _ in truncated_windows(xg, None, 4):
        out, state = m(w, detach_state(state))
    out.sum().backward()
    assert np.abs(xg.grad.numpy()[:8]).sum() == 0 and np.abs(xg.grad.numpy()[8:]).sum() > 0
    with pytest.raises(ValueError, match="k must be"):
        next(truncated_windows(x, None, 0))


def test_step_gradient_norms_vanish_for_a_contracting_rnn_not_for_an_lstm():
    import fovea.nn as nn
    from fovea.nn.utils.bptt import step_gradient_norms

    x = fovea.tensor(np.random.default_rng(5).standard_normal((30, 4, 8)))
    rnn = nn.RNN(8, 16).double()
    with fovea.no_grad():  # recurrent matrix with largest singular value 0.5
        w = np.linalg.qr(np.random.default_rng(6).standard_normal((16, 16)))[0] * 0.5
        rnn.weight_hh_l0.copy_(fovea.tensor(w))
    g = step_gradient_norms(rnn, x)
    assert g.shape == (30,) and g[-1] > 0
    assert g[0] < 0.5 ** 20 * g[-1]  # at most 0.5 per step back (tanh' <= 1)
    lstm = nn.LSTM(8, 16).double()
    with fovea.no_grad():
        lstm.bias_hh_l0[16:32] = 5.0  # forget gate open: the cell path carries gradient
    gl = step_gradient_norms(lstm, x)
    assert gl[0] > 1e-3 * gl[-1]
