"""Attention: ``scaled_dot_product_attention`` and the multi-head attention forward that
``nn.MultiheadAttention`` and the Transformer layers are built from (PyTorch's semantics,
including its two mask conventions, see :func:`scaled_dot_product_attention` and
:func:`multi_head_attention_forward`). Everything is composed of differentiable ops, so
gradients of any order exist."""

from __future__ import annotations

import math

import numpy as np

from fovea.nn.functional.activation import softmax
from fovea.nn.functional.dropout import dropout
from fovea.nn.functional.linear import linear
from fovea.ops._util import as_tensor, xp_of
from fovea.ops.shape import cat
from fovea.tensor import Tensor


def _float_bias(mask: Tensor | None, allowed_when_true: bool, like: Tensor, op: str):
    """A mask as an additive float bias: bool masks become 0 / -inf, float masks are kept.

    ``allowed_when_true``: SDPA's bool masks say where attention is allowed (True = attend);
    nn.MultiheadAttention's say where it is not (True = masked out).
    """
    if mask is None:
        return None
    mask = as_tensor(mask, op=op)
    if mask.dtype == np.bool_:
        blocked = ~mask if allowed_when_true else mask
        xp = xp_of(like)
        return Tensor._make(xp.where(blocked._data, -xp.inf, 0.0).astype(like.dtype), None)
    if mask.dtype.kind != "f":
        raise TypeError(f"{op}: attn_mask must be bool or floating, got dtype {mask.dtype}")
    return mask.to(like.dtype) if mask.dtype != like.dtype else mask


def _causal_bias(n_query: int, n_key: int, like: Tensor) -> Tensor:
    """(L, S) bias: -inf above the diagonal (query i sees keys 0..i), as torch's tril mask."""
    xp = xp_of(like)
    blocked = xp.asarray(np.triu(np.ones((n_query, n_key), dtype=bool), k=1))
    return Tensor._make(xp.where(blocked, -xp.inf, 0.0).astype(like.dtype), None)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False, generator=None) -> Tensor:
    """softmax(Q Kᵀ · scale + bias) V, as ``torch.nn.functional.scaled_dot_product_attention``.

    Args:
        query: (..., L, E); key: (..., S, E); value: (..., S, Ev). Leading dims broadcast.
        attn_mask: bool (True = may attend) or float (added to the scores), broadcastable
            to (..., L, S).
        dropout_p: dropout on the attention weights (applied whenever > 0, as PyTorch).
        is_causal: query i attends to keys 0..i only (no attn_mask allowed with it).
        scale: defaults to 1/√E.
        enable_gqa: grouped-query attention: key/value heads (dim -3) are repeated to match
            the query's heads.
        generator: the ``numpy.random.Generator`` for the dropout mask.

    Returns:
        (..., L, Ev). A query row whose keys are all masked gives NaN (as PyTorch's math path).
    """
    op = "scaled_dot_product_attention"
    q, k, v = (as_tensor(t, op=op) for t in (query, key, value))
    for name, t in (("query", q), ("key", k), ("value", v)):
        if t.ndim < 2 or t.dtype.kind != "f":
            raise ValueError(f"{op}: {name} must be a floating tensor of at least 2 dims "
                             f"(..., seq, features), got shape {t.shape} dtype {t.dtype}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{op}: query (..., L, E) {q.shape}, key (..., S, E) {k.shape} and "
                         f"value (..., S, Ev) {v.shape} do not fit")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{op}: pass attn_mask or is_causal=True, not both")
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        if q.shape[-3] % k.shape[-3]:
            raise ValueError(f"{op}: {q.shape[-3]} query heads are not a multiple of "
                             f"{k.shape[-3]} key/value heads")
        reps = q.shape[-3] // k.shape[-3]
        k, v = (_repeat_heads(t, reps) for t in (k, v))
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q @ k.transpose(-2, -1)) * scale
    bias = (_causal_bias(q.shape[-2], k.shape[-2], q) if is_causal
            else _float_bias(attn_mask, True, q, op))
    if bias is not None:
        scores = scores + bias
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True, generator=generator)
    return weights @ v


def _repeat_heads(t: Tensor, reps: int) -> Tensor:
    """(..., Hk, S, E) -> (..., Hk·reps, S, E), each head repeated ``reps`` times in place."""
    *lead, h, s, e = t.shape
    return t.unsqueeze(-3).expand(*lead, h, reps, s, e).reshape(*lead, h * reps, s, e)


