"""Small networks built twice, in fovea and (when installed) in PyTorch, with the same
float64 weights, for checking the viz methods against PyTorch's input gradients."""

from __future__ import annotations

import numpy as np

import fovea
from fovea import nn

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def convnet(seed: int = 0, in_ch: int = 2, classes: int = 5, size: int = 8) -> nn.Sequential:
    """conv3x3(4) – ReLU – maxpool2 – conv3x3(6) – ReLU – flatten – linear(classes), float64."""
    fovea.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(in_ch, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(6 * (size // 2) ** 2, classes))
    rng = np.random.default_rng(seed)
    for p in net.parameters():  # float64 weights of a useful scale
        p._data = rng.standard_normal(p.shape) * 0.5
    return net.eval()


def to_torch(net: nn.Sequential):
    """The same network in PyTorch (float64), layer by layer."""
    layers = []
    for m in net:
        if isinstance(m, nn.Conv2d):
            t = torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, padding=m.padding)
        elif isinstance(m, nn.Linear):
            t = torch.nn.Linear(m.in_features, m.out_features)
        elif isinstance(m, nn.ReLU):
            t = torch.nn.ReLU()
        elif isinstance(m, nn.MaxPool2d):
            t = torch.nn.MaxPool2d(2)
        elif isinstance(m, nn.Flatten):
            t = torch.nn.Flatten()
        else:  # pragma: no cover
            raise TypeError(type(m))
        if hasattr(t, "weight"):
            t.weight.data = torch.tensor(m.weight._data.copy())
            t.bias.data = torch.tensor(m.bias._data.copy())
        layers.append(t)
    return torch.nn.Sequential(*layers).double().eval()


def images(n: int = 3, in_ch: int = 2, size: int = 8, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, in_ch, size, size))
