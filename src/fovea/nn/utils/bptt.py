"""Backpropagation through time, the lecture's way: truncation and gradient flow per step.

* :func:`detach_state` and :func:`truncated_windows` carry a recurrent state forward across
  windows of ``k`` steps while backpropagating only inside each window (truncated BPTT).
* :func:`step_gradient_norms` measures how much gradient reaches each time step from a loss
  on the last step: it shrinks geometrically for a vanilla RNN whose recurrent matrix has
  singular values below 1 (vanishing) and grows for one above 1 (exploding), while an LSTM's
  additive cell path keeps it much flatter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from fovea.tensor import Tensor

__all__ = ["detach_state", "truncated_windows", "step_gradient_norms"]


def detach_state(state):
    """The recurrent state cut from its history: a Tensor, or a tuple/list of them
    (``(h, c)`` of an LSTM), or None."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    return state.detach()


def truncated_windows(inputs: Tensor, targets: Tensor | None, k: int,
                      dim: int = 0) -> Iterator[tuple[Tensor, Tensor | None]]:
    """Consecutive windows of ``k`` steps of ``inputs`` (and ``targets``) along ``dim``.

    Use with :func:`detach_state`::

        state = None
        for x, y in truncated_windows(inputs, targets, k=32):
            out, state = lstm(x, detach_state(state))   # gradient stops at the window
            loss = F.cross_entropy(head(out).flatten(0, 1), y.flatten())
            ...
    The last window is shorter when k does not divide the length.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"truncated_windows: k must be a positive integer, got {k!r}")
    n = inputs.shape[dim]
    if targets is not None and targets.shape[dim] != n:
        raise ValueError(f"truncated_windows: inputs have {n} steps along dim {dim} but targets "
                         f"have {targets.shape[dim]}")
    for start in range(0, n, k):
        sl = (slice(None),) * dim + (slice(start, min(start + k, n)),)
        yield inputs[sl], (targets[sl] if targets is not None else None)


def step_gradient_norms(module, x: Tensor,
                        loss_fn: Callable[[Tensor], Tensor] | None = None) -> np.ndarray:
    """‖∂L/∂x_t‖ for every step t, where L is ``loss_fn`` of the last step's output.

    Args:
        module: a recurrent layer (``nn.RNN``/``LSTM``/``GRU``, not batch-first).
        x: (T, N, input_size); a detached copy requiring grad is used.
        loss_fn: maps the last step's output (N, D·H) to a scalar (default: its sum).

    Returns:
        A (T,) float64 array: how much gradient flows back to each step.
    """
    if getattr(module, "batch_first", False):
        raise ValueError("step_gradient_norms: expected a module with batch_first=False")
    xg = x.detach().requires_grad_(True)
    out, _ = module(xg)
    last = out[-1]
    loss = last.sum() if loss_fn is None else loss_fn(last)
    loss.backward()
    g = xg.grad.detach().numpy().astype(np.float64)
    return np.sqrt((g.reshape(g.shape[0], -1) ** 2).sum(axis=1))
