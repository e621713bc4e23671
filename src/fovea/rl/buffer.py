"""The experience replay buffer of deep Q-learning (Mnih et al., 2015)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Batch(NamedTuple):
    """A sample of B transitions: obs, next_obs (B, *obs_shape); action (B,) int64;
    reward (B,) float32; terminated (B,) float32 (1 where s' ended the episode)."""

    obs: np.ndarray
    action: np.ndarray
    reward: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray


class ReplayBuffer:
    """A ring buffer of the last ``capacity`` transitions (s, a, r, s', terminated).

    Only *termination* is stored: an episode cut by a time limit (truncation) is not an end
    of the task, and its s' must still be bootstrapped from.

    Args:
        capacity: the number of transitions kept; the oldest is overwritten first.
        obs_shape: the shape of one observation.
    """

    def __init__(self, capacity: int, obs_shape, obs_dtype=np.float32):
        if int(capacity) < 1:
            raise ValueError(f"ReplayBuffer: invalid capacity {capacity!r}: expected an "
                             f"integer >= 1")
        self.capacity = int(capacity)
        shape = (self.capacity, *tuple(obs_shape))
        self.obs = np.zeros(shape, obs_dtype)
        self.next_obs = np.zeros(shape, obs_dtype)
        self.action = np.zeros(self.capacity, np.int64)
        self.reward = np.zeros(self.capacity, np.float32)
        self.terminated = np.zeros(self.capacity, np.float32)
        self.pos = 0  # where the next transition goes
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, reward, next_obs, terminated) -> None:
        """Store one transition, overwriting the oldest when full."""
        i = self.pos
        self.obs[i], self.action[i], self.reward[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement."""
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty")
        idx = rng.integers(0, self.size, size=int(batch_size))
        return Batch(self.obs[idx], self.action[idx], self.reward[idx], self.next_obs[idx],
                     self.terminated[idx])

    def state_dict(self) -> dict[str, np.ndarray]:
        """The stored transitions and position as arrays (for a checkpoint)."""
        n = self.size
        return {"obs": self.obs[:n], "action": self.action[:n], "reward": self.reward[:n],
                "next_obs": self.next_obs[:n], "terminated": self.terminated[:n],
                "pos": np.array(self.pos), "size": np.array(n)}

    def load_state_dict(self, state: dict) -> None:
        n = int(state["size"])
        if n > self.capacity or state["obs"].shape[1:] != self.obs.shape[1:]:
            raise ValueError(f"ReplayBuffer.load_state_dict: {n} transitions of shape "
                             f"{state['obs'].shape[1:]} do not fit a buffer of {self.capacity} "
                             f"x {self.obs.shape[1:]}")
        for k in ("obs", "action", "reward", "next_obs", "terminated"):
            getattr(self, k)[:n] = state[k]
        self.pos, self.size = int(state["pos"]), n
