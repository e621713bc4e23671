"""``BatchNorm1d`` and ``BatchNorm2d``: batch normalisation with running statistics."""

from __future__ import annotations

from fovea import backends, dtypes
from fovea.nn import functional as F
from fovea.nn import init
from fovea.nn.modules._checks import check_float_dtype, check_tensor, shape_str
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter
from fovea.tensor import Tensor


class _BatchNorm(Module):
    """Shared machinery of the batch-norm layers (PyTorch's semantics and buffer names).

    Training mode normalises with the batch statistics and updates the running ones
    (``running = (1 - m) · running + m · batch``, the unbiased batch variance for
    ``running_var``; with ``momentum=None`` m = 1 / num_batches_tracked, a cumulative
    average). Evaluation mode normalises with the running statistics. Without
    ``track_running_stats`` the batch statistics are used in both modes.
    """

    _expected = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        name = type(self).__name__
        if int(num_features) <= 0:
            raise ValueError(f"{name}: num_features must be positive, got {num_features}")
        if eps <= 0:
            raise ValueError(f"{name}: eps must be positive, got {eps}")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp, c = backends.default().xp, self.num_features
        if self.affine:
            self.weight = Parameter(xp.ones(c, dtype=dtype))
            self.bias = Parameter(xp.zeros(c, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor._make(xp.zeros(c, dtype=dtype), None))
            self.register_buffer("running_var", Tensor._make(xp.ones(c, dtype=dtype), None))
            self.register_buffer("num_batches_tracked",
                                 Tensor._make(xp.array(0, dtype=xp.int64), None))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, num_batches_tracked 0."""
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0
            for b in (self.running_mean, self.running_var, self.num_batches_tracked):
                b._version[0] += 1

    def reset_parameters(self) -> None:
        """Reset the running statistics, and γ = 1, β = 0."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _ok_rank(self, ndim: int) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        name = f"{type(self).__name__}({self.num_features})"
        check_tensor(x, name)
        if not self._ok_rank(x.ndim) or x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected input of shape "
                             f"{self._expected.format(c=self.num_features)}, got "
                             f"{shape_str(x.shape)}")
        dtype = self.weight.dtype if self.affine else (
            self.running_mean.dtype if self.track_running_stats else None)
        check_float_dtype(x, dtype, name)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data[...] += 1
            self.num_batches_tracked._version[0] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._data)
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(x, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L): each of the C features normalised over N (and L).

    Args:
        num_features: C.
        eps: added to the variance.
        momentum: weight of the new batch statistic in the running average (None: cumulative
            average).
        affine: learn γ (init 1) and β (init 0), shapes (C,).
        track_running_stats: keep running_mean / running_var / num_batches_tracked buffers.
        dtype: parameters' and buffers' dtype.
    """

    _expected = "(N, {c}) or (N, {c}, L)"

    def _ok_rank(self, ndim: int) -> bool:
        return ndim in (2, 3)


class BatchNorm2d(_BatchNorm):
    """Spatial batch norm over (N, C, H, W): each channel normalised over N, H and W.

    Arguments as :class:`BatchNorm1d`.
    """

    _expected = "(N, {c}, H, W)"

    def _ok_rank(self, ndim: int) -> bool:
        return ndim == 4
