"""``Linear``: the fully connected layer y = x Wᵀ + b."""

from __future__ import annotations

import math

from fovea import backends, dtypes
from fovea.nn import init
from fovea.nn.functional.linear import Linear as _LinearFn
from fovea.nn.modules._checks import check_float_dtype, check_tensor
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter
from fovea.tensor import Tensor


class Linear(Module):
    """Fully connected layer: y = x Wᵀ + b.

    Args:
        in_features: size of each input's last dimension.
        out_features: size of each output's last dimension.
        bias: whether to learn an additive bias b.
        dtype: parameters' dtype (default: fovea's default dtype, float32).

    Shapes:
        input (*, in_features) -> output (*, out_features).
        weight (out_features, in_features), bias (out_features,).

    Initialisation (PyTorch's): W and b ~ U(-1/√in_features, 1/√in_features), i.e.
    ``kaiming_uniform_(W, a=√5)``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        if int(in_features) < 0 or int(out_features) < 0:
            raise ValueError(f"Linear: in_features and out_features must be non-negative, got "
                             f"{in_features} and {out_features}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp = backends.default().xp  # parameters are created on the default device
        self.weight = Parameter(xp.empty((self.out_features, self.in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(xp.empty((self.out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self, generator=None) -> None:
        """Draw W and b from U(-1/√in_features, 1/√in_features) (PyTorch's default)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        w = self._parameters["weight"]
        if not isinstance(x, Tensor) or x.ndim == 0 or x.shape[-1] != self.in_features:
            check_tensor(x, self._name())
            raise ValueError(f"{self._name()}: expected input with last dimension "
                             f"{self.in_features}, got shape {x.shape}")
        if x.dtype != w.dtype:
            check_float_dtype(x, w.dtype, self._name())
        b = self._parameters["bias"]
        if b is None:
            return _LinearFn.apply(x, w)
        return _LinearFn.apply(x, w, b)

    def _name(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
