"""Reinforcement learning on gymnasium environments (lecture 14): tabular dynamic
programming and TD control, deep Q-learning, and policy gradients (REINFORCE, A2C, PPO).

See docs/rl.md. gymnasium is an optional dependency (``pip install 'fovea[rl]'``); it is
imported only when an environment is made.
"""

from fovea.rl.agent import Algorithm, RLHistory, mlp
from fovea.rl.buffer import Batch, ReplayBuffer
from fovea.rl.dqn import DQN, DQNConfig, polyak_update, td_targets
from fovea.rl.envs import ObservationEncoder, make_env, make_vec_env
from fovea.rl.evaluation import evaluate_agent, evaluate_tabular, play_episodes
from fovea.rl.policy_gradient import (
    A2C,
    PPO,
    REINFORCE,
    A2CConfig,
    ActorCritic,
    PPOConfig,
    REINFORCEConfig,
    ppo_clip_loss,
)
from fovea.rl.returns import bootstrap_truncated, discounted_returns, gae
from fovea.rl.tabular import (
    MDP,
    DPResult,
    TabularResult,
    bellman_expectation,
    bellman_optimality,
    epsilon_greedy,
    greedy_policy,
    linear_schedule,
    policy_evaluation,
    policy_iteration,
    q_from_v,
    q_learning,
    sarsa,
    value_iteration,
)

ALGORITHMS = {"dqn": DQN, "reinforce": REINFORCE, "a2c": A2C, "ppo": PPO}

__all__ = [
    "A2C", "A2CConfig", "ALGORITHMS", "ActorCritic", "Algorithm", "Batch", "DPResult", "DQN",
    "DQNConfig", "MDP", "ObservationEncoder", "PPO", "PPOConfig", "REINFORCE",
    "REINFORCEConfig", "RLHistory", "ReplayBuffer", "TabularResult", "bellman_expectation",
    "bellman_optimality", "bootstrap_truncated", "discounted_returns", "epsilon_greedy",
    "evaluate_agent", "evaluate_tabular", "gae", "greedy_policy", "linear_schedule",
    "make_env", "make_vec_env", "mlp", "play_episodes", "policy_evaluation",
    "policy_iteration", "polyak_update", "ppo_clip_loss", "q_from_v", "q_learning", "sarsa",
    "td_targets", "value_iteration",
]
