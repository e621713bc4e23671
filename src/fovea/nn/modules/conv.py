"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d`` (PyTorch's names, arguments,
parameter shapes, default initialisation and state-dict keys)."""

from __future__ import annotations

import math

import numpy as np

from fovea import backends, dtypes
from fovea.creation import default_generator
from fovea.nn.functional.conv import conv2d, conv_transpose2d
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter
from fovea.nn.utils.conv import conv_padding, pair
from fovea.ops._util import xp_of
from fovea.tensor import Tensor

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared argument handling, initialisation and input checks of the conv layers.

    Subclasses for other dimensionalities set ``_ndim`` and override ``_tuple`` and
    ``_check_input`` (see ``conv1d.py``).
    """

    _transposed = False
    _ndim = 2  # spatial dimensions

    def _tuple(self, value, arg: str, name: str, low: int = 0) -> tuple[int, ...]:
        """A per-dimension argument (int or tuple) as a tuple of ``_ndim`` ints >= ``low``."""
        return pair(value, arg, name, low=low)

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 groups, bias, padding_mode, dtype, generator, output_padding=0):
        super().__init__()
        name = type(self).__name__
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels),
                       ("groups", groups)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {v!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {tuple(_PADDING_MODES)}, "
                             f"got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = self._tuple(kernel_size, "kernel_size", name, low=1)
        self.stride = self._tuple(stride, "stride", name, low=1)
        self.dilation = self._tuple(dilation, "dilation", name, low=1)
        if isinstance(padding, str):
            # Validates 'same'/'valid' (and 'same' with a stride) now, not at the first call;
            # a 1-D layer is checked as a height-1 plane.
            def plane(t):
                return (1,) * (2 - len(t)) + t
            conv_padding(padding, plane(self.kernel_size), plane(self.stride),
                         plane(self.dilation), name)
            self.padding = padding
        else:
            self.padding = self._tuple(padding, "padding", name)
        self.output_padding = self._tuple(output_padding, "output_padding", name)
        self.padding_mode = padding_mode
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        if self._transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        xp = backends.default().xp  # parameters are created on the default device
        self.weight = Parameter(xp.zeros(shape, dtype=dtype))
        if bias:
            self.bias = Parameter(xp.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: np.random.Generator | None = None) -> None:
        """PyTorch's default: kaiming_uniform_(a=√5) for the weight, which is
        U(-1/√fan_in, 1/√fan_in), and the same bound for the bias.

        fan_in = weight.shape[1] · kH · kW (for ConvTranspose2d that is out/groups · kH · kW,
        as in PyTorch; a 1-D layer's is weight.shape[1] · k). ``generator`` defaults to
        ``fovea.default_generator()``.
        """
        w = self.weight
        fan_in = math.prod(w.shape[1:])
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        gen = default_generator() if generator is None else generator
        for p in (w, self.bias):
            if p is not None:  # the generator's host samples, moved to the parameter's device
                p._data = xp_of(p).asarray(gen.uniform(-bound, bound, size=p.shape),
                                           dtype=p.dtype)
                p._version[0] += 1

    def _label(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"

    def _check_input(self, x) -> None:
        label = self._label()
        if not isinstance(x, Tensor):
            raise TypeError(f"{label}: expected a Tensor, got {type(x).__name__}")
        c = self.in_channels
        ok_rank = x.ndim == 4 and x.shape[1] == c or x.ndim == 3 and x.shape[0] == c
        if not ok_rank:
            raise ValueError(f"{label}: expected input of shape (N, {c}, H, W), got "
                             f"{tuple(x.shape)}")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"{label}: input dtype {x.dtype} does not match the layer's "
                            f"{self.weight.dtype} (convert the input, or the layer with "
                            ".float()/.double())")

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
            f"stride={self.stride}"
        if self.padding != (0,) * self._ndim:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._ndim:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._ndim:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution layer: y = conv2d(x, weight, bias) (see ``F.conv2d``).

    Args:
        in_channels: C, channels of the input.
        out_channels: O, channels of the output (number of filters).
        kernel_size: int or (kH, kW).
        stride, dilation: int or pair.
        padding: int, pair, ``'valid'`` or ``'same'``.
        groups: channel groups (``groups=in_channels`` is depthwise).
        bias: learn an additive bias per output channel.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        dtype: parameter dtype (default float32).
        generator: the ``numpy.random.Generator`` for the initial weights (default
            ``fovea.default_generator()``).

    Parameters: ``weight`` (O, C/groups, kH, kW), ``bias`` (O,).
    Shapes: input (N, C, H, W) or (C, H, W) -> output (N, O, Ho, Wo).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None, generator: np.random.Generator | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator)

    def forward(self, x: Tensor) -> Tensor:
        self._check_input(x)
        if self.padding_mode == "zeros":
            return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                          self.groups)
        pads = conv_padding(self.padding, self.kernel_size, self.stride, self.dilation,
                            self._label())
        x = _pad_by_index(x, pads, self.padding_mode, self._label())
        return conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _pad_by_index(x: Tensor, pads, mode: str, label: str) -> Tensor:
    """Reflect/replicate/circular padding as two differentiable gathers (H, then W)."""
    pt, pb, pl, pr = pads
    h, w = x.shape[-2:]
    for size, before, after in ((h, pt, pb), (w, pl, pr)):
        limit = size - 1 if mode == "reflect" else size
        if mode != "replicate" and max(before, after) > limit:
            raise ValueError(f"{label}: padding {max(before, after)} is too large for "
                             f"padding_mode={mode!r} on an input of size {size}")
    xp = xp_of(x)
    ih = xp.asarray(_padded_indices(h, pt, pb, mode))
    iw = xp.asarray(_padded_indices(w, pl, pr, mode))
    return x[..., ih, :][..., iw]


