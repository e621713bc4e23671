"""TwoLayerNet: hand-written backprop against finite differences, fovea autograd and PyTorch;
SGD with per-epoch decay; digits accuracy; errors."""

import math

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea.classic import (
    Standardizer,
    TwoLayerNet,
    grad_check_sparse,
    numeric_gradient,
    relative_error,
)

NAMES = ("W1", "b1", "W2", "b2")


def _net(rng, D=5, H=7, C=4, std=0.5):
    net = TwoLayerNet(D, H, C, std=std, seed=0)
    # Non-zero biases so that every parameter's gradient is exercised.
    net.params["b1"] = rng.standard_normal(H) * 0.3
    net.params["b2"] = rng.standard_normal(C) * 0.3
    return net


def test_parameters_have_the_documented_shapes_and_initialisation():
    net = TwoLayerNet(6, 9, 3, std=1e-2, seed=0)
    assert {k: v.shape for k, v in net.params.items()} == {
        "W1": (6, 9), "b1": (9,), "W2": (9, 3), "b2": (3,)}
    assert (net.params["b1"] == 0).all() and (net.params["b2"] == 0).all()
    assert 0.003 < net.params["W1"].std() < 0.03
    np.testing.assert_array_equal(TwoLayerNet(6, 9, 3, std=1e-2, seed=0).params["W1"],
                                  net.params["W1"])


def test_scores_are_affine_relu_affine(rng):
    net = _net(rng)
    X = rng.standard_normal((8, 5))
    p = net.params
    h = np.maximum(X @ p["W1"] + p["b1"], 0)
    np.testing.assert_allclose(net.loss(X), h @ p["W2"] + p["b2"], rtol=1e-13)


def test_zero_weights_give_log_c_loss_and_hand_computed_gradients():
    net = TwoLayerNet(3, 4, 5, std=0.0)
    X = np.arange(6.0).reshape(2, 3)
    y = np.array([1, 1])
    loss, grads = net.loss(X, y, reg=0.3)
    assert loss == pytest.approx(math.log(5), rel=1e-14)
    # Uniform probabilities 1/5; the correct class gets 1/5 - 1.
    np.testing.assert_allclose(grads["b2"], [0.2, -0.8, 0.2, 0.2, 0.2], rtol=1e-14)
    for name in ("W1", "b1", "W2"):   # the hidden layer is all zeros: nothing flows back
        np.testing.assert_array_equal(grads[name], 0.0)


@pytest.mark.parametrize("reg", [0.0, 0.05])
def test_gradients_match_centred_finite_differences(rng, reg):
    net = _net(rng)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 4, 6)
    _, grads = net.loss(X, y, reg=reg)
    for name in NAMES:
        def f(value, name=name):
            return net.loss(X, y, reg=reg)[0]
        num = numeric_gradient(f, net.params[name], h=1e-5)
        assert relative_error(grads[name], num, floor=1e-8) < 1e-7, name


def test_grad_check_sparse_on_a_larger_net(rng):
    net = TwoLayerNet(40, 30, 10, std=0.2, seed=2)
    X, y = rng.standard_normal((25, 40)), rng.integers(0, 10, 25)
    _, grads = net.loss(X, y, reg=0.01)
    for name in NAMES:
        errs = grad_check_sparse(lambda _: net.loss(X, y, reg=0.01)[0], net.params[name],
                                 grads[name], num_checks=10, h=1e-5, seed=1)
        assert max(errs) < 1e-7, name


def test_gradients_equal_the_autograd_engines_for_the_same_weights(rng):
    net = _net(rng, D=6, H=10, C=5)
    X, y = rng.standard_normal((12, 6)), rng.integers(0, 5, 12)
    reg = 0.02
    loss, grads = net.loss(X, y, reg=reg)
    t = {k: fovea.tensor(v.copy(), requires_grad=True) for k, v in net.params.items()}
    x = fovea.tensor(X)
    scores = F.relu(x @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    ref = F.cross_entropy(scores, fovea.tensor(y)) + reg * ((t["W1"] * t["W1"]).sum()
                                                           + (t["W2"] * t["W2"]).sum())
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-13)
    for name in NAMES:
        assert t[name].grad.dtype == np.float64
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-11, atol=1e-14)


