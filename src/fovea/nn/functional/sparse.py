"""Embedding lookup: ``embedding(input, weight, padding_idx=None)``."""

from __future__ import annotations

import numbers

from fovea.autograd import Function
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor


class Embedding(Function):
    """out = weight[idx]; backward scatter-adds the rows of the gradient into zeros, leaving
    the row ``padding_idx`` (if any) at zero."""

    @staticmethod
    def forward(ctx, weight, idx, padding_idx):
        ctx.shape, ctx.idx, ctx.padding_idx = weight.shape, idx, padding_idx
        return weight[idx]

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        idx = ctx.idx
        if ctx.padding_idx is not None:
            keep = (idx != ctx.padding_idx)[..., None]  # a constant mask, on idx's device
            g = xp.where(keep, g, 0 * g)
        return xp.scatter_add_zeros(ctx.shape, idx, g)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Look up rows of an embedding table.

    Args:
        input: integer indices of any shape (*), values in [0, num_embeddings).
        weight: (num_embeddings, embedding_dim).
        padding_idx: an index whose row receives no gradient (negative counts from the end).

    Returns:
        (*, embedding_dim).
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        got = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"embedding: weight must be a 2-D tensor (num_embeddings, "
                         f"embedding_dim), got {got}")
    input = as_tensor(input, op="embedding")
    if input.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer indices, got dtype {input.dtype}")
    n = weight.shape[0]
    idx = input._data
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"embedding: indices must be in [0, {n}), got values from {idx.min()} "
                         f"to {idx.max()}")
    if padding_idx is not None:
        if not isinstance(padding_idx, numbers.Integral) or not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({n}), got "
                             f"{padding_idx!r}")
        padding_idx = int(padding_idx) % n
    return Embedding.apply(weight, idx=idx, padding_idx=padding_idx)
