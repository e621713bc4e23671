"""1-D convolutions (``conv1d``, ``conv_transpose1d``) as their 2-D counterparts on a
height-1 plane: (N, C, L) is viewed as (N, C, 1, L) and the kernel as (O, C/g, 1, k), so the
1-D ops share the 2-D plans, kernels and gradients (to any order)."""

from __future__ import annotations

import numbers

from fovea.nn.functional.conv import conv2d, conv_transpose2d
from fovea.ops._util import as_tensor
from fovea.tensor import Tensor


def single(value, name: str, op: str, low: int = 0) -> int:
    """``value`` as one int >= ``low`` (an int or a 1-tuple, as PyTorch's 1-D layers take)."""
    if isinstance(value, tuple | list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{op}: {name} must be an integer >= {low} or a 1-tuple of one, "
                         f"got {value!r}")
    return int(value)


def _as_2d(input, weight, op: str):
    """(N, C, L) or unbatched (C, L) input and a 3-D weight, viewed with a height-1 plane."""
    x, w = as_tensor(input, op=op), as_tensor(weight, op=op)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 3-D input (N, C, L) or a 2-D unbatched input "
                         f"(C, L), got shape {x.shape}")
    if w.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D weight (out, in/groups, k), got shape "
                         f"{w.shape}")
    return x.unsqueeze(-2), w.unsqueeze(-2)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D cross-correlation, as ``torch.nn.functional.conv1d``.

    Args:
        input: (N, C, L) (or unbatched (C, L)).
        weight: (O, C/groups, k).
        bias: (O,) or None.
        stride, dilation: int (or a 1-tuple).
        padding: int, ``'valid'`` or ``'same'``.
        groups: independent channel groups.

    Returns:
        (N, O, Lo), Lo = floor((L + 2p - d(k - 1) - 1) / s) + 1.
    """
    op = "conv1d"
    x, w = _as_2d(input, weight, op)
    s, d = single(stride, "stride", op, 1), single(dilation, "dilation", op, 1)
    p = padding if isinstance(padding, str) else (0, single(padding, "padding", op))
    return conv2d(x, w, bias, (1, s), p, (1, d), groups).squeeze(-2)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1) -> Tensor:
    """1-D transposed convolution, as ``torch.nn.functional.conv_transpose1d``.

    Args:
        input: (N, Cin, L) (or unbatched (Cin, L)).
        weight: (Cin, Cout/groups, k).
        bias: (Cout,) or None.
        stride, padding, output_padding, dilation: ints (or 1-tuples).

    Returns:
        (N, Cout, Lo), Lo = (L - 1)·s - 2p + d(k - 1) + output_padding + 1.
    """
    op = "conv_transpose1d"
    x, w = _as_2d(input, weight, op)
    s, d = single(stride, "stride", op, 1), single(dilation, "dilation", op, 1)
    p = single(padding, "padding", op)
    op_ = single(output_padding, "output_padding", op)
    return conv_transpose2d(x, w, bias, (1, s), (0, p), (0, op_), groups, (1, d)).squeeze(-2)


__all__ = ["conv1d", "conv_transpose1d"]
