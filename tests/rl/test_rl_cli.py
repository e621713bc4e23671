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
