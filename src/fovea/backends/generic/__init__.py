"""Generic kernels: every kernel family's interface written with the NumPy API only.

A device registered without a kernel package of its own (the test suite's stand-in device,
a new GPU backend before it has tuned kernels) gets these: ``ctx.kernels`` is this package.
Each function takes the array module from its arguments (:func:`fovea.backends.for_arrays`),
so results stay on the arguments' device; nothing here calls ``numpy`` on array data. They
mirror :mod:`fovea.backends.cpu`'s families, with the same signatures and results, and are
tested against the CPU's kernels and PyTorch through the op harness (``tests/oracle.py``).

Families: :mod:`.pool` (``Window``, ``max_pool``, ``max_pool_backward``,
``max_pool_gather``), :mod:`.norm` (``batch_norm_train`` and its state's ``backward``),
:mod:`.elementwise` (``relu``, ``relu_grad``), :mod:`.channels` (``view``, ``channel_sum``,
``channel_dot``) and :mod:`.layout` (``empty``, ``zeros``, ``pad``, ``reshape_order``,
``reshape_in_order``), each imported on first use. The CPU's ``pool.Window`` subclasses
this package's, adding layout-following allocation.

Like the CPU package, nothing here imports from ``fovea.nn``, ``fovea.optim``,
``fovea.train`` or the engine.
"""

from fovea.backends._families import lazy_families

__getattr__ = lazy_families(__name__)
