"""nn/functional/dropout.py: mask statistics, inverted scaling, evaluation identity, channel
dropout; with a seeded generator the mask is fixed, so the harness checks the gradient (the
mask) against finite differences and the same mask on every device."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op


def _seeded(fn, p, seed):
    return lambda x: fn(x, p, generator=np.random.default_rng(seed))


def _mask(shape, p, seed):
    """The mask a generator seeded with ``seed`` gives (float64 uniforms compared with p)."""
    return (np.random.default_rng(seed).random(shape) >= p) / (1 - p)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keeps_fraction_and_scales_survivors(p):
    x = fovea.ones(200, 500, dtype=np.float64)
    y = F.dropout(x, p, generator=np.random.default_rng(0)).numpy()
    kept = y != 0
    n = kept.size
    # Binomial(n, 1 - p): the kept fraction is within 5 standard deviations of 1 - p.
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-15)
    # Inverted dropout preserves the expectation.
    assert abs(y.mean() - 1) < 5 * np.sqrt(p / (1 - p) / n)


def test_dropout_eval_and_p0_are_identity_and_p1_is_zero():
    x = fovea.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout2d(fovea.randn(2, 3, 4, 4), 0.5, training=False).shape == (2, 3, 4, 4)
    assert (F.dropout(x, 1.0).numpy() == 0).all()


def test_dropout_is_the_seeded_mask_times_the_input_with_the_mask_as_gradient():
    a = np.random.default_rng(1).standard_normal((6, 7))
    check_op(_seeded(F.dropout, 0.3, 2), None, [a],
             numpy_fn=lambda x: x * _mask(x.shape, 0.3, 2), rtol=1e-15, atol=0)


def test_dropout2d_is_the_seeded_channel_mask_times_the_input():
    a = np.random.default_rng(4).standard_normal((3, 4, 2, 2))
    check_op(_seeded(F.dropout2d, 0.4, 7), None, [a],
             numpy_fn=lambda x: x * _mask((3, 4, 1, 1), 0.4, 7), rtol=1e-15, atol=0)


def test_same_seed_same_mask():
    x = fovea.ones(50, 50)
    a = F.dropout(x, 0.5, generator=np.random.default_rng(9)).numpy()
    b = F.dropout(x, 0.5, generator=np.random.default_rng(9)).numpy()
    c = F.dropout(x, 0.5, generator=np.random.default_rng(10)).numpy()
    assert (a == b).all() and not (a == c).all()


def test_dropout2d_drops_whole_channels():
    x = fovea.ones(40, 50, 3, 3, dtype=np.float32)
    y = F.dropout2d(x, 0.3, generator=np.random.default_rng(5)).numpy()
    assert y.dtype == np.float32
    per_channel = y.reshape(40, 50, 9)
    # Each channel is all zero or all 1/(1-p).
    assert (per_channel.min(-1) == per_channel.max(-1)).all()
    kept = per_channel[:, :, 0] != 0
    assert abs(kept.mean() - 0.7) < 5 * np.sqrt(0.21 / 2000)
    np.testing.assert_allclose(per_channel[kept], 1 / 0.7, rtol=1e-6)


def test_dropout_errors():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(fovea.randn(2), 1.5)
    with pytest.raises(TypeError, match="floating"):
        F.dropout(fovea.tensor([1, 2, 3]), 0.5)
    with pytest.raises(TypeError, match="Generator"):
        F.dropout(fovea.randn(3), 0.5, generator=42)
    with pytest.raises(ValueError, match=r"dropout2d: expected input of shape \(N, C, H, W\)"):
        F.dropout2d(fovea.randn(2, 3), 0.5)
