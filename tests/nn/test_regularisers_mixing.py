"""Mixup and CutMix (fovea.data.mixing): images and labels mixed by the formulas of the papers
with the λ and box drawn from the same generator; the soft-label loss equals the mixed loss."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea.data import CutMix, MixUp, RandomMixing, mixed_cross_entropy
from oracle import needs_torch, torch


def _batch(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2, 8, 10)).astype(np.float32), rng.integers(0, 5, n)


def test_mixup_mixes_images_and_labels_with_one_beta_lambda():
    x, y = _batch()
    xm, soft = MixUp(alpha=0.4, num_classes=5)(x, y, np.random.default_rng(7))
    lam = np.random.default_rng(7).beta(0.4, 0.4)
    np.testing.assert_allclose(xm, lam * x + (1 - lam) * x[[5, 0, 1, 2, 3, 4]], rtol=1e-6)
    eye = np.eye(5)
    np.testing.assert_allclose(soft, lam * eye[y] + (1 - lam) * eye[np.roll(y, 1)], rtol=1e-6)
    np.testing.assert_allclose(soft.sum(1), 1, rtol=1e-6)
    assert xm.dtype == soft.dtype == np.float32


def test_cutmix_pastes_a_box_and_lambda_is_the_kept_area():
    x, y = _batch()
    xm, soft = CutMix(alpha=1.0, num_classes=5)(x, y, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    lam0 = rng.beta(1.0, 1.0)
    y0, y1, x0, x1 = CutMix.box(8, 10, lam0, rng)
    inside = np.zeros((8, 10), bool)
    inside[y0:y1, x0:x1] = True
    assert inside.any()
    np.testing.assert_array_equal(xm[:, :, inside], x[[5, 0, 1, 2, 3, 4]][:, :, inside])
    np.testing.assert_array_equal(xm[:, :, ~inside], x[:, :, ~inside])
    lam = 1 - inside.mean()
    eye = np.eye(5)
    np.testing.assert_allclose(soft, lam * eye[y] + (1 - lam) * eye[np.roll(y, 1)], rtol=1e-6)


def test_cutmix_box_area_is_about_one_minus_lambda_away_from_the_border():
    rng = np.random.default_rng(0)
    lam = 0.75
    areas = []
    for _ in range(200):
        y0, y1, x0, x1 = CutMix.box(100, 100, lam, rng)
        if y0 > 0 and x0 > 0 and y1 < 100 and x1 < 100:
            areas.append((y1 - y0) * (x1 - x0) / 1e4)
    assert areas and np.allclose(areas, 1 - lam, atol=0.01)


def test_mixing_keeps_tensors_as_tensors_and_leaves_its_input_alone():
    x, y = _batch()
    xt, yt = fovea.tensor(x), fovea.tensor(y)
    before = x.copy()
    xm, soft = RandomMixing([MixUp(num_classes=5), CutMix(num_classes=5)])(
        xt, yt, np.random.default_rng(0))
    assert isinstance(xm, fovea.Tensor) and soft.shape == (6, 5)
    np.testing.assert_array_equal(x, before)


def test_soft_label_cross_entropy_equals_the_mixed_pair_loss():
    rng = np.random.default_rng(1)
    logits = fovea.tensor(rng.standard_normal((6, 5)), requires_grad=True)
    y = rng.integers(0, 5, 6)
    lam = 0.3
    soft = lam * np.eye(5)[y] + (1 - lam) * np.eye(5)[np.roll(y, 1)]
    a = F.cross_entropy(logits, fovea.tensor(soft))
    b = mixed_cross_entropy(logits, fovea.tensor(y), fovea.tensor(np.roll(y, 1)), lam)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)
    ga = fovea.grad(a, [logits])[0].numpy()
    gb = fovea.grad(b, [logits])[0].numpy()
    np.testing.assert_allclose(ga, gb, rtol=1e-10)


@needs_torch
def test_mixed_loss_matches_pytorch_soft_target_cross_entropy():
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((6, 5))
    _, soft = MixUp(num_classes=5)(rng.standard_normal((6, 1, 2, 2)), rng.integers(0, 5, 6), rng)
    ours = F.cross_entropy(fovea.tensor(logits), fovea.tensor(soft)).item()
    theirs = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(soft)).item()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_mixing_refuses_bad_arguments():
    x, y = _batch()
    with pytest.raises(ValueError, match="alpha"):
        MixUp(alpha=0, num_classes=5)
    with pytest.raises(ValueError, match="labels must be in"):
        MixUp(num_classes=3)(x, y + 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match="floating batch"):
        CutMix(num_classes=5)(x[0], y, np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        CutMix(num_classes=5)(x, y, 0)
