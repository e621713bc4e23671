"""Attribution maps against PyTorch's input gradients, a hand-worked guided-backprop
network, and a direct occlusion loop."""

import numpy as np
import pytest

import fovea
from fovea import nn, viz
from fovea.nn import functional as F
from oracle import needs_torch
from viz._nets import convnet, images, to_torch

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _torch_grad(tnet, x, t, relu_hook=None):
    xt = torch.tensor(x, requires_grad=True)
    handles = []
    if relu_hook is not None:
        handles = [m.register_full_backward_hook(relu_hook) for m in tnet
                   if isinstance(m, torch.nn.ReLU)]
    s = tnet(xt)
    (g,) = torch.autograd.grad(s[torch.arange(len(t)), torch.tensor(t)].sum(), xt)
    for h in handles:
        h.remove()
    return g.numpy()


@needs_torch
def test_input_gradient_and_saliency_match_pytorch():
    net, x = convnet(), images()
    tnet = to_torch(net)
    t = tnet(torch.tensor(x)).argmax(1).numpy()
    g = viz.input_gradient(net, x)
    np.testing.assert_allclose(g, _torch_grad(tnet, x, t), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(viz.saliency(net, x, target=2),
                               np.abs(_torch_grad(tnet, x, [2, 2, 2])).max(1), rtol=1e-10)


@needs_torch
def test_integrated_gradients_match_pytorch_and_are_complete():
    net, x = convnet(), images()
    tnet = to_torch(net)
    base = np.full_like(x, 0.1)
    ig = viz.integrated_gradients(net, x, target=1, baseline=base, steps=16)
    want = sum(_torch_grad(tnet, base + (k + 0.5) / 16 * (x - base), [1] * 3)
               for k in range(16)) * (x - base) / 16
    np.testing.assert_allclose(ig, want, rtol=1e-9, atol=1e-12)


def test_integrated_gradients_sum_to_the_score_difference():
    net, x = convnet(), images(n=2)
    ig = viz.integrated_gradients(net, x, target=3, steps=256)
    with fovea.no_grad():
        score = lambda a: net(fovea.tensor(a)).numpy()[:, 3]  # noqa: E731
        diff = score(x) - score(np.zeros_like(x))
    np.testing.assert_allclose(ig.sum(axis=(1, 2, 3)), diff, rtol=0.02, atol=1e-3)


def test_smoothgrad_is_the_mean_gradient_over_the_same_noise():
    net, x = convnet(), images(n=2)
    sg = viz.smoothgrad(net, x, target=0, samples=4, noise=0.2,
                        generator=np.random.default_rng(7))
    rng = np.random.default_rng(7)
    span = x.max(axis=(1, 2, 3), keepdims=True) - x.min(axis=(1, 2, 3), keepdims=True)
    want = sum(viz.input_gradient(net, x + rng.standard_normal(x.shape) * 0.2 * span, 0)
               for _ in range(4)) / 4
    np.testing.assert_allclose(sg, want, rtol=1e-12)
    assert np.abs(sg - viz.input_gradient(net, x, 0)).max() > 1e-6  # the noise does something


@needs_torch
def test_guided_backprop_and_deconvnet_match_pytorch_relu_hooks():
    net, x = convnet(), images()
    tnet = to_torch(net)
    t = [0, 1, 2]
    guided = _torch_grad(tnet, x, t, lambda m, gi, go: (gi[0].clamp(min=0),))
    np.testing.assert_allclose(viz.guided_backprop(net, x, t), guided, rtol=1e-10, atol=1e-12)
    assert np.abs(guided - _torch_grad(tnet, x, t)).max() > 1e-3  # differs from the gradient
    deconv = _torch_grad(tnet, x, t, lambda m, gi, go: (go[0].clamp(min=0),))
    np.testing.assert_allclose(viz.deconvnet(net, x, t), deconv, rtol=1e-10, atol=1e-12)


class _TwoLayer(nn.Module):
    """y = v · relu(W2 relu(W1 x)), ONE ReLU module used twice (hooks on modules get this
    wrong); the numbers are worked by hand in the test."""

    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(2, 3, bias=False)
        self.l2 = nn.Linear(3, 2, bias=False)
        self.v = nn.Linear(2, 1, bias=False)
        self.act = nn.ReLU()
        self.l1.weight._data = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])
        self.l2.weight._data = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, 0.0]])
        self.v.weight._data = np.array([[2.0, 3.0]])

    def forward(self, x):
        return self.v(self.act(self.l2(F.relu(self.l1(x)))))


def test_guided_backprop_and_deconvnet_on_a_hand_worked_network():
    # x = (1, 2): pre1 = (1, 2, -1), h1 = (1, 2, 0); pre2 = (-1, 1), h2 = (0, 1); y = 3.
    # standard: g_pre2 = (2, 3)·(0, 1) = (0, 3); g_h1 = W2ᵀ(0, 3) = (-3, 3, 0);
    #           g_pre1 = (-3, 3, 0); g_x = W1ᵀ g_pre1 = (-3, 3).
    # guided:   g_pre2 = (0, 3); g_h1 = (-3, 3, 0) → [x>0][g>0] → (0, 3, 0); g_x = (0, 3).
    # deconvnet: g_pre2 = relu(2, 3) = (2, 3); g_h1 = W2ᵀ(2, 3) = (-1, 1, 2) → relu →
    #           (0, 1, 2); g_x = W1ᵀ(0, 1, 2) = (2, -1).
    net, x = _TwoLayer(), np.array([[1.0, 2.0]])
    assert viz.input_gradient(net, x, 0).tolist() == [[-3.0, 3.0]]
    assert viz.guided_backprop(net, x, 0).tolist() == [[0.0, 3.0]]
    assert viz.deconvnet(net, x, 0).tolist() == [[2.0, -1.0]]


