"""nn/functional/attention: scaled_dot_product_attention against PyTorch through the shared
harness and against the formula softmax(QKᵀ/√E + bias)·V worked in NumPy; both mask
conventions, causal masking, grouped-query attention, dropout."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

TF = torch.nn.functional if torch else None


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def _attention_ref(q, k, v, bias=0.0, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    return _softmax(q @ np.swapaxes(k, -1, -2) * scale + bias) @ v


@pytest.mark.parametrize("shape_q,shape_kv", [((5, 4), (7, 4)), ((2, 3, 5, 4), (2, 3, 6, 4)),
                                              ((2, 1, 5, 4), (3, 6, 4))])
def test_sdpa_matches_pytorch_and_the_formula(shape_q, shape_kv):
    rng = np.random.default_rng(len(shape_q))
    q, k = rng.standard_normal(shape_q), rng.standard_normal(shape_kv)
    v = rng.standard_normal((*shape_kv[:-1], 3))
    check_op(F.scaled_dot_product_attention,
             TF.scaled_dot_product_attention if torch else None, [q, k, v],
             numpy_fn=_attention_ref)


def test_sdpa_float_mask_is_added_and_bool_mask_says_where_to_attend():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 6, 4)),
              rng.standard_normal((2, 6, 3)))
    bias = rng.standard_normal((5, 6))
    check_op(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
             (lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m))
             if torch else None, [q, k, v, bias],
             numpy_fn=lambda q, k, v, m: _attention_ref(q, k, v, m))
    allowed = rng.random((5, 6)) > 0.3
    allowed[:, 0] = True  # every query keeps at least one key
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=fovea.tensor(allowed))
    np.testing.assert_allclose(out.numpy(), _attention_ref(q, k, v, np.where(allowed, 0, -np.inf)),
                               rtol=1e-12)
    if torch:
        expected = TF.scaled_dot_product_attention(*(torch.tensor(a) for a in (q, k, v)),
                                                   attn_mask=torch.tensor(allowed))
        np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


def test_sdpa_causal_and_scale():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4)),
              rng.standard_normal((2, 5, 3)))
    causal = np.triu(np.full((5, 5), -np.inf), 1)
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.3),
             (lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                              scale=0.3)) if torch else None,
             [q, k, v], numpy_fn=lambda q, k, v: _attention_ref(q, k, v, causal, 0.3))


def test_sdpa_grouped_query_attention_repeats_key_heads():
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 4, 5, 3)), rng.standard_normal((2, 2, 6, 3)),
              rng.standard_normal((2, 2, 6, 3)))
    ref = lambda q, k, v: _attention_ref(q, np.repeat(k, 2, axis=1), np.repeat(v, 2, axis=1))  # noqa: E731
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
             (lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True))
             if torch else None, [q, k, v], numpy_fn=ref,
             second_order=False)  # PyTorch's CPU kernel has no double backward for GQA


def test_sdpa_dropout_zeroes_weights_with_probability_p_and_rescales():
    q, k = np.zeros((1, 1, 4)), np.zeros((1, 400, 4))  # uniform weights 1/400
    v = np.ones((1, 400, 1))
    outs = [float(F.scaled_dot_product_attention(q, k, v, dropout_p=0.25,
                                                 generator=np.random.default_rng(s)).numpy().item())
            for s in range(200)]
    # Each output = (kept count)/(400·0.75): mean 1, std √(0.25·0.75/400)/0.75 ≈ 0.0289.
    assert np.mean(outs) == pytest.approx(1.0, abs=4 * 0.0289 / np.sqrt(200))
    assert np.std(outs) == pytest.approx(0.0289, rel=0.2)
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25,
                                           generator=np.random.default_rng(0))
    assert again.numpy().item() == outs[0]



@pytest.mark.parametrize("kwargs,message", [
    (dict(attn_mask=np.zeros((5, 6)), is_causal=True), "attn_mask or is_causal"),
    (dict(enable_gqa=True), "not a multiple"),
])
def test_sdpa_bad_arguments(kwargs, message):
    q, k = np.zeros((2, 3, 5, 4)), np.zeros((2, 2, 6, 4))
    with pytest.raises(ValueError, match=message):
        F.scaled_dot_product_attention(q, k, k, **kwargs)


def test_sdpa_mismatched_widths_are_refused():
    with pytest.raises(ValueError, match="scaled_dot_product_attention: query"):
        F.scaled_dot_product_attention(np.zeros((5, 4)), np.zeros((6, 3)), np.zeros((6, 3)))
