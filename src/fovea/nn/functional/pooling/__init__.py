"""Pooling and un-pooling (PyTorch's ``max_pool2d``, ``avg_pool2d``, adaptive pools, unpool),
one module per family:

* :mod:`.max_pool`: ``max_pool2d`` (with ``return_indices``);
* :mod:`.avg_pool`: ``avg_pool2d``;
* :mod:`.adaptive`: ``adaptive_avg_pool2d``, ``adaptive_max_pool2d``;
* :mod:`.unpool`: ``max_unpool2d``;
* :mod:`.pool1d`: the 1-D pools (``max_pool1d`` ...) as 2-D pools on a height-1 plane.

Windowed pooling loops over the kH·kW taps of the window, never over pixels (the window
geometry and max-pool's loops are the device's ``pool`` kernel family:
:mod:`fovea.backends.cpu.pool`, or :mod:`fovea.backends.generic.pool` on a device without
kernels of its own).
Linear poolings (average, adaptive average, unpooling, max-pool's backward) are
:class:`~fovea.nn.functional._linear_map.LinearMapFn` nodes, differentiable to any order.

Output size (per spatial dimension)::

    out = floor((H + 2P - D(K - 1) - 1) / S) + 1       (ceil with ceil_mode; the last
                                                        window must start inside the input
                                                        or the left padding)
"""

from fovea.nn.functional.pooling.adaptive import adaptive_avg_pool2d, adaptive_max_pool2d
from fovea.nn.functional.pooling.avg_pool import avg_pool2d
from fovea.nn.functional.pooling.max_pool import max_pool2d
from fovea.nn.functional.pooling.pool1d import (
    adaptive_avg_pool1d,
    adaptive_max_pool1d,
    avg_pool1d,
    max_pool1d,
)
from fovea.nn.functional.pooling.unpool import max_unpool2d

__all__ = ["adaptive_avg_pool1d", "adaptive_max_pool1d", "avg_pool1d", "max_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool2d", "max_pool2d",
           "max_unpool2d"]
