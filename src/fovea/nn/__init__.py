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

# isort: split
# init, utils and the layers: activations, normalisation, dropout, linear, embedding, losses.
from fovea.nn import init, utils  # noqa: F401
from fovea.nn.modules import (  # noqa: F401
    ELU,
    GELU,
    SELU,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Dropout2d,
    Embedding,
    Flatten,
    GroupNorm,
    Hardtanh,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    Maxout,
    MSELoss,
    NLLLoss,
    PReLU,
    ReLU,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    Softmax,
    Softplus,
    SVMLoss,
    Tanh,
)

# isort: split
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

# isort: split
# Sequences and attention: 1-D convolutions and pools, multi-head attention, Transformers.
from fovea.nn.modules.attention import *  # noqa: F403
from fovea.nn.modules.conv1d import *  # noqa: F403
from fovea.nn.modules.pooling1d import *  # noqa: F403
from fovea.nn.modules.transformer import *  # noqa: F403
