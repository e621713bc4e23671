"""Stateless layer functions: ``import fovea.nn.functional as F``.

Activations and softmax (``activation``), losses (the ``loss`` package, one module per
family), linear, dropout, normalisation, embedding, penalties, convolution, pooling and
upsampling. Every function is differentiable through the autograd engine.
"""

from fovea.nn.functional.activation import (  # noqa: F401
    celu,
    elu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    maxout,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
)
from fovea.nn.functional.distance import (  # noqa: F401
    cosine_similarity,
    normalize,
    pairwise_distance,
)
from fovea.nn.functional.dropout import dropout, dropout2d  # noqa: F401
from fovea.nn.functional.fold import fold, unfold  # noqa: F401
from fovea.nn.functional.linear import linear  # noqa: F401
from fovea.nn.functional.loss import (  # noqa: F401
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gaussian_nll_loss,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    svm_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from fovea.nn.functional.normalization import batch_norm, group_norm, layer_norm  # noqa: F401
from fovea.nn.functional.padding import pad  # noqa: F401
from fovea.nn.functional.pixel_shuffle import pixel_shuffle, pixel_unshuffle  # noqa: F401
from fovea.nn.functional.regularization import (  # noqa: F401
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    max_norm_,
)
from fovea.nn.functional.sparse import embedding, one_hot  # noqa: F401
from fovea.nn.functional.special import erf, erfc  # noqa: F401

# isort: split
from fovea.nn.functional.attention import (  # noqa: F401
    multi_head_attention_forward,
    scaled_dot_product_attention,
)
from fovea.nn.functional.conv import conv2d, conv_transpose2d  # noqa: F401
from fovea.nn.functional.conv1d import conv1d, conv_transpose1d  # noqa: F401
from fovea.nn.functional.pooling import (  # noqa: F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
)
from fovea.nn.functional.upsample import interpolate, upsample  # noqa: F401

# isort: split
# The lectures' regularisers: fractional max-pooling, stochastic depth, DropConnect.
from fovea.nn.functional.pooling.fractional import *  # noqa: F403
from fovea.nn.functional.stochastic import *  # noqa: F403
