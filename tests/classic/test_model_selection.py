"""Cross-validation: folds, grid and random search, every score kept, scikit-learn oracle."""

import math

import numpy as np
import pytest

from fovea.classic import (
    Choice,
    Configured,
    CVResult,
    KNearestNeighbor,
    LogUniform,
    Softmax,
    Uniform,
    cross_validate,
    kfold_indices,
    log_uniform,
)


class Recorder:
    """Predicts a constant label and records what it was trained on."""

    log: list = []

    def __init__(self, label=0, **params):
        self.label, self.params = label, params

    def train(self, X, y):
        Recorder.log.append((self.params, X[:, 0].astype(int).copy()))

    def predict(self, X):
        return np.full(X.shape[0], self.label)


@pytest.mark.parametrize("n, folds", [(10, 5), (11, 3), (7, 7), (100, 2)])
def test_every_example_is_validated_exactly_once(n, folds):
    splits = kfold_indices(n, folds, seed=3)
    assert len(splits) == folds
    val = np.concatenate([va for _, va in splits])
    np.testing.assert_array_equal(np.sort(val), np.arange(n))
    sizes = [len(va) for _, va in splits]
    assert max(sizes) - min(sizes) <= 1
    for tr, va in splits:
        assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == n
    again = kfold_indices(n, folds, seed=3)
    assert all((a[1] == b[1]).all() for a, b in zip(splits, again))
    np.testing.assert_array_equal(kfold_indices(n, folds, shuffle=False)[0][1],
                                  np.arange(len(splits[0][1])))


def test_grid_search_tries_every_combination_on_every_fold_and_keeps_every_score():
    Recorder.log = []
    X = np.arange(12.0)[:, None]
    y = np.array([0, 1] * 6)
    grid = {"label": [0, 1, 2], "tag": ["a", "b"]}
    res = cross_validate(Recorder, X, y, param_grid=grid, folds=4, seed=0)
    assert res.params == [{"label": l, "tag": t} for l in (0, 1, 2) for t in ("a", "b")]
    assert res.scores.shape == (6, 4) and res.folds == 4
    splits = kfold_indices(12, 4, seed=0)
    for i, params in enumerate(res.params):
        for f, (_, va) in enumerate(splits):
            assert res.scores[i, f] == np.mean(y[va] == params["label"])
    # Each model trained on exactly the other folds.
    assert len(Recorder.log) == 24
    for j, (_, trained_on) in enumerate(Recorder.log):
        np.testing.assert_array_equal(trained_on, splits[j % 4][0])
    np.testing.assert_allclose(res.mean_scores, res.scores.mean(axis=1))
    assert res.best_params["label"] in (0, 1) and res.best_score == pytest.approx(0.5)
    assert res.best_index == 0   # ties go to the first setting
    summary = res.to_dict()
    assert summary["scores"] == res.scores.tolist() and len(summary["params"]) == 6


def test_knn_cross_validation_equals_scikit_learns_on_the_same_folds(digits):
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    X, y = digits.X_train[:600], digits.y_train[:600]
    ks = [1, 3, 8]
    res = cross_validate(lambda k: KNearestNeighbor(k=k), X, y, param_grid={"k": ks}, folds=4)
    splits = kfold_indices(len(y), 4, seed=0)
    for i, k in enumerate(ks):
        ref = cross_val_score(KNeighborsClassifier(k, algorithm="brute"), X, y, cv=splits)
        np.testing.assert_allclose(res.scores[i], ref)
    assert res.best_params == {"k": 1}


def test_random_search_samples_log_uniformly_within_the_bounds():
    rng = np.random.default_rng(0)
    dist = log_uniform(1e-6, 1e-2)
    samples = np.array([dist.sample(rng) for _ in range(4000)])
    assert samples.min() >= 1e-6 and samples.max() <= 1e-2
    logs = np.log10(samples)
    # Uniform on [-6, -2]: mean -4, a quarter in each decade.
    assert abs(logs.mean() + 4) < 0.05
    counts = np.histogram(logs, bins=4, range=(-6, -2))[0]
    assert np.all(np.abs(counts - 1000) < 100)
    u = np.array([Uniform(2, 3).sample(rng) for _ in range(500)])
    assert 2 <= u.min() and u.max() <= 3 and abs(u.mean() - 2.5) < 0.05
    assert {Choice((1, 2)).sample(rng) for _ in range(50)} == {1, 2}


