"""nn/modules/pooling.py: the pooling layers against PyTorch's (repr and values), and
MaxPool2d(return_indices=True) feeding MaxUnpool2d."""

from __future__ import annotations

import numpy as np

import fovea
import fovea.nn as nn
from oracle import needs_torch, torch


@needs_torch
def test_modules_match_torch_repr_and_values():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 8, 8))
    pairs = [
        (nn.MaxPool2d(2), torch.nn.MaxPool2d(2)),
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.AvgPool2d(2), torch.nn.AvgPool2d(2)),
        (nn.AvgPool2d((3, 2), 2, 1), torch.nn.AvgPool2d((3, 2), 2, 1)),
        (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
        (nn.AdaptiveMaxPool2d((2, 3)), torch.nn.AdaptiveMaxPool2d((2, 3))),
    ]
    for m, t in pairs:
        assert repr(m) == repr(t)
        np.testing.assert_allclose(m(fovea.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
    assert repr(nn.MaxUnpool2d(2)) == repr(torch.nn.MaxUnpool2d(2))


def test_max_unpool_layer_puts_each_maximum_back():
    x = np.random.default_rng(8).standard_normal((2, 3, 8, 8))
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    y, idx = pool(fovea.tensor(x))
    restored = unpool(y, idx).numpy()
    assert restored.shape == x.shape
    np.testing.assert_allclose(restored.max(axis=(2, 3)), x.max(axis=(2, 3)))
    assert (restored != 0).sum() == y.numel()  # one value per window, zeros elsewhere
