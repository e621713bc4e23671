"""Dropout: mask statistics, inverted scaling, evaluation identity, channel dropout, seeded
masks (so gradients can be checked), errors."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F


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
    assert (F.dropout(x, 1.0).numpy() == 0).all()
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x


def test_dropout_gradient_is_the_mask():
    x = fovea.tensor(np.random.default_rng(1).standard_normal((6, 7)), requires_grad=True)
    y = F.dropout(x, 0.3, generator=np.random.default_rng(2))
    g = np.random.default_rng(3).standard_normal((6, 7))
    y.backward(fovea.tensor(g))
    mask = y.detach().numpy() / x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-14)


def test_dropout_gradcheck_with_fixed_mask():
    x = fovea.tensor(np.random.default_rng(4).standard_normal((3, 4, 2, 2)), requires_grad=True)
    fn1 = lambda x: F.dropout(x, 0.4, generator=np.random.default_rng(7))  # noqa: E731
    fn2 = lambda x: F.dropout2d(x, 0.4, generator=np.random.default_rng(7))  # noqa: E731
    assert fovea.gradcheck(fn1, [x]) < 1e-7
    assert fovea.gradcheck(fn2, [x]) < 1e-7


def test_same_seed_same_mask_and_default_generator_is_seeded():
    x = fovea.ones(50, 50)
    a = F.dropout(x, 0.5, generator=np.random.default_rng(9)).numpy()
    b = F.dropout(x, 0.5, generator=np.random.default_rng(9)).numpy()
    assert (a == b).all()
    fovea.manual_seed(3)
    c = nn.Dropout(0.5)(x).numpy()
    fovea.manual_seed(3)
    d = nn.Dropout(0.5)(x).numpy()
    assert (c == d).all() and not (a == c).all()


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
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(-0.1)
    with pytest.raises(ValueError, match=r"Dropout2d\(p=0.5\): expected input of shape "
                                         r"\(N, C, H, W\), got \(2, 3\)"):
        nn.Dropout2d()(fovea.randn(2, 3))
    with pytest.raises(TypeError, match="floating"):
        F.dropout(fovea.tensor([1, 2, 3]), 0.5)
    with pytest.raises(TypeError, match="Generator"):
        F.dropout(fovea.randn(3), 0.5, generator=42)
