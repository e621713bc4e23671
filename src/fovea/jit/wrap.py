"""``fovea.jit.wrap``: record a call as one node that runs its Python at every replay.

Some code computes arrays from the data outside the recorded ops: ``cross_entropy`` turns
the targets into index and weight arrays, ``sort`` computes its order with NumPy, a mask
may come from ``x.numpy() > 0``. A trace would replay those arrays as constants. Wrapping
the function (PyTorch's ``torch.fx.wrap`` idea: a leaf the tracer does not enter) records
one :class:`PythonCall` node instead; the replay calls the function again on the new
tensors, and its backward differentiates that call. Outside a trace a wrapped function is
the function itself.
"""

from __future__ import annotations

import functools

from fovea import autograd
from fovea.autograd import Function
from fovea.jit import graph as _graph
from fovea.tensor import Tensor

__all__ = ["wrap", "PythonCall"]


class PythonCall(Function):
    """``fn(*inputs, **kwargs)`` run eagerly inside a replay: one tensor in the graph out."""

    @staticmethod
    def forward(ctx, *arrays, fn, kwargs, need):
        need = getattr(ctx, "needs_input_grad", None) or need  # a replay sets it first
        ts = []
        for a, n in zip(arrays, need):
            t = Tensor._make(a, None)
            t.requires_grad = bool(n)
            ts.append(t)
        tracer, _graph._active.tracer = getattr(_graph._active, "tracer", None), None
        try:  # the leaf's own code is neither recorded nor guarded
            with autograd.observing(None), autograd._GradMode(True in need):
                out = fn(*ts, **kwargs)
        finally:
            _graph._active.tracer = tracer
        if not isinstance(out, Tensor):
            raise TypeError(f"fovea.jit.wrap: {getattr(fn, '__name__', fn)!r} must return one "
                            f"Tensor, got {type(out).__name__}")
        ctx.ts, ctx.out = ts, out
        return out._data

    @staticmethod
    def backward(ctx, g):
        wanted = [t for t in ctx.ts if t.requires_grad]
        if not wanted or not ctx.out.requires_grad:
            return tuple(None for _ in ctx.ts)
        grads = iter(autograd.grad(ctx.out, wanted, Tensor._make(g, None), allow_unused=True))
        out = []
        for t in ctx.ts:
            gi = next(grads) if t.requires_grad else None
            out.append(None if gi is None else gi._data)
        return tuple(out)

    def release(self) -> None:
        super().release()
        self.ts = self.out = None


def wrap(fn):
    """``fn`` as a leaf of traces: its tensor arguments are graph values, its keyword
    arguments constants, and each replay calls it again. Returns one Tensor.

    Use it for code whose arrays depend on the data (losses against targets, sorting,
    masks from ``.numpy()``)::

        loss_fn = fovea.jit.wrap(F.cross_entropy)
    """

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        if getattr(_graph._active, "tracer", None) is None:
            return fn(*args, **kwargs)
        for a in args:
            if not isinstance(a, Tensor):
                raise TypeError(f"fovea.jit.wrap: positional arguments of "
                                f"{getattr(fn, '__name__', 'the function')} must be Tensors in "
                                f"a trace (pass others by keyword), got {type(a).__name__}")
        need = tuple(a.requires_grad and autograd.is_grad_enabled() for a in args)
        return PythonCall.apply(*args, fn=fn, kwargs=kwargs, need=need)

    wrapped._jit_wrapped = fn
    return wrapped
