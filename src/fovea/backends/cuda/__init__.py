"""CUDA kernels: the kernel families of fovea's GPU backend (CuPy on an NVIDIA GPU).

The backend itself (the ``Backend`` record, its namespace with CuPy's scatter-add, and the
probe that registers it when CuPy imports and a GPU answers) is :mod:`.runtime`. This package
is what ``ctx.kernels`` is for CuPy arrays. Its own families:

* :mod:`.elementwise`: ReLU forward and backward as fused CuPy ``ElementwiseKernel``\\ s;
* :mod:`.norm`: batch norm's training forward and backward with the per-channel apply steps
  fused into one kernel each (the statistics are the generic family's reductions);
* :mod:`.optim`: Adam's whole update (both moments and the step) as one fused kernel.

Every other family (``conv``, ``pool``, ``channels``, ``layout``) is the generic one from
:mod:`fovea.backends.generic`, which computes with CuPy's NumPy API: convolutions as matrix
products per kernel tap (cuBLAS through ``cupy.matmul``). A fused kernel runs only on real
``cupy.ndarray`` arguments of float32/float64 with ``FOVEA_JIT`` on (:mod:`.fused` decides);
otherwise each family falls back to the generic computation, so the package also runs,
and is tested, with a NumPy stand-in for CuPy on a machine without a GPU.

Nothing here imports CuPy at import time, the engine, ``nn`` or above.
"""

from fovea.backends._families import lazy_families
from fovea.backends.cuda import optim  # noqa: F401  (eager: optimizers look it up in vars())

_own = lazy_families(__name__)
_generic = lazy_families("fovea.backends.generic")


def __getattr__(name: str):
    """``fovea.backends.cuda.<family>``: this package's module, else the generic family."""
    try:
        return _own(name)
    except AttributeError:
        return _generic(name)
