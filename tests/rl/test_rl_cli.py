"""``fovea rl train|evaluate|play``: run directories, checkpoints, resume, reports, errors."""

import json

import pytest

pytest.importorskip("gymnasium")

from fovea.cli import main  # noqa: E402
from fovea.train.runs import summarize  # noqa: E402


def test_value_iteration_run_evaluate_and_play(tmp_path, capsys):
    out = tmp_path / "vi"
    assert main(["rl", "train", "value-iteration", "--env", "FrozenLake-v1", "--out", str(out),
                 "--eval-episodes", "0"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert round(m["V_start"], 3) == 0.542
    assert main(["rl", "evaluate", str(out), "--episodes", "300", "--json"]) == 0
    r = json.loads(capsys.readouterr().out.split("run written to")[-1].split("\n", 1)[1])
    assert 0.6 < r["mean"] < 0.85 and r["episodes"] == 300   # the optimum is ~0.74
    assert main(["rl", "play", str(out)]) == 0
    text = capsys.readouterr().out
    assert "step    1" in text and ("(terminated)" in text or "(truncated)" in text)
    assert summarize(out)["status"] == "complete"


def test_q_learning_run_on_taxi_writes_tables(tmp_path, capsys):
    out = tmp_path / "q"
    assert main(["rl", "train", "q-learning", "--env", "Taxi-v4", "--steps", "300", "--lr",
                 "0.5", "--out", str(out), "--eval-episodes", "3"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["episodes"] == 300 and m["eval_episodes"] == 3 and m["steps"] > 300


def test_deep_run_checkpoints_resumes_and_reports(tmp_path, capsys):
    out = tmp_path / "ppo"
    common = ["--eval-episodes", "2", "--no-progress"]
    assert main(["rl", "train", "ppo", "--steps", "256", "--set", "n_envs=2",
                 "--set", "n_steps=32", "--set", "hidden=8", "--checkpoint-every", "128",
                 "--out", str(out), *common]) == 0
    for name in ("run.json", "model.safetensors", "metrics.json", "returns.png", "loss.png",
                 "checkpoints/LATEST"):
        assert (out / name).is_file(), name
    first = json.loads((out / "checkpoints" / (out / "checkpoints/LATEST").read_text()
                        / "state.json").read_text())
    assert first["agent"]["steps"] == 256
    assert main(["rl", "train", "--resume", str(out), "--steps", "512", *common]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["steps"] == 512 and m["updates"] == 8   # 4 updates before, 4 after
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "complete" and info["epochs_done"] == 512
    assert info["config"]["options"]["hidden"] == [8]
    assert main(["rl", "evaluate", str(out), "--episodes", "3"]) == 0
    assert "over 3 episodes" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "dqn", "--env", "CartPole-v9"], "close matches: CartPole-v1"),
    (["train", "dqn", "--env", "Pendulum-v1"], "continuous"),
    (["train", "ppo", "--set", "lrr=1"], "invalid --set 'lrr=1'"),
    (["train", "ppo", "--set", "n_envs=x"], "n_envs takes int values like 8"),
    (["train", "value-iteration", "--env", "CartPole-v1"], "tabular methods need Discrete"),
    (["train"], "name an algorithm"),
])
def test_bad_input_is_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["rl", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_existing_out_and_missing_checkpoint_are_refused(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("keep")
    assert main(["rl", "train", "ppo", "--out", str(tmp_path / "x")]) == 2
    assert "already exists" in capsys.readouterr().err
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"kind": "rl", "config": {
        "model": "ppo", "dataset": "CartPole-v1", "seed": 0, "epochs": 10, "options": {}}}))
    assert main(["rl", "train", "--resume", str(run)]) == 2
    assert "no complete checkpoint" in capsys.readouterr().err


def test_env_arguments_reach_gymnasium_and_are_kept_by_the_run(tmp_path, capsys):
    out = tmp_path / "vi8"
    assert main(["rl", "train", "value-iteration", "--env", "FrozenLake-v1", "--env-arg",
                 "map_name=8x8", "--out", str(out), "--eval-episodes", "0"]) == 0
    assert round(json.loads((out / "metrics.json").read_text())["V_start"], 3) == 0.415
    assert json.loads((out / "run.json").read_text())["config"]["env_kwargs"] == {
        "map_name": "8x8"}
    assert main(["rl", "play", str(out)]) == 0
    assert "FFFHFFFF" in capsys.readouterr().out  # a row of the 8x8 map


