"""nn/functional/normalization.py: batch norm (the fused node, kernels on and off, every input
layout), layer norm and group norm against PyTorch through the shared harness (every device,
first and second derivatives, finite differences); batch norm against its composed twin to
third order; running statistics; float32; errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea import config
from oracle import check_op, needs_torch, torch

TF = torch.nn.functional if torch else None
SHAPES = [(6, 4), (5, 3, 7), (4, 3, 5, 6)]


@pytest.fixture(params=["kernels", "numpy"])
def jit(request):
    """Batch norm has compiled kernels: every case runs with them and without."""
    with config.override(jit=request.param == "kernels"):
        yield request.param


def _channels_last(a):
    """The same values as ``a`` (N, C, *) with channels-last memory."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, a.ndim - 1,
                                                                 *range(1, a.ndim - 1))


def _composed(x, w, b, eps):
    """The composed twin: batch norm from primitive ops (mean, sub, mul, sqrt, div)."""
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    xc = x - x.mean(axes, keepdim=True)
    xhat = xc / ((xc * xc).mean(axes, keepdim=True) + eps).sqrt()
    out = xhat if w is None else xhat * w.reshape(*bshape)
    return out if b is None else out + b.reshape(*bshape)


# --- batch norm ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
def test_batch_norm_training_matches_torch(jit, shape, affine):
    rng = np.random.default_rng(0)
    c = shape[1]
    x = rng.standard_normal(shape) * 3 + 1
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    use_w, use_b = affine in ("both", "weight"), affine in ("both", "bias")

    def fv(t, tw, tb):
        return F.batch_norm(t, None, None, tw if use_w else None, tb if use_b else None,
                            training=True, eps=1e-3)

    def th(t, tw, tb):
        return TF.batch_norm(t, None, None, tw if use_w else None, tb if use_b else None,
                             training=True, eps=1e-3)

    # fd=False: central differences need eps=1e-4 here (test_batch_norm_gradcheck_...).
    # PyTorch's double backward fails for a bias without a weight; the twin test covers it.
    check_op(fv, th, [x, w, b], grad_mask=[True, use_w, use_b], fd=False,
             second_order=affine != "bias")


@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_evaluation_matches_torch(shape):
    rng = np.random.default_rng(1)
    c = shape[1]
    x, w, b = rng.standard_normal(shape), rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    check_op(lambda t, tw, tb, m, v: F.batch_norm(t, m, v, tw, tb, eps=1e-3),
             lambda t, tw, tb, m, v: TF.batch_norm(t, m, v, tw, tb, eps=1e-3),
             [x, w, b, rm, rv], grad_mask=[True, True, True, False, False])


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 7), (4, 3, 5, 6), (6, 16, 4, 4),
                                   (5, 3, 3, 7), (4, 16, 16, 18)])