def test_random_search_draws_num_samples_settings_reproducibly():
    Recorder.log = []
    X, y = np.arange(10.0)[:, None], np.arange(10) % 2
    sampler = {"lr": log_uniform(1e-4, 1e-1), "label": [0, 1],
               "width": lambda rng: int(rng.integers(5, 9))}
    res = cross_validate(Recorder, X, y, sampler=sampler, num_samples=7, folds=2, seed=4)
    again = cross_validate(Recorder, X, y, sampler=sampler, num_samples=7, folds=2, seed=4)
    assert len(res.params) == 7 and res.scores.shape == (7, 2)
    assert res.params == again.params
    for p in res.params:
        assert 1e-4 <= p["lr"] <= 1e-1 and p["label"] in (0, 1) and 5 <= p["width"] <= 8


def test_cross_validating_a_softmax_learning_rate_picks_a_sensible_one(digits):
    def factory(learning_rate, reg):
        return Configured(Softmax(seed=0), dict(learning_rate=learning_rate, reg=reg,
                                                num_iters=100))
    X = digits.X_train - digits.X_train.mean(axis=0)
    res = cross_validate(factory, X, digits.y_train,
                         param_grid={"learning_rate": [1e-4, 0.3], "reg": [1e-4]}, folds=3)
    assert res.best_params["learning_rate"] == 0.3
    assert res.scores[1].min() > res.scores[0].max()


def test_models_with_fit_instead_of_train_are_accepted(digits):
    from sklearn.linear_model import LogisticRegression

    res = cross_validate(lambda C: LogisticRegression(C=C, max_iter=200),
                         digits.X_train[:300], digits.y_train[:300],
                         param_grid={"C": [1.0]}, folds=2)
    assert res.scores.shape == (1, 2) and res.best_score > 0.8


# ---------------------------------------------------------------------- errors
def test_bad_arguments_are_refused_with_clear_messages():
    X, y = np.zeros((6, 2)), np.zeros(6, dtype=int)
    with pytest.raises(ValueError, match="exactly one of param_grid"):
        cross_validate(Recorder, X, y)
    with pytest.raises(ValueError, match="exactly one of param_grid"):
        cross_validate(Recorder, X, y, param_grid={"a": [1]}, sampler={"a": [1]})
    with pytest.raises(ValueError, match=r"param_grid\['label'\] must be a non-empty list"):
        cross_validate(Recorder, X, y, param_grid={"label": []})
    with pytest.raises(ValueError, match="folds must be >= 2"):
        cross_validate(Recorder, X, y, param_grid={"label": [0]}, folds=1)
    with pytest.raises(ValueError, match="folds=7 is more than the 6 examples"):
        cross_validate(Recorder, X, y, param_grid={"label": [0]}, folds=7)
    with pytest.raises(ValueError, match=r"sampler\['lr'\] must be a distribution"):
        cross_validate(Recorder, X, y, sampler={"lr": 0.1})
    with pytest.raises(ValueError, match="X has 6 rows but y has 5"):
        cross_validate(Recorder, X, y[:5], param_grid={"label": [0]})
    with pytest.raises(TypeError, match="neither train"):
        cross_validate(lambda a: object(), X, y, param_grid={"a": [1]}, folds=2)
    with pytest.raises(ValueError, match="0 < low <= high"):
        LogUniform(0, 1)
    with pytest.raises(ValueError, match="low <= high"):
        Uniform(2, 1)
    assert math.isclose(CVResult([{"a": 1}], [[0.5, 1.0]]).best_score, 0.75)
