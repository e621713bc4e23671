"""The replay buffer: ring order, what a sample holds, uniformity, state round trip; DQN's
targets and target-network updates by hand."""

import numpy as np
import pytest

import fovea
from fovea import nn
from fovea.rl import ReplayBuffer, polyak_update, td_targets


def _filled(n, capacity=3):
    b = ReplayBuffer(capacity, (2,))
    for i in range(n):
        b.add([i, -i], i % 2, float(i), [i + 1, -i - 1], terminated=(i == 3))
    return b


def test_ring_buffer_overwrites_the_oldest_first():
    b = _filled(5)
    # 0, 1, 2 went to slots 0, 1, 2; then 3 -> slot 0 and 4 -> slot 1
    assert len(b) == 3 and b.pos == 2
    assert b.obs[:, 0].tolist() == [3, 4, 2]
    assert b.terminated.tolist() == [1.0, 0.0, 0.0]
    assert b.next_obs[:, 0].tolist() == [4, 5, 3]


def test_samples_are_stored_transitions_drawn_uniformly():
    b = _filled(5)
    s = b.sample(30_000, np.random.default_rng(0))
    assert set(s.obs[:, 0].tolist()) == {2, 3, 4}
    assert np.all(s.next_obs[:, 0] == s.obs[:, 0] + 1)
    assert np.all(s.reward == s.obs[:, 0]) and np.all(s.terminated == (s.obs[:, 0] == 3))
    counts = np.bincount(s.obs[:, 0].astype(int))[2:]
    assert np.all(np.abs(counts / 30_000 - 1 / 3) < 0.02)


def test_state_dict_round_trip_and_errors():
    b = _filled(2, capacity=4)
    c = ReplayBuffer(4, (2,))
    c.load_state_dict(b.state_dict())
    assert len(c) == 2 and c.pos == 2 and np.array_equal(c.obs, b.obs)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(2, (1,)).sample(1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, (1,))


def test_td_targets_plain_and_double_by_hand():
    r, term = np.array([1.0, 1.0]), np.array([0.0, 1.0])
    q_target = np.array([[1.0, 3.0], [5.0, 2.0]])
    q_online = np.array([[4.0, 0.0], [0.0, 1.0]])
    # plain: max target = (3, 5) -> 1 + .5·3, and the terminated one stays r
    assert td_targets(r, term, q_target, 0.5).tolist() == [2.5, 1.0]
    # double: online picks (0, 1), target evaluates them: (1, 2) -> 1 + .5·1
    assert td_targets(r, term, q_target, 0.5, q_online).tolist() == [1.5, 1.0]


def test_polyak_and_hard_target_updates():
    fovea.manual_seed(0)
    online, target = nn.Linear(3, 2), nn.Linear(3, 2)
    t0 = [p.detach().numpy().copy() for p in target.parameters()]
    polyak_update(target, online, 0.25)
    for p, q, old in zip(target.parameters(), online.parameters(), t0):
        assert np.allclose(p.detach().numpy(), 0.75 * old + 0.25 * q.detach().numpy())
    polyak_update(target, online, 1.0)
    for p, q in zip(target.parameters(), online.parameters()):
        assert np.array_equal(p.detach().numpy(), q.detach().numpy())
