"""1-D pooling (``max_pool1d``, ``avg_pool1d``, ``adaptive_avg_pool1d``,
``adaptive_max_pool1d``): the 2-D pools on a height-1 plane, so they share the 2-D kernels
and gradients. Indices (``return_indices``) are positions along L, as PyTorch's."""

from __future__ import annotations

from fovea.nn.functional.conv1d import single
from fovea.nn.functional.pooling.adaptive import adaptive_avg_pool2d, adaptive_max_pool2d
from fovea.nn.functional.pooling.avg_pool import avg_pool2d
from fovea.nn.functional.pooling.max_pool import max_pool2d
from fovea.ops._util import as_tensor


def _plane(input, op: str):
    """(N, C, L) or (C, L) viewed as (N, C, 1, L) or (C, 1, L)."""
    x = as_tensor(input, op=op)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: expected a 3-D input (N, C, L) or a 2-D unbatched input "
                         f"(C, L), got shape {x.shape}")
    return x.unsqueeze(-2)


def _flat(out):
    """Drop the height-1 axis from a result (or from both tensors of (values, indices))."""
    if isinstance(out, tuple):
        return tuple(t.squeeze(-2) for t in out)
    return out.squeeze(-2)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``: (N, C, L) -> (N, C, Lo),
    Lo = floor((L + 2p - d(k - 1) - 1) / s) + 1 (ceil with ``ceil_mode``); stride defaults
    to ``kernel_size``."""
    op = "max_pool1d"
    k = single(kernel_size, "kernel_size", op, 1)
    s = k if stride is None or stride == [] else single(stride, "stride", op, 1)
    out = max_pool2d(_plane(input, op), (1, k), (1, s), (0, single(padding, "padding", op)),
                     (1, single(dilation, "dilation", op, 1)), ceil_mode, return_indices)
    return _flat(out)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``: (N, C, L) -> (N, C, Lo)."""
    op = "avg_pool1d"
    k = single(kernel_size, "kernel_size", op, 1)
    s = k if stride is None or stride == [] else single(stride, "stride", op, 1)
    return _flat(avg_pool2d(_plane(input, op), (1, k), (1, s),
                            (0, single(padding, "padding", op)), ceil_mode, count_include_pad))


def adaptive_avg_pool1d(input, output_size):
    """Average over PyTorch's adaptive bins: (N, C, L) -> (N, C, output_size)."""
    op = "adaptive_avg_pool1d"
    return _flat(adaptive_avg_pool2d(_plane(input, op),
                                     (1, single(output_size, "output_size", op, 1))))


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive bins: (N, C, L) -> (N, C, output_size) (and indices)."""
    op = "adaptive_max_pool1d"
    return _flat(adaptive_max_pool2d(_plane(input, op),
                                     (1, single(output_size, "output_size", op, 1)),
                                     return_indices))


__all__ = ["adaptive_avg_pool1d", "adaptive_max_pool1d", "avg_pool1d", "max_pool1d"]
