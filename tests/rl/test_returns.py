"""Reward-to-go, GAE and the truncation bootstrap against hand-worked examples."""

import numpy as np
import pytest

from fovea.rl import bootstrap_truncated, discounted_returns, gae


def test_reward_to_go_by_hand():
    # γ = 0.5: G2 = 3, G1 = 2 + 1.5 = 3.5, G0 = 1 + 1.75 = 2.75
    assert discounted_returns([1, 2, 3], 0.5).tolist() == [2.75, 3.5, 3.0]


def test_reward_to_go_stops_at_episode_ends_and_bootstraps_the_tail():
    # the episode ends after step 1; the next one runs past the end, where V = 4
    g = discounted_returns([1, 2, 3], 0.5, dones=[0, 1, 0], last_value=4.0)
    assert g.tolist() == [2.0, 2.0, 5.0]


def test_reward_to_go_vectorised_over_envs_equals_each_column():
    rng = np.random.default_rng(0)
    r, d = rng.standard_normal((7, 3)), rng.random((7, 3)) < 0.3
    last = rng.standard_normal(3)
    g = discounted_returns(r, 0.9, d, last)
    for j in range(3):
        assert np.allclose(g[:, j], discounted_returns(r[:, j], 0.9, d[:, j], last[j]))


def test_gae_by_hand():
    # δ1 = 1 + .9·2 − 1 = 1.8, δ0 = 1 + .9·1 − .5 = 1.4, A0 = 1.4 + .9·.5·1.8 = 2.21
    adv, ret = gae([1, 1], [0.5, 1.0], gamma=0.9, lam=0.5, last_value=2.0)
    assert np.allclose(adv, [2.21, 1.8]) and np.allclose(ret, [2.71, 2.8])


def test_gae_limits_lambda_one_is_monte_carlo_and_zero_is_td():
    rng = np.random.default_rng(1)
    r, v, d = rng.standard_normal((9, 2)), rng.standard_normal((9, 2)), rng.random((9, 2)) < .2
    last = rng.standard_normal(2)
    a1, _ = gae(r, v, 0.95, 1.0, d, last)
    assert np.allclose(a1 + v, discounted_returns(r, 0.95, d, last))
    a0, _ = gae(r, v, 0.95, 0.0, d, last)
    nxt = np.vstack([v[1:], last[None]])
    assert np.allclose(a0, r + 0.95 * (1 - d) * nxt - v)


def test_gae_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="values of shape"):
        gae([1, 2], [1.0], 0.9, 0.9)


def test_truncated_episodes_get_their_tail_value_terminated_ones_do_not():
    out = bootstrap_truncated([1, 1, 1], truncated=[True, True, False],
                              terminated=[False, True, False], final_values=[10, 10, 10],
                              gamma=0.9)
    assert out.tolist() == [10.0, 1.0, 1.0]
