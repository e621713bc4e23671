"""``DistributedDataParallel``: the same model in every process, each on its own shard of
the batch, with gradients averaged across processes during ``backward``.

How the averaging overlaps with the backward pass (PyTorch's and Horovod's design):

* The parameters are grouped into **buckets** of about ``bucket_cap_mb`` MiB (the first one
  1 MiB, so that communication starts early), in the reverse order of
  ``module.parameters()``: roughly the order in which backward produces their gradients.
* Each parameter has a post-accumulate-grad hook
  (``Tensor.register_post_accumulate_grad_hook``), which the engine calls as soon as that
  parameter's ``.grad`` is complete, while backward goes on. When every parameter of a
  bucket is ready, the bucket's gradients are copied into one flat buffer and a
  **non-blocking** all-reduce (``MPI_Iallreduce``) of it starts; backward continues with
  the layers below while MPI moves the bytes.
* Buckets start strictly in index order on every process (MPI requires the same order of
  collectives everywhere); when the last parameter is ready, every bucket is waited for
  and the averages are written back into ``.grad``.

Every process must run the same forward/backward sequence. A parameter that gets no
gradient in some step stalls the reduction: pass ``find_unused_parameters=True`` (the
forward output's graph is searched for them, and they count as ready with zero gradient).
"""

from __future__ import annotations

import contextlib

import numpy as np

from fovea.nn.modules.module import Module

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1 << 20  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES


class _Bucket:
    """Parameters whose gradients travel together in one flat buffer (one dtype)."""

    def __init__(self, params, dtype):
        self.params = params
        self.sizes = [p.numel() for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype=dtype)
        self.ready = 0
        self.work = None

    def slice(self, i: int) -> np.ndarray:
        return self.buffer[self.offsets[i]:self.offsets[i + 1]]



def broadcast_from_rank_0(tensors) -> None:
    """Rank 0's values of ``tensors`` (None entries skipped) on every process, in place: one
    non-blocking broadcast each, then waited for together."""
    from fovea import distributed as dist

    works = [dist.broadcast(t, 0, async_op=True) for t in tensors if t is not None]
    for w in works:
        w.wait()

