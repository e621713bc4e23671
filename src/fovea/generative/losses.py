"""Losses of generative models, each the formula its paper writes, on logits.

GANs (Goodfellow et al., 2014; Lecture 13): the discriminator D outputs a logit ``l`` with
D(x) = σ(l). Written with softplus, log σ(l) = −softplus(−l) and log(1 − σ(l)) = −softplus(l),
which stay finite for any logit.

=====================  =========================================  ==============================
loss                   discriminator / critic minimises            generator minimises
=====================  =========================================  ==============================
minimax (GAN)          −E log D(x) − E log(1 − D(G(z)))            E log(1 − D(G(z)))
non-saturating         same                                        −E log D(G(z))
least squares (LSGAN)  ½E (D(x) − 1)² + ½E D(G(z))²                ½E (D(G(z)) − 1)²
Wasserstein (WGAN)     E D(G(z)) − E D(x)  (+ λ·gradient penalty)  −E D(G(z))
=====================  =========================================  ==============================

VAEs (Kingma & Welling, 2014): the negative ELBO of one image is
``−E_q log p(x|z) + KL(q(z|x) || N(0, I))``, in nats; :func:`gaussian_kl` is the closed form
of the KL for a diagonal Gaussian q, :func:`bernoulli_nll` / :func:`gaussian_nll` the
reconstruction terms. All per-image functions return shape (N,): sum over the image, not mean.
"""

from __future__ import annotations

import math

import fovea
from fovea.errors import ShapeError
from fovea.nn import functional as F

__all__ = ["GAN_LOSSES", "bernoulli_nll", "discriminator_loss", "gaussian_kl", "gaussian_nll",
           "generator_loss", "gradient_penalty"]

GAN_LOSSES = ("minimax", "non_saturating", "least_squares", "wasserstein")


def _check(kind: str, op: str) -> None:
    if kind not in GAN_LOSSES:
        raise ValueError(f"{op}: unknown loss {kind!r}; expected one of {', '.join(GAN_LOSSES)}")


def discriminator_loss(real, fake, kind: str = "non_saturating"):
    """The discriminator's (critic's) loss on its outputs for real and generated batches.

    Args:
        real: D's logits (or critic values) on real data, shape (N,) or (N, 1).
        fake: the same on generated data, shape (M,) or (M, 1).
        kind: one of :data:`GAN_LOSSES` (minimax and non-saturating share this loss).

    Returns: a scalar tensor (see the module table for the formulas).
    """
    _check(kind, "discriminator_loss")
    if kind in ("minimax", "non_saturating"):
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "least_squares":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake ** 2).mean()
    return fake.mean() - real.mean()


def generator_loss(fake, kind: str = "non_saturating"):
    """The generator's loss on D's outputs for generated data (shape (M,) or (M, 1)).

    ``"minimax"`` is E log(1 − D(G(z))), which saturates (tiny gradient) when D rejects the
    fakes; ``"non_saturating"`` is −E log D(G(z)), the lecture's fix.
    """
    _check(kind, "generator_loss")
    if kind == "minimax":
        return -F.softplus(fake).mean()
    if kind == "non_saturating":
        return F.softplus(-fake).mean()
    if kind == "least_squares":
        return 0.5 * ((fake - 1) ** 2).mean()
    return -fake.mean()


def gradient_penalty(critic, real, fake, *extra, generator=None):
    """WGAN-GP's penalty (Gulrajani et al., 2017): E (‖∇_x̂ D(x̂)‖₂ − 1)².

    x̂ = ε·real + (1 − ε)·fake with one ε ~ U(0, 1) per example. The gradient is taken with
    ``create_graph=True``, so the penalty's own gradient reaches the critic's weights through
    the engine's double backward.

    Args:
        critic: a callable ``critic(x, *extra) -> (N,) or (N, 1)`` values.
        real, fake: batches of the same shape (N, ...); ``fake`` is usually detached.
        extra: further critic inputs (class labels of a conditional critic).
        generator: a ``fovea.Generator`` for ε (default: the global one).

    Returns: a scalar tensor (multiply by λ = 10, the paper's weight).
    """
    if tuple(real.shape) != tuple(fake.shape):
        raise ShapeError(f"gradient_penalty: real {tuple(real.shape)} and fake "
                                      f"{tuple(fake.shape)} batches differ in shape")
    n = real.shape[0]
    eps = fovea.rand(n, *([1] * (real.dim() - 1)), generator=generator, dtype=real.dtype)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(mixed, *extra)
    (grad,) = fovea.grad(out.sum(), mixed, create_graph=True)
    norm = (grad.reshape(n, -1) ** 2).sum(dim=1).sqrt()
    return ((norm - 1) ** 2).mean()


def gaussian_kl(mu, logvar):
    """KL(N(μ, diag σ²) || N(0, I)) per example: −½ Σ (1 + log σ² − μ² − σ²).

    Args: mu, logvar: (N, D). Returns: (N,) in nats.
    """
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)


def bernoulli_nll(logits, x):
    """−log p(x | logits) of a factorised Bernoulli, summed over each image: (N, ...) -> (N,).

    ``x`` may be binary or, as in the common MNIST recipe, grey levels in [0, 1] (then this is
    the binary cross-entropy, not a normalised likelihood).
    """
    nll = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return nll.reshape(nll.shape[0], -1).sum(dim=1)


def gaussian_nll(mean, x, log_scale=0.0):
    """−log N(x; mean, σ²) summed over each image, σ = exp(log_scale): (N, ...) -> (N,).

    ``log_scale`` is a float or a tensor broadcastable to ``mean`` (a learned scale).
    """
    if not isinstance(log_scale, fovea.Tensor):
        log_scale = fovea.tensor(float(log_scale), dtype=mean.dtype)
    z = (x - mean) * (-log_scale).exp()
    nll = 0.5 * z ** 2 + log_scale + 0.5 * math.log(2 * math.pi)
    nll = nll + fovea.zeros_like(mean)  # a scalar log_scale still gives one term per pixel
    return nll.reshape(nll.shape[0], -1).sum(dim=1)
