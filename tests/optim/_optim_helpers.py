"""Shared fixtures of the optimizer tests: a tiny tanh MLP in fovea and its PyTorch mirror."""

from __future__ import annotations

import numpy as np

import fovea
from fovea.nn import Parameter

SHAPES = [(4, 3), (4,), (2, 4), (2,)]


def problem(seed: int = 0):
    """Inputs ``x: (8, 3)``, targets ``y: (8, 2)`` and initial weights (float64)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 3))
    y = rng.standard_normal((8, 2))
    weights = [0.7 * rng.standard_normal(s) for s in SHAPES]
    return x, y, weights


def fovea_params(weights, dtype=np.float64):
    return [Parameter(np.array(w, dtype=dtype)) for w in weights]


def fovea_loss(params, x, y):
    """Mean squared error of a 3-4-2 tanh MLP (non-convex in the weights)."""
    w1, b1, w2, b2 = params
    xt = fovea.tensor(x.astype(params[0].dtype))
    h = fovea.tanh(xt @ w1.T + b1)
    out = h @ w2.T + b2
    return ((out - fovea.tensor(y.astype(params[0].dtype))) ** 2).mean()


def torch_params(torch, weights):
    return [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]


def torch_loss(torch, params, x, y):
    w1, b1, w2, b2 = params
    h = torch.tanh(torch.as_tensor(x) @ w1.T + b1)
    out = h @ w2.T + b2
    return ((out - torch.as_tensor(y)) ** 2).mean()


def max_rel_diff(fovea_list, torch_list) -> float:
    """Largest |a - b| / max(|b|, 1e-3) over all entries of paired arrays."""
    worst = 0.0
    for a, b in zip(fovea_list, torch_list):
        a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
        b = b.detach().numpy()
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3))))
    return worst
