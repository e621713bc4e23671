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
from fovea.nn import init, parallel, utils  # noqa: F401
from fovea.nn.modules import (  # noqa: F401
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    BatchNorm1d,
    BatchNorm2d,
    BCELoss,
    BCEWithLogitsLoss,
    CosineSimilarity,
    CrossEntropyLoss,
    Dropout,
    Dropout2d,
    Embedding,
    Flatten,
    GaussianNLLLoss,
    GroupNorm,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSigmoid,
    LogSoftmax,
    Maxout,
    Mish,
    MSELoss,
    NLLLoss,
    PairwiseDistance,
    PoissonNLLLoss,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    SmoothL1Loss,
    Softmax,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    SVMLoss,
    SyncBatchNorm,
    Tanh,
    Tanhshrink,
    Threshold,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
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
# Padding, sliding blocks and sub-pixel layers.
from fovea.nn.modules import (  # noqa: F401
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    Fold,
    PixelShuffle,
    PixelUnshuffle,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    Unfold,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)

# isort: split
# Sequences and attention: 1-D convolutions and pools, multi-head attention, Transformers.
from fovea.nn.modules.attention import *  # noqa: F403
from fovea.nn.modules.conv1d import *  # noqa: F403
from fovea.nn.modules.pooling1d import *  # noqa: F403
from fovea.nn.modules.rnn import *  # noqa: F403
from fovea.nn.modules.transformer import *  # noqa: F403

# isort: split
# The lectures' regularisers: StochasticDepth, DropPath, DropConnect, FractionalMaxPool2d.
from fovea.nn.modules.regularisers import *  # noqa: F403
