"""The fused CUDA kernels (CuPy ``ElementwiseKernel``) and when they may run.

Each kernel is built once, on first use (building one compiles nothing: CuPy compiles it
for a dtype on its first call). :func:`usable` is the one place that decides whether an
array goes to a fused kernel: a real ``cupy.ndarray`` (not a stand-in for CuPy) of float32
or float64, with ``FOVEA_JIT`` on. Callers fall back to the generic (array-module)
computation otherwise, with the same results up to rounding.

Kernels (``T`` is the arrays' dtype, per-channel arguments broadcast against ``x``)::

    relu(x) -> y                         y = x > 0 or x is NaN ? x : 0
    relu_grad(y, g) -> out               out = y > 0 ? g : 0
    bn_apply(xc, scale, shift) -> y      y = xc·scale + shift          (xc = x - mean)
    bn_grad(xc, g, c1, c0, a) -> gx      gx = (xc·c1 + g - c0)·a
    adam(g, step_size, beta1, beta2, eps, bc2_sqrt; p, m, v)   in place on p, m, v
"""

from __future__ import annotations

import sys

from fovea import config

FLOAT_KINDS = ("float32", "float64")

SOURCES: dict[str, tuple[str, str, str]] = {
    # (in_params, out_params, operation): CuPy's ElementwiseKernel arguments.
    "relu": ("T x", "T y", "y = (x > (T)0 || x != x) ? x : (T)0"),
    "relu_grad": ("Y y, T g", "T out", "out = y > (Y)0 ? g : (T)0"),
    "bn_apply": ("T xc, T scale, T shift", "T y", "y = xc * scale + shift"),
    "bn_grad": ("T xc, T g, T c1, T c0, T a", "T gx", "gx = (xc * c1 + g - c0) * a"),
    # PyTorch's Adam step, in the order fovea.optim.Adam computes it on the CPU:
    # m += (1-β1)(g - m) (two-sided, as PyTorch's lerp); v = β2 v + (1-β2) g²;
    # p -= step_size · m / (√v / √bc2 + ε).
    "adam": ("T g, float64 step_size, float64 beta1, float64 beta2, float64 eps, "
             "float64 bc2_sqrt", "T p, T m, T v",
             "m = (1.0 - beta1 < 0.5) ? m + (T)(1.0 - beta1) * (g - m) "
             ": g - (g - m) * (T)beta1; "
             "v = v * (T)beta2 + (T)(1.0 - beta2) * g * g; "
             "p -= (T)step_size * m / (sqrt(v) / (T)bc2_sqrt + (T)eps)"),
}

_built: dict[str, object] = {}


def cupy_module():
    """CuPy if it has been imported (by the backend's probe), else None: nothing here
    imports it, so a stand-in module never pulls CuPy in."""
    return sys.modules.get("cupy")


def usable(*arrays) -> bool:
    """Whether these arrays may go to a fused kernel: all real ``cupy.ndarray``\\ s of one
    float32/float64 dtype, with ``FOVEA_JIT`` on."""
    cp = cupy_module()
    if cp is None or not config.settings().jit:
        return False
    first = arrays[0]
    return (all(type(a) is cp.ndarray for a in arrays)
            and first.dtype.name in FLOAT_KINDS
            and all(a.dtype == first.dtype for a in arrays))


def kernel(name: str, cp=None):
    """The ``ElementwiseKernel`` called ``name`` (see :data:`SOURCES`), built once."""
    k = _built.get(name)
    if k is None:
        cp = cupy_module() if cp is None else cp
        in_params, out_params, operation = SOURCES[name]
        k = _built[name] = cp.ElementwiseKernel(in_params, out_params, operation,
                                                f"fovea_{name}")
    return k
