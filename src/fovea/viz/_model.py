"""Helpers the viz methods share: inputs as tensors, class targets, a module's output
captured during forward, and eval mode for the length of a method."""

from __future__ import annotations

import contextlib

import numpy as np

import fovea
from fovea import nn
from fovea.tensor import Tensor


def as_batch(x, dtype=None) -> Tensor:
    """A detached (N, ...) tensor from an array or tensor (its dtype kept unless given)."""
    if isinstance(x, Tensor):
        x = x.detach()
        return x if dtype is None else x.to(dtype)
    a = np.asarray(x)
    if dtype is not None:
        a = a.astype(dtype)
    elif a.dtype.kind != "f":
        a = a.astype(np.float32)
    return fovea.tensor(a)


def targets(scores: Tensor, target) -> np.ndarray:
    """Class index per example (N,): ``target`` (an int or N ints), or the top class."""
    n = scores.shape[0]
    if target is None:
        return np.argmax(scores.detach().numpy(), axis=1)
    t = np.broadcast_to(np.asarray(target, dtype=np.int64), (n,)).copy()
    if t.min() < 0 or t.max() >= scores.shape[1]:
        raise IndexError(f"target {target} is out of range for {scores.shape[1]} classes")
    return t


def class_score(scores: Tensor, t: np.ndarray) -> Tensor:
    """Σ_i scores[i, t_i]: one scalar whose gradient gives each example its own class's."""
    onehot = np.zeros(scores.shape, dtype=scores.dtype)
    onehot[np.arange(len(t)), t] = 1
    return (scores * fovea.tensor(onehot)).sum()


def resolve(model: nn.Module, layer) -> nn.Module:
    """The submodule ``layer`` names (a dotted name from ``named_modules``) or is."""
    if isinstance(layer, nn.Module):
        return layer
    names = dict(model.named_modules())
    if layer not in names:
        raise ValueError(f"layer {layer!r} is not a submodule of the model; choose from "
                         f"{', '.join(n for n in names if n)}")
    return names[layer]


@contextlib.contextmanager
def capture(model: nn.Module, layer):
    """Record the output of ``layer`` on each forward within the block: yields a list."""
    seen: list[Tensor] = []
    handle = resolve(model, layer).register_forward_hook(lambda m, i, o: seen.append(o))
    try:
        yield seen
    finally:
        handle.remove()


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """``model`` in eval mode for the block (batch norm's running statistics, no dropout)."""
    was = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was)


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every Conv2d, in definition order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
