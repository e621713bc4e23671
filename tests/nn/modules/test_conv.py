"""nn.Conv2d / nn.ConvTranspose2d (src/fovea/nn/modules/conv.py): parameters, initialisation,
repr and state-dict keys like PyTorch's, padding modes, output_size, input checks."""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from fovea.nn.modules.conv import _pad_by_index
from oracle import check_op, needs_torch, torch


@needs_torch
def test_conv2d_module_parameters_init_and_repr_like_torch():
    gen = np.random.default_rng(0)
    m = nn.Conv2d(6, 8, 3, stride=2, padding=1, groups=2, generator=gen)
    t = torch.nn.Conv2d(6, 8, 3, stride=2, padding=1, groups=2)
    assert m.weight.shape == tuple(t.weight.shape) == (8, 3, 3, 3)
    assert m.bias.shape == (8,)
    assert list(m.state_dict()) == list(t.state_dict())
    assert repr(m) == repr(t)
    for kw in (dict(padding="same", bias=False), dict(dilation=2, padding_mode="reflect")):
        assert repr(nn.Conv2d(3, 4, 3, **kw)) == repr(torch.nn.Conv2d(3, 4, 3, **kw))


def test_conv2d_module_initialisation_is_pytorchs_uniform():
    m = nn.Conv2d(6, 8, 3, stride=2, padding=1, groups=2, generator=np.random.default_rng(0))
    bound = 1 / np.sqrt(3 * 9)  # fan_in = in/groups · kH · kW
    wv = m.weight.detach().numpy()
    assert wv.dtype == np.float32 and np.abs(wv).max() <= bound
    assert np.abs(wv).max() > 0.8 * bound  # fills the range: U(-b, b)
    assert np.abs(m.bias.detach().numpy()).max() <= bound


@needs_torch
def test_conv2d_module_with_torch_weights_matches_torch():
    rng = np.random.default_rng(13)
    t = torch.nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1).double()
    m = nn.Conv2d(3, 5, (3, 2), stride=(2, 1), padding=1).double()
    m.load_state_dict(t.state_dict())
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_allclose(m(fovea.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), atol=1e-10)


def _padded(x, pads, mode):
    """np.pad of the spatial axes: the oracle for the padding modes."""
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    pt, pb, pl, pr = pads
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), mode=np_mode)


@pytest.mark.parametrize("pads", [(2, 1, 1, 2), (0, 3, 1, 0)])
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_gather_like_np_pad_on_every_device(mode, pads):
    """The layer's padding (a differentiable gather), against np.pad and PyTorch's F.pad,
    gradients included, on every registered device."""
    x = np.random.default_rng(14).standard_normal((2, 2, 5, 6))
    pt, pb, pl, pr = pads
    check_op(lambda x: _pad_by_index(x, pads, mode, "test"),
             lambda x: torch.nn.functional.pad(x, (pl, pr, pt, pb), mode=mode), [x],
             numpy_fn=lambda x: _padded(x, pads, mode))


@needs_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_modes_match_torch(mode):
    rng = np.random.default_rng(14)
    t = torch.nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode=mode).double()
    m = nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode=mode).double()
    m.load_state_dict(t.state_dict())
    x = rng.standard_normal((2, 2, 5, 6))
    fx, tx = fovea.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = m(fx), t(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    g = rng.standard_normal(y.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), atol=1e-10)


def test_padding_larger_than_the_input_allows_is_refused():
    with pytest.raises(ValueError, match="too large for padding_mode='reflect'"):
        nn.Conv2d(1, 1, 3, padding=5, padding_mode="reflect")(fovea.zeros(1, 1, 4, 4))


@needs_torch
def test_conv_transpose2d_module_output_size_and_repr():
    rng = np.random.default_rng(15)
    t = torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1).double()
    m = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1).double()
    assert repr(m) == repr(t)
    assert m.weight.shape == (4, 3, 3, 3)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / np.sqrt(3 * 9)  # fan_in = 3·3·3
    m.load_state_dict(t.state_dict())
    x = rng.standard_normal((1, 4, 5, 5))
    y = m(fovea.tensor(x), output_size=(10, 10))
    ty = t(torch.tensor(x), output_size=(10, 10))
    assert y.shape == (1, 3, 10, 10)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)


def test_conv_transpose2d_output_size_picks_the_output_padding():
    m = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1)
    x = fovea.zeros(1, 4, 5, 5)
    assert m(x).shape == (1, 3, 9, 9)
    assert m(x, output_size=(10, 9)).shape == (1, 3, 10, 9)
    with pytest.raises(ValueError, match="not reachable"):
        m(x, output_size=(12, 10))


def test_module_input_checks_name_the_layer():
    m = nn.Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8\): expected input of shape "
                                         r"\(N, 3, H, W\), got \(4, 32, 32\)"):
        m(fovea.zeros(4, 32, 32))
    with pytest.raises(TypeError, match=r"input dtype float64 does not match the layer's "
                                        "float32"):
        m(fovea.zeros(1, 3, 8, 8, dtype=fovea.float64))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 8, 3, padding_mode="mirror")
    assert m(fovea.zeros(3, 8, 8)).shape == (8, 6, 6)  # unbatched


def test_seeded_generator_makes_initialisation_repeatable():
    a = nn.Conv2d(3, 4, 3, generator=np.random.default_rng(7))
    b = nn.Conv2d(3, 4, 3, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
