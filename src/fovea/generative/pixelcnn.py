"""PixelCNN (van den Oord et al., 2016) on binary images: an explicit, exact likelihood.

p(x) = Π p(x_i | x_<i) in raster order; each conditional is a Bernoulli whose logit a stack
of masked convolutions computes for all pixels at once (training is parallel), while
sampling runs pixel by pixel (H·W forward passes).

Architecture: a 7×7 type-A masked convolution, ``layers`` residual blocks of 3×3 type-B
masked convolutions (ReLU; or, with ``gated=True``, the gated unit tanh(a)·σ(b) of the
conditional PixelCNN paper — on a single masked stack, not its vertical/horizontal stacks),
then two 1×1 convolutions to one logit per pixel.
"""

from __future__ import annotations

import math

import numpy as np

import fovea
from fovea import nn
from fovea.generative.losses import bernoulli_nll
from fovea.generative.masked import MaskedConv2d
from fovea.nn import functional as F

__all__ = ["PixelCNN", "check_binary"]


def check_binary(x, op: str = "PixelCNN") -> None:
    """Raise ValueError unless every value of ``x`` is 0 or 1 (the Bernoulli likelihood's)."""
    a = x.numpy() if isinstance(x, fovea.Tensor) else np.asarray(x)
    bad = (a != 0) & (a != 1)
    if bad.any():
        raise ValueError(f"{op}: the Bernoulli likelihood needs binary pixels (0 or 1), got "
                         f"{int(bad.sum())} other values such as {float(a[bad][0]):.4g}; "
                         f"binarise the images first, e.g. (x > 0.5).float()")


class _Block(nn.Module):
    def __init__(self, hidden: int, gated: bool):
        super().__init__()
        self.gated = gated
        self.conv = MaskedConv2d("B", hidden, 2 * hidden if gated else hidden, 3)
        self.proj = nn.Conv2d(hidden, hidden, 1)

    def forward(self, x):
        h = self.conv(x)
        if self.gated:
            a, b = h.chunk(2, dim=1)
            h = a.tanh() * b.sigmoid()
        else:
            h = F.relu(h)
        return x + self.proj(h)


class PixelCNN(nn.Module):
    """Binary images (N, C, H, W) -> one Bernoulli logit per pixel (N, C, H, W).

    Args:
        channels: image channels (each channel's pixel sees only earlier positions, of all
            channels, not the other channels at its own position: C = 1 is the usual case).
        hidden: feature channels; layers: residual blocks; gated: gated units instead of ReLU.
    """

    def __init__(self, channels: int = 1, hidden: int = 64, layers: int = 5,
                 gated: bool = False):
        super().__init__()
        self.channels = channels
        self.input = MaskedConv2d("A", channels, hidden, 7)
        self.blocks = nn.Sequential(*[_Block(hidden, gated) for _ in range(layers)])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                  nn.Conv2d(hidden, channels, 1))

    def forward(self, x):
        return self.head(self.blocks(self.input(x)))

    def nll(self, x):
        """Exact −log p(x) per image (N,), in nats; raises ValueError for non-binary x."""
        check_binary(x)
        return bernoulli_nll(self(x), x)

    @staticmethod
    def bits_per_dim(nll_nats, dims: int):
        """Nats per image -> bits per pixel: nll / (dims · ln 2)."""
        return nll_nats / (dims * math.log(2))

    def sample(self, n: int, shape, generator=None):
        """n binary images of ``shape`` (H, W), drawn pixel by pixel in raster order."""
        h, w = shape
        x = np.zeros((n, self.channels, h, w), dtype=np.float32)
        g = generator if generator is not None else fovea.default_generator()
        was = self.training
        self.eval()
        with fovea.no_grad():
            for i in range(h):
                for j in range(w):
                    p = self(fovea.tensor(x))[:, :, i, j].sigmoid().numpy()
                    x[:, :, i, j] = g.random(p.shape) < p
        self.train(was)
        return fovea.tensor(x)
