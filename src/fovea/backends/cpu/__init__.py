"""The CPU backend's kernels: every compiled, BLAS or layout-tuned path of fovea, in one place.

The ops (:mod:`fovea.ops`, :mod:`fovea.nn.functional`) hold the math and the ``Function``
nodes; a fast path is one call into a family below, made with raw NumPy arrays. Each family
has one interface, and a family that may decline returns None (the op then runs its plain
NumPy code, which the tests compare against). Nothing here imports from ``fovea.nn``,
``fovea.optim``, ``fovea.train`` or the engine (``fovea.autograd``, ``fovea.tensor``,
``fovea.ops``); switches come from :mod:`fovea.config`.

Kernel families (raw arrays in and out; (N, C, H, W) arrays may be channels-last views):

* convolution, :mod:`.conv`: ``plan = conv.select(geometry, x_shape, weight_shape, dtype)``
  chooses once (generated LLVM kernels, shifted BLAS products, depthwise, wide patches,
  im2col); then ``plan.forward(x, weight, bias, keep)``, ``plan.grad_input(gy, weight)``,
  ``plan.grad_weight(x, gy)``, ``plan.backward(x, gy, weight, need_x, need_w, need_b)`` on
  NHWC arrays. The plan owns the input buffers its forward keeps for the weight gradient.
* batch norm, :mod:`.norm`: ``y, state = norm.batch_norm_train(x, weight, bias, eps)``;
  ``state.mean``/``state.var`` (batch statistics), ``state.backward(g, weight, need_x)``
  -> (dx, dγ, dβ). Numba passes or NumPy per-channel sums, chosen in the forward.
* pooling, :mod:`.pool`: ``Window`` (the sizes and tap views of one pooling),
  ``pool.max_pool(x, win, need_arg)`` -> (y, winning taps), ``pool.max_pool_backward(g,
  arg, win)``, ``pool.max_pool_gather(x, arg, win)``.
* elementwise, :mod:`.elementwise`: ``relu(x)`` and ``relu_grad(y, g)`` (a compiled pass
  or NumPy's).
* per-channel reductions in any layout, :mod:`.channels`: ``view(x)`` -> ``ChannelView``,
  ``channel_sum``, ``channel_dot``.

Machinery:

* layout, :mod:`.layout`: arrays in another array's axis order (``empty``, ``zeros``,
  ``pad``, ``reshape_order``/``reshape_in_order``); the views the kernels take.
* :mod:`.blas`: ``gemm(a, b, c, accumulate)`` into NumPy's own OpenBLAS (β = 1 in place).
* :mod:`.threads`: ``num_threads()``, ``parallel_for(fn, total, grain)``, ``contiguous(a)``.
* :mod:`.llvm`: LLVM IR -> machine code (llvmlite), for :mod:`.conv.jit_taps`.
* :mod:`.numba`: ``@kernel`` (Numba, compiled on first use), ``available()``, ``enabled(a)``.
* :mod:`.process_tuning`: OpenBLAS's idle threads and malloc's thresholds, set once when
  fovea is imported (this package must therefore not import NumPy in ``__init__``).

Families are imported on first use (``fovea.backends.cpu.norm`` ..., or as
``ctx.kernels.norm`` from an op). :mod:`fovea.backends.generic` has the same interfaces in
NumPy-API code, for devices without kernels of their own.

Adding a kernel: put it in its family's module behind that family's interface (or a new
module with one documented entry point), keep the NumPy code as the fallback, and test both
paths against PyTorch or a formula in ``tests/backends/cpu/``.
"""

from fovea.backends._families import lazy_families

__getattr__ = lazy_families(__name__)
