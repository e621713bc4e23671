"""LinearSVM / Softmax: SGD, prediction, templates, digits accuracy, errors."""

import numpy as np
import pytest

from fovea.classic import (
    LinearClassifier,
    LinearSVM,
    Softmax,
    Standardizer,
    append_bias,
    softmax_loss_vectorized,
    svm_loss_vectorized,
)

# Chosen by 5-fold cross-validation on the digits training split (see docs/classic.md).
DIGITS_SETTINGS = {LinearSVM: dict(learning_rate=0.3, reg=1e-3),
                   Softmax: dict(learning_rate=0.3, reg=1e-4)}


@pytest.fixture(scope="module")
def digits_rows(digits):
    prep = Standardizer().fit(digits.X_train)
    return tuple(append_bias(prep.transform(X)) for X in
                 (digits.X_train, digits.X_val, digits.X_test))


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_linear_classifiers_reach_93_percent_on_the_digits_test_split(cls, digits, digits_rows):
    Xtr, _, Xte = digits_rows
    clf = cls(seed=0)
    history = clf.train(Xtr, digits.y_train, num_iters=1000, batch_size=200,
                        **DIGITS_SETTINGS[cls])
    assert len(history) == 1000
    assert np.mean(history[-50:]) < 0.5 * np.mean(history[:5])
    acc = np.mean(clf.predict(Xte) == digits.y_test)
    assert acc >= 0.93, acc


@pytest.mark.parametrize("cls, loss_fn", [(LinearSVM, svm_loss_vectorized),
                                          (Softmax, softmax_loss_vectorized)])
def test_one_sgd_step_is_w_minus_learning_rate_times_gradient(rng, cls, loss_fn):
    # With a single training example every mini-batch is that example repeated, so the
    # step is known exactly.
    X, y = rng.standard_normal((1, 5)), np.array([2])
    clf = cls(seed=3)
    assert clf.train(X, y, num_iters=0) == []
    clf.W = rng.standard_normal((5, 3))
    W0 = clf.W.copy()
    (loss,) = clf.train(X, y, learning_rate=0.1, reg=0.2, num_iters=1, batch_size=7)
    ref_loss, dW = loss_fn(W0, np.repeat(X, 7, axis=0), np.repeat(y, 7), 0.2)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(clf.W, W0 - 0.1 * dW, rtol=1e-12, atol=1e-15)


def test_training_is_reproducible_with_a_seed_and_differs_across_seeds(rng):
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    runs = [Softmax(seed=s).train(X, y, learning_rate=0.1, num_iters=20, batch_size=8)
            for s in (5, 5, 6)]
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_predict_is_the_argmax_of_x_w_and_softmax_probabilities_sum_to_one(rng):
    clf = Softmax()
    clf.W = rng.standard_normal((4, 3))
    X = rng.standard_normal((10, 4))
    np.testing.assert_array_equal(clf.predict(X), np.argmax(X @ clf.W, axis=1))
    p = clf.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(p.argmax(axis=1), clf.predict(X))


def test_visualize_templates_turns_columns_of_w_back_into_images():
    clf = LinearSVM()
    C, H, W = 3, 2, 4
    pixels = C * H * W
    clf.W = np.vstack([np.arange(2 * pixels, dtype=float).reshape(pixels, 2), [[99.0, -99.0]]])
    t = clf.visualize_templates((C, H, W))        # the bias row is dropped
    assert t.shape == (2, H, W, C)
    assert t.min() == 0.0 and t.max() == 1.0
    raw = clf.W[:-1, 1].reshape(C, H, W).transpose(1, 2, 0)
    lo, hi = clf.W[:-1].min(), clf.W[:-1].max()
    np.testing.assert_allclose(t[1], (raw - lo) / (hi - lo))
    each = clf.visualize_templates((C, H, W), per_class=True)
    assert each[0].min() == 0.0 and each[0].max() == 1.0 and each[1].max() == 1.0
    gray = clf.visualize_templates((H * C, W))
    assert gray.shape == (2, H * C, W)
    with pytest.raises(ValueError, match="matches neither"):
        clf.visualize_templates((3, 5, 5))


def test_templates_of_a_digits_svm_have_the_image_shape(digits, digits_rows):
    clf = LinearSVM(seed=0)
    clf.train(digits_rows[0], digits.y_train, learning_rate=0.3, reg=1e-3, num_iters=50)
    assert clf.visualize_templates(digits.image_shape).shape == (10, 8, 8, 1)


# ---------------------------------------------------------------------- errors
def test_bad_training_input_is_refused():
    X, y = np.zeros((4, 3)), np.array([0, 1, 2, 1])
    with pytest.raises(ValueError, match="X has 4 rows but y has 3"):
        LinearSVM().train(X, y[:3])
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        LinearSVM().train(X, y, learning_rate=0.0)
    with pytest.raises(ValueError, match="reg must be >= 0"):
        Softmax().train(X, y, reg=-1)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Softmax().train(X, y, batch_size=0)
    with pytest.raises(ValueError, match="negative label"):
        Softmax().train(X, np.array([0, -1, 2, 1]))
    bad = X.copy()
    bad[2, 2] = np.inf
    with pytest.raises(ValueError, match="X contains non-finite"):
        Softmax().train(bad, y)
    clf = Softmax()
    clf.train(X, y, num_iters=1)
    with pytest.raises(ValueError, match="X has 5 features but W was trained with 3"):
        clf.train(np.zeros((4, 5)), y)
    with pytest.raises(ValueError, match="label 7 but W has 3 classes"):
        clf.train(X, np.array([0, 1, 7, 1]))


def test_predicting_before_training_is_refused():
    with pytest.raises(RuntimeError, match="has not been trained"):
        LinearSVM().predict(np.zeros((1, 3)))
    with pytest.raises(RuntimeError, match="has not been trained"):
        Softmax().visualize_templates((1, 2, 2))
    with pytest.raises(NotImplementedError):
        LinearClassifier().train(np.zeros((2, 2)), np.array([0, 1]))


def test_divergence_is_reported_with_a_hint():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 5)) * 1e150, rng.integers(0, 3, 20)
    with pytest.raises(ValueError, match="diverged.*lower learning_rate"):
        Softmax().train(X, y, learning_rate=1e10, num_iters=20)


def test_standardizer_uses_training_statistics_only(rng):
    Xtr = rng.standard_normal((30, 4)) * [1, 2, 3, 0] + [5, 0, -1, 7]
    prep = Standardizer(scale=True).fit(Xtr)
    Z = prep.transform(Xtr)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), [1, 1, 1, 0], atol=1e-12)
    Xte = rng.standard_normal((3, 4))
    np.testing.assert_allclose(prep.transform(Xte), (Xte - Xtr.mean(0)) /
                               np.where(Xtr.std(0) > 0, Xtr.std(0), 1))
    np.testing.assert_array_equal(append_bias(np.zeros((2, 3)))[:, -1], [1, 1])
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(Xte)
