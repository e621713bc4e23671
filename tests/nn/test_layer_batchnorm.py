"""Batch norm: the fused forward/backward against PyTorch, finite differences and its
composed twin; running statistics and train/eval switching over several steps."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

SHAPES = [(6, 4), (5, 3, 7), (4, 3, 5, 6)]


def _pair(a, requires_grad=True):
    return (fovea.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _composed(x, w, b, eps):
    """The composed twin: batch norm from primitive ops (mean, sub, mul, sqrt, div)."""
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    xc = x - x.mean(axes, keepdim=True)
    xhat = xc / ((xc * xc).mean(axes, keepdim=True) + eps).sqrt()
    out = xhat if w is None else xhat * w.reshape(*bshape)
    return out if b is None else out + b.reshape(*bshape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(shape, affine, training):
    rng = np.random.default_rng(0)
    c = shape[1]
    x, tx = _pair(rng.standard_normal(shape) * 3 + 1)
    w, tw = _pair(rng.standard_normal(c)) if affine else (None, None)
    b, tb = _pair(rng.standard_normal(c)) if affine else (None, None)
    rm0, rv0 = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    rm, rv = fovea.tensor(rm0), fovea.tensor(rv0)
    trm, trv = torch.tensor(rm0), torch.tensor(rv0)
    y = F.batch_norm(x, rm, rv, w, b, training=training, momentum=0.3, eps=1e-3)
    ty = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training=training, momentum=0.3,
                                        eps=1e-3)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    pairs = [(x, tx)] + ([(w, tw), (b, tb)] if affine else [])
    for a, ta in pairs:
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape", SHAPES)
def test_fused_batch_norm_equals_composed_twin(shape):
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


def test_batch_norm_second_derivatives_match_the_twin_and_torch():
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((5, 3, 2)), rng.standard_normal(3), rng.standard_normal(3)]
    g = fovea.tensor(rng.standard_normal((5, 3, 2)))
    results = []
    for fn in (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
               lambda x, w, b: _composed(x, w, b, 1e-5)):
        ins = [fovea.tensor(a, requires_grad=True) for a in arrays]
        gx, gw = fovea.grad((fn(*ins).tanh() * g).sum(), ins[:2], create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum()).backward()
        results.append([t.grad.numpy() for t in ins])
    tins = [torch.tensor(a, requires_grad=True) for a in arrays]
    ty = torch.nn.functional.batch_norm(tins[0], None, None, tins[1], tins[2], training=True)
    tgx, tgw = torch.autograd.grad((ty.tanh() * torch.tensor(g.numpy())).sum(), tins[:2],
                                   create_graph=True)
    ((tgx * tgx).sum() + (tgw * tgw).sum()).backward()
    results.append([t.grad.numpy() for t in tins])
    for fused, twin, theirs in zip(*results):
        np.testing.assert_allclose(fused, twin, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(fused, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    rng = np.random.default_rng(3)
    x = fovea.tensor(rng.standard_normal((4, 3, 2, 2)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal(3), requires_grad=True)
    b = fovea.tensor(rng.standard_normal(3), requires_grad=True)
    rm, rv = fovea.tensor(rng.standard_normal(3)), fovea.tensor(rng.uniform(1, 2, 3))

    def fn(x, w, b):
        # Running statistics are not inputs of the gradient; pass copies so they stay fixed.
        return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training)

    # NOTE: eps=1e-4: at 1e-6 round-off dominates (the composed twin shows the same 1e-6).
    assert fovea.gradcheck(fn, [x, w, b], eps=1e-4) < 1e-7


def _torch_bn(cls, c, **kw):
    return cls(c, **kw).double()


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("layer", ["1d", "1d_seq", "2d"])
def test_running_stats_and_train_eval_switching_match_torch(momentum, layer):
    rng = np.random.default_rng(4)
    c = 3
    cls, tcls, shape = {
        "1d": (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, c)),
        "1d_seq": (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, c, 5)),
        "2d": (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, c, 3, 3)),
    }[layer]
    bn = cls(c, momentum=momentum, dtype=np.float64)
    tbn = tcls(c, momentum=momentum).double()
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(rng.standard_normal(c)))
        tbn.bias.copy_(torch.tensor(rng.standard_normal(c)))
    bn.load_state_dict(tbn.state_dict())
    for step in range(5):
        for mode in (True, False):
            bn.train(mode)
            tbn.train(mode)
            a = rng.standard_normal(shape) * (step + 1) + step
            y = bn(fovea.tensor(a))
            ty = tbn(torch.tensor(a))
            np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                                       atol=1e-12)
    for k, v in tbn.state_dict().items():
        np.testing.assert_allclose(bn.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 5


def test_without_running_stats_batch_stats_are_used_in_eval_too():
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm2d(2, track_running_stats=False, affine=False, dtype=np.float64).eval()
    tbn = torch.nn.BatchNorm2d(2, track_running_stats=False, affine=False).double().eval()
    a = rng.standard_normal((3, 2, 4, 4))
    np.testing.assert_allclose(bn(fovea.tensor(a)).numpy(), tbn(torch.tensor(a)).numpy(),
                               rtol=1e-10, atol=1e-12)
    assert bn.running_mean is None and list(bn.state_dict()) == []


def test_batch_norm_state_dict_keys_are_torchs():
    keys = list(nn.BatchNorm2d(4).state_dict())
    assert keys == list(torch.nn.BatchNorm2d(4).state_dict())


def test_batch_norm_keeps_float32():
    bn = nn.BatchNorm2d(3)
    y = bn(fovea.randn(2, 3, 4, 4))
    assert y.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batch_norm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected input of shape "
                                         r"\(N, 16, H, W\), got \(4, 8, 5, 5\)"):
        nn.BatchNorm2d(16)(fovea.randn(4, 8, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected input of shape \(N, 3\) "
                                         r"or \(N, 3, L\), got \(2, 3, 4, 4\)"):
        nn.BatchNorm1d(3)(fovea.randn(2, 3, 4, 4))
    with pytest.raises(TypeError, match=r"BatchNorm1d\(3\): expected input of dtype float32"):
        nn.BatchNorm1d(3)(fovea.randn(2, 3, dtype=np.float64))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(fovea.randn(1, 3))
    with pytest.raises(ValueError, match="needs running_mean"):
        F.batch_norm(fovea.randn(2, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(fovea.randn(2, 3), None, None, fovea.randn(4), training=True)
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=2.0)
