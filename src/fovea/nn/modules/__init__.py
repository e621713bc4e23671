"""Layer classes. Each file holds one family; this package re-exports them."""

from fovea.nn.modules.container import Identity, ModuleDict, ModuleList, Sequential  # noqa: F401
from fovea.nn.modules.module import Module  # noqa: F401

# isort: split
# Layers: activations, normalisation, dropout, linear, embedding, losses.
from fovea.nn.modules.activation import (  # noqa: F401
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardshrink,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Maxout,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmin,
    Softplus,
    Softshrink,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from fovea.nn.modules.batchnorm import BatchNorm1d, BatchNorm2d  # noqa: F401
from fovea.nn.modules.distance import CosineSimilarity, PairwiseDistance  # noqa: F401
from fovea.nn.modules.dropout import Dropout, Dropout2d  # noqa: F401
from fovea.nn.modules.flatten import Flatten  # noqa: F401
from fovea.nn.modules.linear import Linear  # noqa: F401
from fovea.nn.modules.loss import (  # noqa: F401
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SVMLoss,
    TripletMarginLoss,
    TripletMarginWithDistanceLoss,
)
from fovea.nn.modules.normalization import GroupNorm, LayerNorm  # noqa: F401
from fovea.nn.modules.sparse import Embedding  # noqa: F401
from fovea.nn.modules.syncbatchnorm import SyncBatchNorm  # noqa: F401

# isort: split
from fovea.nn.modules.conv import Conv2d, ConvTranspose2d  # noqa: F401
from fovea.nn.modules.pooling import (  # noqa: F401
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool2d,
    MaxPool2d,
    MaxUnpool2d,
)
from fovea.nn.modules.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d  # noqa: F401

# isort: split
# Padding, sliding blocks and sub-pixel layers.
from fovea.nn.modules.fold import Fold, Unfold  # noqa: F401
from fovea.nn.modules.padding import *  # noqa: F401,F403
from fovea.nn.modules.pixelshuffle import PixelShuffle, PixelUnshuffle  # noqa: F401

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
