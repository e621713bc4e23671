"""Deep Q-learning (Mnih et al., 2015) with the usual repairs: experience replay, a target
network (hard copies or Polyak averaging), a linear ε schedule, the Huber loss, gradient
clipping and double DQN (van Hasselt et al., 2016, ``double=True``).

The target of a transition (s, a, r, s', terminated) is::

    y = r + γ (1 − terminated) Q_target(s', argmax_a' Q(s', a'))     double DQN
    y = r + γ (1 − terminated) max_a' Q_target(s', a')               plain DQN

Only *termination* stops bootstrapping: when an episode is cut by a time limit
(``truncated``), s' still has a value. Treating truncation as termination teaches the
network that the 500th CartPole step is worth nothing, a common cause of collapse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea import nn
from fovea.rl.agent import Algorithm, check_loss, mlp
from fovea.rl.buffer import ReplayBuffer
from fovea.rl.envs import make_env
from fovea.rl.tabular import linear_schedule


@dataclass
class DQNConfig:
    """DQN's options (defaults: rl-baselines3-zoo's tuned CartPole-v1 settings)."""

    lr: float = 2.3e-3
    gamma: float = 0.99
    buffer_size: int = 100_000
    batch_size: int = 64
    learning_starts: int = 1000      # environment steps of random play before learning
    train_freq: int = 256            # learn every train_freq environment steps ...
    gradient_steps: int = 128        # ... with this many gradient steps
    target_update: int = 256         # hard copy every target_update env steps (tau = 1)
    tau: float = 1.0                 # < 1: Polyak averaging after every gradient step
    eps_start: float = 1.0
    eps_end: float = 0.04
    eps_fraction: float = 0.16       # ε decays over this fraction of the run's steps
    double: bool = False             # True: double DQN
    huber: bool = True
    max_grad_norm: float = 10.0
    hidden: tuple = (256, 256)


class QNetworks(nn.Module):
    """The online Q-network and its target copy (not trained by the optimizer)."""

    def __init__(self, sizes):
        super().__init__()
        self.q = mlp(sizes, nn.ReLU)
        self.target = mlp(sizes, nn.ReLU)
        self.target.load_state_dict(self.q.state_dict())
        for p in self.target.parameters():
            p.requires_grad_(False)


def polyak_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """θ_target ← (1 − τ) θ_target + τ θ (τ = 1: a hard copy)."""
    with fovea.no_grad():
        for t, p in zip(target.parameters(), online.parameters()):
            if tau == 1.0:
                t.copy_(p)
            else:
                t.mul_(1.0 - tau)
                t.add_(p, alpha=tau)


def td_targets(reward, terminated, next_q_target, gamma: float, next_q_online=None):
    """y = r + γ (1 − terminated) Q_target(s', a*), a* = argmax of ``next_q_online`` (double
    DQN) or of ``next_q_target``. reward, terminated: (B,); next_q_*: (B, A). NumPy in/out."""
    chooser = next_q_target if next_q_online is None else next_q_online
    best = np.asarray(chooser).argmax(1)
    nxt = np.asarray(next_q_target)[np.arange(len(best)), best]
    return np.asarray(reward) + gamma * (1.0 - np.asarray(terminated)) * nxt


class DQN(Algorithm):
    """Deep Q-learning on a gymnasium environment with Discrete actions.

    Example::

        agent = DQN("CartPole-v1", seed=0).learn(50_000)
        agent.act(obs_batch)              # greedy actions
    """

    name = "dqn"
    Config = DQNConfig

    def _build(self) -> None:
        c = self.config
        self.model = QNetworks([self.encode.size, *c.hidden, self.n_actions])
        self.optimizer = fovea.optim.Adam(self.model.q.parameters(), lr=c.lr)
        self.buffer = ReplayBuffer(c.buffer_size, (self.encode.size,))
        self.env = make_env(self.env_id, **self.env_kwargs)
        self.env.action_space.seed(self.env_seed)
        self._obs = None
        self._planned = None

    def policy_logits(self, x):
        return self.model.q(x)

    def epsilon(self, total_steps: int) -> float:
        c = self.config
        return linear_schedule(c.eps_start, c.eps_end, int(c.eps_fraction * total_steps))(
            self.steps)

    def _learn_until(self, total_steps: int, callback) -> None:
        c = self.config
        planned = self._planned = max(self._planned or 0, total_steps)
        if self._obs is None:
            obs, _ = self.env.reset(seed=self.env_seed + self.steps)
            self._obs, self._ep_ret, self._ep_len = self.encode(obs), 0.0, 0
        while self.steps < total_steps:
            eps = self.epsilon(planned)
            if self.steps < c.learning_starts or self.rng.random() < eps:
                action = int(self.rng.integers(self.n_actions))
            else:
                action = int(self.greedy(self._obs[None])[0])  # _obs is encoded already
            obs, reward, terminated, truncated, _ = self.env.step(action)
            nxt = self.encode(obs)
            self.buffer.add(self._obs, action, reward, nxt, terminated)
            self.steps += 1
            self._ep_ret += float(reward)
            self._ep_len += 1
            if terminated or truncated:
                self._record_episode(self._ep_ret, self._ep_len)
                obs, _ = self.env.reset()
                nxt, self._ep_ret, self._ep_len = self.encode(obs), 0.0, 0
            self._obs = nxt
            if c.tau == 1.0 and self.steps % c.target_update == 0:
                polyak_update(self.model.target, self.model.q, 1.0)
            if self.steps >= c.learning_starts and self.steps % c.train_freq == 0:
                losses = [self._gradient_step() for _ in range(c.gradient_steps)]
                self.updates += 1
                self.history.loss.append(float(np.mean(losses)))
                self.history.update_step.append(self.steps)
                self.history.epsilon.append(eps)
                if callback is not None and callback(self) is False:
                    return

    def _gradient_step(self) -> float:
        c = self.config
        b = self.buffer.sample(c.batch_size, self.rng)
        with fovea.no_grad():
            nxt = fovea.tensor(b.next_obs)
            q_t = self.model.target(nxt).numpy()
            q_o = self.model.q(nxt).numpy() if c.double else None
        y = fovea.tensor(td_targets(b.reward, b.terminated, q_t, c.gamma, q_o).astype(np.float32))
        q = self.model.q(fovea.tensor(b.obs)).gather(1, fovea.tensor(b.action)[:, None])[:, 0]
        loss = F.huber_loss(q, y) if c.huber else F.mse_loss(q, y)
        check_loss(loss, self.name, self.steps)
        self.optimizer.zero_grad()
        loss.backward()
        if c.max_grad_norm:
            nn.utils.clip_grad_norm_(self.model.q.parameters(), c.max_grad_norm)
        self.optimizer.step()
        if c.tau < 1.0:
            polyak_update(self.model.target, self.model.q, c.tau)
        return float(loss.item())

    def extra_state(self) -> dict:
        return dict(super().extra_state(), planned=self._planned)

    def load_extra_state(self, state: dict) -> None:
        super().load_extra_state(state)
        self._planned = state.get("planned")

    def arrays(self) -> dict:
        return {f"replay.{k}": v for k, v in self.buffer.state_dict().items()}

    def load_arrays(self, arrays: dict) -> None:
        rb = {k[len("replay."):]: v for k, v in arrays.items() if k.startswith("replay.")}
        if rb:
            self.buffer.load_state_dict(rb)
