"""Policy gradients: REINFORCE with a baseline and reward-to-go, A2C with generalised
advantage estimation on vectorised environments, and PPO's clipped objective.

All three maximise E[Σ log π(a_t|s_t) Â_t] with a different advantage estimate Â:

    REINFORCE   Â_t = G_t − V(s_t)                 G_t: the reward-to-go of a whole episode
    A2C, PPO    Â_t = GAE(γ, λ) over n_steps       bootstrapped from the critic V

PPO reuses each rollout for several epochs and clips the probability ratio
r = π(a|s)/π_old(a|s): L = −E[min(r Â, clip(r, 1 − ε, 1 + ε) Â)].
The policy is a ``fovea.distributions.Categorical`` over the network's logits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea import nn
from fovea.distributions import Categorical
from fovea.rl.agent import Algorithm, check_loss, mlp
from fovea.rl.envs import make_env, make_vec_env
from fovea.rl.returns import bootstrap_truncated, discounted_returns, gae


class ActorCritic(nn.Module):
    """Two MLPs on the same input: ``actor`` (action logits) and ``critic`` (V(s), shape (N,))."""

    def __init__(self, n_in: int, n_actions: int, hidden=(64, 64)):
        super().__init__()
        self.actor = mlp([n_in, *hidden, n_actions])
        self.critic = mlp([n_in, *hidden, 1])

    def value(self, x):
        return self.critic(x)[:, 0]


class _PolicyGradient(Algorithm):
    """Shared by REINFORCE, A2C and PPO: the actor-critic, Adam, the gradient step."""

    def _build(self) -> None:
        c = self.config
        self.model = ActorCritic(self.encode.size, self.n_actions, tuple(c.hidden))
        self.optimizer = fovea.optim.Adam(self.model.parameters(), lr=c.lr)

    def policy_logits(self, x):
        return self.model.actor(x)

    def _value_np(self, obs_encoded: np.ndarray) -> np.ndarray:
        with fovea.no_grad():
            return self.model.value(fovea.tensor(obs_encoded)).numpy().astype(np.float64)

    def _step(self, loss, entropy: float) -> float:
        check_loss(loss, self.name, self.steps)
        self.optimizer.zero_grad()
        loss.backward()
        if self.config.max_grad_norm:
            # NOTE: each network on its own, so that the critic's large regression gradients
            # (returns of hundreds) cannot shrink the actor's step.
            for net in (self.model.actor, self.model.critic):
                nn.utils.clip_grad_norm_(net.parameters(), self.config.max_grad_norm)
        self.optimizer.step()
        return float(loss.item())

    def _log_update(self, loss: float, entropy: float) -> None:
        self.updates += 1
        self.history.loss.append(loss)
        self.history.entropy.append(entropy)
        self.history.update_step.append(self.steps)


@dataclass
class REINFORCEConfig:
    """REINFORCE's options (defaults for CartPole-v1)."""

    lr: float = 3e-3
    gamma: float = 0.99
    batch_episodes: int = 8          # episodes per update
    baseline: str = "value"          # "value" (a learned V(s)), "mean" (of the batch) or "none"
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    normalize_advantages: bool = True
    max_grad_norm: float = 1.0
    hidden: tuple = (64, 64)


