"""Returns and advantages, on NumPy arrays of shape (T,) or (T, N) (time first, then envs).

The recursions run backwards over time (one step per row, vectorised over the N envs):

    reward-to-go   G_t = r_t + γ (1 − d_t) G_{t+1},            G_T = last_value
    GAE            δ_t = r_t + γ (1 − d_t) V_{t+1} − V_t,       V_T = last_value
                   A_t = δ_t + γ λ (1 − d_t) A_{t+1}

``d_t`` is 1 where the episode ended at step t (terminated or truncated), which cuts the sum;
a *truncated* episode's tail value is added to its last reward beforehand
(:func:`bootstrap_truncated`), so time limits do not look like failures.
"""

from __future__ import annotations

import numpy as np


def _arrays(rewards, dones):
    r = np.asarray(rewards, dtype=np.float64)
    d = np.zeros_like(r) if dones is None else np.asarray(dones, dtype=np.float64)
    if d.shape != r.shape:
        raise ValueError(f"returns: dones of shape {d.shape} do not match rewards of shape "
                         f"{r.shape}")
    return r, d


def discounted_returns(rewards, gamma: float, dones=None, last_value=0.0) -> np.ndarray:
    """Reward-to-go G_t = Σ_k γ^k r_{t+k} within each episode. rewards, dones: (T,) or (T, N);
    last_value: the value after the last step (0, or V(s_T) to bootstrap); returns float64
    of the rewards' shape."""
    r, d = _arrays(rewards, dones)
    out = np.empty_like(r)
    g = np.broadcast_to(np.asarray(last_value, np.float64), r.shape[1:]).copy()
    for t in range(len(r) - 1, -1, -1):
        g = r[t] + gamma * (1.0 - d[t]) * g
        out[t] = g
    return out


def gae(rewards, values, gamma: float, lam: float, dones=None, last_value=0.0):
    """Generalised advantage estimation (Schulman et al., 2016).

    Args:
        rewards, values, dones: (T,) or (T, N); ``values[t] = V(s_t)``.
        last_value: V(s_T), the state after the last step, (N,) or a scalar.
    Returns:
        (advantages, returns): float64 arrays of the rewards' shape, ``returns = A + V``
        (the critic's regression target, the λ-return).
    """
    r, d = _arrays(rewards, dones)
    v = np.asarray(values, dtype=np.float64)
    if v.shape != r.shape:
        raise ValueError(f"gae: values of shape {v.shape} do not match rewards of shape "
                         f"{r.shape}")
    adv = np.empty_like(r)
    next_v = np.broadcast_to(np.asarray(last_value, np.float64), r.shape[1:]).copy()
    a = np.zeros(r.shape[1:])
    for t in range(len(r) - 1, -1, -1):
        keep = 1.0 - d[t]
        delta = r[t] + gamma * keep * next_v - v[t]
        a = delta + gamma * lam * keep * a
        adv[t] = a
        next_v = v[t]
    return adv, adv + v


def bootstrap_truncated(rewards, truncated, terminated, final_values, gamma: float):
    """r_t + γ V(final s) where an episode was cut by a time limit (truncated and not
    terminated), else r_t. All (N,) arrays (one vector-env step); returns float64 (N,)."""
    r = np.asarray(rewards, dtype=np.float64)
    cut = np.asarray(truncated, bool) & ~np.asarray(terminated, bool)
    return r + gamma * np.where(cut, np.asarray(final_values, np.float64), 0.0)
