"""Environments: ``make_env`` with clear errors, and observation/action space checks.

Everything here wraps gymnasium (an optional dependency: ``pip install 'fovea[rl]'``), whose
API is used unchanged: ``reset(seed=...) -> (obs, info)``, ``step(a) -> (obs, reward,
terminated, truncated, info)``.
"""

from __future__ import annotations

import difflib

import numpy as np


def gym():
    """The gymnasium module, or a one-line error saying how to install it."""
    try:
        import gymnasium
    except ImportError:
        raise ImportError("rl: gymnasium is not installed; pip install 'fovea[rl]' "
                          "(or pip install gymnasium)") from None
    return gymnasium


def check_env_id(env_id: str) -> None:
    """Raise ValueError naming the close matches when ``env_id`` is not registered."""
    registry = gym().registry
    if env_id in registry:
        return
    close = difflib.get_close_matches(env_id, list(registry), n=5, cutoff=0.6)
    hint = f"; close matches: {', '.join(close)}" if close else \
        "; see gymnasium.pprint_registry() for the list"
    raise ValueError(f"rl: unknown environment {env_id!r}{hint}")


def make_env(env_id: str, **kwargs):
    """``gymnasium.make(env_id, **kwargs)`` after checking that the id exists."""
    check_env_id(env_id)
    return gym().make(env_id, **kwargs)


def make_vec_env(env_id: str, num_envs: int, seed: int | None = None, **kwargs):
    """``num_envs`` synchronous copies of ``env_id`` that reset themselves in the same step
    (gymnasium's ``AutoresetMode.SAME_STEP``): when an episode ends, ``step`` returns the
    first observation of the next one and the last one in ``info["final_obs"]``. ``kwargs``
    go to each environment (``map_name="8x8"``)."""
    g = gym()
    check_env_id(env_id)
    envs = g.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                      vector_kwargs={"autoreset_mode": g.vector.AutoresetMode.SAME_STEP},
                      **kwargs)
    if seed is not None:
        envs.action_space.seed(seed)
    return envs


def discrete_actions(space, algo: str, env_id: str = "") -> int:
    """The number of actions of a Discrete space; a ValueError for any other (continuous)."""
    spaces = gym().spaces
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    kind = "continuous" if isinstance(space, spaces.Box) else type(space).__name__
    raise ValueError(f"{algo}: the action space of {env_id or 'the environment'} is {kind} "
                     f"({space}); {algo} needs a Discrete action space (e.g. CartPole-v1, "
                     f"Acrobot-v1, LunarLander-v3)")


class ObservationEncoder:
    """Turns observations into float32 network inputs of ``size`` features.

    A ``Box`` is flattened; a ``Discrete(n)`` becomes a one-hot vector of length n. Any other
    space (Dict, Tuple, Text, ...) is refused with a one-line ValueError.
    """

    def __init__(self, space, algo: str = "rl", env_id: str = ""):
        spaces = gym().spaces
        self.discrete = isinstance(space, spaces.Discrete)
        if self.discrete:
            self.n, self.start, self.size = int(space.n), int(space.start), int(space.n)
        elif isinstance(space, spaces.Box):
            self.shape = tuple(space.shape)
            self.size = int(np.prod(self.shape))
        else:
            raise ValueError(f"{algo}: the observation space of {env_id or 'the environment'} "
                             f"is {type(space).__name__} ({space}), which a network cannot "
                             f"take: expected a Box (flattened) or Discrete (one-hot)")

    def __call__(self, obs) -> np.ndarray:
        """One observation -> (size,); a batch -> (N, size)."""
        obs = np.asarray(obs)
        if self.discrete:
            idx = obs.astype(np.int64) - self.start
            return np.eye(self.n, dtype=np.float32)[idx]
        if obs.shape == self.shape:
            return obs.astype(np.float32).reshape(self.size)
        return obs.astype(np.float32).reshape(-1, self.size)