def _padded_indices(size: int, before: int, after: int, mode: str) -> list[int]:
    """The source index of every position of a padded axis (``np.pad``'s modes reflect,
    edge and wrap)."""
    def source(i):
        if mode == "reflect":
            return -i if i < 0 else 2 * (size - 1) - i if i >= size else i
        if mode == "replicate":
            return min(max(i, 0), size - 1)
        return i % size  # circular

    return [source(i) for i in range(-before, size + after)]


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution (learnable up-sampling), see ``F.conv_transpose2d``.

    Args are Conv2d's plus ``output_padding`` (int or pair, < stride or < dilation); only
    ``padding_mode='zeros'`` is supported (as in PyTorch).

    Parameters: ``weight`` (C_in, C_out/groups, kH, kW), ``bias`` (C_out,).
    Shapes: (N, C_in, H, W) -> (N, C_out, (H-1)·sH - 2pH + dH(kH-1) + opH + 1, ...);
    ``forward(x, output_size=(H_out, W_out))`` picks ``output_padding`` to hit that size.
    """

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", dtype=None,
                 generator: np.random.Generator | None = None):
        if padding_mode != "zeros":
            raise ValueError(f"ConvTranspose2d: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got "
                             f"{padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype, generator, output_padding)

    def forward(self, x: Tensor, output_size=None) -> Tensor:
        self._check_input(x)
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding_for(x, output_size)
        return conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                output_padding, self.groups, self.dilation)

    def _output_padding_for(self, x: Tensor, output_size) -> tuple[int, int]:
        size = tuple(int(s) for s in output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"{self._label()}: output_size must end with (H_out, W_out), "
                             f"got {output_size!r}")
        out = []
        for i, want in enumerate(size):
            base = ((x.shape[-2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                    + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            limit = max(self.stride[i], self.dilation[i])
            if not base <= want < base + limit:
                raise ValueError(f"{self._label()}: requested output size {size} is not "
                                 f"reachable: dimension {i} must be in [{base}, "
                                 f"{base + limit - 1}] for input {tuple(x.shape)}")
            out.append(want - base)
        return out[0], out[1]
