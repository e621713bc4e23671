"""Sub-pixel rearrangement (Shi et al., 2016): ``pixel_shuffle`` and its inverse
``pixel_unshuffle``.

Both are a reshape, a permutation and a reshape (views and one copy), so their gradients
are the inverse rearrangement, from the shape ops' own nodes.
"""

from __future__ import annotations

import numbers

from fovea.errors import ShapeError
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _factor(r, name: str, op: str) -> int:
    if not isinstance(r, numbers.Integral) or isinstance(r, bool) or r <= 0:
        raise ValueError(f"{op}: {name} must be a positive int, got {r!r}")
    return int(r)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) -> (*, C, H·r, W·r): out[c, h·r + i, w·r + j] = x[c·r² + i·r + j, h, w].

    Args:
        input: at least 3-D, with channels divisible by r².
        upscale_factor: r.
    """
    op = "pixel_shuffle"
    x = as_tensor(input, op=op)
    r = _factor(upscale_factor, "upscale_factor", op)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected an input of at least 3 dimensions (*, C, H, W), got "
                         f"shape {x.shape}")
    *lead, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"{op}: the channel dimension ({c}) must be divisible by the square "
                         f"of upscale_factor ({r * r})")
    k = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of :func:`pixel_shuffle`.

    Args:
        input: at least 3-D, with height and width divisible by r.
        downscale_factor: r.
    """
    op = "pixel_unshuffle"
    x = as_tensor(input, op=op)
    r = _factor(downscale_factor, "downscale_factor", op)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected an input of at least 3 dimensions (*, C, H, W), got "
                         f"shape {x.shape}")
    *lead, c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"{op}: height ({h}) and width ({w}) must be divisible by "
                         f"downscale_factor ({r})")
    k = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)
