"""Generative models (Lecture 13): autoencoders, VAEs, GANs and PixelCNN, with their losses,
metrics and toy data. See docs/generative.md."""

from fovea.generative.autoencoders import Autoencoder
from fovea.generative.gans import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    dcgan_init,
)
from fovea.generative.losses import (
    GAN_LOSSES,
    bernoulli_nll,
    discriminator_loss,
    gaussian_kl,
    gaussian_nll,
    generator_loss,
    gradient_penalty,
)
from fovea.generative.masked import MaskedConv2d, causal_mask
from fovea.generative.metrics import (
    ClassifierFeatures,
    feature_statistics,
    few_label_accuracy,
    frechet_distance,
    precision_recall,
)
from fovea.generative.pixelcnn import PixelCNN, check_binary
from fovea.generative.toy import TOY_SETS, mode_statistics, toy_centers, toy_sample
from fovea.generative.vae import CVAE, VAE, check_labels

__all__ = ["CVAE", "GAN_LOSSES", "TOY_SETS", "VAE", "Autoencoder", "ClassifierFeatures",
           "DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator",
           "MaskedConv2d", "PixelCNN", "bernoulli_nll", "causal_mask", "check_binary",
           "check_labels", "dcgan_init", "discriminator_loss", "feature_statistics",
           "few_label_accuracy", "frechet_distance", "gaussian_kl", "gaussian_nll",
           "generator_loss", "gradient_penalty", "mode_statistics", "precision_recall",
           "toy_centers", "toy_sample"]
