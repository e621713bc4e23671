"""fovea's differentiable twin of the array module, for backward passes with ``create_graph``.

Backward code is written once against a NumPy-like namespace ``ctx.xp``. Normally that is
the array module itself (see :mod:`fovea._arrayns`); when the backward pass is recorded
(``create_graph=True``), it is this module: the same function names and signatures, each
built from fovea ops on Tensors, so the gradient is itself a differentiable function.
"""

from __future__ import annotations

from fovea.ops import arithmetic as _a
from fovea.ops import compare as _c
from fovea.ops import index as _i
from fovea.ops import linalg as _l
from fovea.ops import reduce as _r
from fovea.ops import shape as _s

exp = _a.exp
log = _a.log
sqrt = _a.sqrt
tanh = _a.tanh
abs = _a.abs  # noqa: A001 - NumPy's name
maximum = _a.maximum
minimum = _a.minimum
where = _a.where
sign = _c.sign
matmul = _l.matmul
swapaxes = _s.transpose
expand_dims = _s.unsqueeze
concatenate = _s.cat
scatter_add_zeros = _i.scatter_add_zeros
put_along_axis_zeros = _i.put_along_axis_zeros
take_along_axis = _i.take_along_axis


def sum(x, axis=None, keepdims=False):  # noqa: A001 - NumPy's name
    return _r.sum(x, axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return _r.mean(x, axis, keepdims)


def reshape(x, shape):
    return _s.reshape(x, shape)


def transpose(x, axes):
    return _s.permute(x, *axes)


def broadcast_to(x, shape):
    return _s.expand(x, *shape)


def pad(x, pad_width, mode="constant"):
    return _s.pad_numpy(x, pad_width)


def zeros_like(x):
    return _a.mul(x.detach(), 0)


def astype(x, dtype):
    return _a.cast(x, dtype)
