"""What every deep RL algorithm shares: its configuration, seeding, networks, the record of
training (:class:`RLHistory`), evaluation and the state a checkpoint needs to resume.

An algorithm is a class with ``learn(total_steps, callback=None)``, which continues from
where the previous call stopped (so a run can be checkpointed and resumed between calls),
and ``act(obs)`` for the greedy (or most likely) actions of a batch of observations.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

import fovea
from fovea import nn
from fovea.rl.envs import ObservationEncoder, discrete_actions, make_env
from fovea.train.trainer import TrainingDiverged


def mlp(sizes, activation=nn.Tanh) -> nn.Sequential:
    """Linear layers of ``sizes`` (in, hidden..., out) with ``activation`` between them."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


@dataclass
class RLHistory:
    """The record of training: one entry per finished episode (its return, length and the
    environment step at which it ended) and one per update (loss, the step, and ε for DQN
    or the policy's entropy for the policy-gradient methods)."""

    episode_return: list = field(default_factory=list)
    episode_length: list = field(default_factory=list)
    episode_step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    update_step: list = field(default_factory=list)
    epsilon: list = field(default_factory=list)
    entropy: list = field(default_factory=list)

    def mean_return(self, last: int = 100) -> float:
        """The mean return of the last ``last`` finished episodes (nan before the first)."""
        r = self.episode_return[-last:]
        return float(np.mean(r)) if r else float("nan")


def seeds(seed: int) -> tuple[int, int, int]:
    """Independent seeds for the network, the agent's own random choices and the environment
    (spawned from one ``SeedSequence``, so that no two draw the same stream)."""
    return tuple(int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3))


def check_loss(loss, algo: str, step: int) -> None:
    """Stop with a one-line error as soon as the loss is nan or infinite."""
    value = float(loss.item())
    if not math.isfinite(value):
        raise TrainingDiverged(f"{algo}: the loss became {value} at environment step {step}; "
                               f"lower --lr or clip gradients (max_grad_norm)")


class Algorithm:
    """The base of DQN, REINFORCE, A2C and PPO. Subclasses set ``Config`` and ``name``,
    build ``self.model`` (an ``nn.Module`` holding every network) and ``self.optimizer`` in
    ``_build``, and implement ``_learn_until(total_steps, callback)`` and ``_logits``."""

    name = "algorithm"
    Config: type = object

    def __init__(self, env_id: str, seed: int = 0, env_kwargs: dict | None = None, **config):
        names = {f.name for f in fields(self.Config)}
        unknown = sorted(set(config) - names)
        if unknown:
            raise ValueError(f"{self.name}: unknown option {unknown[0]!r}: expected one of "
                             f"{', '.join(sorted(names))}")
        self.config = self.Config(**config)
        self.env_id, self.seed = env_id, int(seed)
        self.env_kwargs = dict(env_kwargs or {})  # for gymnasium.make (map_name="8x8")
        probe = make_env(env_id, **self.env_kwargs)
        self.n_actions = discrete_actions(probe.action_space, self.name, env_id)
        self.encode = ObservationEncoder(probe.observation_space, self.name, env_id)
        probe.close()
        net_seed, agent_seed, self.env_seed = seeds(self.seed)
        fovea.manual_seed(net_seed)
        self.rng = np.random.default_rng(agent_seed)
        self.steps = 0  # environment steps taken so far
        self.updates = 0
        self.history = RLHistory()
        self._build()

    def _build(self) -> None:
        raise NotImplementedError

    def learn(self, total_steps: int, callback=None):
        """Train until ``total_steps`` environment steps have been taken in all (continuing
        from earlier calls). ``callback(self)`` runs after every update; returning False
        stops early. Returns self."""
        if int(total_steps) < 1:
            raise ValueError(f"{self.name}: invalid steps {total_steps!r}: expected an "
                             f"integer >= 1")
        self._learn_until(int(total_steps), callback)
        return self

    def _record_episode(self, ret: float, length: int) -> None:
        h = self.history
        h.episode_return.append(float(ret))
        h.episode_length.append(int(length))
        h.episode_step.append(self.steps)

    def policy_logits(self, x):
        """Action scores for network inputs x (N, features): Q-values or policy logits."""
        raise NotImplementedError

    def act(self, obs) -> np.ndarray:
        """The greedy actions (N,) int64 for raw observations (N, ...) of the environment."""
        return self.greedy(self.encode(obs).reshape(-1, self.encode.size))

    def greedy(self, x: np.ndarray) -> np.ndarray:
        """The greedy actions (N,) for encoded network inputs x (N, features)."""
        with fovea.no_grad():
            scores = self.policy_logits(fovea.tensor(x))
        return scores.numpy().argmax(-1)

    # --- what a checkpoint holds -----------------------------------------------------------
    def extra_state(self) -> dict:
        """JSON-able state beyond the weights and optimizer: counters, history, RNGs."""
        return {"steps": self.steps, "updates": self.updates, "history": asdict(self.history),
                "rng": self.rng.bit_generator.state,
                "fovea_rng": fovea.random.default_generator.bit_generator.state,
                "config": asdict(self.config), "env_id": self.env_id, "seed": self.seed}

    def load_extra_state(self, state: dict) -> None:
        self.steps, self.updates = int(state["steps"]), int(state["updates"])
        self.history = RLHistory(**state["history"])
        self.rng.bit_generator.state = state["rng"]
        fovea.random.default_generator.bit_generator.state = state["fovea_rng"]

    def arrays(self) -> dict:
        """Extra arrays a checkpoint must keep (the replay buffer for DQN)."""
        return {}

    def load_arrays(self, arrays: dict) -> None:
        pass
