"""Helpers shared by the distributions: parameters as broadcast tensors, probabilities and
logits, and the random numbers (from fovea's seeded generator)."""

from __future__ import annotations

import numbers

import numpy as np

from fovea import backends, creation, dtypes
from fovea.nn import functional as F
from fovea.tensor import Tensor


def as_param(value, like: Tensor | None, name: str, owner: str) -> Tensor:
    """``value`` as a floating Tensor: Tensors are kept (so gradients reach them), numbers
    take ``like``'s dtype (else the default float dtype), arrays keep a floating dtype."""
    if isinstance(value, Tensor):
        if not dtypes.is_floating(value.dtype):
            value = value.to(dtypes.get_default_dtype())
        return value
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray, list, tuple)):
        raise TypeError(f"{owner}: {name} must be a Tensor or a number, got "
                        f"{type(value).__name__}")
    dtype = like.dtype if like is not None else None
    arr = np.asarray(value)
    if dtype is None:
        dtype = arr.dtype if arr.dtype.kind == "f" else dtypes.get_default_dtype()
    xp = backends.for_array(like._data).xp if like is not None else backends.default().xp
    return Tensor._make(xp.asarray(arr.astype(dtype)), None)


def broadcast_all(values: dict, owner: str) -> list[Tensor]:
    """The parameters in ``values`` (name -> value) as Tensors of one broadcast shape."""
    like = next((v for v in values.values() if isinstance(v, Tensor)), None)
    tensors = [as_param(v, like, k, owner) for k, v in values.items()]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in tensors))
    except ValueError:
        shapes = ", ".join(f"{k} {t.shape}" for k, t in zip(values, tensors))
        raise ValueError(f"{owner}: parameters of shapes {shapes} do not broadcast") from None
    return [t if t.shape == shape else t.expand(*shape) for t in tensors]


def sum_rightmost(x: Tensor, n: int) -> Tensor:
    """Sum the ``n`` rightmost dimensions of ``x`` (none when ``n == 0``)."""
    return x.sum(dim=tuple(range(-n, 0))) if n > 0 else x


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities kept ``eps`` away from 0 and 1 (so their logits are finite)."""
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log(p) for a categorical (normalised later), log(p / (1 - p)) for a binary one."""
    p = clamp_probs(probs)
    return p.log() - (1 - p).log() if is_binary else p.log()


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    return logits.sigmoid() if is_binary else F.softmax(logits, dim=-1)


def shape_of(sample_shape, owner: str) -> tuple:
    """``sample_shape`` as a tuple of ints (a tuple, list or ``fovea.Size``)."""
    if isinstance(sample_shape, numbers.Integral):
        raise TypeError(f"{owner}: sample_shape must be a tuple of ints (e.g. ({sample_shape},)),"
                        f" got the int {sample_shape}")
    try:
        return tuple(int(s) for s in sample_shape)
    except TypeError:
        raise TypeError(f"{owner}: sample_shape must be a tuple of ints, got "
                        f"{sample_shape!r}") from None


def generator():
    """The NumPy generator of fovea's random functions (``fovea.manual_seed`` seeds it)."""
    return creation.default_generator()


def on_device_of(arr: np.ndarray, like: Tensor, dtype=None) -> Tensor:
    """Host array ``arr`` as a Tensor on ``like``'s device, in ``dtype`` (``like``'s)."""
    xp = backends.for_array(like._data).xp
    return Tensor._make(xp.asarray(arr.astype(like.dtype if dtype is None else dtype)), None)


def standard_normal(shape: tuple, like: Tensor) -> Tensor:
    return on_device_of(generator().standard_normal(shape), like)


def uniform(shape: tuple, like: Tensor) -> Tensor:
    return on_device_of(generator().random(shape), like)
