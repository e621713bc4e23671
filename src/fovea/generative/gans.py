"""GAN networks: DCGAN (Radford et al., 2016), its conditional variant, and toy MLPs.

DCGAN's recipe: the generator is a stack of transposed convolutions (each doubling the
size) with batch norm and ReLU, tanh output (images in [−1, 1]); the discriminator mirrors it
with strided convolutions and LeakyReLU(0.2), batch norm on all but its first layer; weights
drawn from N(0, 0.02) (batch-norm scales from N(1, 0.02)), :func:`dcgan_init`. WGAN-GP's
critic must not use batch norm (the penalty is per example): ``norm="layer"`` or ``"none"``.

An image side is ``base · 2ⁿ`` with base in 4..7 (8 → 4·2, 28 → 7·4, 32 → 4·8, 64 → 4·16):
the first transposed convolution makes the base×base map from z, then n − 1 double it and a
last one doubles it to the image.

Conditional models (Mirza & Osindero, 2014) take class labels y: the generator gets the
one-hot label next to z, the discriminator as constant extra input channels.
"""

from __future__ import annotations

import fovea
from fovea import nn
from fovea.errors import ShapeError
from fovea.generative.vae import check_labels
from fovea.nn import functional as F

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "MLPDiscriminator", "MLPGenerator",
           "dcgan_init"]

NORMS = ("batch", "layer", "none")


def _stages(size: int, op: str) -> tuple[int, int]:
    """(base, n): size = base · 2ⁿ with 4 <= base <= 7, n >= 1."""
    base, n = size, 0
    while base > 7 and base % 2 == 0:
        base, n = base // 2, n + 1
    if not (4 <= base <= 7 and n >= 1):
        raise ShapeError(f"{op}: image side {size} is not base·2^n with base in 4..7 and n >= 1 "
                         f"(e.g. 8, 28, 32, 64)")
    return base, n


def _norm(kind: str, ch: int):
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "layer":
        return nn.GroupNorm(1, ch)  # layer norm over (C, H, W)
    return nn.Identity()


def dcgan_init(module) -> None:
    """DCGAN's initialisation; use as ``model.apply(dcgan_init)``."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(nn.Module):
    """z (N, nz) [and labels y (N,)] -> images (N, C, H, W) in [−1, 1].

    Args:
        nz: latent dimension; out_shape: (C, H, W) with H == W (see the module docstring);
        ngf: channels of the last hidden layer (doubled at each earlier one);
        num_classes: > 0 for a conditional generator.
    """

    def __init__(self, nz: int = 64, out_shape=(1, 28, 28), ngf: int = 64,
                 num_classes: int = 0):
        super().__init__()
        c, h, w = self.out_shape = tuple(out_shape)
        if h != w:
            raise ShapeError(f"DCGANGenerator: images must be square, got {h}x{w}")
        base, n = _stages(h, "DCGANGenerator")
        self.nz, self.num_classes = nz, num_classes
        ch = ngf * 2 ** (n - 1)
        layers = [nn.ConvTranspose2d(nz + num_classes, ch, base, 1, 0, bias=False),
                  nn.BatchNorm2d(ch), nn.ReLU()]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU()]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z, y=None):
        if self.num_classes:
            y = check_labels(y, self.num_classes, "DCGANGenerator")
            z = fovea.cat([z, F.one_hot(y, self.num_classes).to(z.dtype)], dim=1)
        return self.net(z.reshape(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Images (N, C, H, W) [and labels y (N,)] -> logits (or critic values) (N,).

    Args:
        in_shape: (C, H, W); ndf: channels of the first layer (doubled at each next one);
        num_classes: > 0 for a conditional discriminator;
        norm: ``"batch"`` (DCGAN), ``"layer"`` or ``"none"`` (a WGAN-GP critic).
    """

    def __init__(self, in_shape=(1, 28, 28), ndf: int = 64, num_classes: int = 0,
                 norm: str = "batch"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"DCGANDiscriminator: norm must be one of {NORMS}, got {norm!r}")
        c, h, w = self.in_shape = tuple(in_shape)
        if h != w:
            raise ShapeError(f"DCGANDiscriminator: images must be square, got {h}x{w}")
        base, n = _stages(h, "DCGANDiscriminator")
        self.num_classes = num_classes
        ch = ndf
        layers = [nn.Conv2d(c + num_classes, ch, 4, 2, 1), nn.LeakyReLU(0.2)]
        for _ in range(n - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none"), _norm(norm, ch * 2),
                       nn.LeakyReLU(0.2)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, base, 1, 0)]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, x, y=None):
        if self.num_classes:
            y = check_labels(y, self.num_classes, "DCGANDiscriminator")
            maps = F.one_hot(y, self.num_classes).to(x.dtype)[:, :, None, None]
            x = fovea.cat([x, maps.expand(-1, -1, *x.shape[2:])], dim=1)
        return self.net(x).reshape(-1)


class MLPGenerator(nn.Module):
    """Toy 2-D generator: z (N, nz) -> points (N, out), three hidden ReLU layers."""

    def __init__(self, nz: int = 2, hidden: int = 256, out: int = 2):
        super().__init__()
        self.nz = nz
        self.net = nn.Sequential(nn.Linear(nz, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, out))

    def forward(self, z, y=None):
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Toy 2-D discriminator / critic: points (N, d) -> logits (N,)."""

    def __init__(self, d: int = 2, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, x, y=None):
        return self.net(x).reshape(-1)
