"""Input checks shared by the layers: each error names the layer, what it expected and what
it got, e.g. ``Linear(3, 8): expected input with last dimension 3, got shape (4, 5)``."""

from __future__ import annotations

from fovea.tensor import Tensor


def check_tensor(x, layer: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer}: expected a Tensor as input, got {type(x).__name__}")


def check_float_dtype(x: Tensor, dtype, layer: str) -> None:
    """The input must be floating and, when the layer has parameters, of their dtype."""
    if x.dtype.kind != "f":
        raise TypeError(f"{layer}: expected a floating input, got dtype {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{layer}: expected input of dtype {dtype} (the layer's parameters), got "
                        f"{x.dtype}; convert the input or the layer (e.g. layer.to({x.dtype}))")


def shape_str(shape) -> str:
    return str(tuple(shape))
