"""Fractional max-pooling (Graham, 2014; Lecture 7's regularisers): PyTorch's
``fractional_max_pool2d``.

Windows of a fixed ``kernel_size`` start at positions that grow by a *fractional* step
α = (in − k) / (out − 1), so the output can be any size between in − k + 1 and about in / 2
(PyTorch's ``output_ratio`` 1/√2 halves the area per layer). Each plane (n, c) draws one
sample u ∈ [0, 1) per axis; the window starts are

    pseudo-random (PyTorch's, the default):  a_i = ⌊(i + u)·α⌋ − ⌊u·α⌋  (i < out − 1),
                                             a_{out−1} = in − k
    random (``sequence="random"``, fovea):   increments of ⌊α⌋ and ⌊α⌋ + 1 in a random
                                             order, from a_0 = 0 to a_{out−1} = in − k

The pseudo-random starts are computed in the input's dtype, as PyTorch does, so a float32
input with the same ``_random_samples`` (N, C, 2) — index 0 for the width, 1 for the height —
gives PyTorch's windows. The maxima are a ``gather`` of the input at the window argmax
(the first maximum in row-major window order), so the result is differentiable to any order.
"""

from __future__ import annotations

import numbers

import numpy as np

from fovea.errors import ShapeError
from fovea.nn.functional.pooling._common import input4
from fovea.nn.utils.conv import pair
from fovea.random import numpy_generator
from fovea.tensor import Tensor

__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices"]

_OP = "fractional_max_pool2d"


def _starts_pseudo_random(u: np.ndarray, n_in: int, n_out: int, k: int) -> np.ndarray:
    """Window starts (P, n_out) for samples u (P,) in u's dtype (PyTorch's
    ``generate_intervals``)."""
    seq = np.empty((u.shape[0], n_out), dtype=np.int64)
    if n_out > 1:
        alpha = u.dtype.type(n_in - k) / u.dtype.type(n_out - 1)
        i = np.arange(n_out - 1, dtype=u.dtype)
        # NOTE: the products stay in u's dtype (float32 for float32 input), as in PyTorch,
        # so the truncations land where PyTorch's do.
        seq[:, :-1] = (((i[None, :] + u[:, None]) * alpha).astype(np.int64)
                       - (u[:, None] * alpha).astype(np.int64))
    seq[:, -1] = n_in - k
    return seq


def _starts_random(rng: np.random.Generator, planes: int, n_in: int, n_out: int,
                   k: int) -> np.ndarray:
    """Window starts (P, n_out): increments ⌊α⌋ or ⌊α⌋ + 1 in a random order per plane."""
    seq = np.zeros((planes, n_out), dtype=np.int64)
    if n_out > 1:
        steps, total = n_out - 1, n_in - k
        q, r = divmod(total, steps)          # r increments of q + 1, the rest of q
        rank = np.argsort(rng.random((planes, steps)), axis=1)
        seq[:, 1:] = np.cumsum(q + (rank < r), axis=1)
    seq[:, -1] = n_in - k
    return seq