def multi_head_attention_forward(query, key, value, num_heads: int, in_proj,
                                 out_proj_weight, out_proj_bias, bias_k=None, bias_v=None,
                                 add_zero_attn: bool = False, dropout_p: float = 0.0,
                                 training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None,
                                 average_attn_weights: bool = True, generator=None):
    """Multi-head attention on sequence-first inputs, as ``F.multi_head_attention_forward``.

    Args:
        query: (L, N, E); key: (S, N, kdim); value: (S, N, vdim).
        in_proj: ((Wq, bq), (Wk, bk), (Wv, bv)), weights (E, E|kdim|vdim), biases (E,) or None.
        out_proj_weight, out_proj_bias: (E, E), (E,) or None.
        bias_k, bias_v: (1, 1, E) extra key/value appended to every sequence, or None.
        add_zero_attn: append a zero key/value (after bias_k/bias_v).
        key_padding_mask: (N, S), bool (True = ignore this key) or float (added).
        attn_mask: (L, S) or (N·num_heads, L, S), bool (True = not allowed) or float (added).

    Returns:
        (L, N, E) and, with ``need_weights``, the attention weights (N, L, S') averaged over
        heads (or (N, num_heads, L, S') without ``average_attn_weights``); else None.
    """
    op = "multi_head_attention_forward"
    L, n, e = query.shape
    if e % num_heads:
        raise ValueError(f"{op}: embed_dim {e} is not divisible by num_heads {num_heads}")
    hd = e // num_heads
    (wq, bq), (wk, bk), (wv, bv) = in_proj
    q, k, v = linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
    attn_bias = _float_bias(attn_mask, False, q, op)
    pad_bias = _float_bias(key_padding_mask, False, q, op)
    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.expand(1, n, e)], 0)
        v = cat([v, bias_v.expand(1, n, e)], 0)
        attn_bias, pad_bias = _pad_last(attn_bias), _pad_last(pad_bias)
    # (L, N, E) -> (N·H, L, hd): heads become batch entries.
    q = q.reshape(L, n * num_heads, hd).transpose(0, 1)
    k = k.reshape(k.shape[0], n * num_heads, hd).transpose(0, 1)
    v = v.reshape(v.shape[0], n * num_heads, hd).transpose(0, 1)
    if add_zero_attn:
        zeros = Tensor._make(xp_of(k).zeros((n * num_heads, 1, hd), dtype=k.dtype), None)
        k, v = cat([k, zeros], 1), cat([v, zeros], 1)
        attn_bias, pad_bias = _pad_last(attn_bias), _pad_last(pad_bias)
    s = k.shape[1]
    bias = None
    if attn_bias is not None:
        if attn_bias.ndim == 2:
            attn_bias = attn_bias.unsqueeze(0)
        if attn_bias.shape[-2:] != (L, s) or attn_bias.shape[0] not in (1, n * num_heads):
            raise ValueError(f"{op}: attn_mask must have shape ({L}, {s}) or "
                             f"({n * num_heads}, {L}, {s}), got {tuple(attn_mask.shape)}")
        bias = attn_bias
    if pad_bias is not None:
        if pad_bias.shape != (n, s):
            raise ValueError(f"{op}: key_padding_mask must have shape ({n}, {s}), got "
                             f"{tuple(key_padding_mask.shape)}")
        per_head = pad_bias.reshape(n, 1, 1, s).expand(n, num_heads, 1, s)
        per_head = per_head.reshape(n * num_heads, 1, s)
        bias = per_head if bias is None else bias + per_head
    scores = (q * (1.0 / math.sqrt(hd))) @ k.transpose(-2, -1)
    if bias is not None:
        scores = scores + bias
    weights = softmax(scores, dim=-1)
    if dropout_p > 0.0 and training:
        weights = dropout(weights, dropout_p, training=True, generator=generator)
    out = (weights @ v).transpose(0, 1).reshape(L * n, e)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(L, n, e)
    if not need_weights:
        return out, None
    weights = weights.reshape(n, num_heads, L, s)
    return out, (weights.mean(dim=1) if average_attn_weights else weights)


def _pad_last(bias: Tensor | None) -> Tensor | None:
    """Append one zero column (one more key that every query may attend to)."""
    if bias is None:
        return None
    zeros = Tensor._make(xp_of(bias).zeros((*bias.shape[:-1], 1), dtype=bias.dtype), None)
    return cat([bias, zeros], -1)


__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]
