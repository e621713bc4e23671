"""Autoencoders (MLP, conv, denoising) and their features reused with few labels."""

import numpy as np
import pytest

import fovea
from fovea.errors import ShapeError
from fovea.generative import Autoencoder, few_label_accuracy


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_autoencoder_shapes_and_training_lowers_the_reconstruction_loss(arch):
    fovea.manual_seed(0)
    model = Autoencoder((1, 8, 8), latent=4, hidden=32, arch=arch)
    x = fovea.tensor(np.random.default_rng(0).random((16, 1, 8, 8)).astype(np.float32))
    assert model(x).shape == (16, 1, 8, 8) and model.encode(x).shape == (16, 4)
    opt = fovea.optim.Adam(model.parameters(), lr=3e-3)
    first = model.loss(x).item()
    for _ in range(40):
        opt.zero_grad()
        loss = model.loss(x)
        loss.backward()
        opt.step()
    assert loss.item() < first


def test_denoising_corrupts_only_in_training_mode():
    model = Autoencoder((1, 4, 4), latent=2, hidden=8, noise=0.5)
    x = fovea.rand(3, 1, 4, 4)
    a, b = model(x), model(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    model.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())


def test_bad_autoencoder_options_are_refused():
    with pytest.raises(ShapeError, match="divisible by 4"):
        Autoencoder((1, 6, 6), arch="conv")
    with pytest.raises(ValueError, match="arch"):
        Autoencoder(arch="rnn")


def test_few_label_accuracy_separates_separable_features_and_not_random_labels():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    feats = np.eye(3)[y] * 4 + rng.standard_normal((200, 3)) * 0.3
    assert few_label_accuracy(feats[:30], y[:30], feats[30:], y[30:], 3) > 0.95
    noise = rng.standard_normal((200, 3))
    assert few_label_accuracy(noise[:30], y[:30], noise[30:], y[30:], 3) < 0.6
