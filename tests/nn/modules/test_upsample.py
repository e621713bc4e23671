"""nn/modules/upsample.py: Upsample, UpsamplingBilinear2d and UpsamplingNearest2d against
PyTorch's (repr and values)."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import needs_torch, torch


@needs_torch
def test_upsample_modules_match_torch():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 2, 3, 5))
    pairs = [
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.Upsample(size=(4, 7), mode="bilinear"), torch.nn.Upsample(size=(4, 7),
                                                                       mode="bilinear")),
        (nn.UpsamplingBilinear2d(scale_factor=2), torch.nn.UpsamplingBilinear2d(scale_factor=2)),
        (nn.UpsamplingNearest2d(size=6), torch.nn.UpsamplingNearest2d(size=6)),
    ]
    for m, t in pairs:
        assert repr(m) == repr(t)
        np.testing.assert_allclose(m(fovea.tensor(x)).numpy(), t(torch.tensor(x)).numpy(),
                                   atol=1e-12)


def test_upsample_needs_a_size_or_a_scale_factor():
    with pytest.raises(ValueError, match="exactly one"):
        nn.Upsample()


def test_upsample_resizes_signals_with_linear_mode():
    from oracle import check_op
    x = np.random.default_rng(5).standard_normal((2, 3, 5))
    check_op(nn.Upsample(scale_factor=2, mode="linear", align_corners=True),
             lambda t: torch.nn.Upsample(scale_factor=2, mode="linear", align_corners=True)(t),
             [x])
    if torch is not None:
        assert repr(nn.Upsample(scale_factor=2, mode="linear")) == repr(
            torch.nn.Upsample(scale_factor=2, mode="linear"))