def test_the_rule_applies_at_backward_time_and_is_restored():
    x = fovea.tensor([[-1.0, 2.0, 3.0]], dtype=fovea.float64, requires_grad=True)
    y = (x.relu() * fovea.tensor([[5.0, -1.0, 2.0]], dtype=fovea.float64)).sum()
    with viz.use_relu_backward_rule("guided"):
        (g,) = fovea.grad(y, x, retain_graph=True)
    assert g.tolist() == [[0.0, 0.0, 2.0]]
    with viz.use_relu_backward_rule("deconvnet"):
        (g,) = fovea.grad(y, x, retain_graph=True)
    assert g.tolist() == [[5.0, 0.0, 2.0]]
    (g,) = fovea.grad(y, x)
    assert g.tolist() == [[0.0, -1.0, 2.0]]
    with pytest.raises(ValueError, match="rule must be one of"):
        with viz.use_relu_backward_rule("lrp"):
            pass


def test_the_rules_on_leaky_relu_and_under_create_graph():
    x = fovea.tensor([[-1.0, 2.0, 3.0]], dtype=fovea.float64, requires_grad=True)
    w = fovea.tensor([[5.0, -1.0, 2.0]], dtype=fovea.float64)
    y = (F.leaky_relu(x, 0.1) * w).sum()
    with viz.use_relu_backward_rule("guided"):
        (g,) = fovea.grad(y, x, retain_graph=True)
    assert np.allclose(g.numpy(), [[0.5, 0.0, 2.0]])  # g⁺ · f'(x)
    with viz.use_relu_backward_rule("deconvnet"):
        (g,) = fovea.grad(y, x, retain_graph=True)
    assert np.allclose(g.numpy(), [[5.0, 0.0, 2.0]])  # g⁺
    with viz.use_relu_backward_rule("guided"):
        (g,) = fovea.grad((x.relu() * w).sum(), x, create_graph=True)
    assert g.requires_grad and g.tolist() == [[0.0, 0.0, 2.0]]


@needs_torch
def test_grad_cam_matches_pytorch():
    net, x = convnet(), images()
    tnet = to_torch(net)
    seen = []
    h = tnet[4].register_forward_hook(lambda m, i, o: seen.append(o))
    s = tnet(torch.tensor(x))
    h.remove()
    t = s.argmax(1)
    (ga,) = torch.autograd.grad(s[torch.arange(3), t].sum(), seen[0])
    cam = torch.relu((ga.mean((2, 3), keepdim=True) * seen[0]).sum(1, keepdim=True))
    up = torch.nn.functional.interpolate(cam, size=(8, 8), mode="bilinear", align_corners=False)
    np.testing.assert_allclose(viz.grad_cam(net, x, "4", upsample=False), cam[:, 0].detach(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(viz.grad_cam(net, x, net[4]), up[:, 0].detach(), rtol=1e-10,
                               atol=1e-12)
    ggc = viz.guided_grad_cam(net, x, "4")
    np.testing.assert_allclose(ggc, viz.guided_backprop(net, x, t.numpy())
                               * up.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_grad_cam_rejects_an_unknown_layer():
    net, x = convnet(), images(n=1)
    with pytest.raises(ValueError, match="not a submodule"):
        viz.grad_cam(net, x, "nope")


def test_occlusion_matches_a_direct_loop():
    net, x = convnet(), images(n=2)
    got = viz.occlusion(net, x, target=[1, 4], size=3, stride=2, fill=0.5, batch_size=5)
    probs = lambda a: F.softmax(net(fovea.tensor(a)), dim=1).numpy()  # noqa: E731
    with fovea.no_grad():
        base = probs(x)
        want = np.empty((2, 3, 3))
        for i, t in enumerate([1, 4]):
            for r, y0 in enumerate(range(0, 6, 2)):
                for c, x0 in enumerate(range(0, 6, 2)):
                    occ = x[i:i + 1].copy()
                    occ[:, :, y0:y0 + 3, x0:x0 + 3] = 0.5
                    want[i, r, c] = base[i, t] - probs(occ)[0, t]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="occlusion"):
        viz.occlusion(net, x, size=9)


def test_methods_leave_the_model_mode_and_parameter_grads_alone():
    net, x = convnet(), images(n=1)
    net.train()
    viz.saliency(net, x)
    viz.grad_cam(net, x, "1")
    assert net.training and all(p.grad is None for p in net.parameters())


def test_the_guided_backprop_example_of_the_docs_runs():
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "visualize.md"
    blocks = [b for b in re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
              if "use_relu_backward_rule" in b]
    assert blocks
    for b in blocks:
        exec(compile(b, str(doc), "exec"), {})  # noqa: S102 - our own docs
