"""Weight averaging: Polyak / stochastic weight averaging and exponential moving averages.

Instead of evaluating the last weights of a run, evaluate an average of the weights along the
trajectory (Lecture 7, "Polyak averaging"): :class:`AveragedModel` keeps a deep copy of the
model whose parameters are the running average, updated after each optimizer step (or each
epoch)::

    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))
    for x, y in loader:
        ...; opt.step()
        ema.update_parameters(model)
    logits = ema(x_test)

The default average is the plain running mean (SWA); ``get_ema_*`` give the exponential one.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Sequence

from fovea import backends, dtypes
from fovea.autograd import no_grad
from fovea.nn.modules.module import Module
from fovea.optim.optimizer import _lerp_
from fovea.tensor import Tensor

__all__ = [
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _check_decay(decay: float) -> None:
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay <= 1:
        raise ValueError(f"invalid EMA decay {decay!r}: decay must be a number in [0, 1] "
                         "(typically 0.99 to 0.9999)")


def _assign(target: Tensor, value) -> None:
    """Write ``value`` into ``target``'s array in place (casting to its dtype)."""
    target._data[...] = value
    target._version[0] += 1


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    r"""The exponential moving average for many tensors at once, in place.

    .. math:: \bar\theta \leftarrow \text{decay}\,\bar\theta + (1 - \text{decay})\,\theta

    Returns:
        ``fn(averaged: list[Tensor], current: list[Tensor], n_averaged) -> None``.
    """
    _check_decay(decay)

    def ema_update(ema_params: Sequence[Tensor], current_params: Sequence[Tensor], _) -> None:
        for p_ema, p_model in zip(ema_params, current_params):
            if dtypes.is_floating(p_ema.dtype):
                _lerp_(p_ema._data, p_model._data, 1 - decay)
                p_ema._version[0] += 1
            else:
                _assign(p_ema, p_ema._data * decay + p_model._data * (1 - decay))

    return ema_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    r"""The exponential moving average of one tensor: returns
    :math:`\text{decay}\,\bar\theta + (1 - \text{decay})\,\theta`.

    Returns:
        ``fn(averaged: Tensor, current: Tensor, n_averaged) -> Tensor``.
    """
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    r"""The running mean for many tensors at once, in place:
    :math:`\bar\theta \leftarrow \bar\theta + (\theta - \bar\theta) / (n + 1)`."""

    def swa_update(averaged: Sequence[Tensor], current: Sequence[Tensor], num_averaged) -> None:
        n = int(num_averaged)
        for p_avg, p_model in zip(averaged, current):
            if dtypes.is_floating(p_avg.dtype):
                _lerp_(p_avg._data, p_model._data, 1 / (n + 1))
                p_avg._version[0] += 1
            else:
                _assign(p_avg, p_avg._data + (p_model._data - p_avg._data) / (n + 1))

    return swa_update


