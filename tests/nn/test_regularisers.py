"""The lectures' regularisers: fractional max-pooling (against PyTorch given the same samples,
and against a naive window loop), stochastic depth / drop-path, DropConnect and the max-norm
constraint (against hand-built masks and formulas)."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
from fovea.errors import ShapeError
from fovea.nn.functional.pooling.fractional import _starts_pseudo_random, _starts_random
from oracle import check_op, needs_torch, torch


def _naive_fmp(x, rows, cols, kh, kw):
    """Max and first-argmax over each window, by loops (the reference)."""
    n, c, h, w = x.shape
    oh, ow = rows.shape[1], cols.shape[1]
    out = np.empty((n, c, oh, ow), x.dtype)
    idx = np.empty((n, c, oh, ow), np.int64)
    for p in range(n * c):
        a, b = divmod(p, c)
        for i in range(oh):
            for j in range(ow):
                win = x[a, b, rows[p, i]:rows[p, i] + kh, cols[p, j]:cols[p, j] + kw]
                k = int(np.argmax(win))
                out[a, b, i, j] = win.flat[k]
                idx[a, b, i, j] = (rows[p, i] + k // kw) * w + cols[p, j] + k % kw
    return out, idx


# --- fractional max-pooling ----------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("kernel,out", [(2, (7, 8)), (3, (5, 6)), ((2, 3), (9, 10)),
                                        (2, (1, 1)), (2, (10, 12))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fractional_max_pool_matches_pytorch_given_the_same_samples(kernel, out, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 11, 13)).astype(dtype)
    u = rng.random((2, 3, 2)).astype(dtype)
    o, i = F.fractional_max_pool2d(fovea.tensor(x), kernel, output_size=out,
                                   return_indices=True, _random_samples=fovea.tensor(u))
    to, ti = torch.nn.functional.fractional_max_pool2d(
        torch.tensor(x), kernel, output_size=out, return_indices=True,
        _random_samples=torch.tensor(u))
    np.testing.assert_array_equal(o.numpy(), to.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    assert i.dtype == np.int64 and o.dtype == dtype


@needs_torch
def test_fractional_max_pool_output_ratio_and_unbatched_input_match_pytorch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 17, 15)).astype(np.float32)
    u = rng.random((1, 4, 2)).astype(np.float32)
    m = nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.7), _random_samples=fovea.tensor(u))
    t = torch.nn.FractionalMaxPool2d(3, output_ratio=(0.5, 0.7),
                                     _random_samples=torch.tensor(u))
    np.testing.assert_array_equal(m(fovea.tensor(x)).numpy(), t(torch.tensor(x)).numpy())
    assert m(fovea.tensor(x)).shape == (4, 8, 10)


def test_fractional_max_pool_equals_the_naive_window_loop():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 12, 9))
    x[0, 0, :3, :3] = 5.0  # ties: the first maximum in row-major order wins
    u = rng.random((2, 2, 2))
    o, i = F.fractional_max_pool2d(fovea.tensor(x), 2, output_size=(8, 5),
                                   return_indices=True, _random_samples=fovea.tensor(u))
    rows = _starts_pseudo_random(u.reshape(4, 2)[:, 1], 12, 8, 2)
    cols = _starts_pseudo_random(u.reshape(4, 2)[:, 0], 9, 5, 2)
    ro, ri = _naive_fmp(x, rows, cols, 2, 2)
    np.testing.assert_array_equal(o.numpy(), ro)
    np.testing.assert_array_equal(i.numpy(), ri)


def test_pseudo_random_starts_follow_grahams_formula():
    u = np.array([0.0, 0.3, 0.999])
    seq = _starts_pseudo_random(u, 25, 10, 2)
    alpha = 23 / 9
    for s, uu in zip(seq, u):
        expect = [int((i + uu) * alpha) - int(uu * alpha) for i in range(9)] + [23]
        assert s.tolist() == expect
    assert (np.diff(seq, axis=1) >= 2).all() and (np.diff(seq, axis=1) <= 3).all()


def test_random_starts_use_shuffled_increments_of_floor_and_ceil_alpha():
    seq = _starts_random(np.random.default_rng(0), 50, 25, 10, 2)
    steps = np.diff(seq, axis=1)
    assert (seq[:, 0] == 0).all() and (seq[:, -1] == 23).all()
    assert set(np.unique(steps)) == {2, 3} and (steps.sum(1) == 23).all()
    assert len({tuple(s) for s in steps}) > 10  # the order differs between planes


def test_random_sequence_pools_the_windows_it_drew():
    x = fovea.tensor(np.random.default_rng(3).standard_normal((1, 2, 10, 10)))
    g1, g2 = fovea.Generator().manual_seed(5), fovea.Generator().manual_seed(5)
    o, i = F.fractional_max_pool2d(x, 2, output_size=6, return_indices=True,
                                   sequence="random", generator=g1)
    rows = _starts_random(g2, 2, 10, 6, 2)
    cols = _starts_random(g2, 2, 10, 6, 2)
    ro, ri = _naive_fmp(x.numpy(), rows, cols, 2, 2)
    np.testing.assert_array_equal(o.numpy(), ro)
    np.testing.assert_array_equal(i.numpy(), ri)


def test_fractional_max_pool_gradient_against_pytorch_and_finite_differences():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 9, 8))
    u = rng.random((2, 3, 2))
    kw = dict(output_size=(5, 4), _random_samples=u)
    check_op(lambda t: F.fractional_max_pool2d(t, 2, **kw),
             None if torch is None else lambda t: torch.nn.functional.fractional_max_pool2d(
                 t, 2, output_size=(5, 4), _random_samples=torch.tensor(u)),
             [x])


def test_fractional_max_pool_errors_name_the_problem():
    x = fovea.randn(1, 1, 6, 6)
    with pytest.raises(ShapeError, match="height"):
        F.fractional_max_pool2d(x, 3, output_size=5)
    with pytest.raises(ValueError, match="exactly one"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="either an output size"):
        nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5)


# --- stochastic depth / drop path ----------------------------------------------------------

def test_stochastic_depth_row_mode_drops_whole_examples_and_scales_the_rest():
    x = fovea.ones(4000, 3, 2, 2, dtype=fovea.float64)
    y = F.stochastic_depth(x, 0.25, "row").numpy()
    per_row = y.reshape(4000, -1)
    assert (per_row == per_row[:, :1]).all()  # one decision per example
    assert set(np.unique(per_row)) == {0.0, 1 / 0.75}
    assert 0.72 < (per_row[:, 0] != 0).mean() < 0.78


def test_stochastic_depth_matches_the_mask_drawn_from_the_same_generator():
    x = np.random.default_rng(0).standard_normal((6, 5))
    keep = fovea.Generator().manual_seed(9).random((6, 1)) >= 0.4
    y = F.stochastic_depth(fovea.tensor(x), 0.4, "row",
                           generator=fovea.Generator().manual_seed(9))
    np.testing.assert_allclose(y.numpy(), x * keep / 0.6, rtol=1e-15)


def test_stochastic_depth_batch_mode_eval_and_limits():
    x = fovea.randn(8, 3)
    ys = [F.stochastic_depth(x, 0.5, "batch").numpy() for _ in range(20)]
    assert all(np.allclose(y, 0) or np.allclose(y, 2 * x.numpy()) for y in ys)
    assert F.stochastic_depth(x, 0.9, "row", training=False) is x
    assert F.drop_path(x, 0.9) is x  # off unless training, as timm's
    assert np.all(F.stochastic_depth(x, 1.0, "row").numpy() == 0)
    m = nn.StochasticDepth(0.5).eval()
    assert m(x) is x and repr(m) == "StochasticDepth(p=0.5, mode=row)"
    with pytest.raises(ValueError, match="mode"):
        F.stochastic_depth(x, 0.5, "col")
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.DropPath(1.5)


def test_stochastic_depth_gradient_is_the_mask():
    x = np.random.default_rng(1).standard_normal((5, 3, 2))
    check_op(lambda t: F.stochastic_depth(t, 0.5, generator=fovea.Generator().manual_seed(2)),
             None, [x])


# --- DropConnect ---------------------------------------------------------------------------

def test_drop_connect_linear_uses_the_masked_weight():
    lin = nn.Linear(6, 4).double()
    x = np.random.default_rng(0).standard_normal((3, 6))
    layer = nn.DropConnect(lin, p=0.3, generator=fovea.Generator().manual_seed(1))
    y = layer(fovea.tensor(x))
    mask = (fovea.Generator().manual_seed(1).random((4, 6)) >= 0.3) / 0.7
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    np.testing.assert_allclose(y.detach().numpy(), x @ (w * mask).T + b, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), mask * x.sum(0)[None, :], rtol=1e-12)
    assert lin.weight is lin._parameters["weight"]  # the parameter is back
    assert list(layer.state_dict()) == ["module.weight", "module.bias"]


def test_drop_connect_is_the_plain_layer_in_eval_mode_and_wraps_convolutions():
    conv = nn.Conv2d(2, 3, 3)
    x = fovea.randn(1, 2, 5, 5)
    layer = nn.DropConnect(conv, 0.5).eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), conv(x).detach().numpy())
    layer.train()
    w = conv.weight.detach().numpy()
    fovea.manual_seed(3)
    y = layer(x)
    fovea.manual_seed(3)
    masked = F.drop_connect(conv.weight, 0.5).detach().numpy()
    assert set(np.unique(np.round(masked / np.where(w == 0, 1, w), 6))) <= {0.0, 2.0}
    np.testing.assert_allclose(y.detach().numpy(),
                               F.conv2d(x, fovea.tensor(masked), conv.bias).detach().numpy(),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="parameter 'weight'"):
        nn.DropConnect(nn.ReLU())


def test_drop_connect_gradient_against_finite_differences():
    w = np.random.default_rng(2).standard_normal((4, 5))
    check_op(lambda t: F.drop_connect(t, 0.5, generator=fovea.Generator().manual_seed(0)),
             None, [w])


# --- max-norm ------------------------------------------------------------------------------

def test_apply_max_norm_bounds_every_units_incoming_weights():
    model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Conv2d(8, 4, 1))
    with fovea.no_grad():
        for p in model.parameters():
            p.mul_(10.0)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    nn.apply_max_norm_(model, 0.5)
    for m in (model[0], model[2]):
        w = m.weight.detach().numpy().reshape(m.weight.shape[0], -1)
        norms = np.linalg.norm(w, axis=1)
        assert (norms <= 0.5 + 1e-6).all() and np.allclose(norms, 0.5, rtol=1e-5)
    np.testing.assert_array_equal(model[0].bias.detach().numpy(), before[1])  # biases free
