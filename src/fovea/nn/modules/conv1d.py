"""1-D convolution layers: ``Conv1d`` and ``ConvTranspose1d`` (PyTorch's names, arguments,
parameter shapes (O, C/groups, k), default initialisation and state-dict keys)."""

from __future__ import annotations

import numpy as np

from fovea.nn.functional.conv1d import conv1d, conv_transpose1d, single
from fovea.nn.modules.conv import _ConvNd, _pad_by_index
from fovea.nn.utils.conv import conv_padding
from fovea.tensor import Tensor


class _Conv1dBase(_ConvNd):
    """The 1-D convs: ``_ConvNd`` with one spatial dimension (arguments kept as 1-tuples, as
    PyTorch's 1-D layers show them)."""

    _ndim = 1

    def _tuple(self, value, arg: str, name: str, low: int = 0) -> tuple[int]:
        return (single(value, arg, name, low),)

    def _check_input(self, x) -> None:
        label = f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
        if not isinstance(x, Tensor):
            raise TypeError(f"{label}: expected a Tensor, got {type(x).__name__}")
        c = self.in_channels
        if not (x.ndim == 3 and x.shape[1] == c or x.ndim == 2 and x.shape[0] == c):
            raise ValueError(f"{label}: expected input of shape (N, {c}, L) or ({c}, L), got "
                             f"{tuple(x.shape)}")


class Conv1d(_Conv1dBase):
    """1-D convolution over sequences (see ``F.conv1d``).

    Args: in_channels, out_channels, kernel_size, stride=1, padding=0 (int, 'same' or
    'valid'), dilation=1, groups=1, bias=True, padding_mode ('zeros', 'reflect',
    'replicate', 'circular'), dtype, generator.

    Parameters: ``weight`` (O, C/groups, k), ``bias`` (O,).
    Shapes: (N, C, L) or (C, L) -> (N, O, Lo).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None, generator: np.random.Generator | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        if self.padding_mode == "zeros":
            return conv1d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                          self.groups)
        _, _, left, right = conv_padding(self.padding if isinstance(self.padding, str)
                                         else (0, padding), (1, *self.kernel_size),
                                         (1, *self.stride), (1, *self.dilation), "Conv1d")
        x4 = x.unsqueeze(-2)
        x = _pad_by_index(x4, (0, 0, left, right), self.padding_mode, "Conv1d").squeeze(-2)
        return conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose1d(_Conv1dBase):
    """1-D transposed convolution (see ``F.conv_transpose1d``).

    Parameters: ``weight`` (C_in, C_out/groups, k), ``bias`` (C_out,).
    Shapes: (N, C_in, L) -> (N, C_out, (L-1)·s - 2p + d(k-1) + output_padding + 1).
    """

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", dtype=None,
                 generator: np.random.Generator | None = None):
        if padding_mode != "zeros" or isinstance(padding, str):
            raise ValueError("ConvTranspose1d: only padding_mode='zeros' and integer padding "
                             f"are supported (as in PyTorch), got {padding_mode!r}, {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator, output_padding)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        return conv_transpose1d(x, self.weight, self.bias, self.stride, self.padding,
                                self.output_padding, self.groups, self.dilation)


__all__ = ["Conv1d", "ConvTranspose1d"]
