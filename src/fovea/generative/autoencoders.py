"""Autoencoders (Lecture 13): an encoder to a low-dimensional code and a decoder back.

Trained to reconstruct their input (binary cross-entropy on pixels in [0, 1]); the denoising
variant (Vincent et al., 2008) reconstructs the clean image from a corrupted one. After
training the decoder is thrown away and :meth:`Autoencoder.encode` gives features, e.g. for a
classifier trained with few labels (:func:`fovea.generative.metrics.few_label_accuracy`).
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.errors import ShapeError
from fovea.generative.losses import bernoulli_nll

__all__ = ["Autoencoder"]


class Reshape(nn.Module):
    """(N, prod(shape)) -> (N, *shape)."""

    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class Autoencoder(nn.Module):
    """A fully connected (``arch="mlp"``) or convolutional (``"conv"``) autoencoder.

    Args:
        in_shape: (C, H, W); for ``"conv"`` H and W must be divisible by 4.
        latent: the code's dimension.
        hidden: width of the MLP's hidden layers (``"mlp"``).
        arch: ``"mlp"`` or ``"conv"`` (two stride-2 convolutions each way).
        noise: the denoising variant: std of the Gaussian noise added to the input in
            training mode (0: a plain autoencoder).

    Shapes: x (N, C, H, W) -> logits (N, C, H, W); codes (N, latent).
    """

    def __init__(self, in_shape=(1, 28, 28), latent: int = 32, hidden: int = 256,
                 arch: str = "mlp", noise: float = 0.0):
        super().__init__()
        c, h, w = self.in_shape = tuple(in_shape)
        self.arch, self.noise, self.latent = arch, float(noise), latent
        d = c * h * w
        if arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(d, hidden), nn.ReLU(),
                                         nn.Linear(hidden, latent))
            self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(),
                                         nn.Linear(hidden, d), Reshape(c, h, w))
        elif arch == "conv":
            if h % 4 or w % 4:
                raise ShapeError(f"Autoencoder: arch 'conv' needs H and W divisible by 4, got "
                                 f"{h}x{w}")
            flat = 64 * (h // 4) * (w // 4)
            self.encoder = nn.Sequential(
                nn.Conv2d(c, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                nn.Flatten(), nn.Linear(flat, latent))
            self.decoder = nn.Sequential(
                nn.Linear(latent, flat), nn.ReLU(), Reshape(64, h // 4, w // 4),
                nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, c, 4, 2, 1))
        else:
            raise ValueError(f"Autoencoder: arch must be 'mlp' or 'conv', got {arch!r}")

    def encode(self, x):
        """The code (N, latent) of clean images (no noise)."""
        return self.encoder(x)

    def forward(self, x):
        """Reconstruction logits; in training mode the denoising variant corrupts x first."""
        if self.training and self.noise > 0:
            x = (x + self.noise * fovea.randn(*x.shape, dtype=x.dtype)).clamp(0, 1)
        return self.decoder(self.encoder(x))

    def loss(self, x):
        """Summed reconstruction cross-entropy of the batch against the clean x, a scalar."""
        return bernoulli_nll(self(x), x).sum()

    def reconstruct(self, x):
        with fovea.no_grad():
            return self.decoder(self.encoder(x)).sigmoid()
