"""Embedding lookup, ``embedding(input, weight, padding_idx=None)``, and ``one_hot``."""

from __future__ import annotations

import numbers

from fovea.autograd import Function
from fovea.errors import DTypeError
from fovea.ops._util import as_tensor, xp_of
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


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """One-hot encoding of class indices: out[..., k] = 1 where tensor[...] == k, else 0.

    Args:
        tensor: int64 class indices of any shape (*), each in [0, num_classes).
        num_classes: the number of classes; -1 infers max(tensor) + 1.

    Returns:
        (*, num_classes), int64 (no gradient: the input is discrete).
    """
    t = as_tensor(tensor, op="one_hot")
    if t.dtype.kind not in "iu" or t.dtype.itemsize != 8:
        raise DTypeError(f"one_hot: expected an int64 tensor of class indices, got dtype "
                         f"{t.dtype}")
    if not isinstance(num_classes, numbers.Integral) or num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be -1 (inferred) or a non-negative int, "
                         f"got {num_classes!r}")
    idx = t._data
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: cannot infer the number of classes from an empty tensor")
        num_classes = int(idx.max()) + 1
    if idx.size and int(idx.min()) < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    if idx.size and int(idx.max()) >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes "
                         f"({num_classes}), got {int(idx.max())}")
    xp = xp_of(t)
    out = idx[..., None] == xp.arange(int(num_classes), dtype=idx.dtype)
    return Tensor._make(out.astype(xp.int64), None)