def _dqn_argv(out, *extra):
    return ["rl", "train", "dqn", "--steps", "600", "--set", "hidden=16",
            "--set", "learning_starts=100", "--set", "train_freq=4", "--set", "batch_size=16",
            "--eval-episodes", "3", "--no-progress", "--seed", "3", "--out", str(out), *extra]


def test_eval_every_keeps_the_best_evaluated_weights_and_leaves_training_unchanged(tmp_path):
    import numpy as np

    from fovea.rl import DQN
    from fovea.rl.evaluation import evaluate_agent
    from fovea.train.checkpoint import load_weights

    plain, periodic = tmp_path / "plain", tmp_path / "periodic"
    assert main(_dqn_argv(plain)) == 0
    assert main(_dqn_argv(periodic, "--eval-every", "150", "--eval-every-episodes", "2",
                          "--checkpoint-every", "300")) == 0
    m = json.loads((periodic / "metrics.json").read_text())
    steps = [s for s, _ in m["evaluations"]]  # the first update at or after each multiple
    assert len(steps) == 4 and all(k * 150 <= s < k * 150 + 4 for k, s in enumerate(steps, 1))
    best = max(r for _, r in m["evaluations"])
    assert m["best_periodic_mean"] == best and m["kept"] == "best"
    assert m["best_step"] == max(s for s, r in m["evaluations"] if r == best)  # later of ties
    # Training did not see the evaluations: the last weights equal the plain run's.
    plain_m = json.loads((plain / "metrics.json").read_text())
    assert m["last_eval_mean"] == plain_m["eval_mean"]
    assert m["train_return_last100"] == plain_m["train_return_last100"]
    # The kept weights are the best file's, and replaying them gives the recorded score.
    kept = load_weights(periodic / "model.safetensors")
    best_w = load_weights(periodic / "best_model.safetensors")
    assert all(np.array_equal(kept[k], best_w[k]) for k in kept)
    agent = DQN("CartPole-v1", seed=3, hidden=(16,))
    agent.model.load_state_dict(best_w)
    assert float(evaluate_agent(agent, 2, seed=20_000).mean()) == best
    assert float(evaluate_agent(agent, 3).mean()) == m["eval_mean"]


def test_eval_every_state_survives_resume_and_bad_values_are_refused(tmp_path, capsys):
    out = tmp_path / "r"
    argv = _dqn_argv(out, "--eval-every", "200", "--eval-every-episodes", "1",
                     "--checkpoint-every", "200")
    argv[argv.index("--steps") + 1] = "400"
    assert main(argv) == 0
    assert main(["rl", "train", "--resume", str(out), "--steps", "600", "--no-progress",
                 "--eval-episodes", "1"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    steps = [s for s, _ in m["evaluations"]]
    assert len(steps) == 3 and all(k * 200 <= s < k * 200 + 4 for k, s in enumerate(steps, 1))
    assert main(_dqn_argv(tmp_path / "bad", "--eval-every", "-5")) == 2
    assert "--eval-every" in capsys.readouterr().err


def test_play_writes_the_episode_as_a_gif_with_gymnasiums_frames(tmp_path, capsys):
    pytest.importorskip("pygame")  # CartPole's renderer (the rl extra installs it)
    import gymnasium
    import numpy as np
    from PIL import Image

    out = tmp_path / "run"
    assert main(["rl", "train", "dqn", "--steps", "200", "--set", "hidden=8", "--set",
                 "learning_starts=50", "--eval-episodes", "0", "--no-progress",
                 "--out", str(out)]) == 0
    gif = tmp_path / "episode.gif"
    assert main(["rl", "play", str(out), "--gif", str(gif), "--seed", "7"]) == 0
    steps = sum(line.startswith("step ") for line in capsys.readouterr().out.splitlines())
    im = Image.open(gif)
    # One 40 ms frame per state (Pillow merges identical consecutive frames, adding their
    # durations): the reset state and one after each step.
    total_ms = 0
    for i in range(im.n_frames):
        im.seek(i)
        total_ms += im.info["duration"]
    assert total_ms == 40 * (steps + 1) and im.size == (600, 400)
    env = gymnasium.make("CartPole-v1", render_mode="rgb_array")
    env.reset(seed=7)
    first = env.render()
    env.close()
    im.seek(0)
    got = np.asarray(im.convert("RGB"), dtype=np.int16)
    # GIF quantises to a palette: the frame matches gymnasium's render up to that.
    assert np.abs(got - first.astype(np.int16)).mean() < 2.0
