"""The lectures' regularising layers: ``StochasticDepth`` / ``DropPath``, ``DropConnect``,
``FractionalMaxPool2d`` (PyTorch's), and the max-norm constraint as a step-wise helper.

Each is active in training mode only; evaluation uses the whole network unchanged.
"""

from __future__ import annotations

import numbers

from fovea.nn.functional.pooling.fractional import fractional_max_pool2d
from fovea.nn.functional.regularization import max_norm_
from fovea.nn.functional.stochastic import _check_p, drop_connect, stochastic_depth
from fovea.nn.modules.module import Module
from fovea.nn.utils.conv import pair

__all__ = ["DropConnect", "DropPath", "FractionalMaxPool2d", "StochasticDepth",
           "apply_max_norm_"]


class StochasticDepth(Module):
    """``stochastic_depth(x, p, mode, self.training)`` (torchvision.ops.StochasticDepth).

    Put it on a residual branch: ``y = x + StochasticDepth(p)(f(x))``.

    Shapes: (N, *) -> the same.
    """

    def __init__(self, p: float, mode: str = "row", *, generator=None):
        super().__init__()
        _check_p(p, "StochasticDepth")
        if mode not in ("row", "batch"):
            raise ValueError(f"StochasticDepth: mode has to be either 'batch' or 'row', but "
                             f"got {mode!r}")
        self.p, self.mode, self.generator = float(p), mode, generator

    def forward(self, x):
        return stochastic_depth(x, self.p, self.mode, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class DropPath(StochasticDepth):
    """Per-example stochastic depth (timm's ``DropPath(drop_prob)``)."""

    def __init__(self, drop_prob: float = 0.0, *, generator=None):
        super().__init__(drop_prob, "row", generator=generator)


class DropConnect(Module):
    """Wrap a layer with a ``weight`` (``Linear``, ``Conv2d``, ...) so that in training each
    forward uses ``drop_connect(weight, p)``: every weight is dropped with probability p and
    the rest scaled by 1 / (1 − p). In evaluation the layer runs unchanged.

    The wrapped layer stays a child (``state_dict`` keys ``module.weight``, ...).

    Args:
        module: the layer.
        p: drop probability in [0, 1].
        name: the parameter to drop (default ``"weight"``).
        generator: where the masks come from.
    """

    def __init__(self, module: Module, p: float = 0.5, name: str = "weight", *,
                 generator=None):
        super().__init__()
        _check_p(p, "DropConnect")
        if not isinstance(module, Module) or module._parameters.get(name) is None:
            raise ValueError(f"DropConnect: the module must have a parameter {name!r}, got "
                             f"{type(module).__name__}")
        self.module, self.p, self.name, self.generator = module, float(p), name, generator

    def forward(self, *args, **kwargs):
        if not self.training or self.p == 0.0:
            return self.module(*args, **kwargs)
        params = self.module._parameters
        weight = params[self.name]
        # NOTE: the masked tensor stands in for the parameter during this one forward only
        # (the layer reads it by name); the Parameter is put back even if forward raises.
        params[self.name] = drop_connect(weight, self.p, True, self.generator)
        try:
            return self.module(*args, **kwargs)
        finally:
            params[self.name] = weight

    def extra_repr(self) -> str:
        return f"p={self.p}, name={self.name!r}"


class FractionalMaxPool2d(Module):
    """Fractional max-pooling (see ``F.fractional_max_pool2d``): (N, C, H, W) -> (N, C, oH,
    oW), with ``output_size`` or ``output_ratio`` in (0, 1).

    ``_random_samples`` (N, C, 2) pins the samples (PyTorch's argument); ``sequence="random"``
    (a fovea extension) uses Graham's random rather than pseudo-random window starts.
    """

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples=None, *,
                 sequence: str = "pseudo_random", generator=None):
        super().__init__()
        pair(kernel_size, "kernel_size", "FractionalMaxPool2d", low=1)
        if (output_size is None) == (output_ratio is None):
            raise ValueError("FractionalMaxPool2d requires specifying either an output size, "
                             "or a pooling ratio (not both)")
        if output_ratio is not None:
            ratio = (output_ratio, output_ratio) if isinstance(output_ratio, numbers.Real) \
                else tuple(output_ratio)
            if not all(isinstance(r, numbers.Real) and 0 < r < 1 for r in ratio):
                raise ValueError(f"FractionalMaxPool2d: output_ratio must be between 0 and 1 "
                                 f"(got {output_ratio})")
        self.kernel_size, self.output_size, self.output_ratio = kernel_size, output_size, \
            output_ratio
        self.return_indices, self._random_samples = bool(return_indices), _random_samples
        self.sequence, self.generator = sequence, generator

    def forward(self, x):
        return fractional_max_pool2d(x, self.kernel_size, self.output_size, self.output_ratio,
                                     self.return_indices, self._random_samples,
                                     sequence=self.sequence, generator=self.generator)

    def extra_repr(self) -> str:
        what = f"output_size={self.output_size}" if self.output_size is not None \
            else f"output_ratio={self.output_ratio}"
        return f"kernel_size={self.kernel_size}, {what}"


def apply_max_norm_(model: Module, max_norm: float, types=None) -> Module:
    """The max-norm constraint on a whole model, in place: each ``Linear`` and ``Conv2d``
    weight (or those of ``types``) gets ``max_norm_(weight, max_norm, dim=0)``, so every output
    unit's incoming weight vector has ‖w‖₂ ≤ ``max_norm``. Call it after each optimizer step
    (``fovea train --max-norm C`` does).

    Returns:
        ``model``.
    """
    from fovea.nn.modules.conv import Conv2d
    from fovea.nn.modules.linear import Linear

    types = (Linear, Conv2d) if types is None else tuple(types)
    for m in model.modules():
        if isinstance(m, types) and m._parameters.get("weight") is not None:
            max_norm_(m._parameters["weight"], max_norm, dim=0)
    return model
