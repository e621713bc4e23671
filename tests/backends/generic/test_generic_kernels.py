"""fovea.backends.generic: each kernel family against the CPU's (:mod:`fovea.backends.cpu`)
on the same data, with the CPU's compiled kernels on and off. The generic families run on
stand-in arrays (``tests/backends/standin.py``): their results must stay stand-in arrays
(nothing falls back to NumPy) and equal the CPU family's."""

from __future__ import annotations

import numpy as np
import pytest

from backends import standin
from fovea import config
from fovea.backends import cpu, generic
from fovea.backends.conv_geometry import Geometry


@pytest.fixture(params=["kernels", "numpy"])
def jit(request):
    with config.override(jit=request.param == "kernels"):
        yield request.param


def _dev(a):
    return standin.to_device(a)


def _same(got, want, rtol=1e-12, atol=1e-13):
    """``got`` a stand-in array equal to CPU array ``want``."""
    assert isinstance(got, standin.StandInArray), type(got).__name__
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got), want, rtol=rtol, atol=atol)


def _layouts(rng, shape):
    """The same values in C order, channels-last, and as a channels-last crop."""
    n, c, h, w = shape
    base = rng.standard_normal(shape)
    cl = np.ascontiguousarray(base.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    padded = np.zeros((n, h + 2, w + 3, c))
    padded[:, :h, :w] = base.transpose(0, 2, 3, 1)
    return [base, cl, padded[:, :h, :w].transpose(0, 3, 1, 2)]


SHAPES = [(2, 3, 5, 4), (4, 16, 16, 18)]  # small (NumPy paths) and large (compiled kernels)


# --- elementwise ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_relu_and_its_gradient_equal_the_cpu_family(jit, shape):
    rng = np.random.default_rng(0)
    for x, g in zip(_layouts(rng, shape), _layouts(rng, shape)):
        x[..., 0] = np.nan  # NaN stays NaN
        y = cpu.elementwise.relu(x)
        np.testing.assert_array_equal(y, np.maximum(x, 0))
        _same(generic.elementwise.relu(_dev(x)), y)
        want = cpu.elementwise.relu_grad(y, g)
        np.testing.assert_array_equal(want, np.where(y > 0, g, 0))
        _same(generic.elementwise.relu_grad(_dev(y), _dev(g)), want)


@pytest.mark.parametrize("shape", SHAPES)
def test_leaky_relu_and_its_gradient_equal_the_cpu_family(jit, shape):
    rng = np.random.default_rng(1)
    s = 0.2
    for x, g in zip(_layouts(rng, shape), _layouts(rng, shape)):
        x[..., 0] = np.nan  # NaN stays NaN
        x[..., 1] = 0  # the gradient at 0 is the slope's, as PyTorch's
        y = cpu.elementwise.leaky_relu(x, s)
        np.testing.assert_array_equal(y, np.where(x > 0, x, s * x))
        _same(generic.elementwise.leaky_relu(_dev(x), s), y)
        want = cpu.elementwise.leaky_relu_grad(x, g, s)
        np.testing.assert_array_equal(want, np.where(x > 0, g, s * g))
        _same(generic.elementwise.leaky_relu_grad(_dev(x), _dev(g), s), want)


@pytest.mark.parametrize("shape", SHAPES)
def test_hardtanh_and_its_gradient_equal_the_cpu_family(jit, shape):
    rng = np.random.default_rng(2)
    lo, hi = -0.5, 1.0
    for x, g in zip(_layouts(rng, shape), _layouts(rng, shape)):
        x[..., 0] = np.nan  # NaN stays NaN (np.clip); its gradient is 0
        x[..., 1] = lo  # at the ends the gradient is 0, as PyTorch's
        x[..., 2] = hi
        y = cpu.elementwise.hardtanh(x, lo, hi)
        np.testing.assert_array_equal(y, np.clip(x, lo, hi))
        _same(generic.elementwise.hardtanh(_dev(x), lo, hi), y)
        want = cpu.elementwise.hardtanh_grad(x, g, lo, hi)
        np.testing.assert_array_equal(want, np.where((x > lo) & (x < hi), g, 0))
        _same(generic.elementwise.hardtanh_grad(_dev(x), _dev(g), lo, hi), want)


# --- channels and norm ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 4), (5, 3, 7)] + SHAPES)
def test_channel_sums_equal_the_cpu_family(shape):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    vc, vg = cpu.channels.view(x), generic.channels.view(_dev(x))
    _same(generic.channels.channel_sum(vg), cpu.channels.channel_sum(vc))
    _same(generic.channels.channel_dot(vg, vg.a, vg.like(_dev(y))),
          cpu.channels.channel_dot(vc, vc.a, vc.like(y)))
    _same(vg.restore(vg.a), x)
    assert vg.count == vc.count


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_forward_and_backward_equal_the_cpu_family(jit, shape, affine):
    rng = np.random.default_rng(2)
    c = shape[1]
    w = 1 + 0.2 * rng.standard_normal(c) if affine else None
    b = 0.3 * rng.standard_normal(c) if affine else None
    dw = None if w is None else _dev(w)
    for x, g in zip(_layouts(rng, shape), _layouts(rng, shape)):
        x = x * 3 + 5
        y, state = cpu.norm.batch_norm_train(x, w, b, 1e-5)
        yg, sg = generic.norm.batch_norm_train(_dev(x), dw, None if b is None else _dev(b), 1e-5)
        _same(yg, y, rtol=1e-10, atol=1e-12)
        assert sg.count == state.count
        _same(sg.mean, state.mean, rtol=1e-12)
        _same(sg.var, state.var, rtol=1e-10)
        for need_x in (True, False):
            want = state.backward(g, w, need_x)
            got = sg.backward(_dev(g), dw, need_x)
            assert (got[0] is None) == (not need_x)
            for a, e in zip(got, want):
                if e is not None:
                    _same(a, e, rtol=1e-9, atol=1e-10)


# --- pooling -------------------------------------------------------------------------------

# (kernel, stride, padding, dilation, ceil_mode)
POOLS = [(2, 2, 0, 1, False), (3, 2, 0, 1, False), (3, 2, 1, 1, True), (3, 1, 1, 2, False),
         (2, 1, 0, 1, False)]


def _window(family, x, k, s, p, d, ceil):
    geo = Geometry(k, k, s, s, d, d, p, p, p, p)
    h, w = x.shape[2:]
    return family.pool.Window(geo, (h, w), geo.out_size(h, w, "test", ceil_mode=ceil),
                              family.pool.channels_last(x))


@pytest.mark.parametrize("k,s,p,d,ceil", POOLS)
@pytest.mark.parametrize("shape", SHAPES)
def test_max_pool_equals_the_cpu_family(jit, shape, k, s, p, d, ceil):
    rng = np.random.default_rng(3)
    for x, _ in zip(_layouts(rng, shape), range(3)):
        x = np.round(x, 1)  # ties: the first maximum wins
        x[0, 0, 1, :3] = np.nan  # NaN wins, the last NaN of the window
        wc, wg = _window(cpu, x, k, s, p, d, ceil), _window(generic, x, k, s, p, d, ceil)
        out, arg = cpu.pool.max_pool(x, wc, True)
        gout, garg = generic.pool.max_pool(_dev(x), wg, True)
        _same(gout, out)
        assert isinstance(garg, standin.StandInArray)
        np.testing.assert_array_equal(np.asarray(garg), arg)
        assert generic.pool.max_pool(_dev(x), wg, False)[1] is None
        g = rng.standard_normal(out.shape)
        _same(generic.pool.max_pool_backward(_dev(g), garg, wg),
              cpu.pool.max_pool_backward(g, arg, wc))
        _same(generic.pool.max_pool_gather(_dev(x), garg, wg),
              cpu.pool.max_pool_gather(x, arg, wc))


def test_window_tap_views_and_padding_equal_the_cpu_family():
    x = np.arange(2 * 3 * 5 * 6, dtype=np.float64).reshape(2, 3, 5, 6)
    wc, wg = _window(cpu, x, 3, 2, 1, 1, True), _window(generic, x, 3, 2, 1, 1, True)
    assert (wg.hp, wg.wp, wg.overlap, wg.tiles) == (wc.hp, wc.wp, wc.overlap, wc.tiles)
    pc, pg = wc.pad(x, -1.0), wg.pad(_dev(x), -1.0)
    _same(pg, pc)
    for (t, r, s), tc in zip(wg.taps(), wc.taps()):
        assert (t, r, s) == tc
        _same(wg.tap(pg, r, s), wc.tap(pc, r, s))
    _same(wg.crop(pg), x)
    _same(wg.zeros_padded(_dev(x)), np.zeros_like(pc))


# --- layout --------------------------------------------------------------------------------

def test_layout_helpers_allocate_on_the_device_and_keep_values():
    x = np.ascontiguousarray(np.arange(2 * 3 * 4 * 5.0).reshape(2, 4, 5, 3)).transpose(0, 3, 1, 2)
    dx = _dev(x)
    assert generic.layout.axis_order(dx) == (0, 1, 2, 3)
    for fn in (generic.layout.empty, generic.layout.zeros):
        a = fn((2, 3), dx, np.float32)
        assert isinstance(a, standin.StandInArray) and a.shape == (2, 3) and a.dtype == np.float32
    _same(generic.layout.zeros((2, 3), dx), np.zeros((2, 3)))
    widths = ((0, 0), (1, 2), (0, 1), (2, 0))
    _same(generic.layout.pad(dx, widths, 0.5), cpu.layout.pad(x, widths, 0.5))
    big = np.ascontiguousarray(np.ones((4, 32, 32, 16))).transpose(0, 3, 1, 2)
    out = big.reshape(4, -1)
    order = cpu.layout.reshape_order(big, out)
    assert order == (0, 2, 3, 1) and generic.layout.reshape_order(_dev(big), _dev(out)) is None
    g = np.random.default_rng(4).standard_normal(out.shape)
    want = cpu.layout.reshape_in_order(g, big.shape, order)
    assert cpu.layout.axis_order(want) == order
    _same(generic.layout.reshape_in_order(_dev(g), big.shape, order), want)
