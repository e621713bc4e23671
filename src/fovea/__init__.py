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
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    tensor,
    zeros,
    zeros_like,
)
from fovea.dtypes import (
    finfo,
    get_default_dtype,
    half,
    iinfo,
    int8,
    int16,
    is_floating_point,
    set_default_dtype,
    short,
    uint16,
    uint32,
    uint64,
)
from fovea.gradcheck import grad_check_sparse, gradcheck, relative_error
from fovea.ops.arithmetic import (
    abs,
    add,
    clamp,
    clamp_max,
    clamp_min,
    clip,
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
    all,
    allclose,
    any,
    bitwise_and,
    bitwise_left_shift,
    bitwise_not,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    eq,
    equal,
    ge,
    greater,
    greater_equal,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    le,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
    not_equal,
)
from fovea.ops.index import (
    argwhere,
    gather,
    index_select,
    masked_select,
    nonzero,
    take,
    take_along_axis,
    take_along_dim,
)
from fovea.ops.linalg import (
    addbmm,
    addmm,
    addmv,
    addr,
    baddbmm,
    bmm,
    cdist,
    cross,
    dot,
    einsum,
    ger,
    inner,
    kron,
    matmul,
    mm,
    mv,
    outer,
    vdot,
)
from fovea.ops.reduce import (
    amax,
    amin,
    aminmax,
    argmax,
    argmin,
    count_nonzero,
    logsumexp,
    max,
    mean,
    min,
    prod,
    std,
    std_mean,
    sum,
    var,
    var_mean,
)
from fovea.ops.shape import (
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    clone,
    column_stack,
    concat,
    concatenate,
    dsplit,
    dstack,
    expand,
    flatten,
    hsplit,
    hstack,
    meshgrid,
    moveaxis,
    movedim,
    narrow,
    pad,
    permute,
    reshape,
    row_stack,
    split,
    squeeze,
    stack,
    swapaxes,
    swapdims,
    t,
    tensor_split,
    transpose,
    unflatten,
    unsqueeze,
    vsplit,
    vstack,
)
from fovea.tensor import Tensor
from fovea.viz.graph import graph_to_dot

float16 = _np.float16
float32 = _np.float32
float64 = _np.float64
int32 = _np.int32
int64 = _np.int64
uint8 = _np.uint8
bool_ = _np.bool_
long = int64
# PyTorch's aliases (fovea.float is float32, fovea.int is int32, fovea.bool is bool); kept out
# of __all__ so that ``from fovea import *`` does not shadow Python's builtins.
float = float32  # noqa: A001
int = int32  # noqa: A001
bool = bool_  # noqa: A001
double = float64

# Families added as star imports (each module's __all__), and the torch-style subpackages.
from fovea import cuda, distributions, linalg  # noqa: E402,F401  (as torch.cuda, ...)
from fovea.ops.binary import *  # noqa: E402,F403
from fovea.ops.diagonal import *  # noqa: E402,F403
from fovea.ops.elementwise import *  # noqa: E402,F403
from fovea.ops.norms import *  # noqa: E402,F403
from fovea.ops.rearrange import *  # noqa: E402,F403
from fovea.ops.rounding import *  # noqa: E402,F403
from fovea.ops.scan import *  # noqa: E402,F403
from fovea.ops.scatter import *  # noqa: E402,F403
from fovea.ops.selection import *  # noqa: E402,F403
from fovea.ops.sort import *  # noqa: E402,F403
from fovea.random import *  # noqa: E402,F403
from fovea.sampling import *  # noqa: E402,F403
from fovea.serialization import *  # noqa: E402,F403
from fovea.size import *  # noqa: E402,F403
from fovea.tensor_api import *  # noqa: E402,F403

__version__ = "0.1.0"

__all__ = [name for name in dir()
           if not name.startswith("_") and name not in ("float", "int", "bool")]

# isort: split
# After `import fovea`: fovea.optim and fovea.utils.data, as torch.optim and torch.utils.data;
# fovea.jit as torch.jit (a star import would shadow fovea.trace).
from fovea import jit, optim  # noqa: E402,F401
from fovea.utils import data as _utils_data  # noqa: E402,F401

# isort: split
# fovea.onnx as torch.onnx (not starred: its load and export would shadow fovea.load).
from fovea import onnx  # noqa: E402,F401
