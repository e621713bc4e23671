"""The GPU backend with a NumPy stand-in for CuPy, for tests on a machine without a GPU.

:func:`cuda_on_standin` re-registers the test suite's stand-in device (NumPy memory in an
array type of its own that refuses plain NumPy arrays, as CuPy does) with the CUDA backend's
kernel package (``fovea.backends.cuda``) and namespace (scatter-adds through the
``scatter_add`` hook, as ``cupyx.scatter_add``). Everything but the fused ``ElementwiseKernel``
calls then runs as it would on the GPU; those fall back to the array expressions, because
the arrays are not ``cupy.ndarray``.
"""

from __future__ import annotations

import contextlib

from backends import standin
from fovea import backends
from fovea.backends.cuda import runtime

NAME = standin.NAME


@contextlib.contextmanager
def cuda_on_standin(calls: list | None = None):
    """Within the block, the stand-in device runs the CUDA backend (``calls`` records every
    scatter-add the namespace makes)."""

    def scatter_add(out, key, values):
        if calls is not None:
            calls.append(key)
        standin.xp.add.at(out, key, values)

    b = runtime.make_backend(standin.xp, (standin.StandInArray,), name=NAME,
                             scatter_add=scatter_add)
    previous = backends.registered_backend(NAME)
    backends.register(b)
    try:
        yield b
    finally:
        backends.unregister(NAME)
        if previous is not None:
            backends.register(previous)


def _relu(x):
    return standin.xp.where((x > 0) | (x != x), x, x.dtype.type(0))


def _relu_grad(y, g):
    return standin.xp.where(y > 0, g, g.dtype.type(0))


def _bn_apply(xc, scale, shift):
    return xc * scale + shift


def _bn_grad(xc, g, c1, c0, a):
    return (xc * c1 + g - c0) * a


def _adam(g, step_size, beta1, beta2, eps, bc2_sqrt, p, m, v):
    t = p.dtype.type
    if 1.0 - beta1 < 0.5:
        m += t(1.0 - beta1) * (g - m)
    else:
        m[...] = g - (g - m) * t(beta1)
    v[...] = v * t(beta2) + t(1.0 - beta2) * g * g
    p -= t(step_size) * m / (standin.xp.sqrt(v) / t(bc2_sqrt) + t(eps))
    return p, m, v


EMULATED = {"relu": _relu, "relu_grad": _relu_grad, "bn_apply": _bn_apply,
            "bn_grad": _bn_grad, "adam": _adam}
"""The fused kernels' formulas (``fovea.backends.cuda.fused.SOURCES``), rewritten in NumPy
from their documented meaning: what a fake CuPy's ``ElementwiseKernel`` runs, so that the
Python side around each kernel (argument order, per-channel shapes, dtypes, in-place
outputs) is tested without a GPU. The CUDA C itself is compiled and run only on a GPU."""


class FakeElementwiseKernel:
    """``cupy.ElementwiseKernel(in_params, out_params, operation, name)`` running
    :data:`EMULATED` [name without ``fovea_``]; ``built`` records the arguments."""

    built: list = []

    def __init__(self, in_params, out_params, operation, name):
        self.fn = EMULATED[name.removeprefix("fovea_")]
        self.nin = len(in_params.split(","))
        self.nout = len(out_params.split(","))
        FakeElementwiseKernel.built.append(name)

    def __call__(self, *args):
        assert len(args) in (self.nin, self.nin + self.nout), "wrong number of arguments"
        return self.fn(*args)
