"""fovea: a deep-learning library for computer vision, from scratch on NumPy.

The autograd engine (``Tensor``, ``Function``, ``backward``, ``grad``), layers in
:mod:`fovea.nn`, optimizers in :mod:`fovea.optim`, data in :mod:`fovea.data`, training in
:mod:`fovea.train` and the classic pipeline in :mod:`fovea.classic`.
"""

# First: tunes OpenBLAS before NumPy loads (see there).
from fovea.backends.cpu import process_tuning as _process_tuning  # noqa: F401

# isort: split
import numpy as _np

from fovea import backends, dtypes
from fovea.autograd import (
    Function,
    enable_grad,
    grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from fovea.backends import device
from fovea.creation import (
    arange,
    as_tensor,
    default_generator,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from fovea.dtypes import get_default_dtype, set_default_dtype
from fovea.gradcheck import grad_check_sparse, gradcheck, relative_error
from fovea.ops.arithmetic import (
    abs,
    add,
    clamp,
    clip,
    div,
    exp,
    log,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from fovea.ops.compare import (
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    eq,
    ge,
    gt,
    isfinite,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    lt,
    ne,
    sign,
)
from fovea.ops.index import gather, take_along_axis
from fovea.ops.linalg import matmul, mm
from fovea.ops.reduce import (
    amax,
    amin,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    std,
    sum,
    var,
)
from fovea.ops.shape import (
    cat,
    chunk,
    clone,
    concatenate,
    expand,
    flatten,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from fovea.tensor import Tensor
from fovea.viz import graph_to_dot

float16 = _np.float16
float32 = _np.float32
float64 = _np.float64
int32 = _np.int32
int64 = _np.int64
uint8 = _np.uint8
bool_ = _np.bool_
long = int64
float = float32  # noqa: A001 - PyTorch's alias
double = float64

__version__ = "0.1.0"

from fovea import distributions  # noqa: E402,F401  (fovea.distributions, as torch's)
from fovea.serialization import *  # noqa: E402,F403

__all__ = [name for name in dir() if not name.startswith("_")]

from fovea import optim  # noqa: E402,F401  (fovea.optim after `import fovea`, as torch.optim)
