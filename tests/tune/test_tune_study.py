"""fovea tune end to end on the bundled digits: every trial a run directory reporting its
validation accuracy per epoch, a rerun continues the study, interrupted trials are queued
again, diverged runs count as pruned, and two workers sharing one storage never run a trial
twice."""

import json
import os
import subprocess
import sys

import pytest

optuna = pytest.importorskip("optuna")

from fovea.cli import main  # noqa: E402
from fovea.tune.space import load_space  # noqa: E402
from fovea.tune.study import default_storage, load_study, objective, run_tune  # noqa: E402

SPACE = ('model = "two_layer"\nepochs = 2\nnum_workers = 0\n'
         'lr = "loguniform(1e-3, 3e-2)"\nweight_decay = "loguniform(1e-6, 1e-3)"\n')


@pytest.fixture
def space(tmp_path):
    p = tmp_path / "space.toml"
    p.write_text(SPACE)
    return p


def _states(study):
    return sorted(t.state.name for t in study.trials)


def test_trials_are_run_directories_and_a_rerun_continues_the_study(tmp_path, space, capsys):
    out = tmp_path / "out"
    s = run_tune(space, out, trials=1, pruner="none", seed=0, log=lambda *_: None)
    study = load_study(default_storage(out))
    assert _states(study) == ["COMPLETE"]
    for t in study.trials:
        run = out / "trials" / f"trial-{t.number:04d}"
        assert t.user_attrs["run_dir"] == str(run)
        info = json.loads((run / "run.json").read_text())
        assert info["status"] == "complete" and info["config"]["lr"] == t.params["lr"]
        metrics = json.loads((run / "metrics.json").read_text())
        assert t.value == metrics["val_accuracy"]
        assert t.user_attrs["test_accuracy"] == metrics["test_accuracy"]
        assert sorted(t.intermediate_values) == [1, 2]  # one report per epoch
        assert max(t.intermediate_values.values()) == t.value
    assert {os.path.basename(f) for f in s["files"]} == {"best_trials.md", "lr_vs_reg.png",
                                                         "parallel.png"}
    assert s["best"]["val_accuracy"] == max(t.value for t in study.trials)
    run_tune(space, out, trials=2, pruner="none", seed=1, log=lambda *_: None)
    study = load_study(default_storage(out))
    assert [t.number for t in study.trials] == [0, 1]  # one more, not two more
    assert main(["tune", "--show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "2 complete, 0 pruned" in shown and "best: trial" in shown


def test_an_interrupted_trial_is_failed_and_its_options_queued_again(tmp_path, space):
    out = tmp_path / "out"
    study = load_study(default_storage(out.mkdir() or out), create=True)
    t = study.ask()
    t.suggest_float("lr", 1e-3, 3e-2, log=True)
    t.suggest_float("weight_decay", 1e-6, 1e-3, log=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    t.set_user_attr("pid", dead.pid)
    import socket

    t.set_user_attr("host", socket.gethostname())
    lines = []
    run_tune(space, out, trials=1, pruner="none", log=lines.append)
    study = load_study(default_storage(out))
    assert _states(study) == ["COMPLETE", "FAIL"]
    assert study.trials[1].params == study.trials[0].params
    assert any("was interrupted" in line for line in lines)


def test_a_diverged_trial_counts_as_pruned(tmp_path):
    p = tmp_path / "space.toml"
    p.write_text('model = "two_layer"\nepochs = 2\nlr = "loguniform(1e3, 1e4)"\n')
    out = tmp_path / "out"
    run_tune(p, out, trials=1, log=lambda *_: None)
    (t,) = load_study(default_storage(out)).trials
    assert t.state.name == "PRUNED" and "diverged" in t.user_attrs


def test_the_pruner_stops_a_poor_trial_after_the_epoch_it_reports(tmp_path):
    p = tmp_path / "space.toml"
    p.write_text('model = "two_layer"\nepochs = 3\nnum_workers = 0\n'
                 'lr = "choice(1e-2, 1e-7)"\n')
    out = tmp_path / "out"
    # A deterministic pruner: stop any trial whose validation accuracy is below 0.5.
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.ThresholdPruner(lower=0.5))
    study.enqueue_trial({"lr": 1e-2})
    study.enqueue_trial({"lr": 1e-7})  # too small to learn anything in 3 epochs
    study.optimize(lambda t: objective(t, load_space(p), out, log=lambda *_: None), n_trials=2)
    good, bad = study.trials
    assert good.state.name == "COMPLETE" and sorted(good.intermediate_values) == [1, 2, 3]
    assert bad.state.name == "PRUNED" and sorted(bad.intermediate_values) == [1]
    info = json.loads((out / "trials" / "trial-0001" / "run.json").read_text())
    assert info["epochs_done"] == 1  # the run stopped after the epoch it reported


@pytest.mark.slow
def test_two_workers_sharing_one_storage_run_no_trial_twice(tmp_path, space):
    # Two "machines": separate output directories, one shared journal-file storage.
    storage = str(tmp_path / "shared.log")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.join(os.path.dirname(__file__), "..", "..", "src"),
         os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([sys.executable, "-m", "fovea.cli", "tune", str(space), "--out",
                               str(tmp_path / f"machine{k}"), "--trials", "6", "--storage",
                               storage, "--seed", str(k), "--pruner", "none", "--worker"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True) for k in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    study = load_study(storage)
    finished = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert 6 <= len(finished) <= 7  # a worker may start one more in the instant of a race
    numbers = [t.number for t in finished]
    assert len(set(numbers)) == len(numbers)
    runs = [t.user_attrs["run_dir"] for t in finished]
    assert len(set(runs)) == len(runs)
    assert {os.path.dirname(os.path.dirname(r)) for r in runs} == {
        str(tmp_path / "machine0"), str(tmp_path / "machine1")}  # both worked
    for r in runs:
        assert json.loads(open(os.path.join(r, "run.json")).read())["status"] == "complete"
    assert len({tuple(sorted(t.params.items())) for t in finished}) == len(finished)


@pytest.mark.slow
def test_jobs_run_worker_processes_on_one_sqlite_study(tmp_path, space, capsys):
    out = tmp_path / "out"
    assert main(["tune", str(space), "--out", str(out), "--trials", "2", "--jobs", "2",
                 "--pruner", "none", "--seed", "5"]) == 0
    study = load_study(default_storage(out))
    assert 2 <= len([t for t in study.trials if t.state.name == "COMPLETE"]) <= 3
    assert (out / "study.db").is_file() and (out / "best_trials.md").is_file()


def test_bad_options_are_refused(tmp_path, space, capsys):
    assert main(["tune", str(space), "--out", str(tmp_path / "o"), "--trials", "0"]) == 2
    assert "--trials" in capsys.readouterr().err
    assert main(["tune", "--show", str(tmp_path / "nothing")]) == 2
    assert "study.db" in capsys.readouterr().err
