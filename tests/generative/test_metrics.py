"""Fréchet distance, precision/recall, classifier features and toy-set scores by hand."""

import numpy as np
import pytest

import fovea
from fovea import nn
from fovea.generative import (
    TOY_SETS,
    ClassifierFeatures,
    feature_statistics,
    frechet_distance,
    mode_statistics,
    precision_recall,
    toy_centers,
    toy_sample,
)


def test_frechet_distance_of_one_dimensional_gaussians_is_mean_and_std_differences_squared():
    # N(1, 2²) vs N(4, 3²): (1 − 4)² + (2 − 3)² = 10
    assert frechet_distance([1.0], [[4.0]], [4.0], [[9.0]]) == pytest.approx(10.0)


def test_frechet_distance_of_diagonal_gaussians_and_of_a_gaussian_with_itself():
    mu1, mu2 = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    s1, s2 = np.diag([1.0, 4.0]), np.diag([4.0, 9.0])
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(1 + 1 + 1)
    a = np.random.default_rng(0).standard_normal((5, 5))
    s = a @ a.T
    assert frechet_distance(mu1.repeat(3)[:5], s, mu1.repeat(3)[:5], s) == pytest.approx(0,
                                                                                        abs=1e-8)


def test_frechet_distance_matches_scipy_sqrtm_on_random_covariances():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((6, 6)), rng.standard_normal((6, 4))
    s1, s2 = a @ a.T, b @ b.T  # s2 singular
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2) \
        - 2 * np.trace(scipy_linalg.sqrtm(s1 @ s2)).real
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-6)


def test_feature_statistics_are_the_mean_and_unbiased_covariance():
    f = np.array([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mu, cov = feature_statistics(f)
    np.testing.assert_allclose(mu, [2, 2])
    np.testing.assert_allclose(cov, [[4, 3], [3, 3]])
    with pytest.raises(ValueError, match="N >= 2"):
        feature_statistics(f[:1])


def test_precision_and_recall_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    # k = 1: every real ball has radius 1, so reals cover [−1, 4].
    fake = np.array([[0.5], [2.5], [10.0], [11.0]])
    # fake radii (k = 1): 2, 2, 1, 1 -> fakes cover [−1.5, 4.5] ∪ [9, 12]: all 4 reals
    p, r = precision_recall(real, fake, k=1)
    assert (p, r) == (0.5, 1.0)
    assert precision_recall(real, real + 100, k=1) == (0.0, 0.0)
    with pytest.raises(ValueError, match="more than k=3"):
        precision_recall(real[:3], fake, k=3)


def test_classifier_features_are_the_input_of_the_last_linear_layer():
    fovea.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    x = np.random.default_rng(0).random((5, 1, 2, 2)).astype(np.float32)
    feats = ClassifierFeatures(model, mean=[0.5], std=[0.25])(x, batch_size=2)
    with fovea.no_grad():
        ref = model[2](model[1](model[0](fovea.tensor((x - 0.5) / 0.25)))).numpy()
    np.testing.assert_allclose(feats, ref, rtol=1e-6)
    with pytest.raises(ValueError, match="no nn.Linear"):
        ClassifierFeatures(nn.Sequential(nn.ReLU()))


@pytest.mark.parametrize("name, modes", [("8gaussians", 8), ("25gaussians", 25)])
def test_real_toy_samples_cover_every_mode_with_high_quality(name, modes):
    assert toy_centers(name).shape == (modes, 2)
    s = mode_statistics(toy_sample(name, 5000, 0), name)
    assert s["modes"] == modes and s["modes_covered"] == modes
    assert s["modes_covered_strict"] == modes and sum(s["per_mode"]) == round(
        5000 * s["high_quality"])
    # within 3σ of a 2-d Gaussian's centre: P(χ₂ ≤ 3) = 1 − exp(−9/2) ≈ 0.9889
    assert s["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=0.005)


@pytest.mark.parametrize("name, radius, spacing, std", [
    ("8gaussians", 2 / 1.414, None, 0.02 / 1.414),      # the WGAN-GP toy script's scaling
    ("25gaussians", None, 2 / 2.828, 0.05 / 2.828)])
def test_toy_sets_are_the_papers_after_its_scaling_and_the_metric_uses_their_std(
        name, radius, spacing, std):
    c = toy_centers(name)
    if radius is not None:
        np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), radius)
    else:
        np.testing.assert_allclose(np.unique(np.round(c[:, 0], 9)), spacing * np.arange(-2, 3))
    assert TOY_SETS[name] == pytest.approx(std)
    x = toy_sample(name, 200_000, 1).astype(np.float64)
    off = x - c[np.sqrt(((x[:, None] - c[None]) ** 2).sum(-1)).argmin(1)]
    assert off.std(axis=0) == pytest.approx([std, std], rel=0.01)  # σ is the data's own


def test_mode_statistics_worked_by_hand():
    sigma, c = TOY_SETS["8gaussians"], toy_centers("8gaussians")
    radial = c / np.linalg.norm(c, axis=1, keepdims=True)
    # mode 0: 60 samples on it; mode 1: 2 samples at 2.9σ; mode 2: 10 samples at 4σ
    pts = np.concatenate([np.repeat(c[:1], 60, 0), np.repeat(c[1:2] + 2.9 * sigma * radial[1:2],
                                                             2, 0),
                          np.repeat(c[2:3] + 4 * sigma * radial[2:3], 10, 0)])
    s = mode_statistics(pts, "8gaussians", min_fraction=0.2)
    # 72 samples: fair share 9 per mode, 20 % of it 1.8 -> a mode needs 2 for the strict count
    assert s == {"modes": 8, "modes_covered": 2, "modes_covered_strict": 2,
                 "strict_min_samples": 2, "high_quality": 62 / 72,
                 "per_mode": [60, 2, 0, 0, 0, 0, 0, 0]}
    # one high-quality sample covers a mode under VEEGAN's rule, not under the strict count
    s = mode_statistics(pts[:61], "8gaussians")
    assert (s["modes_covered"], s["modes_covered_strict"], s["per_mode"][:2]) == (2, 1, [60, 1])
    # 2,500 samples (evaluate): 25 modes need 20 each for the strict count, 8 modes 63
    assert mode_statistics(np.zeros((2500, 2)), "25gaussians")["strict_min_samples"] == 20
    assert mode_statistics(np.zeros((2500, 2)), "8gaussians")["strict_min_samples"] == 63


def test_a_collapsed_or_blurry_generator_scores_badly_on_the_toy_sets():
    one_mode = np.tile(toy_centers("8gaussians")[:1], (1000, 1))
    s = mode_statistics(one_mode, "8gaussians")
    assert (s["modes_covered"], s["modes_covered_strict"], s["high_quality"]) == (1, 1, 1.0)
    between = np.zeros((100, 2))  # the circle's centre: far from every mode
    assert mode_statistics(between, "8gaussians")["high_quality"] == 0.0
    with pytest.raises(ValueError, match="unknown toy set"):
        toy_centers("swiss_roll")