def get_swa_avg_fn() -> Callable:
    r"""The running mean of one tensor: returns
    :math:`\bar\theta + (\theta - \bar\theta) / (n + 1)`."""

    def swa_update(averaged: Tensor, current: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return averaged + (current - averaged) / (int(num_averaged) + 1)

    return swa_update


class AveragedModel(Module):
    r"""A deep copy of ``model`` whose parameters are an average of ``model``'s over time.

    The first :meth:`update_parameters` copies the weights; later ones average them in: by
    default the running mean :math:`\bar\theta_{n+1} = \bar\theta_n + (\theta -
    \bar\theta_n)/(n+1)` (SWA, Polyak averaging), or whatever ``avg_fn`` / ``multi_avg_fn``
    computes (e.g. :func:`get_ema_multi_avg_fn` for an exponential moving average).
    Calling the averaged model runs the copy's ``forward``. ``state_dict()`` holds
    ``module.<name>`` for the copy's tensors and ``n_averaged``, as PyTorch.

    Args:
        model: the model to average (not modified).
        device: only ``None`` or ``'cpu'`` (for PyTorch's signature).
        avg_fn: ``fn(averaged, current, n_averaged) -> Tensor`` for one parameter.
        multi_avg_fn: ``fn(averaged_list, current_list, n_averaged)`` updating in place.
        use_buffers: average the buffers too (e.g. batch norm's running statistics) instead of
            copying the model's buffers.
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: model must be a fovea.nn.Module, got "
                            f"{type(model).__name__}")
        if device not in (None, "cpu"):
            raise ValueError(f"AveragedModel: device must be None or 'cpu', got {device!r}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give avg_fn or multi_avg_fn, not both")
        for name, fn in (("avg_fn", avg_fn), ("multi_avg_fn", multi_avg_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"AveragedModel: {name} must be callable, got "
                                f"{type(fn).__name__}")
        self.module = copy.deepcopy(model)
        xp = backends.default().xp
        self.register_buffer("n_averaged", Tensor(xp.array(0, dtype=xp.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = bool(use_buffers)

    def forward(self, *args, **kwargs):
        """Run the averaged copy."""
        return self.module(*args, **kwargs)

    def _tensors(self, model: Module) -> list[Tensor]:
        if self.use_buffers:
            return list(itertools.chain(model.parameters(), model.buffers()))
        return list(model.parameters())

    def update_parameters(self, model: Module) -> None:
        """Average ``model``'s current parameters (a model of the same architecture) in."""
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel.update_parameters: expected a fovea.nn.Module, got "
                            f"{type(model).__name__}")
        mine, theirs = self._tensors(self.module), self._tensors(model)
        what = "parameters and buffers" if self.use_buffers else "parameters"
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"{what} but the averaged copy has {len(mine)}")
        for i, (a, b) in enumerate(zip(mine, theirs)):
            if a.shape != b.shape:
                raise ValueError(f"AveragedModel.update_parameters: tensor {i} has shape "
                                 f"{b.shape} in the model but {a.shape} in the averaged copy")
        averaged = [a.detach() for a in mine]  # share arrays and version counters
        current = [b.detach() for b in theirs]
        n = int(self.n_averaged._data)
        with no_grad():
            if n == 0:
                for a, b in zip(averaged, current):
                    _assign(a, b._data)
            else:
                if self.multi_avg_fn is not None:
                    self.multi_avg_fn(averaged, current, self.n_averaged.detach())
                elif self.avg_fn is None:
                    for a, b in zip(averaged, current):  # get_swa_avg_fn on the raw arrays
                        _assign(a, a._data + (b._data - a._data) / (n + 1))
                else:
                    for a, b in zip(averaged, current):
                        out = self.avg_fn(a, b, self.n_averaged.detach())
                        _assign(a, out._data if isinstance(out, Tensor) else out)
            if not self.use_buffers:
                mine_b, theirs_b = list(self.module.buffers()), list(model.buffers())
                if len(mine_b) != len(theirs_b):
                    raise ValueError(f"AveragedModel.update_parameters: the model has "
                                     f"{len(theirs_b)} buffers but the averaged copy has "
                                     f"{len(mine_b)}")
                for a, b in zip(mine_b, theirs_b):
                    _assign(a, b._data)
        # in place: ``array + 1`` on a 0-d array gives a NumPy scalar, not an array
        self.n_averaged._data[...] += 1
        self.n_averaged._version[0] += 1


def _is_batch_norm(m: Module) -> bool:
    return all(hasattr(m, a) for a in ("running_mean", "running_var", "momentum",
                                       "reset_running_stats"))


def update_bn(loader: Iterable, model: Module, device=None) -> None:
    """Recompute batch-norm running statistics of ``model`` with one pass over ``loader``.

    Averaged weights need their own statistics: every batch-norm layer (a module with
    ``running_mean``, ``running_var``, ``momentum`` and ``reset_running_stats()``) is reset and
    set to a cumulative average (``momentum=None``), the data is run through the model in
    training mode, and the momenta and mode are restored.

    Args:
        loader: yields inputs ``x: (N, ...)`` or ``(x, y, ...)`` tuples (the first item is used).
        model: the model (e.g. an :class:`AveragedModel`).
        device: only ``None`` or ``'cpu'``.
    """
    if device not in (None, "cpu"):
        raise ValueError(f"update_bn: device must be None or 'cpu', got {device!r}")
    momenta = {}
    for m in model.modules():
        if _is_batch_norm(m):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                model(batch)
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        model.train(was_training)
