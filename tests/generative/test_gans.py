"""DCGAN / conditional GAN networks and the toy MLPs: shapes, the paper's init, bad input."""

import numpy as np
import pytest

import fovea
from fovea import nn
from fovea.errors import ShapeError
from fovea.generative import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    discriminator_loss,
    generator_loss,
)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_generator_and_discriminator_shapes_for_every_supported_size(shape):
    g, d = DCGANGenerator(8, shape, ngf=8), DCGANDiscriminator(shape, ndf=8)
    x = g(fovea.randn(2, 8))
    assert x.shape == (2, *shape)
    assert -1 <= x.detach().numpy().min() and x.detach().numpy().max() <= 1  # tanh output
    assert d(x).shape == (2,)


def test_image_sizes_that_are_not_base_times_power_of_two_are_refused():
    with pytest.raises(ShapeError, match="image side 30"):
        DCGANGenerator(8, (1, 30, 30))
    with pytest.raises(ShapeError, match="square"):
        DCGANDiscriminator((1, 28, 32))


def test_dcgan_init_draws_weights_from_n_0_002_and_bn_scales_from_n_1_002():
    fovea.manual_seed(0)
    g = DCGANGenerator(64, (1, 32, 32), ngf=64)
    convs = np.concatenate([m.weight.detach().numpy().ravel() for m in g.modules()
                            if isinstance(m, nn.ConvTranspose2d)])
    bns = np.concatenate([m.weight.detach().numpy().ravel() for m in g.modules()
                          if isinstance(m, nn.BatchNorm2d)])
    assert abs(convs.mean()) < 1e-3 and convs.std() == pytest.approx(0.02, rel=0.02)
    assert abs(bns.mean() - 1) < 0.01 and bns.std() == pytest.approx(0.02, rel=0.2)


def test_a_wgan_critic_has_no_batch_norm():
    d = DCGANDiscriminator((1, 28, 28), ndf=8, norm="layer")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in d.modules())
    # per-example outputs: one example's output does not depend on the rest of the batch
    x = fovea.randn(4, 1, 28, 28)
    np.testing.assert_allclose(d(x)[:1].detach().numpy(), d(x[:1]).detach().numpy(), rtol=1e-5)


def test_conditional_networks_use_the_label_and_refuse_unknown_classes():
    fovea.manual_seed(1)
    g, d = DCGANGenerator(8, (1, 8, 8), 8, num_classes=3), DCGANDiscriminator((1, 8, 8), 8, 3)
    g.eval()
    z = fovea.randn(1, 8)
    a, b = g(z, fovea.tensor([0])), g(z, fovea.tensor([2]))
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())  # the label matters
    assert d(a, fovea.tensor([0])).shape == (1,)
    with pytest.raises(ValueError, match="class 3 was not among the 3 classes"):
        g(z, fovea.tensor([3]))
    with pytest.raises(ValueError, match="needs class labels"):
        d(a)


def test_a_few_gan_steps_on_toy_data_move_the_discriminator_loss_from_2_ln_2():
    fovea.manual_seed(0)
    g, d = MLPGenerator(hidden=32), MLPDiscriminator(hidden=32)
    real = fovea.tensor(np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32) + 3)
    opt = fovea.optim.Adam(d.parameters(), lr=1e-2)
    with fovea.no_grad():
        fake = g(fovea.randn(64, 2))
    for _ in range(30):
        opt.zero_grad()
        loss = discriminator_loss(d(real), d(fake))
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * 2 * np.log(2)  # D separates the two point clouds
    assert generator_loss(d(fake)).item() > np.log(2)  # and the generator is told so
