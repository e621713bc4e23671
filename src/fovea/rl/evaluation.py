"""Evaluating a policy: play whole episodes, return one total reward per episode."""

from __future__ import annotations

import numpy as np


def evaluate_tabular(env, policy, seeds) -> np.ndarray:
    """Returns of a table policy (S,) over episodes reset with each seed in ``seeds``."""
    policy = np.asarray(policy)
    return play_episodes(env, lambda obs: int(policy[obs]), seeds)


def play_episodes(env, act, seeds) -> np.ndarray:
    """Returns (float64, one per seed) of ``act(obs) -> action`` over whole episodes."""
    out = []
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        total, done = 0.0, False
        while not done:
            obs, r, terminated, truncated, _ = env.step(act(obs))
            total += float(r)
            done = terminated or truncated
        out.append(total)
    return np.array(out)


def evaluate_agent(agent, episodes: int = 100, seed: int = 10_000, env=None) -> np.ndarray:
    """Returns of a deep agent's greedy actions over ``episodes`` episodes (seeds seed,
    seed + 1, ...), on a fresh copy of its environment unless ``env`` is given."""
    from fovea.rl.envs import make_env

    env = env if env is not None else make_env(agent.env_id, **agent.env_kwargs)
    try:
        return play_episodes(env, lambda obs: int(agent.act(obs[None])[0]),
                             range(seed, seed + int(episodes)))
    finally:
        env.close()