class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (``torch.nn.parallel.DistributedDataParallel``).

    Construction broadcasts the parameters and buffers of rank 0 to every process. Then
    ``loss.backward()`` leaves in every process's ``.grad`` the average of the processes'
    gradients, so that identical optimizer steps keep the replicas identical. With a loss
    that is the mean over each process's batch of B examples, the result equals one
    process's gradient on the concatenated batch of N·B (use :class:`~fovea.nn.SyncBatchNorm`
    for batch norm to match too).

    Args:
        module: the model (``self.module``; ``state_dict`` keys get the ``module.`` prefix).
        device_ids, output_device, dim, process_group, check_reduction,
            gradient_as_bucket_view, static_graph: accepted for PyTorch's signature.
        broadcast_buffers: before each forward in training mode, copy rank 0's buffers
            (batch-norm running statistics) to every process.
        bucket_cap_mb: bucket size in MiB.
        find_unused_parameters: search each forward's output graph for parameters that
            will get no gradient, and treat them as ready (zero gradient).

    ``with ddp.no_sync(): loss.backward()`` accumulates local gradients without
    communicating (gradient accumulation); the next backward outside it averages the sum.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float | None = 25, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False):
        from fovea import distributed as dist

        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: default process group has not been "
                               "initialized, please make sure to call init_process_group.")
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.require_backward_grad_sync = True
        self.world_size = dist.get_world_size()
        cap = 25 if bucket_cap_mb is None else float(bucket_cap_mb)
        if cap <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb}")
        self.bucket_bytes_cap = int(cap * (1 << 20))
        params, seen = [], set()
        for p in module.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                params.append(p)
        self._params = params
        self._sync_module_states()
        self._buckets = self._make_buckets(params)
        self._where = {}  # id(param) -> (bucket index, position in it)
        for b, bucket in enumerate(self._buckets):
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (b, i)
        self._next = 0  # the next bucket to start
        self._marked: set[int] = set()
        self._handles = [p.register_post_accumulate_grad_hook(self._grad_ready)
                         for p in params]

    # --- set-up ---------------------------------------------------------------------------
    def _sync_module_states(self) -> None:
        """Every process starts from rank 0's parameters and buffers."""
        if self.world_size == 1:
            return
        broadcast_from_rank_0([*self.module.parameters(), *self.module.buffers()])

    def _make_buckets(self, params) -> list[_Bucket]:
        """Reverse parameter order, one dtype per bucket, the first capped at 1 MiB."""
        buckets, current, size, dtype = [], [], 0, None
        cap = min(_FIRST_BUCKET_BYTES, self.bucket_bytes_cap)
        for p in reversed(params):
            nbytes = p._data.nbytes
            if current and (p.dtype != dtype or size + nbytes > cap):
                buckets.append(_Bucket(current, current[0]._data.dtype))
                current, size, cap = [], 0, self.bucket_bytes_cap
            current.append(p)
            size += nbytes
            dtype = p.dtype
        if current:
            buckets.append(_Bucket(current, current[0]._data.dtype))
        return buckets

    # --- forward --------------------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._marked or self._next:
            raise RuntimeError(
                "DistributedDataParallel: expected to have finished reduction in the prior "
                "iteration before starting a new one: some parameters received no gradient "
                "in the last backward; pass find_unused_parameters=True if the model does "
                "not use all its parameters in every step")
        if self.training and self.broadcast_buffers and self.world_size > 1:
            broadcast_from_rank_0(self.module.buffers())
        out = self.module(*inputs, **kwargs)
        if self.find_unused_parameters and self.require_backward_grad_sync:
            self._mark_unused(out)
        return out

    def _mark_unused(self, out) -> None:
        """Parameters that ``out``'s graph does not reach get no gradient: ready now."""
        from fovea.autograd import Function, _topological_order
        from fovea.tensor import Tensor

        roots = _tensors_in(out)
        reached = {id(t) for t in roots if t.grad_fn is None}
        for node in _topological_order([t.grad_fn for t in roots if t.grad_fn is not None]):
            for e in node.edges:
                if e is not None and not isinstance(e, Function) and isinstance(e, Tensor):
                    reached.add(id(e))
        for p in self._params:
            if id(p) not in reached:
                self._grad_ready(p, used=False)

    # --- the reduction --------------------------------------------------------------------
    def _grad_ready(self, p, used: bool = True) -> None:
        """Post-accumulate hook: ``p.grad`` is final; start every bucket that is complete."""
        if not self.require_backward_grad_sync or self.world_size == 1:
            return
        if id(p) in self._marked:
            if used:  # a second backward through the same step: PyTorch refuses it too
                raise RuntimeError("DistributedDataParallel: a parameter was marked ready "
                                   "twice in one iteration (a second backward without "
                                   "no_sync, or a parameter found unused that was used)")
            return
        self._marked.add(id(p))
        b, _ = self._where[id(p)]
        self._buckets[b].ready += 1
        while self._next < len(self._buckets):
            bucket = self._buckets[self._next]
            if bucket.ready < len(bucket.params):
                break
            self._start(bucket)
            self._next += 1
        # Let MPI progress the buckets in flight (it only moves data inside MPI calls).
        for bucket in self._buckets[:self._next]:
            if bucket.work is not None:
                bucket.work.is_completed()
        if self._next == len(self._buckets):
            self._finish()

    def _start(self, bucket: _Bucket) -> None:
        from fovea.distributed.collectives import ReduceOp, all_reduce_array

        for i, q in enumerate(bucket.params):
            part = bucket.slice(i)
            if q.grad is None:
                part[...] = 0
            else:
                part[...] = q.grad._data.reshape(-1)
        bucket.work = all_reduce_array(bucket.buffer, ReduceOp.AVG)

    def _finish(self) -> None:
        """Wait for every bucket and write the averaged gradients back into ``.grad``."""
        from fovea.tensor import Tensor

        for bucket in self._buckets:
            bucket.work.wait()
            bucket.work, bucket.ready = None, 0
            for i, q in enumerate(bucket.params):
                avg = bucket.slice(i).reshape(q.shape)
                if q.grad is None:
                    if not avg.any():  # unused on every process: stays None
                        continue
                    q.grad = Tensor._make(avg.copy(), None)
                else:
                    q.grad._data[...] = avg
        self._next = 0
        self._marked.clear()

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward accumulates local gradients and communicates nothing."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


def _tensors_in(out) -> list:
    """The Tensors in a forward's output (a Tensor, or nested tuples/lists/dicts of them)."""
    from fovea.tensor import Tensor

    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors_in(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors_in(o)]
    return []
