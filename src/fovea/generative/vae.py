"""Variational autoencoders (Kingma & Welling, 2014) and the conditional VAE (Sohn et al., 2015).

The encoder maps an image to a diagonal Gaussian q(z|x) = N(μ, diag σ²); a reparameterised
sample z = μ + σ·ε (``fovea.distributions.Normal.rsample``) goes through the decoder, which
gives p(x|z) (Bernoulli logits or Gaussian means). Training minimises the negative ELBO per
image, in nats: −log p(x|z) + KL(q(z|x) || N(0, I)), the KL in closed form.

The MLP follows the widely used reference recipe (PyTorch's examples/vae: 784-400-20, layers
``fc1``, ``fc21`` (μ), ``fc22`` (log σ²), ``fc3``, ``fc4``), so state dicts line up with it.
"""

from __future__ import annotations

import math

import numpy as np

import fovea
from fovea import nn
from fovea.distributions import Normal
from fovea.generative.losses import bernoulli_nll, gaussian_kl, gaussian_nll
from fovea.nn import functional as F

__all__ = ["CVAE", "VAE", "check_labels"]

LIKELIHOODS = ("bernoulli", "gaussian")


def check_labels(y, num_classes: int, op: str):
    """``y`` as an int64 tensor; raises ValueError for a class the model was not trained on."""
    if y is None:
        raise ValueError(f"{op}: a conditional model needs class labels y")
    y = y if isinstance(y, fovea.Tensor) else fovea.tensor(np.asarray(y, dtype=np.int64))
    a = y.numpy()
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        bad = int(a[(a < 0) | (a >= num_classes)][0])
        raise ValueError(f"{op}: class {bad} was not among the {num_classes} classes the model "
                         f"was trained on (0..{num_classes - 1})")
    return y


