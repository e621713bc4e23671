"""Neural-network building blocks: ``Module``, ``Parameter``, layers, ``functional``, ``init``."""

from fovea.nn import functional  # noqa: F401
from fovea.nn.modules import (  # noqa: F401
    Identity,
    Module,
    ModuleDict,
    ModuleList,
    Sequential,
)
from fovea.nn.parameter import Parameter  # noqa: F401
from fovea.nn.modules import (  # noqa: F401
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    Conv2d,
    ConvTranspose2d,
    MaxPool2d,
    MaxUnpool2d,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
