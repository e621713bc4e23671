"""SVM and softmax losses: naive = vectorised, finite differences, PyTorch, worked examples."""

import math

import numpy as np
import pytest

from fovea.classic import (
    grad_check_sparse,
    numeric_gradient,
    relative_error,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)

LOSSES = {"svm": (svm_loss_naive, svm_loss_vectorized),
          "softmax": (softmax_loss_naive, softmax_loss_vectorized)}


def _problem(rng, N=9, D=6, C=4, scale=1.0):
    W = rng.standard_normal((D, C)) * scale
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    return W, X, y


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reg", [0.0, 0.1, 2.5])
def test_naive_and_vectorized_agree_to_1e_10(rng, name, reg):
    naive, vec = LOSSES[name]
    for N, D, C in [(1, 1, 2), (9, 6, 4), (50, 30, 10)]:
        W, X, y = _problem(rng, N, D, C)
        l1, g1 = naive(W, X, y, reg)
        l2, g2 = vec(W, X, y, reg)
        assert abs(l1 - l2) <= 1e-10 * max(1.0, abs(l1))
        np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-10)
        assert g1.shape == W.shape


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("variant", [0, 1])
def test_gradient_matches_centred_finite_differences(rng, name, variant):
    fn = LOSSES[name][variant]
    W, X, y = _problem(rng)
    reg = 0.3
    _, dW = fn(W, X, y, reg)
    num = numeric_gradient(lambda w: fn(w, X, y, reg)[0], W, h=1e-5)
    assert relative_error(dW, num, floor=1e-8) < 1e-7


@pytest.mark.parametrize("name", LOSSES)
def test_grad_check_sparse_on_a_larger_weight_matrix(rng, name):
    fn = LOSSES[name][1]
    W, X, y = _problem(rng, N=40, D=50, C=10, scale=0.1)
    _, dW = fn(W, X, y, 1e-2)
    errors = grad_check_sparse(lambda w: fn(w, X, y, 1e-2)[0], W, dW, num_checks=20, h=1e-5)
    assert len(errors) == 20 and max(errors) < 1e-7


def test_svm_loss_reproduces_the_lectures_cat_car_frog_example():
    # Scores of three examples for classes (cat, car, frog); X = I makes scores = W rows.
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    X, y = np.eye(3), np.array([0, 1, 2])
    for fn in LOSSES["svm"]:
        loss, dW = fn(scores, X, y, reg=0.0)
        assert loss == pytest.approx((2.9 + 0.0 + 12.9) / 3, abs=1e-12)
        # Example 0: only car's margin (2.9) is positive; example 2: both are positive.
        expected = np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3
        np.testing.assert_allclose(dW, expected, atol=1e-15)


def test_softmax_loss_is_minus_log_probability_of_the_correct_class():
    scores = np.array([[3.2, 5.1, -1.7]])
    expected = -math.log(math.exp(3.2) / sum(math.exp(s) for s in (3.2, 5.1, -1.7)))
    assert expected == pytest.approx(2.04, abs=0.01)   # the lecture's number
    for fn in LOSSES["softmax"]:
        loss, _ = fn(scores, np.eye(1), np.array([0]), reg=0.0)
        assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_regularisation_adds_reg_times_sum_of_squares(rng, name):
    W, X, y = _problem(rng)
    for fn in LOSSES[name]:
        l0, g0 = fn(W, X, y, 0.0)
        l1, g1 = fn(W, X, y, 0.7)
        assert l1 - l0 == pytest.approx(0.7 * np.sum(W ** 2), rel=1e-12)
        np.testing.assert_allclose(g1 - g0, 1.4 * W, rtol=1e-12, atol=1e-14)


def test_softmax_is_stable_for_huge_scores():
    W = np.array([[1e4, 0.0, -1e4]])
    X = np.ones((2, 1))
    y = np.array([1, 0])
    for fn in LOSSES["softmax"]:
        loss, dW = fn(W, X, y, reg=0.0)
        assert math.isfinite(loss) and np.isfinite(dW).all()
        # Example 0: log Σ exp ≈ 1e4, minus s_1 = 0 -> 1e4; example 1: ≈ 0.
        assert loss == pytest.approx(1e4 / 2, rel=1e-12)


def test_svm_margin_is_configurable():
    scores = np.array([[1.0, 0.5]])
    l1, _ = svm_loss_vectorized(scores, np.eye(1), np.array([0]), 0.0, delta=1.0)
    l2, _ = svm_loss_vectorized(scores, np.eye(1), np.array([0]), 0.0, delta=0.25)
    assert l1 == pytest.approx(0.5) and l2 == pytest.approx(0.0)


def test_svm_loss_and_gradient_match_pytorch_multi_margin_loss(rng):
    torch = pytest.importorskip("torch")
    W, X, y = _problem(rng, N=20, D=8, C=5)
    reg = 0.05
    loss, dW = svm_loss_vectorized(W, X, y, reg)
    Wt = torch.tensor(W, requires_grad=True)
    scores = torch.tensor(X) @ Wt
    # multi_margin_loss averages Σ_{j≠y} max(0, 1 - s_y + s_j) over classes too: × C.
    ref = 5 * torch.nn.functional.multi_margin_loss(scores, torch.tensor(y), margin=1.0)
    ref = ref + reg * (Wt ** 2).sum()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_softmax_loss_and_gradient_match_pytorch_cross_entropy(rng):
    torch = pytest.importorskip("torch")
    W, X, y = _problem(rng, N=20, D=8, C=5)
    reg = 0.05
    loss, dW = softmax_loss_vectorized(W, X, y, reg)
    Wt = torch.tensor(W, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(torch.tensor(X) @ Wt, torch.tensor(y))
    ref = ref + reg * (Wt ** 2).sum()
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize("fn", [f for pair in LOSSES.values() for f in pair])
def test_bad_inputs_are_refused_with_the_argument_named(fn):
    W, X, y = np.zeros((3, 4)), np.zeros((5, 3)), np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match="X must have 3 columns"):
        fn(W, np.zeros((5, 2)), y, 0.0)
    with pytest.raises(ValueError, match="X has 5 rows but y has 4"):
        fn(W, X, y[:4], 0.0)
    with pytest.raises(ValueError, match=r"y holds label 4, outside \[0, 4\)"):
        fn(W, X, np.full(5, 4), 0.0)
    with pytest.raises(ValueError, match="reg must be >= 0"):
        fn(W, X, y, -1.0)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains non-finite"):
        fn(W, bad, y, 0.0)
    with pytest.raises(ValueError, match="W must be 2-D"):
        fn(np.zeros(3), X, y, 0.0)
    with pytest.raises(ValueError, match="empty"):
        fn(W, np.zeros((0, 3)), np.zeros(0, dtype=int), 0.0)
