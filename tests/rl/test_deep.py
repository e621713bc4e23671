"""Deep RL on CartPole: short seeded runs of each algorithm improve the return (a few
seconds each); DQN stores termination, not truncation; PPO's clipped loss by hand; bad
input gets one-line errors."""

import math

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

import fovea  # noqa: E402
from fovea.rl import A2C, DQN, PPO, REINFORCE, evaluate_agent, make_env, ppo_clip_loss  # noqa: E402
from fovea.train import TrainingDiverged  # noqa: E402

FAST = {
    "ppo": (PPO, dict(n_envs=4, n_steps=64, n_epochs=4, batch_size=128, hidden=(32,)), 6000),
    "dqn": (DQN, dict(hidden=(64,), learning_starts=500, train_freq=32, gradient_steps=16,
                      target_update=128, eps_fraction=0.3, lr=2e-3, double=True), 5000),
    "reinforce": (REINFORCE, dict(hidden=(32,), batch_episodes=4, lr=1e-2), 6000),
    "a2c": (A2C, dict(hidden=(32,), n_envs=4, n_steps=8, lr=3e-3), 8000),
}


@pytest.mark.parametrize("name", sorted(FAST))
def test_short_seeded_run_on_cartpole_improves_the_return(name):
    cls, config, steps = FAST[name]
    agent = cls("CartPole-v1", seed=0, **config).learn(steps)
    r = agent.history.episode_return
    first, last = np.mean(r[:10]), np.mean(r[-10:])
    assert last > 1.5 * first, (first, last)
    assert agent.steps >= steps and len(agent.history.loss) == agent.updates > 0
    assert all(math.isfinite(v) for v in agent.history.loss)
    if name == "dqn":  # ε fell from 1 towards its floor
        assert agent.history.epsilon[0] > agent.history.epsilon[-1] >= 0.04
    else:
        assert 0 < agent.history.entropy[-1] < math.log(2) + 1e-6


def test_same_seed_same_run():
    a = PPO("CartPole-v1", seed=3, n_envs=2, n_steps=16, n_epochs=2, hidden=(8,)).learn(200)
    b = PPO("CartPole-v1", seed=3, n_envs=2, n_steps=16, n_epochs=2, hidden=(8,)).learn(200)
    assert a.history.loss == b.history.loss and a.history.episode_return == \
        b.history.episode_return


def test_dqn_stores_termination_not_truncation():
    # Loop-v0 never terminates: its episodes end only at the 10-step limit, so no stored
    # transition may stop bootstrapping; LoopGoal-v0 terminates when it goes from state 1.
    cut = DQN("FoveaTest/Loop-v0", seed=0, learning_starts=10_000, hidden=(4,)).learn(100)
    assert len(cut.history.episode_return) == 10 and cut.buffer.terminated[:100].sum() == 0
    goal = DQN("FoveaTest/LoopGoal-v0", seed=0, learning_starts=10_000, hidden=(4,)).learn(200)
    n = len(goal.buffer)
    ends = goal.buffer.terminated[:n] == 1
    # terminal transitions are exactly "go" from state 1 (one-hot obs [0, 1], action 1)
    assert ends.any()
    assert np.array_equal(ends, (goal.buffer.obs[:n, 1] == 1) & (goal.buffer.action[:n] == 1))


def test_ppo_clip_loss_by_hand():
    logp = fovea.tensor(np.log([0.5, 0.9, 0.1]))
    old = fovea.tensor(np.log([0.25, 0.9, 0.2]))
    adv = fovea.tensor([1.0, -1.0, -2.0])
    # ratios 2, 1, 0.5; clipped to 1.2, 1, 0.8: min(2, 1.2)=1.2; -1; min(-1, -1.6) = -1.6
    loss = ppo_clip_loss(logp, old, adv, 0.2)
    assert np.isclose(loss.item(), -(1.2 - 1.0 - 1.6) / 3)


def test_evaluate_agent_returns_one_total_per_episode():
    agent = PPO("CartPole-v1", seed=0, n_envs=2, n_steps=8, hidden=(8,))
    r = evaluate_agent(agent, episodes=3)
    assert r.shape == (3,) and np.all(r >= 8) and np.all(r <= 500)


def test_unknown_env_lists_close_matches():
    with pytest.raises(ValueError, match=r"unknown environment 'CartPole-v7'.*CartPole-v1"):
        make_env("CartPole-v7")
    with pytest.raises(ValueError, match="Taxi-v4"):
        DQN("Taxi-v3")


def test_dqn_refuses_continuous_actions():
    with pytest.raises(ValueError, match=r"dqn: the action space of Pendulum-v1 is continuous"):
        DQN("Pendulum-v1")


def test_observation_space_a_network_cannot_take():
    with pytest.raises(ValueError, match="observation space .* is Dict.*a network cannot"):
        PPO("FoveaTest/DictObs-v0")


def test_discrete_observations_are_one_hot():
    agent = DQN("FrozenLake-v1", seed=0, hidden=(4,))
    assert agent.encode(np.array([0, 5])).tolist() == np.eye(16)[[0, 5]].tolist()


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match="unknown option 'learning_rate'"):
        PPO("CartPole-v1", learning_rate=1e-3)


def test_non_finite_loss_stops_with_one_line_error():
    agent = DQN("CartPole-v1", seed=0, learning_starts=32, train_freq=32, gradient_steps=1,
                hidden=(4,))
    with fovea.no_grad():
        agent.model.q[0].weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="dqn: the loss became nan"):
        agent.learn(64)


def test_dqn_acts_greedily_on_one_hot_observations():
    # FrozenLake's states are Discrete. With ε = 0 and no learning, every stored action must
    # be the greedy action of its (one-hot) state: the inputs are encoded exactly once.
    agent = DQN("FrozenLake-v1", seed=1, hidden=(64,), learning_starts=0, train_freq=10**6,
                eps_start=0.0, eps_end=0.0).learn(200)
    n = len(agent.buffer)
    rows = agent.buffer.obs[:n]
    assert np.all(rows.sum(1) == 1) and rows.shape[1] == 16
    # the check can tell states apart:
    assert len(set(agent.greedy(np.eye(16, dtype=np.float32)).tolist())) > 1
    assert np.array_equal(agent.buffer.action[:n], agent.greedy(rows))
