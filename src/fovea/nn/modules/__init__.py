"""Layer classes. Each file holds one family; this package re-exports them."""

from fovea.nn.modules.container import Identity, ModuleDict, ModuleList, Sequential  # noqa: F401
from fovea.nn.modules.module import Module  # noqa: F401
from fovea.nn.modules.conv import Conv2d, ConvTranspose2d  # noqa: F401
from fovea.nn.modules.pooling import (  # noqa: F401
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    MaxPool2d,
    MaxUnpool2d,
)
from fovea.nn.modules.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401
