"""nn.modules: Conv1d, ConvTranspose1d, the 1-D pools, MultiheadAttention and the
Transformer layers against torch.nn (same state dict -> same outputs, attention weights and
parameter gradients), plus a NumPy-worked multi-head attention for runs without PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import needs_torch, torch


def _run_both(t_module, f_module, inputs, train=False, **kwargs):
    """Load the torch module's weights into the fovea one; run both on float64 copies of
    ``inputs``; return (torch outputs, fovea outputs, torch params, fovea params)."""
    t_module, f_module = t_module.double(), f_module.double()
    f_module.load_state_dict(t_module.state_dict())
    t_module.train(train)
    f_module.train(train)
    t_out = t_module(*(torch.tensor(a) for a in inputs), **{
        k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    f_out = f_module(*(fovea.tensor(a) for a in inputs), **{
        k: fovea.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()})
    return t_out, f_out


def _compare(t_out, f_out, t_module, f_module, rtol=1e-9):
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    f_outs = f_out if isinstance(f_out, tuple) else (f_out,)
    for t, f in zip(t_outs, f_outs):
        if t is None:
            assert f is None
            continue
        np.testing.assert_allclose(f.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=1e-12)
    rng = np.random.default_rng(0)
    up = rng.standard_normal(tuple(t_outs[0].shape))
    (t_outs[0] * torch.tensor(up)).sum().backward()
    (f_outs[0] * fovea.tensor(up)).sum().backward()
    t_grads = {k: p.grad for k, p in t_module.named_parameters()}
    for name, p in f_module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), t_grads[name].numpy(), rtol=1e-7,
                                   atol=1e-10, err_msg=name)


X = np.random.default_rng(1).standard_normal((2, 4, 11))


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1, dilation=2),
                                    dict(padding="same", groups=2, bias=False),
                                    dict(padding=2, padding_mode="reflect"),
                                    dict(padding=1, padding_mode="circular"),
                                    dict(padding=3, padding_mode="replicate")])
def test_conv1d_module(kwargs):
    t, f = torch.nn.Conv1d(4, 6, 3, **kwargs), nn.Conv1d(4, 6, 3, **kwargs)
    assert list(f.state_dict()) == list(t.state_dict())
    assert f.weight.shape == tuple(t.weight.shape)
    assert repr(f) == repr(t)
    _compare(*_run_both(t, f, [X]), t, f)


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(stride=2, padding=1, output_padding=1),
                                    dict(groups=2, dilation=2, bias=False)])
def test_conv_transpose1d_module(kwargs):
    t, f = torch.nn.ConvTranspose1d(4, 6, 3, **kwargs), nn.ConvTranspose1d(4, 6, 3, **kwargs)
    assert repr(f) == repr(t)
    _compare(*_run_both(t, f, [X]), t, f)


def test_conv1d_default_initialisation_is_pytorchs_bound():
    """U(-1/√fan_in, 1/√fan_in) with fan_in = C/groups · k = 2 · 5: a formula, no torch."""
    layer = nn.Conv1d(4, 300, 5, groups=2)
    w = layer.weight.detach().numpy()
    bound = 1 / np.sqrt(10)
    assert w.shape == (300, 2, 5) and np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.98 * bound and abs(w.mean()) < 0.01


@needs_torch
@pytest.mark.parametrize("t_cls,f_cls,args", [
    ("MaxPool1d", nn.MaxPool1d, (3, 2, 1)), ("AvgPool1d", nn.AvgPool1d, (3, 2, 1)),
    ("AdaptiveAvgPool1d", nn.AdaptiveAvgPool1d, (4,)),
    ("AdaptiveMaxPool1d", nn.AdaptiveMaxPool1d, (4,))])
def test_pool1d_modules(t_cls, f_cls, args):
    t, f = getattr(torch.nn, t_cls)(*args), f_cls(*args)
    out_t, out_f = t(torch.tensor(X)), f(fovea.tensor(X))
    np.testing.assert_allclose(out_f.numpy(), out_t.numpy(), rtol=1e-12)


MHA_CASES = [
    dict(),
    dict(bias=False),
    dict(add_bias_kv=True, add_zero_attn=True),
    dict(kdim=3, vdim=5),
    dict(batch_first=True),
]


@needs_torch
@pytest.mark.parametrize("kwargs", MHA_CASES)
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_matches_pytorch(kwargs, average):
    rng = np.random.default_rng(2)
    t, f = torch.nn.MultiheadAttention(8, 2, **kwargs), nn.MultiheadAttention(8, 2, **kwargs)
    assert list(f.state_dict()) == list(t.state_dict())
    bf = kwargs.get("batch_first", False)
    q = rng.standard_normal((3, 5, 8) if bf else (5, 3, 8))
    k = rng.standard_normal((3, 7, kwargs.get("kdim", 8)) if bf else (7, 3, kwargs.get("kdim", 8)))
    v = rng.standard_normal((*k.shape[:2], kwargs.get("vdim", 8)))
    _compare(*_run_both(t, f, [q, k, v], average_attn_weights=average), t, f)


@needs_torch
def test_multihead_attention_masks_follow_pytorch():
    rng = np.random.default_rng(3)
    t, f = torch.nn.MultiheadAttention(8, 2), nn.MultiheadAttention(8, 2)
    q, k = rng.standard_normal((5, 3, 8)), rng.standard_normal((7, 3, 8))
    padding = np.zeros((3, 7), dtype=bool)
    padding[0, -2:] = padding[2, 0] = True           # True = this key is padding
    causal_like = np.triu(np.ones((5, 7), dtype=bool), 3)  # True = not allowed
    for kw in (dict(key_padding_mask=padding), dict(attn_mask=causal_like),
               dict(attn_mask=rng.standard_normal((6, 5, 7)), key_padding_mask=padding * -1e3),
               dict(key_padding_mask=padding, attn_mask=causal_like, need_weights=False)):
        _compare(*_run_both(t, f, [q, k, k], **kw), t, f)
        t.zero_grad()
        f.zero_grad()


def test_multihead_attention_against_numpy():
    """The forward worked by hand: per-head softmax(q kᵀ/√d) v, concatenated, projected."""
    rng = np.random.default_rng(4)
    e, h, L, S, n = 6, 3, 4, 5, 2
    m = nn.MultiheadAttention(e, h, dtype=fovea.float64)
    w_in, b_in = rng.standard_normal((3 * e, e)), rng.standard_normal(3 * e)
    w_out, b_out = rng.standard_normal((e, e)), rng.standard_normal(e)
    m.load_state_dict({"in_proj_weight": w_in, "in_proj_bias": b_in,
                       "out_proj.weight": w_out, "out_proj.bias": b_out})
    q, kv = rng.standard_normal((L, n, e)), rng.standard_normal((S, n, e))
    out, weights = m(fovea.tensor(q), fovea.tensor(kv), fovea.tensor(kv))
    Q, K, V = q @ w_in[:e].T + b_in[:e], kv @ w_in[e:2 * e].T + b_in[e:2 * e], \
        kv @ w_in[2 * e:].T + b_in[2 * e:]
    d = e // h
    heads, all_w = [], []
    for j in range(h):
        qs, ks, vs = (A[..., j * d:(j + 1) * d].transpose(1, 0, 2) for A in (Q, K, V))
        z = qs @ ks.transpose(0, 2, 1) / np.sqrt(d)
        w = np.exp(z - z.max(-1, keepdims=True))
        w /= w.sum(-1, keepdims=True)
        all_w.append(w)
        heads.append((w @ vs).transpose(1, 0, 2))
    expected = np.concatenate(heads, -1) @ w_out.T + b_out
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(weights.detach().numpy(), np.mean(all_w, 0), rtol=1e-12)


def test_multihead_attention_bad_arguments():
    with pytest.raises(ValueError, match="embed_dim \\(10\\) must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    q = fovea.zeros(5, 3, 8)
    with pytest.raises(ValueError, match="is_causal=True is a hint"):
        m(q, q, q, is_causal=True)
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        m(q, q, q, attn_mask=fovea.zeros(4, 5))
    with pytest.raises(ValueError, match="key_padding_mask must have shape"):
        m(q, q, q, key_padding_mask=fovea.zeros(3, 4, dtype=fovea.bool_))


@needs_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(norm_first=True, activation="gelu"),
                                    dict(batch_first=True), dict(bias=False)])
def test_transformer_encoder_and_decoder_layers(kwargs):
    rng = np.random.default_rng(5)
    src, mem = rng.standard_normal((5, 3, 8)), rng.standard_normal((7, 3, 8))
    if kwargs.get("batch_first"):
        src, mem = src.transpose(1, 0, 2).copy(), mem.transpose(1, 0, 2).copy()
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kwargs)
    f = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kwargs)
    assert list(f.state_dict()) == list(t.state_dict())
    _compare(*_run_both(t, f, [src], train=True, src_mask=mask), t, f)
    t = torch.nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **kwargs)
    f = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, **kwargs)
    assert list(f.state_dict()) == list(t.state_dict())
    _compare(*_run_both(t, f, [src, mem], train=True, tgt_mask=mask), t, f)


@needs_torch
def test_transformer_matches_pytorch_and_its_causal_mask():
    rng = np.random.default_rng(6)
    t = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.1)
    f = nn.Transformer(8, 2, 2, 2, 16, dropout=0.1)
    assert list(f.state_dict()) == list(t.state_dict())
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(mask.numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    src, tgt = rng.standard_normal((7, 3, 8)), rng.standard_normal((5, 3, 8))
    padding = np.zeros((3, 7), dtype=bool)
    padding[1, -3:] = True
    _compare(*_run_both(t, f, [src, tgt], tgt_mask=mask.numpy().astype(np.float64),
                        src_key_padding_mask=padding, memory_key_padding_mask=padding), t, f,
             rtol=1e-8)


def test_transformer_encoder_copies_are_independent_and_causal_hint_masks():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, dtype=fovea.float64)
    enc = nn.TransformerEncoder(layer, 3)
    assert len(enc.layers) == 3 and enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert [k for k in enc.state_dict() if k.endswith("linear1.weight")] == [
        f"layers.{i}.linear1.weight" for i in range(3)]
    x = fovea.tensor(np.random.default_rng(7).standard_normal((5, 2, 8)))
    mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=fovea.float64)
    np.testing.assert_allclose(enc(x, is_causal=True).detach().numpy(),
                               enc(x, mask=mask).detach().numpy())
    # Causality: changing the last position changes nothing before it.
    y = x.numpy().copy()
    y[-1] += 1.0
    a = enc(x, mask=mask).detach().numpy()
    b = enc(fovea.tensor(y), mask=mask).detach().numpy()
    np.testing.assert_allclose(a[:-1], b[:-1], rtol=1e-12)
    assert not np.allclose(a[-1], b[-1])


def test_transformer_initialisation_is_xavier_uniform():
    model = nn.Transformer(16, 2, 1, 1, 32)
    w = model.encoder.layers[0].linear1.weight.detach().numpy()  # (32, 16)
    bound = np.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