def test_loss_and_gradients_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    net = _net(rng, D=6, H=10, C=5)
    X, y = rng.standard_normal((12, 6)), rng.integers(0, 5, 12)
    loss, grads = net.loss(X, y, reg=0.02)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    scores = torch.relu(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    ref = torch.nn.functional.cross_entropy(scores, torch.tensor(y))
    ref = ref + 0.02 * ((t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-13)
    for name in NAMES:
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-11, atol=1e-14)


def test_learning_rate_decays_once_per_epoch_and_histories_have_epoch_length(rng):
    X, y = rng.standard_normal((50, 4)), rng.integers(0, 3, 50)
    net = TwoLayerNet(4, 8, 3, std=0.1, seed=0)
    stats = net.train(X, y, X[:10], y[:10], learning_rate=0.2, learning_rate_decay=0.5,
                      num_iters=23, batch_size=10)
    # 50 // 10 = 5 iterations per epoch -> 4 whole epochs in 23 iterations.
    assert len(stats["loss_history"]) == 23
    assert len(stats["train_acc_history"]) == len(stats["val_acc_history"]) == 4
    np.testing.assert_allclose(stats["learning_rate_history"], [0.2, 0.1, 0.05, 0.025])
    assert all(0.0 <= a <= 1.0 for a in stats["val_acc_history"])
    no_val = TwoLayerNet(4, 8, 3, seed=0).train(X, y, num_iters=5, batch_size=10)
    assert no_val["val_acc_history"] == [] and len(no_val["train_acc_history"]) == 1


def test_one_sgd_step_moves_every_parameter_against_its_gradient(rng):
    X, y = rng.standard_normal((1, 4)), np.array([1])
    net = _net(rng, D=4, H=6, C=3)
    before = {k: v.copy() for k, v in net.params.items()}
    _, grads = net.loss(np.repeat(X, 5, axis=0), np.repeat(y, 5), reg=0.1)
    net.train(X, y, learning_rate=0.3, reg=0.1, num_iters=1, batch_size=5)
    for name in NAMES:
        np.testing.assert_allclose(net.params[name], before[name] - 0.3 * grads[name],
                                   rtol=1e-12, atol=1e-15)


def test_two_layer_net_reaches_96_percent_on_the_digits_test_split(digits):
    prep = Standardizer(scale=True).fit(digits.X_train)
    Xtr, Xva, Xte = (prep.transform(X) for X in (digits.X_train, digits.X_val, digits.X_test))
    net = TwoLayerNet(64, 100, 10, std=0.1, seed=0)
    stats = net.train(Xtr, digits.y_train, Xva, digits.y_val, learning_rate=1.0,
                      learning_rate_decay=0.99, reg=1e-3, num_iters=1000, batch_size=200)
    assert stats["loss_history"][-1] < 0.3 < stats["loss_history"][0]
    acc = np.mean(net.predict(Xte) == digits.y_test)
    assert acc >= 0.96, acc


# ---------------------------------------------------------------------- errors
def test_bad_inputs_are_refused_with_the_argument_named():
    net = TwoLayerNet(3, 4, 2)
    X, y = np.zeros((5, 3)), np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match="X must have 3 columns"):
        net.loss(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="X has 5 rows but y has 2"):
        net.loss(X, y[:2])
    with pytest.raises(ValueError, match=r"y holds label 2, outside \[0, 2\)"):
        net.loss(X, np.full(5, 2))
    with pytest.raises(ValueError, match="pass both X_val and y_val"):
        net.train(X, y, X_val=X)
    with pytest.raises(ValueError, match=r"y_val has 3 labels"):
        net.train(X, y, X, y[:3])
    with pytest.raises(ValueError, match=r"learning_rate_decay must be in \(0, 1\]"):
        net.train(X, y, learning_rate_decay=1.5)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        net.train(X, y, learning_rate=-1.0)
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        TwoLayerNet(3, 0, 2)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains non-finite"):
        net.train(bad, y)