class REINFORCE(_PolicyGradient):
    """Monte-Carlo policy gradient (Williams, 1992) with reward-to-go and a baseline.

    Each update plays ``batch_episodes`` whole episodes with the current policy; the loss is
    −mean_t log π(a_t|s_t) (G_t − b_t) + value_coef · mean_t (V(s_t) − G_t)². A truncated
    episode's reward-to-go is bootstrapped from V of its last state.
    """

    name = "reinforce"
    Config = REINFORCEConfig

    def _build(self) -> None:
        if self.config.baseline not in ("value", "mean", "none"):
            raise ValueError(f"reinforce: invalid baseline {self.config.baseline!r}: expected "
                             f"value, mean or none")
        super()._build()
        self.env = make_env(self.env_id, **self.env_kwargs)
        self.env.action_space.seed(self.env_seed)
        self._episodes = 0

    def _episode(self):
        obs, _ = self.env.reset(seed=self.env_seed + self._episodes)
        self._episodes += 1
        xs, acts, rews = [], [], []
        while True:
            x = self.encode(obs)
            with fovea.no_grad():
                a = int(Categorical(logits=self.model.actor(fovea.tensor(x))).sample().item())
            obs, r, terminated, truncated, _ = self.env.step(a)
            xs.append(x), acts.append(a), rews.append(float(r))
            self.steps += 1
            if terminated or truncated:
                break
        last = 0.0 if terminated else float(self._value_np(self.encode(obs)[None])[0])
        self._record_episode(sum(rews), len(rews))
        return np.stack(xs), np.array(acts), discounted_returns(rews, self.config.gamma,
                                                                last_value=last)

    def _learn_until(self, total_steps: int, callback) -> None:
        c = self.config
        while self.steps < total_steps:
            eps = [self._episode() for _ in range(c.batch_episodes)]
            x = fovea.tensor(np.concatenate([e[0] for e in eps]))
            a = fovea.tensor(np.concatenate([e[1] for e in eps]))
            g = np.concatenate([e[2] for e in eps])
            dist = Categorical(logits=self.model.actor(x))
            v = self.model.value(x)
            if c.baseline == "value":
                adv = g - v.detach().numpy()
            elif c.baseline == "mean":
                adv = g - g.mean()
            else:
                adv = g.copy()
            if c.normalize_advantages and len(adv) > 1:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            ent = dist.entropy().mean()
            loss = -(dist.log_prob(a) * fovea.tensor(adv.astype(np.float32))).mean() \
                - c.entropy_coef * ent
            if c.baseline == "value":
                loss = loss + c.value_coef * F.mse_loss(v, fovea.tensor(g.astype(np.float32)))
            self._log_update(self._step(loss, 0.0), float(ent.item()))
            if callback is not None and callback(self) is False:
                return

    def extra_state(self) -> dict:
        return dict(super().extra_state(), episodes=self._episodes)

    def load_extra_state(self, state: dict) -> None:
        super().load_extra_state(state)
        self._episodes = int(state.get("episodes", 0))


@dataclass
class A2CConfig:
    """A2C's options (defaults for CartPole-v1)."""

    lr: float = 1e-3
    gamma: float = 0.99
    gae_lambda: float = 0.95
    n_envs: int = 8
    n_steps: int = 16                # steps per environment per update
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    normalize_advantages: bool = False
    max_grad_norm: float = 0.5
    hidden: tuple = (64, 64)


class _Rollouts(_PolicyGradient):
    """Fixed-length rollouts of n_envs vectorised environments (A2C and PPO)."""

    def _build(self) -> None:
        super()._build()
        self.envs = make_vec_env(self.env_id, self.config.n_envs, seed=self.env_seed,
                                 **self.env_kwargs)
        self._obs = None

    def _rollout(self):
        """Play n_steps in every env. Returns (obs (T*N, F), actions, old log π, advantages,
        returns), all flattened time-major, and the mean entropy of the policy."""
        c = self.config
        T, N = c.n_steps, c.n_envs
        if self._obs is None:
            obs, _ = self.envs.reset(seed=self.env_seed + self.steps)
            self._obs = self.encode(obs)
            self._ep_ret, self._ep_len = np.zeros(N), np.zeros(N, np.int64)
        xs = np.zeros((T, N, self.encode.size), np.float32)
        acts, logp = np.zeros((T, N), np.int64), np.zeros((T, N))
        vals, rews, dones = np.zeros((T, N)), np.zeros((T, N)), np.zeros((T, N))
        for t in range(T):
            x = fovea.tensor(self._obs)
            with fovea.no_grad():
                dist = Categorical(logits=self.model.actor(x))
                a = dist.sample()
                logp[t] = dist.log_prob(a).numpy()
                vals[t] = self.model.value(x).numpy()
            xs[t], acts[t] = self._obs, a.numpy()
            obs, r, term, trunc, info = self.envs.step(acts[t])
            self.steps += N
            ended = term | trunc
            final_v = np.zeros(N)
            cut = trunc & ~term
            if cut.any():
                finals = np.stack([info["final_obs"][i] for i in np.flatnonzero(cut)])
                final_v[cut] = self._value_np(self.encode(finals).reshape(cut.sum(), -1))
            rews[t] = bootstrap_truncated(r, trunc, term, final_v, c.gamma)
            dones[t] = ended
            self._ep_ret += r
            self._ep_len += 1
            for i in np.flatnonzero(ended):
                self._record_episode(self._ep_ret[i], self._ep_len[i])
            self._ep_ret[ended], self._ep_len[ended] = 0.0, 0
            self._obs = self.encode(obs)
        adv, ret = gae(rews, vals, c.gamma, c.gae_lambda, dones,
                       last_value=self._value_np(self._obs))
        flat = lambda z: z.reshape(T * N, *z.shape[2:])  # noqa: E731
        return flat(xs), flat(acts), flat(logp), flat(adv), flat(ret)


