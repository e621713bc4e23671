"""Batches of sequences of different lengths: PyTorch's ``torch.nn.utils.rnn``.

A :class:`PackedSequence` stores only the real steps of a batch, time-major: ``data`` holds
step 0 of every sequence, then step 1 of those that are that long, and so on, with
``batch_sizes[t]`` sequences at step t (sequences sorted longest first). The recurrent
layers take one and skip the padding. Every function here is built from differentiable
indexing, so gradients flow back to the padded input.

Shapes: T the longest length, B the batch, ``*`` any feature dimensions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import fovea
from fovea.errors import ShapeError
from fovea.tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]


class PackedSequence(NamedTuple):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)`` as in PyTorch.

    data: (Σ lengths, *); batch_sizes: int64 (T,) on the CPU; sorted_indices: the batch
    order used (longest first) or None when the input was already sorted;
    unsorted_indices: its inverse permutation.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data`` moved/cast with ``Tensor.to``; the index tensors stay as they are."""
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation tensor (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(permutation.tolist(), dtype=np.int64)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size)
    return fovea.tensor(inv)


def _lengths_array(lengths, batch: int, op: str) -> np.ndarray:
    if isinstance(lengths, Tensor):
        lengths = lengths.tolist()
    arr = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if arr.size != batch:
        raise ShapeError(f"{op}: lengths has {arr.size} entries but the batch has {batch} "
                         "sequences")
    if arr.size and arr.min() <= 0:
        raise ValueError(f"{op}: every entry of lengths must be positive, got {arr.tolist()}")
    return arr


def _index(x: Tensor, *keys: np.ndarray) -> Tensor:
    """``x[k0, k1, ...]`` with integer index arrays made on x's device (differentiable)."""
    return x[tuple(fovea.tensor(k, device=x.device) for k in keys)]


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,  # noqa: A002
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch: (T, B, *) (or (B, T, *) with ``batch_first``) and B lengths.

    With ``enforce_sorted=True`` the lengths must be in decreasing order; otherwise the
    batch is sorted here and the permutation kept in the result.
    """
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ShapeError(f"pack_padded_sequence: expected input of shape (T, B, *), got "
                         f"{getattr(input, 'shape', type(input).__name__)}")
    b_dim = 0 if batch_first else 1
    lens = _lengths_array(lengths, input.shape[b_dim], "pack_padded_sequence")
    T = input.shape[1 - b_dim]
    if lens.size and lens.max() > T:
        raise ShapeError(f"pack_padded_sequence: lengths has an entry {lens.max()} longer than "
                         f"the input's {T} steps")
    sorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise ValueError(f"pack_padded_sequence: lengths must be sorted in decreasing "
                             f"order, got {lens.tolist()}; pass enforce_sorted=False to sort them")
        order = np.arange(lens.size)
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = fovea.tensor(order)
    lens = lens[order]
    valid = lens[None, :] > np.arange(int(lens.max()) if lens.size else 0)[:, None]  # (T', B)
    batch_sizes = valid.sum(1)
    t_idx, b_pos = np.nonzero(valid)  # time-major, longest sequences first within a step
    b_idx = order[b_pos]
    data = _index(input, b_idx, t_idx) if batch_first else _index(input, t_idx, b_idx)
    return PackedSequence(data, fovea.tensor(batch_sizes.astype(np.int64)), sorted_indices,
                          invert_permutation(sorted_indices))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """Undo :func:`pack_padded_sequence`: returns (padded (T, B, *) or (B, T, *), lengths).

    ``lengths`` is an int64 tensor in the original batch order; ``total_length`` pads the
    time dimension to that many steps (it must be at least the longest length).
    """
    data, batch_sizes = sequence.data, np.asarray(sequence.batch_sizes.tolist(), dtype=np.int64)
    T = batch_sizes.size
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is less than the "
                             f"longest sequence's length {T}")
        T_out = int(total_length)
    else:
        T_out = T
    rows, lengths = _row_table(batch_sizes, T_out)
    if sequence.unsorted_indices is not None:
        order = np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)
        rows, lengths = rows[:, order], lengths[order]
    pad = fovea.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                     device=data.device)
    padded = _index(fovea.cat([data, pad], 0), rows)
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, fovea.tensor(lengths)


def _row_table(batch_sizes: np.ndarray, T: int):
    """(T, B) row of ``data`` holding step t of sorted sequence b (Σ batch_sizes: padding),
    and the B sorted lengths."""
    B = int(batch_sizes[0]) if batch_sizes.size else 0
    lengths = (batch_sizes[:, None] > np.arange(B)[None, :]).sum(0).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)
    rows = np.full((T, B), int(batch_sizes.sum()), dtype=np.int64)
    valid = np.arange(batch_sizes.size)[:, None] < lengths[None, :]
    t_idx, b_idx = np.nonzero(valid)
    rows[t_idx, b_idx] = starts[t_idx] + b_idx
    return rows, lengths


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack B tensors of shapes (L_i, *) into (T, B, *) (or (B, T, *)), T = max L_i.

    ``padding_side="left"`` puts the padding before each sequence instead of after it.
    """
    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: expected a non-empty list of tensors")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got "
                         f"{padding_side!r}")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor) or s.ndim == 0 or tuple(s.shape[1:]) != trailing:
            raise ShapeError(f"pad_sequence: every sequence must have shape (L, *{trailing}); "
                             f"sequence {i} has shape {getattr(s, 'shape', None)}")
    lens = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    T = int(lens.max())
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    steps = np.arange(T)[:, None]
    offset = steps if padding_side == "right" else steps - (T - lens)[None, :]
    valid = (offset >= 0) & (offset < lens[None, :])
    rows = np.where(valid, starts[None, :] + offset, lens.sum())
    pad = fovea.full((1,) + trailing, padding_value, dtype=sequences[0].dtype,
                     device=sequences[0].device)
    padded = _index(fovea.cat(sequences + [pad], 0), rows)
    return padded.transpose(0, 1) if batch_first else padded


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) tensors: ``pack_padded_sequence(pad_sequence(...))``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """Split a padded batch into its B sequences (L_i, *)."""
    x = padded_sequences.transpose(0, 1) if batch_first else padded_sequences
    lens = _lengths_array(lengths, x.shape[1], "unpad_sequence")
    return [x[: int(n), b] for b, n in enumerate(lens)]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of (L_i, *) sequences a :class:`PackedSequence` holds, in original order."""
    padded, lengths = pad_packed_sequence(packed_sequences)
    return unpad_sequence(padded, lengths)
