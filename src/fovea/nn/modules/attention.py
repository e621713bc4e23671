"""``nn.MultiheadAttention`` (PyTorch's parameters, state-dict keys, initialisation, masks
and sequence-first / ``batch_first`` layouts), on :mod:`fovea.nn.functional.attention`."""

from __future__ import annotations

from fovea import backends, dtypes
from fovea.nn import init
from fovea.nn.functional.attention import multi_head_attention_forward
from fovea.nn.modules.linear import Linear
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter
from fovea.tensor import Tensor


class MultiheadAttention(Module):
    """Multi-head attention: ``num_heads`` scaled dot-product attentions on learned
    projections of (query, key, value), concatenated and projected back.

    Args:
        embed_dim: E, the model width (divisible by ``num_heads``).
        num_heads: attention heads, each of width E / num_heads.
        dropout: dropout on the attention weights (training only).
        bias: biases on the input and output projections.
        add_bias_kv: learn one extra key and value appended to every sequence.
        add_zero_attn: append a zero key and value to every sequence.
        kdim, vdim: key / value widths (default E): then the projections are the separate
            ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` as in PyTorch.
        batch_first: inputs (N, L, E) instead of (L, N, E).

    Parameters: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) (or the three
    separate weights), ``out_proj.weight`` (E, E), ``out_proj.bias`` (E,), and ``bias_k``,
    ``bias_v`` (1, 1, E) with ``add_bias_kv``.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights or None). Masks follow
    PyTorch: bool True means *not allowed*; float masks are added to the scores.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, dtype=None, generator=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, "
                             f"got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.kdim = embed_dim if kdim is None else int(kdim)
        self.vdim = embed_dim if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = float(dropout), bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        self._generator = generator
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp = backends.default().xp

        def param(*shape):
            return Parameter(xp.zeros(shape, dtype=dtype))

        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = param(3 * e, e)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = param(e, e)
            self.k_proj_weight = param(e, self.kdim)
            self.v_proj_weight = param(e, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = param(3 * e)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k, self.bias_v = param(1, 1, e), param(1, 1, e)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal bias_k/bias_v."""
        gen = self._generator
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, generator=gen)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w, generator=gen)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for p in (self.bias_k, self.bias_v):
            if p is not None:
                init.xavier_normal_(p, generator=gen)

    def _projections(self):
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            return (w[:e], bq), (w[e:2 * e], bk), (w[2 * e:], bv)
        return (self.q_proj_weight, bq), (self.k_proj_weight, bk), (self.v_proj_weight, bv)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        name = "MultiheadAttention"
        if is_causal and attn_mask is None:
            raise ValueError(f"{name}: is_causal=True is a hint that attn_mask is the causal "
                             "mask; pass attn_mask too (e.g. "
                             "nn.Transformer.generate_square_subsequent_mask(L))")
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: query, key and value must all be 3-D (batched) or 2-D "
                             f"(unbatched), got {query.shape}, {key.shape}, {value.shape}")
        if query.shape[-1] != self.embed_dim:
            raise ValueError(f"{name}: expected query of width {self.embed_dim}, got shape "
                             f"{tuple(query.shape)}")
        unbatched = query.ndim == 2
        if unbatched:  # (L, E): one sequence
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:  # (N, L, E) -> (L, N, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        out, weights = multi_head_attention_forward(
            query, key, value, self.num_heads, self._projections(), self.out_proj.weight,
            self.out_proj.bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.training, key_padding_mask, need_weights, attn_mask, average_attn_weights,
            self._generator)
        if unbatched:
            out = out[:, 0]
            weights = None if weights is None else weights[0]
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


__all__ = ["MultiheadAttention"]