class VAE(nn.Module):
    """A fully connected VAE over images of ``in_shape``.

    Args:
        in_shape: (C, H, W) of the images.
        hidden: width of the one hidden layer of the encoder and of the decoder.
        latent: dimension of z.
        likelihood: ``"bernoulli"`` (decoder gives logits; pixels in [0, 1]) or
            ``"gaussian"`` (decoder gives means, one learned scale shared by all pixels).
        num_classes: > 0 makes it conditional: a one-hot label joins the encoder's and the
            decoder's input (use :class:`CVAE`).

    Shapes: x (N, C, H, W); z (N, latent); y (N,) int class labels.
    """

    def __init__(self, in_shape=(1, 28, 28), hidden: int = 400, latent: int = 20,
                 likelihood: str = "bernoulli", num_classes: int = 0):
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"VAE: likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        self.in_shape, self.latent = tuple(in_shape), latent
        self.likelihood, self.num_classes = likelihood, num_classes
        d = int(np.prod(in_shape))
        self.fc1 = nn.Linear(d + num_classes, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent + num_classes, hidden)
        self.fc4 = nn.Linear(hidden, d)
        if likelihood == "gaussian":
            self.log_scale = nn.Parameter(fovea.zeros(1))

    # --- the two networks --------------------------------------------------------------
    def _with_label(self, h, y):
        if not self.num_classes:
            return h
        y = check_labels(y, self.num_classes, type(self).__name__)
        return fovea.cat([h, F.one_hot(y, self.num_classes).to(h.dtype)], dim=1)

    def encode(self, x, y=None):
        """(μ, log σ²) of q(z|x), each (N, latent)."""
        h = F.relu(self.fc1(self._with_label(x.reshape(x.shape[0], -1), y)))
        return self.fc21(h), self.fc22(h)

    def posterior(self, x, y=None) -> Normal:
        mu, logvar = self.encode(x, y)
        return Normal(mu, (0.5 * logvar).exp())

    def decode(self, z, y=None):
        """Decoder output (N, C, H, W): Bernoulli logits or Gaussian means."""
        h = F.relu(self.fc3(self._with_label(z, y)))
        return self.fc4(h).reshape(z.shape[0], *self.in_shape)

    def forward(self, x, y=None):
        """Returns (decoder output, μ, log σ²) for a reparameterised z ~ q(z|x)."""
        mu, logvar = self.encode(x, y)
        z = Normal(mu, (0.5 * logvar).exp()).rsample()
        return self.decode(z, y), mu, logvar

    # --- the objective -------------------------------------------------------------------
    def reconstruction_nll(self, out, x):
        """−log p(x|z) per image (N,), from the decoder output ``out``."""
        if self.likelihood == "bernoulli":
            return bernoulli_nll(out, x)
        return gaussian_nll(out, x, self.log_scale)

    def loss_terms(self, x, y=None):
        """(reconstruction NLL, KL) per image, each (N,), nats; their sum is −ELBO."""
        out, mu, logvar = self(x, y)
        return self.reconstruction_nll(out, x), gaussian_kl(mu, logvar)

    def loss(self, x, y=None):
        """The summed negative ELBO of the batch (the reference recipe's loss), a scalar."""
        rec, kl = self.loss_terms(x, y)
        return (rec + kl).sum()

    def importance_weighted_bound(self, x, y=None, k: int = 5000, chunk: int = 500,
                                  generator=None):
        """log p(x) estimated with k importance samples (Burda et al., 2016), per image (N,).

        log p(x) ≥ log (1/k) Σᵢ p(x|zᵢ) p(zᵢ) / q(zᵢ|x), zᵢ ~ q(z|x); the bound tightens as k
        grows (k = 1 is the ELBO). Computed without gradients, ``chunk`` samples at a time.
        """
        with fovea.no_grad():
            n = x.shape[0]
            mu, logvar = self.encode(x, y)
            q = Normal(mu, (0.5 * logvar).exp())
            prior = Normal(fovea.zeros_like(mu), fovea.ones_like(mu))
            parts = []
            for start in range(0, k, chunk):
                m = min(chunk, k - start)
                eps = fovea.randn(m, n, self.latent, generator=generator, dtype=mu.dtype)
                z = mu + eps * (0.5 * logvar).exp()                      # (m, N, L)
                log_qz = q.log_prob(z).sum(dim=2)
                log_pz = prior.log_prob(z).sum(dim=2)
                flat = z.reshape(m * n, self.latent)
                ys = None if y is None else y.repeat(m)
                out = self.decode(flat, ys)
                xs = x.unsqueeze(0).expand(m, *x.shape).reshape(m * n, *x.shape[1:])
                log_px = -self.reconstruction_nll(out, xs).reshape(m, n)
                parts.append(log_px + log_pz - log_qz)
            logw = fovea.cat(parts, dim=0)                               # (k, N)
            return fovea.logsumexp(logw, dim=0) - math.log(k)

    # --- generation ----------------------------------------------------------------------
    def mean_image(self, out):
        """The decoder's mean image in [0, 1] (σ(logits) or the clipped Gaussian mean)."""
        return out.sigmoid() if self.likelihood == "bernoulli" else out.clamp(0, 1)

    def sample(self, n: int, y=None, generator=None):
        """n mean images (N, C, H, W) decoded from z ~ N(0, I)."""
        with fovea.no_grad():
            z = fovea.randn(n, self.latent, generator=generator)
            return self.mean_image(self.decode(z, y))


class CVAE(VAE):
    """A conditional VAE: q(z|x, y) and p(x|z, y) both see the one-hot class label."""

    def __init__(self, in_shape=(1, 28, 28), hidden: int = 400, latent: int = 20,
                 likelihood: str = "bernoulli", num_classes: int = 10):
        if num_classes < 1:
            raise ValueError(f"CVAE: num_classes must be >= 1, got {num_classes}")
        super().__init__(in_shape, hidden, latent, likelihood, num_classes)
