"""Tracing rules: traceable stand-ins for library functions that compute with NumPy outside
``Function.apply``, so that their values become recorded (recomputed) nodes instead of
constants frozen at trace time:

* evaluation-mode batch norm derives 1/√(running_var + ε) from a live buffer;
* comparisons, logical and bitwise ops and ``isnan``/``isfinite``/... (no gradient, made
  with ``Tensor._make``), and the dtype promotion of an operand that needs no gradient, are
  recorded as :class:`ArrayFn` nodes, so masks such as ``x * (x > 0)`` follow new inputs.

Each rule is ``(module, attribute, replacement)``; :func:`patched` swaps the attribute for
the replacement while a trace records (the library calls these helpers through its module's
globals, so the swap is seen) and restores it afterwards. A replacement computes the same
values with the same operations, in ops, so eager results are bit for bit those of the
original.
"""

from __future__ import annotations

import contextlib

from fovea import autograd
from fovea.autograd import Function
from fovea.nn.functional import normalization
from fovea.ops import _util, compare
from fovea.tensor import Tensor

__all__ = ["RULES", "ArrayFn", "patched"]


class ArrayFn(Function):
    """``xp.<name>(*arrays, **kwargs)`` of the inputs' array module: a function with no
    gradient (a comparison, a logical or bitwise op), recorded by the tracing rules below.
    ``scalar``: a Python number taking position ``scalar[0]`` among the arguments."""

    @staticmethod
    def forward(ctx, *arrays, name, kwargs, scalar=None):
        args = list(arrays)
        if scalar is not None:
            args.insert(scalar[0], scalar[1])
        return getattr(ctx.xp.backend.xp, name)(*args, **kwargs)

    @staticmethod
    def backward(ctx, g):  # pragma: no cover - recorded without grad
        return (None,) * len(ctx.needs_input_grad)


def _batch_norm_eval(x, running_mean, running_var, weight, bias, eps, bshape):
    """Evaluation-mode batch norm as :func:`normalization._batch_norm_eval`, with
    s = γ / √(running_var + ε) built from ops: the running statistics are live buffers, so a
    replay uses their current values (after more training or ``load_state_dict``)."""
    dtype = x.dtype
    inv_std = (1.0 / (running_var + eps).sqrt()).to(dtype)
    mean = running_mean.to(dtype)
    scale = inv_std if weight is None else weight * inv_std
    shift = -(mean * scale)
    if bias is not None:
        shift = shift + bias
    return x * scale.reshape(bshape) + shift.reshape(bshape)


def _recorded(original, tensors_of):
    """``original`` that also tells the tracer of its result as an :class:`ArrayFn` node."""

    def rule(name, *args, **kwargs):
        out = original(name, *args, **kwargs)
        tracer = _tracer[0]
        inputs, scalar, extra = tensors_of(args, kwargs)
        if tracer is not None and isinstance(out, Tensor) and inputs is not None:
            with autograd.no_grad():  # a node without gradient
                tracer(ArrayFn, inputs, {"name": name, "kwargs": extra, "scalar": scalar},
                       out)
        return out

    return rule


def _binary_operands(args, kwargs):
    a, b = args[0], args[1]
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return (a, b), None, {}
    if isinstance(a, Tensor) and isinstance(b, int | float | bool):
        return (a,), (1, b), {}
    if isinstance(b, Tensor) and isinstance(a, int | float | bool):
        return (b,), (0, a), {}
    return None, None, None


def _unary_operand(args, kwargs):
    if not isinstance(args[0], Tensor):
        return None, None, None
    return (args[0],), None, dict(kwargs)


def _cast(t, dtype):
    """``ops._util._cast`` (type promotion of a binary op's operand) as a recorded node when
    it runs outside ``Function.apply`` (an operand that needs no gradient, such as a mask)."""
    out = _ORIGINAL_CAST(t, dtype)
    tracer = _tracer[0]
    if tracer is not None and out.grad_fn is None and out is not t:
        with autograd.no_grad():
            tracer(ArrayFn, (t,), {"name": "astype", "kwargs": {}, "scalar": (1, dtype)}, out)
    return out


_ORIGINAL_CAST = _util._cast
_tracer = [None]  # the tracer that the recorded rules tell (set by ``patched``)

RULES = [(normalization, "_batch_norm_eval", _batch_norm_eval),
         (compare, "_compare", _recorded(compare._compare, _binary_operands)),
         (compare, "_unary", _recorded(compare._unary, _unary_operand)),
         (_util, "_cast", _cast)]


@contextlib.contextmanager
def patched(tracer=None):
    """Install every rule for the duration of a recording; ``tracer`` is told of the
    results of the recorded rules."""
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in RULES]
    prev, _tracer[0] = _tracer[0], tracer
    try:
        for mod, name, fn in RULES:
            setattr(mod, name, fn)
        yield
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)
        _tracer[0] = prev
