"""``Dropout`` and ``Dropout2d`` (inverted dropout; identity in evaluation mode)."""

from __future__ import annotations

import numbers

import numpy as np

from fovea.nn.functional.dropout import dropout, dropout2d
from fovea.nn.modules._checks import check_float_dtype, check_tensor, shape_str
from fovea.nn.modules.module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False, *,
                 generator: np.random.Generator | None = None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"{name}: dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace, self.generator = float(p), bool(inplace), generator

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zero each value with probability p and scale the others by 1 / (1 - p).

    Args:
        p: drop probability.
        inplace: accepted for PyTorch compatibility; the output is always a new tensor.
        generator: the mask's ``numpy.random.Generator`` (default: fovea's default one).

    Shapes: any (*) -> the same.
    """

    def forward(self, x):
        check_tensor(x, f"Dropout(p={self.p})")
        check_float_dtype(x, None, f"Dropout(p={self.p})")
        return dropout(x, self.p, self.training, self.generator)


class Dropout2d(_DropoutNd):
    """In training, zero whole channels with probability p and scale the others by 1/(1 - p).

    Arguments as :class:`Dropout`. Shapes: (N, C, H, W) -> the same.
    """

    def forward(self, x):
        name = f"Dropout2d(p={self.p})"
        check_tensor(x, name)
        if x.ndim != 4:
            raise ValueError(f"{name}: expected input of shape (N, C, H, W), got "
                             f"{shape_str(x.shape)}")
        check_float_dtype(x, None, name)
        return dropout2d(x, self.p, self.training, self.generator)