@pytest.mark.parametrize("layout", ["C", "channels_last", "strided", "channels_last_crop"])
def test_batch_norm_matches_torch_in_every_input_layout(jit, shape, layout):
    """The last shape is large enough (>= 2**14 values) for the compiled kernels."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape) * 2 + 1
    if layout == "channels_last" and len(shape) > 2:
        x = _channels_last(x)
    elif layout == "channels_last_crop" and len(shape) == 4:  # a convolution's output view
        n, c, h, w = shape
        x = rng.standard_normal((n, h + 2, w + 3, c))[:, 1:h + 1, 2:w + 2].transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = rng.standard_normal(shape[:1] + (shape[1] * 2,) + shape[2:])[:, ::2]
    c = shape[1]
    w, b = 1 + 0.2 * rng.standard_normal(c), 0.3 * rng.standard_normal(c)
    check_op(lambda t, tw, tb: F.batch_norm(t, None, None, tw, tb, training=True),
             lambda t, tw, tb: TF.batch_norm(t, None, None, tw, tb, training=True),
             [x, w, b], fd=False)


@needs_torch
@pytest.mark.parametrize("g_layout", ["C", "channels_last", "broadcast"])
def test_batch_norm_backward_with_a_gradient_in_another_layout(jit, g_layout):
    rng = np.random.default_rng(8)
    x = _channels_last(rng.standard_normal((8, 16, 16, 16)))
    g = rng.standard_normal(x.shape)
    if g_layout == "channels_last":
        g = _channels_last(g)
    elif g_layout == "broadcast":
        g = np.broadcast_to(rng.standard_normal((8, 16, 1, 1)), x.shape)
    w = 1 + 0.1 * rng.standard_normal(16)
    xf, wf = fovea.tensor(x, requires_grad=True), fovea.tensor(w, requires_grad=True)
    F.batch_norm(xf, None, None, wf, None, training=True).backward(fovea.tensor(g))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    TF.batch_norm(xt, None, None, wt, None, training=True).backward(
        torch.tensor(np.ascontiguousarray(g)))
    np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(wf.grad.numpy(), wt.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape", SHAPES)
def test_fused_batch_norm_equals_composed_twin(jit, shape):
    rng = np.random.default_rng(1)
    c = shape[1]
    arrays = [rng.standard_normal(shape) * 2 - 1, rng.standard_normal(c), rng.standard_normal(c)]
    fused = [fovea.tensor(a, requires_grad=True) for a in arrays]
    twin = [fovea.tensor(a, requires_grad=True) for a in arrays]
    y1 = F.batch_norm(fused[0], None, None, fused[1], fused[2], training=True)
    y2 = _composed(*twin, eps=1e-5)
    np.testing.assert_allclose(y1.detach().numpy(), y2.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    g = fovea.tensor(rng.standard_normal(shape))
    y1.backward(g)
    y2.backward(g)
    for a, b in zip(fused, twin):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    # The fused node is one node; the twin is a graph of primitives.
    assert y1.grad_fn.name == "BatchNorm"


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_second_and_third_derivatives_equal_the_composed_twin(affine):
    """Every output of the recorded backward (dx, dγ, dβ) reaches the loss; the second
    derivative is recorded again and differentiated once more."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((5, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)]
    g = fovea.tensor(rng.standard_normal((5, 3, 2)))
    v = [fovea.tensor(rng.standard_normal(a.shape)) for a in arrays]
    results = []
    for fn in (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
               lambda x, w, b: _composed(x, w, b, 1e-5)):
        ins = [fovea.tensor(a, requires_grad=True) for a in arrays]
        if not affine:
            ins[1] = ins[2] = None
        req = [t for t in ins if t is not None]
        y = fn(*ins)
        grads = fovea.grad((y.tanh() * g).sum(), req, create_graph=True)
        second = fovea.grad(sum((d * d * u).sum() for d, u in zip(grads, v)), req,
                            create_graph=True)
        third = fovea.grad(sum((d * d).sum() for d in second), req)
        results.append([t.detach().numpy() for t in (*grads, *second, *third)])
    for fused, twin in zip(*results):
        np.testing.assert_allclose(fused, twin, rtol=1e-9, atol=1e-11)


def test_batch_norm_gradcheck_in_both_modes():
    rng = np.random.default_rng(3)
    x = fovea.tensor(rng.standard_normal((4, 3, 2, 2)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal(3), requires_grad=True)
    b = fovea.tensor(rng.standard_normal(3), requires_grad=True)
    rm, rv = fovea.tensor(rng.standard_normal(3)), fovea.tensor(rng.uniform(1, 2, 3))
    for training in (True, False):
        def fn(x, w, b, training=training):
            # Running statistics are not inputs of the gradient: copies keep them fixed.
            return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training)

        # NOTE: eps=1e-4: at 1e-6 round-off dominates (the composed twin shows the same).
        assert fovea.gradcheck(fn, [x, w, b], eps=1e-4) < 1e-7


@needs_torch
@pytest.mark.parametrize("shape", SHAPES + [(4, 16, 16, 18)])
def test_batch_norm_running_statistics_match_torch(jit, shape):
    rng = np.random.default_rng(4)
    c = shape[1]
    x = _channels_last(rng.standard_normal(shape) * 3 + 5) if len(shape) == 4 \
        else rng.standard_normal(shape) * 3 + 5
    rm0, rv0 = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    rm, rv = fovea.tensor(rm0), fovea.tensor(rv0)
    trm, trv = torch.tensor(rm0), torch.tensor(rv0)
    F.batch_norm(fovea.tensor(x), rm, rv, training=True, momentum=0.3)
    TF.batch_norm(torch.tensor(np.ascontiguousarray(x)), trm, trv, training=True, momentum=0.3)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12, atol=1e-14)


