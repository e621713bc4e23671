"""``fovea.backends.cudnn``: PyTorch's cuDNN switches, accepted so that programs written for
a GPU run unchanged. fovea has no cuDNN; on the CPU every flag is a no-op.

* ``benchmark`` (default False): PyTorch times the convolution algorithms on the first call
  of each shape and keeps the fastest. fovea's CPU convolution picks its plan once per call
  from the geometry (see docs/conv.md), whatever this flag says.
* ``deterministic`` (default False): PyTorch then avoids non-deterministic GPU kernels.
  fovea's CPU kernels give the same result for the same input and seed already.
* ``enabled`` (default True): whether PyTorch may use cuDNN at all.
* ``allow_tf32`` (default True): TensorFloat-32 on Ampere GPUs; fovea computes in the
  tensors' own dtype.
"""

from __future__ import annotations

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """Whether cuDNN can be used: never in fovea (False, as PyTorch without CUDA)."""
    return False


def version() -> None:
    """cuDNN's version: None, as PyTorch reports without cuDNN."""
    return None
