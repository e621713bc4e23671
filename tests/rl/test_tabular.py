"""Dynamic programming and tabular TD control: the Bellman operators on a two-state MDP
solved by hand, value iteration on FrozenLake against its known values, Q-learning on Taxi
against the optimal policy."""

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from fovea.rl import (  # noqa: E402
    MDP,
    bellman_expectation,
    bellman_optimality,
    policy_evaluation,
    policy_iteration,
    q_learning,
    sarsa,
    value_iteration,
)
from fovea.rl.evaluation import evaluate_tabular  # noqa: E402

# The LoopEnv of conftest: stay in 0 pays 1, stay in 1 pays 2, go switches for 0.
T = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]]], float)
R = np.array([[1, 0], [2, 0]], float)
GAMMA = 0.9
# By hand: V*(1) = 2/(1-γ) = 20; V*(0) = max(1/(1-γ), γ·20) = 18.
Q_STAR = np.array([[1 + GAMMA * 18, GAMMA * 20], [2 + GAMMA * 20, GAMMA * 18]])


def test_bellman_operators_one_step_by_hand():
    mdp = MDP(T, R)
    V = np.array([1.0, 2.0])
    # Q = [[1 + .9, .9·2], [2 + .9·2, .9]] = [[1.9, 1.8], [3.8, 0.9]]
    assert np.allclose(bellman_optimality(mdp, V, GAMMA), [1.9, 3.8])
    assert np.allclose(bellman_expectation(mdp, V, np.full((2, 2), 0.5), GAMMA), [1.85, 2.35])
    assert np.allclose(bellman_expectation(mdp, V, [1, 0], GAMMA), [1.8, 3.8])


def test_policy_evaluation_matches_the_linear_equations_solved_by_hand():
    mdp = MDP(T, R)
    assert np.allclose(policy_evaluation(mdp, [0, 0], GAMMA), [10, 20])
    assert np.allclose(policy_evaluation(mdp, [1, 1], GAMMA), [0, 0])
    # uniform: 0.55 V0 − 0.45 V1 = 0.5 and −0.45 V0 + 0.55 V1 = 1  =>  V = (7.25, 7.75)
    assert np.allclose(policy_evaluation(mdp, np.full((2, 2), 0.5), GAMMA), [7.25, 7.75])


@pytest.mark.parametrize("solver", [value_iteration, policy_iteration])
def test_value_and_policy_iteration_find_the_hand_solution(solver):
    r = solver(MDP(T, R), GAMMA, tol=1e-12)
    assert np.allclose(r.V, [18, 20], atol=1e-9)
    assert np.allclose(r.Q, Q_STAR, atol=1e-9)
    assert r.policy.tolist() == [1, 0]


def test_from_env_reads_termination_and_probabilities():
    env = gym.make("FoveaTest/LoopGoal-v0")
    mdp = MDP.from_env(env)
    assert mdp.T[1, 1].tolist() == [0.0, 0.0]  # terminates: no future value
    assert mdp.R[1, 1] == 5.0 and mdp.T[0, 1].tolist() == [0.0, 1.0]
    # now going from 1 pays 5 and ends: V*(1) = max(20, 5) = 20 still; from 0 the same 18
    assert np.allclose(value_iteration(mdp, GAMMA, tol=1e-12).V, [18, 20])
    with pytest.raises(ValueError, match="no transition table"):
        MDP.from_env(gym.make("CartPole-v1"))


def test_mdp_rejects_inconsistent_shapes():
    with pytest.raises(ValueError, match="T must have shape"):
        MDP(np.zeros((2, 2, 3)), R)


@pytest.mark.parametrize("kw, start", [({}, 0.542), ({"map_name": "8x8"}, 0.415)])
def test_value_iteration_on_frozenlake_gives_the_known_start_value(kw, start):
    mdp = MDP.from_env(gym.make("FrozenLake-v1", is_slippery=True, **kw))
    r = value_iteration(mdp, 0.99, tol=1e-10)
    assert round(r.V[0], 3) == start
    p = policy_iteration(mdp, 0.99)
    assert abs(p.V[0] - r.V[0]) < 1e-6


def test_q_learning_converges_to_q_star_and_bootstraps_through_time_limits():
    # The episodes end only by truncation after 10 steps: if truncation were taken as an
    # end, Q would stay far below Q* (the values of 10-step horizons).
    env = gym.make("FoveaTest/Loop-v0")
    r = q_learning(env, episodes=3000, alpha=0.2, gamma=GAMMA, eps_start=1.0, eps_end=0.3,
                   seed=0)
    assert np.allclose(r.Q, Q_STAR, atol=0.05)
    assert r.policy.tolist() == [1, 0]


def test_sarsa_learns_the_optimal_policy_on_the_loop():
    r = sarsa(gym.make("FoveaTest/Loop-v0"), episodes=2000, alpha=0.2, gamma=GAMMA,
              eps_start=1.0, eps_end=0.01, seed=0)
    assert r.policy.tolist() == [1, 0]
    assert r.Q[1, 0] > 15  # near Q*(1, stay) = 20 once ε is small


def test_q_learning_on_taxi_reaches_the_optimal_return():
    env = gym.make("Taxi-v4")
    best = value_iteration(MDP.from_env(env), 0.99).policy
    learned = q_learning(env, episodes=3000, alpha=0.5, gamma=0.99, seed=0).policy
    seeds = range(10_000, 10_200)
    opt = evaluate_tabular(env, best, seeds)
    got = evaluate_tabular(env, learned, seeds)
    assert got.mean() >= opt.mean() - 0.1, (got.mean(), opt.mean())