def test_batch_norm_float32_matches_float64_and_stays_float32(jit):
    rng = np.random.default_rng(9)
    x64 = _channels_last(rng.standard_normal((8, 16, 8, 8)) * 3 + 5)
    rm32, rv32 = fovea.zeros(16), fovea.ones(16)
    rm64, rv64 = fovea.zeros(16, dtype=np.float64), fovea.ones(16, dtype=np.float64)
    out = []
    for x, rm, rv in ((x64.astype(np.float32), rm32, rv32), (x64, rm64, rv64)):
        xt = fovea.tensor(x, requires_grad=True)
        y = F.batch_norm(xt, rm, rv, training=True, momentum=0.3)
        (y * y * y).sum().backward()
        out.append((y.detach().numpy(), xt.grad.numpy(), rm.numpy(), rv.numpy()))
    for a32, a64 in zip(*out):
        assert a32.dtype == np.float32
        np.testing.assert_allclose(a32, a64, rtol=2e-4, atol=2e-4)


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(fovea.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="needs running_mean"):
        F.batch_norm(fovea.randn(2, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(fovea.randn(2, 3), None, None, fovea.randn(4), training=True)
    with pytest.raises(ValueError, match="momentum"):
        F.batch_norm(fovea.randn(2, 3), None, None, training=True, momentum=2.0)


# --- layer norm and group norm -------------------------------------------------------------

@pytest.mark.parametrize("shape,norm", [((4, 6), (6,)), ((2, 3, 5), (5,)),
                                        ((2, 3, 4, 5), (4, 5)), ((3, 2, 4), (2, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_matches_torch(shape, norm, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 2 + 1
    w, b = rng.standard_normal(norm), rng.standard_normal(norm)
    if affine:
        check_op(lambda t, tw, tb: F.layer_norm(t, norm, tw, tb, eps=1e-4),
                 lambda t, tw, tb: TF.layer_norm(t, norm, tw, tb, eps=1e-4), [x, w, b])
    else:
        # fd=False: x̂ alone is flat in two directions (its mean and scale), where a
        # 4th-order stencil with eps=1e-3 loses accuracy; see the gradcheck test below
        check_op(lambda t: F.layer_norm(t, norm, eps=1e-4),
                 lambda t: TF.layer_norm(t, norm, eps=1e-4), [x], fd=False)


@pytest.mark.parametrize("shape,groups", [((3, 6), 2), ((2, 6, 5), 3), ((2, 4, 3, 3), 2),
                                          ((2, 4, 3, 3), 4), ((2, 4, 3, 3), 1)])
@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_matches_torch(shape, groups, affine):
    rng = np.random.default_rng(1)
    c = shape[1]
    x = rng.standard_normal(shape) * 2 - 1
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    if affine:
        check_op(lambda t, tw, tb: F.group_norm(t, groups, tw, tb, eps=1e-4),
                 lambda t, tw, tb: TF.group_norm(t, groups, tw, tb, eps=1e-4), [x, w, b])
    else:
        check_op(lambda t: F.group_norm(t, groups, eps=1e-4),
                 lambda t: TF.group_norm(t, groups, eps=1e-4), [x])


def test_layer_and_group_norm_gradcheck():
    rng = np.random.default_rng(2)
    x = fovea.tensor(rng.standard_normal((3, 4, 5)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal(5), requires_grad=True)
    b = fovea.tensor(rng.standard_normal(5), requires_grad=True)
    assert fovea.gradcheck(lambda x, w, b: F.layer_norm(x, 5, w, b), [x, w, b], eps=1e-5) < 1e-7
    assert fovea.gradcheck(lambda x: F.layer_norm(x, 5), [x], eps=1e-5) < 1e-7
    x2 = fovea.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    w2 = fovea.tensor(rng.standard_normal(4), requires_grad=True)
    assert fovea.gradcheck(lambda x, w: F.group_norm(x, 2, w), [x2, w2], eps=1e-5) < 1e-7


def test_layer_and_group_norm_errors():
    with pytest.raises(ValueError, match=r"expected input of shape \(\*, 8\)"):
        F.layer_norm(fovea.randn(2, 5), 8)
    with pytest.raises(ValueError, match="positive divisor"):
        F.group_norm(fovea.randn(2, 4), 3)
