"""Sanity checks for saliency methods (Adebayo et al., 2018): does the map depend on the
model? Re-initialise the weights layer by layer, from the output down (the cascade), and
measure how much each explanation still agrees with the trained model's (Spearman rank
correlation). A method that explains the model must change; an edge detector, which never
looks at the model, does not.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from fovea import nn
from fovea.viz._model import as_batch, evaluating, targets

__all__ = ["rank_correlation", "randomized_layers", "cascading_randomization", "edge_map"]


def _ranks(a: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of each row (ties broken by position: maps are continuous)."""
    order = np.argsort(a, axis=1, kind="stable")
    r = np.empty_like(order, dtype=np.float64)
    np.put_along_axis(r, order, np.arange(a.shape[1], dtype=np.float64)[None], axis=1)
    return r


def rank_correlation(a, b, absolute: bool = True) -> np.ndarray:
    """Spearman rank correlation of two batches of maps, one value per example (N,).

    Args:
        a, b: (N, ...) maps of the same shape; with ``absolute`` their magnitudes are ranked
            (the paper reports both; the sign of a gradient is often arbitrary).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rank_correlation: maps of shapes {a.shape} and {b.shape} differ")
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if absolute:
        a, b = np.abs(a), np.abs(b)
    ra, rb = _ranks(a), _ranks(b)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    return (ra * rb).sum(1) / np.where(den > 0, den, 1)


def _layers_with_weights(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules()
            if n and any(True for _ in m.parameters(recurse=False))]


def randomized_layers(model: nn.Module, cascade: bool = True,
                      generator: np.random.Generator | None = None):
    """Yield ``(layer name, copy of the model)`` with that layer's parameters re-drawn from a
    normal of each parameter's own standard deviation (mean 0, biases and norm scales too),
    from the last layer to the first; with ``cascade`` every layer above stays random too,
    else only that one layer is (the "independent" test). The model is not changed."""
    rng = generator if generator is not None else np.random.default_rng(0)
    current = copy.deepcopy(model)
    for name, _ in reversed(_layers_with_weights(model)):
        target = current if cascade else copy.deepcopy(model)
        layer = dict(target.named_modules())[name]
        for p in layer.parameters(recurse=False):
            std = float(np.std(p._data)) or 1.0
            p._data = (rng.standard_normal(p.shape) * std).astype(p._data.dtype)
        yield name, (copy.deepcopy(current) if cascade else target)


def cascading_randomization(model: nn.Module, method: Callable, x, target=None,
                            generator: np.random.Generator | None = None,
                            absolute: bool = True) -> list[tuple[str, float]]:
    """The model-randomisation test: ``[(layer, mean rank correlation), ...]`` between
    ``method(model, x, target)`` and the same method on each cascade step of
    :func:`randomized_layers` (top layer first). The targets are fixed from the trained
    model, so every map explains the same class. 4-d maps (N, C, H, W) are reduced to their
    largest magnitude over channels first.

    A method passes when the correlation falls well below 1 (it depends on the weights).
    """
    x = as_batch(x)
    with evaluating(model):
        t = targets(model(x), target)

    def reduce(m):
        m = np.asarray(m)
        return np.abs(m).max(axis=1) if m.ndim == 4 else m

    ref = reduce(method(model, x, target=t))
    out = []
    for name, rand in randomized_layers(model, True, generator):
        out.append((name, float(rank_correlation(ref, reduce(method(rand, x, target=t)),
                                                 absolute).mean())))
    return out


def edge_map(model, x, target=None) -> np.ndarray:
    """The Sobel gradient magnitude of the image (summed over channels), (N, H, W): the
    paper's model-independent baseline, with a saliency method's signature (model and
    target ignored)."""
    from scipy import ndimage

    a = as_batch(x).numpy().astype(np.float64)
    gy = ndimage.sobel(a, axis=2, mode="nearest")
    gx = ndimage.sobel(a, axis=3, mode="nearest")
    return np.sqrt(gx ** 2 + gy ** 2).sum(axis=1)
