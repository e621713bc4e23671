"""Tiny environments for the RL tests, registered with gymnasium once per session."""

import pytest

gym = pytest.importorskip("gymnasium")


class LoopEnv(gym.Env):
    """The hand-solved MDP of test_tabular: states {0, 1}, actions {stay, go}.

    stay in 0 pays 1, stay in 1 pays 2, go moves to the other state and pays 0. It never
    terminates (only a time limit ends an episode), unless ``goal`` is set: then "go" from
    state 1 pays 5 and terminates.
    """

    def __init__(self, goal: bool = False):
        self.observation_space = gym.spaces.Discrete(2)
        self.action_space = gym.spaces.Discrete(2)
        self.goal = goal
        self.P = {0: {0: [(1.0, 0, 1.0, False)], 1: [(1.0, 1, 0.0, False)]},
                  1: {0: [(1.0, 1, 2.0, False)],
                      1: [(1.0, 0, 5.0, True)] if goal else [(1.0, 0, 0.0, False)]}}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return self.s, {}

    def step(self, a):
        (_, s2, r, done), = self.P[self.s][int(a)]
        self.s = s2
        return s2, r, done, False, {}


class DictObsEnv(gym.Env):
    observation_space = gym.spaces.Dict({"a": gym.spaces.Discrete(2)})
    action_space = gym.spaces.Discrete(2)


for name, kwargs in (("Loop-v0", {}), ("LoopGoal-v0", {"goal": True})):
    if f"FoveaTest/{name}" not in gym.registry:
        gym.register(f"FoveaTest/{name}", entry_point=LoopEnv, kwargs=kwargs,
                     max_episode_steps=10)
if "FoveaTest/DictObs-v0" not in gym.registry:
    gym.register("FoveaTest/DictObs-v0", entry_point=DictObsEnv)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """RL's networks are small: one BLAS thread is fastest (what `fovea rl` uses)."""
    from fovea.backends.cpu import blas

    before = blas.get_num_threads()
    blas.set_num_threads(1)
    yield
    if before is not None:
        blas.set_num_threads(before)