def _output_size(x: Tensor, output_size, output_ratio) -> tuple[int, int]:
    if (output_size is None) == (output_ratio is None):
        raise ValueError(f"{_OP}: give exactly one of output_size and output_ratio, got "
                         f"output_size={output_size!r}, output_ratio={output_ratio!r}")
    if output_size is not None:
        return pair(output_size, "output_size", _OP, low=1)
    ratio = (output_ratio, output_ratio) if isinstance(output_ratio, numbers.Real) \
        else tuple(output_ratio)
    if len(ratio) != 2 or not all(isinstance(r, numbers.Real) and 0 < r < 1 for r in ratio):
        raise ValueError(f"{_OP}: output_ratio must be a number or a pair in (0, 1), got "
                         f"{output_ratio!r}")
    return int(x.shape[2] * ratio[0]), int(x.shape[3] * ratio[1])


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None,
                                       output_ratio=None, return_indices=False,
                                       _random_samples=None, *, sequence="pseudo_random",
                                       generator=None):
    """Fractional max-pooling; returns ``(output, indices)``.

    Args:
        input: (N, C, H, W) or unbatched (C, H, W), floating.
        kernel_size: the window kH×kW (an int or a pair).
        output_size: (oH, oW) (an int or a pair), or
        output_ratio: (rH, rW) in (0, 1): oH = ⌊H·rH⌋, oW = ⌊W·rW⌋.
        return_indices: accepted for PyTorch's signature (this function always returns both).
        _random_samples: (N, C, 2) samples in [0, 1) (index 0: width, 1: height); default
            drawn from ``generator`` (pseudo-random sequences only).
        sequence: ``"pseudo_random"`` (PyTorch's) or ``"random"`` (shuffled increments).
        generator: where the samples come from (default: ``fovea.default_generator``).

    Returns:
        output (N, C, oH, oW) and int64 indices (N, C, oH, oW) into each H·W plane (for
        ``max_unpool2d``); unbatched input gives unbatched results.
    """
    x, unbatched = input4(input, _OP)
    if sequence not in ("pseudo_random", "random"):
        raise ValueError(f"{_OP}: sequence must be 'pseudo_random' or 'random', got "
                         f"{sequence!r}")
    kh, kw = pair(kernel_size, "kernel_size", _OP, low=1)
    oh, ow = _output_size(x, output_size, output_ratio)
    n, c, h, w = x.shape
    if oh + kh - 1 > h or oh < 1:
        raise ShapeError(f"{_OP}: output height {oh} with kernel height {kh} needs an input "
                         f"height of at least {oh + kh - 1}, got {h}")
    if ow + kw - 1 > w or ow < 1:
        raise ShapeError(f"{_OP}: output width {ow} with kernel width {kw} needs an input "
                         f"width of at least {ow + kw - 1}, got {w}")
    planes = n * c
    rng = numpy_generator(generator)
    if sequence == "random":
        if _random_samples is not None:
            raise ValueError(f"{_OP}: _random_samples applies to the pseudo-random sequence "
                             f"only")
        rows = _starts_random(rng, planes, h, oh, kh)
        cols = _starts_random(rng, planes, w, ow, kw)
    else:
        if _random_samples is None:
            u = rng.random((planes, 2)).astype(x.dtype)
        else:
            u = np.asarray(_random_samples.numpy() if isinstance(_random_samples, Tensor)
                           else _random_samples)
            want = (1, c, 2) if unbatched else (n, c, 2)
            if tuple(u.shape) not in (want, (n, c, 2)):
                raise ShapeError(f"{_OP}: _random_samples must have shape {want}, got "
                                 f"{tuple(u.shape)}")
            u = np.asarray(u, dtype=x.dtype).reshape(planes, 2)
        cols = _starts_pseudo_random(u[:, 0], w, ow, kw)
        rows = _starts_pseudo_random(u[:, 1], h, oh, kh)
    idx = _argmax_indices(np.asarray(x.detach().numpy()).reshape(planes, h, w), rows, cols,
                          kh, kw)
    index = _to_device(idx.reshape(n, c, oh * ow), x)
    out = x.reshape(n, c, h * w).gather(2, index).reshape(n, c, oh, ow)
    index = index.reshape(n, c, oh, ow)
    if unbatched:
        return out.squeeze(0), index.squeeze(0)
    return out, index


def _to_device(a: np.ndarray, like: Tensor) -> Tensor:
    """Host array ``a`` as a tensor on ``like``'s device."""
    from fovea import backends

    xp = backends.for_array(like._data).xp
    return Tensor._make(xp.asarray(a), None)


def _argmax_indices(planes: np.ndarray, rows: np.ndarray, cols: np.ndarray, kh: int,
                    kw: int) -> np.ndarray:
    """Flat indices (P, oH·oW) of each window's first maximum, by a loop over the kh·kw taps
    (never over pixels)."""
    p, _, w = planes.shape
    best = best_idx = None
    pi = np.arange(p)[:, None, None]
    for dy in range(kh):
        r = (rows + dy)[:, :, None]                      # (P, oH, 1)
        for dx in range(kw):
            q = (cols + dx)[:, None, :]                  # (P, 1, oW)
            v = planes[pi, r, q]
            flat = r * w + q
            if best is None:
                best, best_idx = v, np.broadcast_to(flat, v.shape).copy()
                continue
            # NOTE: strictly greater keeps the first maximum; a NaN wins (as in PyTorch).
            take = (v > best) | np.isnan(v)
            best = np.where(take, v, best)
            best_idx = np.where(take, flat, best_idx)
    return best_idx.reshape(p, -1)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None, *,
                          sequence="pseudo_random", generator=None):
    """Fractional max-pooling (see the module docstring): (N, C, H, W) -> (N, C, oH, oW).

    Returns the output, or ``(output, indices)`` with ``return_indices=True``. Arguments as
    :func:`fractional_max_pool2d_with_indices`.
    """
    out, idx = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples,
        sequence=sequence, generator=generator)
    return (out, idx) if return_indices else out
