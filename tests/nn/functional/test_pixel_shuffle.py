"""nn/functional/pixel_shuffle.py: pixel_shuffle and pixel_unshuffle against PyTorch through
the shared harness, each other's inverse, and errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

TF = torch.nn.functional if torch else None


def _shuffle_ref(a, r):
    """out[..., c, h·r + i, w·r + j] = a[..., c·r² + i·r + j, h, w], by explicit indices."""
    *lead, c, h, w = a.shape
    out = np.empty((*lead, c // (r * r), h * r, w * r))
    for k in range(c):
        cc, i, j = k // (r * r), (k // r) % r, k % r
        out[..., cc, i::r, j::r] = a[..., k, :, :]
    return out


@pytest.mark.parametrize("shape,r", [((2, 8, 3, 4), 2), ((9, 2, 3), 3), ((2, 1, 4, 1, 2), 2)])
def test_pixel_shuffle_matches_torch(shape, r):
    a = np.random.default_rng(41).standard_normal(shape)
    check_op(lambda x: F.pixel_shuffle(x, r), lambda x: TF.pixel_shuffle(x, r), [a],
             numpy_fn=lambda x: _shuffle_ref(x, r))


@pytest.mark.parametrize("shape,r", [((2, 2, 6, 4), 2), ((1, 6, 9), 3), ((2, 1, 3, 4, 2), 2)])
def test_pixel_unshuffle_matches_torch_and_inverts_the_shuffle(shape, r):
    a = np.random.default_rng(42).standard_normal(shape)
    check_op(lambda x: F.pixel_unshuffle(x, r), lambda x: TF.pixel_unshuffle(x, r), [a])
    x = fovea.tensor(a)
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(x, r), r).numpy(), a)


def test_pixel_shuffle_errors():
    with pytest.raises(RuntimeError, match=r"channel dimension \(6\) must be divisible by the "
                                           r"square of upscale_factor \(4\)"):
        F.pixel_shuffle(fovea.randn(1, 6, 2, 2), 2)
    with pytest.raises(RuntimeError, match=r"height \(3\) and width \(4\) must be divisible"):
        F.pixel_unshuffle(fovea.randn(1, 1, 3, 4), 2)
    with pytest.raises(ValueError, match="upscale_factor must be a positive int"):
        F.pixel_shuffle(fovea.randn(1, 4, 2, 2), 0)