class A2C(_Rollouts):
    """Synchronous advantage actor-critic (Mnih et al., 2016) with GAE: one gradient step per
    rollout of ``n_envs × n_steps`` transitions; loss = −mean log π(a|s) Â
    + value_coef · mean (V(s) − R̂)² − entropy_coef · H[π]."""

    name = "a2c"
    Config = A2CConfig

    def _learn_until(self, total_steps: int, callback) -> None:
        c = self.config
        while self.steps < total_steps:
            x, a, _, adv, ret = self._rollout()
            if c.normalize_advantages:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            x = fovea.tensor(x)
            dist = Categorical(logits=self.model.actor(x))
            ent = dist.entropy().mean()
            loss = -(dist.log_prob(fovea.tensor(a)) * fovea.tensor(adv.astype(np.float32))).mean()
            loss = loss + c.value_coef * F.mse_loss(self.model.value(x),
                                                    fovea.tensor(ret.astype(np.float32)))
            loss = loss - c.entropy_coef * ent
            self._log_update(self._step(loss, 0.0), float(ent.item()))
            if callback is not None and callback(self) is False:
                return


@dataclass
class PPOConfig:
    """PPO's options (defaults for CartPole-v1)."""

    lr: float = 1e-3
    gamma: float = 0.98
    gae_lambda: float = 0.8
    n_envs: int = 8
    n_steps: int = 32
    n_epochs: int = 20               # passes over each rollout
    batch_size: int = 256            # minibatch size
    clip: float = 0.2
    anneal: bool = True              # lr and clip decay linearly to 0 over the run
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    normalize_advantages: bool = True
    max_grad_norm: float = 0.5
    hidden: tuple = (64, 64)


def ppo_clip_loss(logp, old_logp, adv, clip: float):
    """−mean min(r Â, clip(r, 1 − ε, 1 + ε) Â) with r = exp(logp − old_logp). logp: (B,)
    Tensor; old_logp, adv: (B,) Tensors without gradient."""
    ratio = (logp - old_logp).exp()
    return -fovea.minimum(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()


class PPO(_Rollouts):
    """Proximal policy optimisation (Schulman et al., 2017), clipped objective, with GAE."""

    name = "ppo"
    Config = PPOConfig

    def _learn_until(self, total_steps: int, callback) -> None:
        c = self.config
        self._planned = max(getattr(self, "_planned", 0) or 0, total_steps)
        while self.steps < total_steps:
            frac = 1.0 - self.steps / self._planned if c.anneal else 1.0
            for group in self.optimizer.param_groups:
                group["lr"] = c.lr * frac
            clip = c.clip * frac if c.anneal else c.clip
            x, a, old, adv, ret = self._rollout()
            n = len(a)
            losses, ents = [], []
            for _ in range(c.n_epochs):
                order = self.rng.permutation(n)
                for s in range(0, n, c.batch_size):
                    i = order[s:s + c.batch_size]
                    ad = adv[i]
                    if c.normalize_advantages and len(i) > 1:
                        ad = (ad - ad.mean()) / (ad.std() + 1e-8)
                    xb = fovea.tensor(x[i])
                    dist = Categorical(logits=self.model.actor(xb))
                    ent = dist.entropy().mean()
                    loss = ppo_clip_loss(dist.log_prob(fovea.tensor(a[i])),
                                         fovea.tensor(old[i].astype(np.float32)),
                                         fovea.tensor(ad.astype(np.float32)), max(clip, 1e-8))
                    loss = loss + c.value_coef * F.mse_loss(
                        self.model.value(xb), fovea.tensor(ret[i].astype(np.float32)))
                    loss = loss - c.entropy_coef * ent
                    losses.append(self._step(loss, 0.0))
                    ents.append(float(ent.item()))
            self._log_update(float(np.mean(losses)), float(np.mean(ents)))
            if callback is not None and callback(self) is False:
                return

    def extra_state(self) -> dict:
        return dict(super().extra_state(), planned=getattr(self, "_planned", None))

    def load_extra_state(self, state: dict) -> None:
        super().load_extra_state(state)
        self._planned = state.get("planned")
