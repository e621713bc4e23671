"""Semantic segmentation networks: a fully convolutional network (FCN-32s/16s/8s, Long et
al. 2015) and a U-Net (Ronneberger et al. 2015), small enough to train on a CPU.

Both map images (N, C_in, H, W) to ``{"out": logits (N, num_classes, H, W)}`` (torchvision's
segmentation models return that dict too); H and W must be multiples of 2^depth.
"""

from __future__ import annotations

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea import nn

__all__ = ["FCN", "UNet", "fcn", "unet", "bilinear_kernel"]


def _block(cin: int, cout: int, convs: int = 2) -> nn.Sequential:
    layers = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False),
                   nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*layers)


def bilinear_kernel(channels: int, kernel: int) -> np.ndarray:
    """(C, C, k, k) weights that make a stride-k/2 transposed convolution bilinear
    up-sampling, channel by channel (FCN's initialisation of its learnable up-sampling)."""
    factor = (kernel + 1) // 2
    centre = factor - 1 if kernel % 2 == 1 else factor - 0.5
    og = np.arange(kernel)
    filt = 1 - np.abs(og - centre) / factor
    w = np.zeros((channels, channels, kernel, kernel), np.float32)
    w[np.arange(channels), np.arange(channels)] = np.outer(filt, filt)
    return w


class FCN(nn.Module):
    """FCN with skip connections.

    A VGG-like encoder of five stages (two 3x3 conv-BN-ReLU, then 2x2 max-pool; widths
    ``width * (1, 2, 4, 8, 8)``) gives features at strides 8, 16 and 32. ``variant="32s"``
    scores the stride-32 features (1x1 conv) and up-samples x32; ``"16s"`` first adds the
    stride-16 scores (up-sampled x2), ``"8s"`` also the stride-8 ones. Up-sampling is
    ``"transposed"`` (learnable transposed convolutions initialised to bilinear) or
    ``"bilinear"`` (fixed ``F.interpolate``).

    Shapes: (N, in_channels, H, W) -> {"out": (N, num_classes, H, W)}, H and W multiples of 32.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16,
                 variant: str = "8s", upsample: str = "transposed"):
        super().__init__()
        if variant not in ("32s", "16s", "8s"):
            raise ValueError(f"FCN: variant must be '32s', '16s' or '8s', got {variant!r}")
        if upsample not in ("transposed", "bilinear"):
            raise ValueError(f"FCN: upsample must be 'transposed' or 'bilinear', got "
                             f"{upsample!r}")
        self.variant, self.upsample, self.num_classes = variant, upsample, num_classes
        widths = [width * m for m in (1, 2, 4, 8, 8)]
        self.stages = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.stages.append(_block(cin, w))
            cin = w
        self.score32 = nn.Conv2d(widths[4], num_classes, 1)
        self.score16 = nn.Conv2d(widths[3], num_classes, 1)
        self.score8 = nn.Conv2d(widths[2], num_classes, 1)
        if upsample == "transposed":
            self.up2a = self._deconv(num_classes, 4, 2)
            self.up2b = self._deconv(num_classes, 4, 2)
            final = {"32s": 32, "16s": 16, "8s": 8}[variant]
            self.up_final = self._deconv(num_classes, 2 * final, final)

    @staticmethod
    def _deconv(c: int, k: int, stride: int) -> nn.ConvTranspose2d:
        layer = nn.ConvTranspose2d(c, c, k, stride=stride, padding=(k - stride) // 2, bias=False)
        with fovea.no_grad():
            layer.weight.copy_(fovea.tensor(bilinear_kernel(c, k)))
        return layer

    def _up(self, x, layer, factor: int):
        if self.upsample == "bilinear":
            return F.interpolate(x, scale_factor=factor, mode="bilinear")
        return layer(x)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % 32 or w % 32:
            raise ValueError(f"FCN: image height and width must be multiples of 32, got "
                             f"{(h, w)}")
        feats = []
        for stage in self.stages:
            x = F.max_pool2d(stage(x), 2)
            feats.append(x)
        score = self.score32(feats[4])
        factor = 32
        if self.variant in ("16s", "8s"):
            score = self._up(score, getattr(self, "up2a", None), 2) + self.score16(feats[3])
            factor = 16
        if self.variant == "8s":
            score = self._up(score, getattr(self, "up2b", None), 2) + self.score8(feats[2])
            factor = 8
        return {"out": self._up(score, getattr(self, "up_final", None), factor)}


class UNet(nn.Module):
    """U-Net: ``depth`` down stages (two 3x3 conv-BN-ReLU, 2x2 max-pool; widths doubling
    from ``width``), a bottleneck, and as many up stages (2x2 stride-2 transposed conv,
    concatenation with the encoder's features of the same size, two 3x3 convs), then a 1x1
    conv to the class scores.

    Shapes: (N, in_channels, H, W) -> {"out": (N, num_classes, H, W)}, H, W multiples of
    2^depth.
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, depth: int = 3):
        super().__init__()
        self.depth = depth
        self.down = nn.ModuleList()
        cin = in_channels
        for i in range(depth):
            self.down.append(_block(cin, width * 2 ** i))
            cin = width * 2 ** i
        self.bottom = _block(cin, width * 2 ** depth)
        self.ups, self.up_blocks = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(depth)):
            c = width * 2 ** i
            self.ups.append(nn.ConvTranspose2d(2 * c, c, 2, stride=2))
            self.up_blocks.append(_block(2 * c, c))
        self.head = nn.Conv2d(width, num_classes, 1)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % 2 ** self.depth or w % 2 ** self.depth:
            raise ValueError(f"UNet: image height and width must be multiples of "
                             f"{2 ** self.depth}, got {(h, w)}")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottom(x)
        for up, block, skip in zip(self.ups, self.up_blocks, reversed(skips)):
            x = block(fovea.cat([up(x), skip], dim=1))
        return {"out": self.head(x)}


def fcn(num_classes: int = 4, **kwargs) -> FCN:
    """An FCN-8s (see :class:`FCN`)."""
    return FCN(num_classes, **kwargs)


def unet(num_classes: int = 4, **kwargs) -> UNet:
    """A U-Net (see :class:`UNet`)."""
    return UNet(num_classes, **kwargs)
