"""``LayerNorm`` and ``GroupNorm``."""

from __future__ import annotations

import numbers

from fovea import backends, dtypes
from fovea.nn.functional.normalization import group_norm, layer_norm
from fovea.nn.modules._checks import check_float_dtype, check_tensor, shape_str
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter


class LayerNorm(Module):
    """Layer norm: each sample normalised over its trailing ``normalized_shape`` dimensions,
    then scaled by γ and shifted by β (elementwise, of shape ``normalized_shape``).

    Args:
        normalized_shape: an int or a tuple, the trailing shape (e.g. D for (N, D) inputs).
        eps: added to the variance.
        elementwise_affine: learn γ (init 1) and β (init 0).
        bias: learn β (with ``elementwise_affine``).
        dtype: parameters' dtype.

    Shapes:
        input (*, *normalized_shape) -> output of the same shape.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(s) for s in normalized_shape)
        if not self.normalized_shape or min(self.normalized_shape) <= 0:
            raise ValueError(f"LayerNorm: normalized_shape must be non-empty and positive, got "
                             f"{normalized_shape}")
        if eps <= 0:
            raise ValueError(f"LayerNorm: eps must be positive, got {eps}")
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp = backends.default().xp
        if self.elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        shape = self.normalized_shape
        name = f"LayerNorm({shape[0] if len(shape) == 1 else shape})"
        check_tensor(x, name)
        k = len(shape)
        if x.ndim < k or x.shape[x.ndim - k:] != shape:
            raise ValueError(f"{name}: expected input of shape (*, {', '.join(map(str, shape))}), "
                             f"got {shape_str(x.shape)}")
        check_float_dtype(x, self.weight.dtype if self.weight is not None else None, name)
        return layer_norm(x, shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group norm: the channels of each sample split into ``num_groups`` groups, each
    normalised over its channels and positions; then per-channel γ and β.

    Args:
        num_groups: G, dividing ``num_channels`` (G = 1: layer norm over (C, H, W); G = C:
            instance norm).
        num_channels: C.
        eps: added to the variance.
        affine: learn γ (init 1) and β (init 0), shapes (C,).
        dtype: parameters' dtype.

    Shapes:
        input (N, C, *) -> output of the same shape.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype=None):
        super().__init__()
        if int(num_groups) <= 0 or int(num_channels) % int(num_groups):
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        if eps <= 0:
            raise ValueError(f"GroupNorm: eps must be positive, got {eps}")
        self.num_groups, self.num_channels = int(num_groups), int(num_channels)
        self.eps, self.affine = float(eps), bool(affine)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp = backends.default().xp
        if self.affine:
            self.weight = Parameter(xp.ones(self.num_channels, dtype=dtype))
            self.bias = Parameter(xp.zeros(self.num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        name = f"GroupNorm({self.num_groups}, {self.num_channels})"
        check_tensor(x, name)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"{name}: expected input of shape (N, {self.num_channels}, *), got "
                             f"{shape_str(x.shape)}")
        check_float_dtype(x, self.weight.dtype if self.affine else None, name)
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
