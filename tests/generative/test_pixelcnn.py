"""Masked convolutions and PixelCNN: causality checked by gradient, the exact likelihood."""

import math

import numpy as np
import pytest

import fovea
from fovea.generative import MaskedConv2d, PixelCNN, causal_mask
from oracle import check_op, torch


def test_causal_masks_of_type_a_and_b_by_hand():
    np.testing.assert_array_equal(causal_mask(3, "A"), [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(causal_mask(3, "B"), [[1, 1, 1], [1, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize("bad", [dict(kernel_size=4, mask_type="A"),
                                 dict(kernel_size=3, mask_type="C")])
def test_bad_masks_are_refused(bad):
    with pytest.raises(ValueError, match="MaskedConv2d"):
        causal_mask(**bad)


def test_masked_conv_is_a_convolution_with_the_masked_kernel():
    rng = np.random.default_rng(0)
    layer = MaskedConv2d("B", 2, 3, 5).double()
    x = rng.standard_normal((2, 2, 6, 6))
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    mask = causal_mask(5, "B")

    def _apply(layer, x, w, b):
        return fovea.nn.functional.conv2d(x, w * layer.mask, b, padding=2)

    check_op(lambda x, w, b: _apply(layer, x, w, b), lambda x, w, b: torch.nn.functional.conv2d(
        x, w * torch.tensor(mask, dtype=torch.float64), b, padding=2), [x, w, b])
    out = layer(fovea.tensor(x))
    ref = _apply(layer, fovea.tensor(x), layer.weight, layer.bias)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)


def _dependencies(model, shape, i, j):
    """|∂ out[:, :, i, j] / ∂ x| summed over batch and channels: an (H, W) map."""
    x = fovea.tensor(np.random.default_rng(1).random((2, *shape)), dtype=fovea.float64,
                     requires_grad=True)
    model(x)[:, :, i, j].sum().backward()
    return np.abs(x.grad.numpy()).sum(axis=(0, 1))


@pytest.mark.parametrize("gated", [False, True])
def test_no_pixelcnn_output_depends_on_its_own_or_a_later_input_pixel(gated):
    model = PixelCNN(channels=1, hidden=8, layers=3, gated=gated).double()
    h = w = 6
    order = np.arange(h * w).reshape(h, w)
    for i in range(h):
        for j in range(w):
            dep = _dependencies(model, (1, h, w), i, j)
            later = order >= order[i, j]
            assert not dep[later].any(), f"output ({i},{j}) sees a later input pixel"
            # ... yet it does see its left neighbour and the pixel above it
            assert j == 0 or dep[i, j - 1] > 0, f"output ({i},{j}) ignores its left neighbour"
            assert i == 0 or dep[i - 1, j] > 0, f"output ({i},{j}) ignores the pixel above"


def test_a_type_b_layer_sees_its_own_position_and_type_a_does_not():
    for kind, sees_self in (("A", False), ("B", True)):
        layer = MaskedConv2d(kind, 1, 1, 3).double()
        dep = _dependencies(layer, (1, 5, 5), 2, 2)
        assert bool(dep[2, 2]) == sees_self
        assert not dep[2, 3:].any() and not dep[3:].any()


def test_pixelcnn_nll_is_the_summed_bernoulli_cross_entropy_of_its_logits():
    model = PixelCNN(hidden=8, layers=1).double()
    x = (np.random.default_rng(2).random((3, 1, 5, 5)) > 0.5).astype(np.float64)
    logits = model(fovea.tensor(x)).detach().numpy()
    p = 1 / (1 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(model.nll(fovea.tensor(x)).detach().numpy(), expected, rtol=1e-9)
    assert PixelCNN.bits_per_dim(25 * math.log(2), 25) == pytest.approx(1.0)


def test_pixelcnn_refuses_non_binary_images():
    model = PixelCNN(hidden=4, layers=1)
    x = fovea.tensor(np.full((1, 1, 4, 4), 0.5, dtype=np.float32))
    with pytest.raises(ValueError, match="binary pixels.*0.5.*binarise"):
        model.nll(x)


def test_pixelcnn_samples_are_binary_and_follow_a_learned_constant_image():
    fovea.manual_seed(0)
    model = PixelCNN(hidden=8, layers=1)
    # Train on one fixed image: sampling pixel by pixel must reproduce it.
    target = fovea.tensor((np.indices((5, 5)).sum(0) % 2).astype(np.float32)[None, None])
    opt = fovea.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        model.nll(target).mean().backward()
        opt.step()
    s = model.sample(4, (5, 5), generator=fovea.Generator().manual_seed(0)).numpy()
    assert set(np.unique(s)) <= {0.0, 1.0}
    assert (s == target.numpy()).mean() > 0.95
