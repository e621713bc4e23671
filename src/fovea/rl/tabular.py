"""Tabular dynamic programming and learning on finite MDPs (lecture 14).

An :class:`MDP` holds the model as arrays: ``T[s, a, s']``, the probability of moving to s'
*and continuing* (transitions that terminate carry no future value), ``R[s, a]``, the
expected reward. ``MDP.from_env`` reads gymnasium's toy-text transition table
(``env.unwrapped.P[s][a] = [(p, s', r, terminated), ...]``).

The Bellman operators, with ``γ`` the discount::

    Q(s, a)      = R(s, a) + γ Σ_s' T(s, a, s') V(s')
    (B^π V)(s)   = Σ_a π(a|s) Q(s, a)           expectation (policy evaluation)
    (B* V)(s)    = max_a Q(s, a)                optimality  (value iteration)

Both are γ-contractions in the max norm, so iterating them converges; iteration stops when
``‖V_{k+1} − V_k‖_∞ < tol``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MDP:
    """A finite MDP. T: (S, A, S) continuation probabilities; R: (S, A) expected rewards."""

    T: np.ndarray
    R: np.ndarray

    def __post_init__(self):
        self.T = np.asarray(self.T, dtype=np.float64)
        self.R = np.asarray(self.R, dtype=np.float64)
        s, a = self.R.shape
        if self.T.shape != (s, a, s):
            raise ValueError(f"MDP: T must have shape (S, A, S) = {(s, a, s)} for R of shape "
                             f"{self.R.shape}, got {self.T.shape}")
        if (self.T < 0).any() or (self.T.sum(-1) > 1 + 1e-9).any():
            raise ValueError("MDP: T[s, a] must be probabilities that sum to at most 1")

    @property
    def num_states(self) -> int:
        return self.R.shape[0]

    @property
    def num_actions(self) -> int:
        return self.R.shape[1]

    @classmethod
    def from_env(cls, env) -> MDP:
        """The MDP of a gymnasium environment with a transition table ``P`` (toy text)."""
        base = getattr(env, "unwrapped", env)
        table = getattr(base, "P", None)
        if not isinstance(table, dict):
            name = getattr(getattr(env, "spec", None), "id", type(base).__name__)
            raise ValueError(f"MDP.from_env: {name} has no transition table P; dynamic "
                             f"programming needs one (FrozenLake-v1, Taxi-v4, CliffWalking-v1)")
        n_s, n_a = len(table), len(table[0])
        rows = [(s, a, p, s2, r, d) for s in range(n_s) for a in range(n_a)
                for (p, s2, r, d) in table[s][a]]
        s, a, p, s2, r, d = (np.array(c) for c in zip(*rows))
        T = np.zeros((n_s, n_a, n_s))
        R = np.zeros((n_s, n_a))
        np.add.at(T, (s.astype(int), a.astype(int), s2.astype(int)), p * (1 - d.astype(float)))
        np.add.at(R, (s.astype(int), a.astype(int)), p * r)
        return cls(T, R)


def q_from_v(mdp: MDP, V: np.ndarray, gamma: float) -> np.ndarray:
    """Q(s, a) = R(s, a) + γ Σ_s' T(s, a, s') V(s'). V: (S,); returns (S, A)."""
    return mdp.R + gamma * mdp.T @ V


def _policy_matrix(mdp: MDP, policy) -> np.ndarray:
    """A policy as (S, A) probabilities: (S,) action indices become one-hot rows."""
    policy = np.asarray(policy)
    if policy.ndim == 1:
        return np.eye(mdp.num_actions)[policy.astype(np.int64)]
    if policy.shape != mdp.R.shape:
        raise ValueError(f"policy: expected (S,) actions or (S, A) = {mdp.R.shape} "
                         f"probabilities, got shape {policy.shape}")
    return policy


def bellman_expectation(mdp: MDP, V, policy, gamma: float) -> np.ndarray:
    """(B^π V)(s) = Σ_a π(a|s) Q(s, a). policy: (S,) actions or (S, A) probabilities."""
    return (_policy_matrix(mdp, policy) * q_from_v(mdp, np.asarray(V, float), gamma)).sum(1)


def bellman_optimality(mdp: MDP, V, gamma: float) -> np.ndarray:
    """(B* V)(s) = max_a Q(s, a)."""
    return q_from_v(mdp, np.asarray(V, float), gamma).max(1)


def greedy_policy(Q: np.ndarray) -> np.ndarray:
    """argmax_a Q(s, a) for every s, (S,) int64; ties go to the lowest action."""
    return np.asarray(Q).argmax(axis=-1).astype(np.int64)


@dataclass
class DPResult:
    """V: (S,) values; Q: (S, A); policy: (S,) greedy actions; iterations: sweeps done."""

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    iterations: int


def _check(gamma, tol, max_iter):
    if not 0 <= gamma <= 1:
        raise ValueError(f"invalid gamma {gamma!r}: expected a number in [0, 1]")
    if not tol > 0:
        raise ValueError(f"invalid tol {tol!r}: expected a positive number")
    if int(max_iter) < 1:
        raise ValueError(f"invalid max_iter {max_iter!r}: expected an integer >= 1")


def policy_evaluation(mdp: MDP, policy, gamma: float = 0.99, tol: float = 1e-10,
                      max_iter: int = 100_000, V0=None) -> np.ndarray:
    """V^π by iterating B^π from ``V0`` (zeros) until ‖ΔV‖_∞ < tol. Returns (S,)."""
    _check(gamma, tol, max_iter)
    pi = _policy_matrix(mdp, policy)
    V = np.zeros(mdp.num_states) if V0 is None else np.asarray(V0, float).copy()
    for _ in range(int(max_iter)):
        new = (pi * q_from_v(mdp, V, gamma)).sum(1)
        if np.abs(new - V).max() < tol:
            return new
        V = new
    return V


def value_iteration(mdp: MDP, gamma: float = 0.99, tol: float = 1e-10,
                    max_iter: int = 100_000) -> DPResult:
    """Iterate V ← B* V until ‖ΔV‖_∞ < tol; the greedy policy of the result."""
    _check(gamma, tol, max_iter)
    V, k = np.zeros(mdp.num_states), 0
    while k < int(max_iter):
        k += 1
        new = bellman_optimality(mdp, V, gamma)
        delta = np.abs(new - V).max()
        V = new
        if delta < tol:
            break
    Q = q_from_v(mdp, V, gamma)
    return DPResult(V, Q, greedy_policy(Q), k)


def policy_iteration(mdp: MDP, gamma: float = 0.99, tol: float = 1e-10,
                     max_iter: int = 1000) -> DPResult:
    """Alternate policy evaluation and greedy improvement until the policy is stable.

    The improvement keeps the current action where it is still (within 1e-12) greedy, so
    that ties cannot make the policy cycle.
    """
    _check(gamma, tol, max_iter)
    policy = np.zeros(mdp.num_states, dtype=np.int64)
    V, k = np.zeros(mdp.num_states), 0
    while k < int(max_iter):
        k += 1
        V = policy_evaluation(mdp, policy, gamma, tol, V0=V)
        Q = q_from_v(mdp, V, gamma)
        best = greedy_policy(Q)
        keep = Q[np.arange(mdp.num_states), policy] >= Q.max(1) - 1e-12
        new = np.where(keep, policy, best)
        if (new == policy).all():
            break
        policy = new
    return DPResult(V, q_from_v(mdp, V, gamma), policy, k)


# --- learning from experience --------------------------------------------------------------

@dataclass
class TabularResult:
    """Q: (S, A) learned values; policy: greedy actions (S,); returns: one per episode."""

    Q: np.ndarray
    policy: np.ndarray
    returns: np.ndarray
    steps: int


def epsilon_greedy(Q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """A random action with probability ε, else a greedy one (ties broken at random)."""
    if rng.random() < epsilon:
        return int(rng.integers(len(Q_row)))
    best = np.flatnonzero(Q_row == Q_row.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


def linear_schedule(start: float, end: float, duration: int):
    """t ↦ start + (end − start)·min(1, t/duration): ε decays linearly, then stays."""
    def value(t: int) -> float:
        frac = min(1.0, t / duration) if duration > 0 else 1.0
        return start + (end - start) * frac
    return value


def _td_control(env, episodes, alpha, gamma, eps_start, eps_end, eps_decay, seed, sarsa):
    n_s, n_a = env.observation_space.n, env.action_space.n
    Q = np.zeros((n_s, n_a))
    rng = np.random.default_rng(seed)
    eps = linear_schedule(eps_start, eps_end, eps_decay if eps_decay is not None
                          else episodes // 2)
    returns, steps = np.zeros(episodes), 0
    for ep in range(episodes):
        s, _ = env.reset(seed=seed + ep)
        e = eps(ep)
        a = epsilon_greedy(Q[s], e, rng)
        total, done = 0.0, False
        while not done:
            s2, r, terminated, truncated, _ = env.step(a)
            a2 = epsilon_greedy(Q[s2], e, rng)
            # NOTE: a truncated episode (time limit) still bootstraps: s2 has a value.
            nxt = 0.0 if terminated else (Q[s2, a2] if sarsa else Q[s2].max())
            Q[s, a] += alpha * (r + gamma * nxt - Q[s, a])
            s, a, total, steps = s2, a2, total + r, steps + 1
            done = terminated or truncated
        returns[ep] = total
    return TabularResult(Q, greedy_policy(Q), returns, steps)


def q_learning(env, episodes: int, alpha: float = 0.1, gamma: float = 0.99,
               eps_start: float = 1.0, eps_end: float = 0.05, eps_decay: int | None = None,
               seed: int = 0) -> TabularResult:
    """Off-policy TD control: Q(s,a) += α (r + γ max_a' Q(s',a') − Q(s,a)), ε-greedy behaviour.

    ε decays linearly from ``eps_start`` to ``eps_end`` over ``eps_decay`` episodes (default
    half of them). Episode k is reset with seed ``seed + k``.
    """
    return _td_control(env, episodes, alpha, gamma, eps_start, eps_end, eps_decay, seed, False)


def sarsa(env, episodes: int, alpha: float = 0.1, gamma: float = 0.99,
          eps_start: float = 1.0, eps_end: float = 0.05, eps_decay: int | None = None,
          seed: int = 0) -> TabularResult:
    """On-policy TD control: Q(s,a) += α (r + γ Q(s',a') − Q(s,a)) with a' the next ε-greedy
    action (the same arguments as :func:`q_learning`)."""
    return _td_control(env, episodes, alpha, gamma, eps_start, eps_end, eps_decay, seed, True)
