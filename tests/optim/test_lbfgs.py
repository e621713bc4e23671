"""LBFGS against PyTorch's on the Rosenbrock function, with and without the strong-Wolfe search."""

from __future__ import annotations

import numpy as np
import pytest
from _optim_helpers import fovea_loss, fovea_params, max_rel_diff, problem, torch_loss, torch_params

import fovea
from fovea import optim
from fovea.nn import Parameter
from fovea.optim.lbfgs import _cubic_interpolate

X0 = np.array([-1.2, 1.0, -0.5, 0.8, 1.5, -1.0])


def rosenbrock(x):
    """sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2; works on fovea and torch tensors alike."""
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _pair(torch, steps, **kwargs):
    fx, tx = Parameter(X0.copy()), torch.tensor(X0, requires_grad=True)
    fo, to = optim.LBFGS([fx], **kwargs), torch.optim.LBFGS([tx], **kwargs)

    def f_closure():
        fo.zero_grad()
        loss = rosenbrock(fx)
        loss.backward()
        return loss

    def t_closure():
        to.zero_grad()
        loss = rosenbrock(tx)
        loss.backward()
        return loss

    history = []
    for _ in range(steps):
        f_loss, t_loss = fo.step(f_closure), to.step(t_closure)
        history.append((float(f_loss), t_loss.item(),
                        np.abs(fx.detach().numpy() - tx.detach().numpy()).max()))
        assert fo.state[fx]["func_evals"] == to.state[tx]["func_evals"]
        assert fo.state[fx]["n_iter"] == to.state[tx]["n_iter"]
    return fx, tx, history


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(lr=0.5, history_size=3, max_iter=7),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=3, max_iter=7),
])
def test_lbfgs_matches_pytorch_on_rosenbrock(kwargs):
    torch = pytest.importorskip("torch")
    # One step() is max_iter iterations; rounding differences (a different summation order in
    # the dot products) grow along the ill-conditioned valley, so the first step is compared
    # tightly and a few more loosely, with identical evaluation and iteration counts.
    steps = 3 if "strong_wolfe" in kwargs.values() else 1
    fx, tx, history = _pair(torch, steps, **kwargs)
    assert history[0][2] < 1e-11
    for f_loss, t_loss, diff in history:
        assert diff < 1e-8
        assert f_loss == pytest.approx(t_loss, rel=1e-8)
    assert np.abs(fx.detach().numpy() - X0).max() > 0.1


def test_lbfgs_with_strong_wolfe_reaches_the_minimum():
    fx = Parameter(X0.copy())
    opt = optim.LBFGS([fx], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = rosenbrock(fx)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(fx.detach().numpy(), np.ones(6), atol=1e-4)
    assert float(rosenbrock(fx.detach())) < 1e-8


def test_lbfgs_on_the_mlp_matches_pytorch():
    torch = pytest.importorskip("torch")
    x, y, w = problem(5)
    fp, tp = fovea_params(w), torch_params(torch, w)
    fo = optim.LBFGS(fp, line_search_fn="strong_wolfe", max_iter=10)
    to = torch.optim.LBFGS(tp, line_search_fn="strong_wolfe", max_iter=10)

    def f_closure():
        fo.zero_grad()
        loss = fovea_loss(fp, x, y)
        loss.backward()
        return loss

    def t_closure():
        to.zero_grad()
        loss = torch_loss(torch, tp, x, y)
        loss.backward()
        return loss

    fo.step(f_closure)
    to.step(t_closure)
    assert max_rel_diff(fp, tp) < 1e-9


def test_lbfgs_state_dict_round_trip_resumes_exactly():
    def closure_for(x, opt):
        def closure():
            opt.zero_grad()
            loss = rosenbrock(x)
            loss.backward()
            return loss
        return closure

    x = Parameter(X0.copy())
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe", max_iter=5, history_size=4)
    opt.step(closure_for(x, opt))
    saved, saved_x = opt.state_dict(), x.detach().numpy().copy()
    assert len(saved["state"][0]["old_dirs"]) == 4
    opt.step(closure_for(x, opt))

    x2 = Parameter(saved_x)
    opt2 = optim.LBFGS([x2], line_search_fn="strong_wolfe", max_iter=5, history_size=4)
    opt2.load_state_dict(saved)
    opt2.step(closure_for(x2, opt2))
    np.testing.assert_array_equal(x.detach().numpy(), x2.detach().numpy())


def test_cubic_interpolation_finds_the_minimum_of_a_cubic():
    # f(x) = x^3 - 3x has its local minimum at x = 1; interpolate from x = 0 and x = 2.
    def f(x):
        return x ** 3 - 3 * x

    def g(x):
        return 3 * x ** 2 - 3

    assert _cubic_interpolate(0.0, f(0.0), g(0.0), 2.0, f(2.0), g(2.0)) == pytest.approx(1.0)
    # Clipped to the bounds.
    assert _cubic_interpolate(0.0, f(0.0), g(0.0), 2.0, f(2.0), g(2.0),
                              bounds=(1.5, 3.0)) == 1.5


def test_lbfgs_errors():
    x = Parameter(X0.copy())
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([x], line_search_fn="armijo")
    with pytest.raises(ValueError, match="history_size"):
        optim.LBFGS([x], history_size=0)
    with pytest.raises(ValueError, match="invalid learning rate"):
        optim.LBFGS([x], lr=-1)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [Parameter(np.ones(2))]}])
    with pytest.raises(TypeError, match="closure is required"):
        optim.LBFGS([x]).step(None)
    # Already stationary: returns at once without moving.
    y = Parameter(np.ones(6))
    opt = optim.LBFGS([y])

    def closure():
        opt.zero_grad()
        loss = rosenbrock(y)
        loss.backward()
        return loss

    opt.step(closure)
    assert np.array_equal(y.detach().numpy(), np.ones(6))
    assert opt.state[y]["func_evals"] == 1
    assert fovea.is_grad_enabled()


def test_lbfgs_keeps_float32_parameters_float32():
    x = Parameter(np.array([-1.2, 1.0, 0.5], dtype=np.float32))
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    assert x.dtype == np.float32 and opt.state[x]["d"].dtype == np.float32
    np.testing.assert_allclose(x.detach().numpy(), np.ones(3), atol=1e-3)
