"""1-D convolution layers: ``Conv1d`` and ``ConvTranspose1d`` (PyTorch's names, arguments,
parameter shapes (O, C/groups, k), default initialisation and state-dict keys)."""

from __future__ import annotations

import math

import numpy as np

from fovea import backends, dtypes
from fovea.creation import default_generator
from fovea.nn.functional.conv1d import conv1d, conv_transpose1d, single
from fovea.nn.modules.conv import _pad_by_index
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter
from fovea.nn.utils.conv import conv_padding
from fovea.ops._util import xp_of
from fovea.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _Conv1dBase(Module):
    """Argument checks, parameters and PyTorch's initialisation shared by the 1-D convs."""

    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, dtype, generator, output_padding=0):
        super().__init__()
        name = type(self).__name__
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels),
                       ("groups", groups)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {v!r}")
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if v % groups:
                raise ValueError(f"{name}: {arg} ({v}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, got "
                             f"{padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        # Kept as 1-tuples, as PyTorch's 1-D layers show them.
        self.kernel_size = (single(kernel_size, "kernel_size", name, 1),)
        self.stride = (single(stride, "stride", name, 1),)
        self.dilation = (single(dilation, "dilation", name, 1),)
        if isinstance(padding, str):
            conv_padding(padding, (1, *self.kernel_size), (1, *self.stride),
                         (1, *self.dilation), name)
            self.padding = padding
        else:
            self.padding = (single(padding, "padding", name),)
        self.output_padding = (single(output_padding, "output_padding", name),)
        self.padding_mode = padding_mode
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        k = self.kernel_size[0]
        shape = ((in_channels, out_channels // groups, k) if self._transposed
                 else (out_channels, in_channels // groups, k))
        xp = backends.default().xp
        self.weight = Parameter(xp.zeros(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(xp.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """PyTorch's default: U(-1/√fan_in, 1/√fan_in) for weight and bias, fan_in =
        weight.shape[1] · k."""
        w = self.weight
        fan_in = w.shape[1] * w.shape[2]
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        gen = default_generator() if generator is None else generator
        for p in (w, self.bias):
            if p is not None:
                p._data = xp_of(p).asarray(gen.uniform(-bound, bound, size=p.shape),
                                           dtype=p.dtype)
                p._version[0] += 1

    def _check_input(self, x) -> None:
        label = f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
        if not isinstance(x, Tensor):
            raise TypeError(f"{label}: expected a Tensor, got {type(x).__name__}")
        c = self.in_channels
        if not (x.ndim == 3 and x.shape[1] == c or x.ndim == 2 and x.shape[0] == c):
            raise ValueError(f"{label}: expected input of shape (N, {c}, L) or ({c}, L), got "
                             f"{tuple(x.shape)}")

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,):
            s += f", padding={self.padding}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


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
