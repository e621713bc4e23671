"""``SyncBatchNorm``: batch normalisation whose statistics cover the whole global batch of a
data-parallel job (every process's examples), as ``torch.nn.SyncBatchNorm``."""

from __future__ import annotations

import numpy as np

from fovea.autograd import Function
from fovea.nn.modules._checks import check_float_dtype, check_tensor, shape_str
from fovea.nn.modules.batchnorm import _BatchNorm
from fovea.tensor import Tensor

__all__ = ["SyncBatchNorm"]


def _all_reduce_sum(arr: np.ndarray) -> np.ndarray:
    from fovea.distributed.collectives import ReduceOp, all_reduce_array

    all_reduce_array(arr, ReduceOp.SUM).wait()
    return arr


def _global_moments(x: np.ndarray, axes) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean and biased variance per channel over every process's x, and the count.

    Each process sends (count, mean, M2 = Σ (x − mean)²) of its own examples (two passes:
    exact to rounding) in one all-gather; they are combined with Chan et al.'s parallel
    formula, M2 = Σ M2_r + Σ n_r (mean_r − mean)², which never subtracts large sums.
    """
    from fovea.distributed.collectives import all_gather_array

    c = x.shape[1]
    n = x.size // c
    mean = x.mean(axis=axes, dtype=np.float64)
    shape = (1, c) + (1,) * (x.ndim - 2)
    centred = x - mean.reshape(shape).astype(x.dtype)
    mine = np.empty(2 * c + 1, dtype=np.float64)
    mine[0] = n
    mine[1:c + 1] = mean
    mine[c + 1:] = np.square(centred).sum(axis=axes, dtype=np.float64)
    work = all_gather_array(mine)
    work.wait()
    every = work.result
    counts, means, m2s = every[:, :1], every[:, 1:c + 1], every[:, c + 1:]
    total = float(counts.sum())
    mean_all = (counts * means).sum(axis=0) / total
    m2 = m2s.sum(axis=0) + (counts * np.square(means - mean_all)).sum(axis=0)
    return mean_all, m2 / total, total


class SyncBatchNormFn(Function):
    """y = (x - mean) / sqrt(var + eps) · w + b with mean and (biased) var over the channel's
    elements of *every* process; x (N, C, *) → y (N, C, *).

    Forward: one all-gather of each process's count, mean and sum of squared deviations
    (combined stably, see :func:`_global_moments`). Backward: one all-reduce of
    Σ dy and Σ dy·x̂ per channel; the input gradient is that of the sum of every process's
    loss (DistributedDataParallel then averages the parameters' gradients), and the weight
    and bias gradients are this process's share, as PyTorch's.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, *, eps, stats_out=None):
        c = x.shape[1]
        axes = (0, *range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        acc = np.float64 if x.dtype == np.float64 else np.float32
        mean64, var, count = _global_moments(x, axes)
        mean = mean64.astype(acc)
        invstd = (1.0 / np.sqrt(var + eps)).astype(acc)
        xhat = (x - mean.reshape(shape)) * invstd.reshape(shape)
        ctx.save_for_backward(xhat, weight, invstd)
        ctx.axes, ctx.shape, ctx.count = axes, shape, count
        if stats_out is not None:  # the module's running statistics
            stats_out.append((mean, var, count))
        return (xhat * weight.reshape(shape) + bias.reshape(shape)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, gy):
        xhat, weight, invstd = ctx.saved_tensors
        axes, shape, c = ctx.axes, ctx.shape, weight.shape[0]
        sums = np.empty(2 * c, dtype=np.float64)
        sums[:c] = gy.sum(axis=axes, dtype=np.float64)
        sums[c:] = (gy * xhat).sum(axis=axes, dtype=np.float64)
        grad_bias, grad_weight = sums[:c].astype(gy.dtype), sums[c:].astype(gy.dtype)
        _all_reduce_sum(sums)
        mean_dy = (sums[:c] / ctx.count).astype(gy.dtype).reshape(shape)
        mean_dy_xhat = (sums[c:] / ctx.count).astype(gy.dtype).reshape(shape)
        gx = (gy - mean_dy - xhat * mean_dy_xhat) * (weight * invstd).reshape(shape)
        return gx, grad_weight, grad_bias


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, *) with the statistics of the global batch across processes.

    In training mode inside an initialized ``fovea.distributed`` group of several processes
    the mean and variance of each channel are those of every process's examples together
    (so N processes with batch B normalise exactly as one process with batch N·B would),
    and the running statistics are updated with them (the same on every process). Outside a
    group, with one process, or in eval mode it is :class:`BatchNorm2d`'s computation.

    Args: as :class:`~fovea.nn.BatchNorm1d`; ``process_group`` is accepted for PyTorch's
    signature (fovea has the one default group).
    """

    _expected = "(N, {c}, *)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype)
        self.process_group = process_group

    def _ok_rank(self, ndim: int) -> bool:
        return ndim >= 2

    def forward(self, x: Tensor) -> Tensor:
        from fovea import distributed as dist

        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        name = f"SyncBatchNorm({self.num_features})"
        check_tensor(x, name)
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected input of shape (N, {self.num_features}, *), "
                             f"got {shape_str(x.shape)}")
        check_float_dtype(x, self.weight.dtype if self.affine else None, name)
        if not isinstance(x._data, np.ndarray):
            raise ValueError(f"{name}: the MPI backend works on CPU tensors")
        weight, bias = self.weight, self.bias
        if not self.affine:
            weight = Tensor._make(np.ones(self.num_features, dtype=x.dtype), None)
            bias = Tensor._make(np.zeros(self.num_features, dtype=x.dtype), None)
        stats: list = []
        y = SyncBatchNormFn.apply(x, weight, bias, eps=self.eps, stats_out=stats)
        if self.track_running_stats:
            self._update_running(*stats[0])
        return y

    def _update_running(self, mean, var, count) -> None:
        """running = (1 - m) · running + m · batch (unbiased variance), m = momentum or the
        cumulative 1 / num_batches_tracked."""
        self.num_batches_tracked._data[...] += 1
        m = (1.0 / float(self.num_batches_tracked._data) if self.momentum is None
             else self.momentum)
        unbiased = var * (count / max(count - 1.0, 1.0))
        rm, rv = self.running_mean, self.running_var
        rm._data[...] = (1 - m) * rm._data + m * mean
        rv._data[...] = (1 - m) * rv._data + m * unbiased
        for b in (rm, rv, self.num_batches_tracked):
            b._version[0] += 1

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm that shares its
        parameters and buffers (a BatchNorm given directly is returned converted)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            if module.track_running_stats:
                out.running_mean, out.running_var = module.running_mean, module.running_var
                out.num_batches_tracked = module.num_batches_tracked
            out.train(module.training)
        for name, child in list(module.named_children()):
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
