"""--resume continues to the planned epochs and names the options it ignores; a non-finite
loss stops training naming the step and the last good checkpoint, which stays intact; runs
record their status in run.json."""

import json
import math

import numpy as np
import pytest

import fovea
from fovea import nn
from fovea.cli import main
from fovea.train import run as run_module
from fovea.train.checkpoint import load_checkpoint
from fovea.train.trainer import Trainer, TrainingDiverged

FAST = ["--model", "two_layer", "--no-progress"]


@pytest.fixture
def interrupted(tmp_path, monkeypatch, capsys):
    """A 3-epoch run stopped by Ctrl-C after its first epoch's checkpoint."""
    real = run_module.RunStatus.on_epoch_end

    def stop_after_one(self, trainer):
        real(self, trainer)
        if trainer.epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_module.RunStatus, "on_epoch_end", stop_after_one)
    out = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--out", str(out), *FAST]) == 130
    monkeypatch.setattr(run_module.RunStatus, "on_epoch_end", real)
    capsys.readouterr()
    return out


def test_ctrl_c_marks_the_run_interrupted(interrupted):
    info = json.loads((interrupted / "run.json").read_text())
    assert info["status"] == "interrupted" and info["epochs_done"] == 1
    assert info["config"]["epochs"] == 3


def test_resume_continues_to_the_epochs_the_run_was_started_with(interrupted, capsys):
    assert main(["train", "--resume", str(interrupted), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"resuming {interrupted} at epoch 1 of 3" in out
    assert json.loads((interrupted / "metrics.json").read_text())["epochs"] == 3
    info = json.loads((interrupted / "run.json").read_text())
    assert info["status"] == "complete" and info["epochs_done"] == 3


def test_resume_with_epochs_changes_the_plan(interrupted, capsys):
    assert main(["train", "--resume", str(interrupted), "--epochs", "2", "--no-progress"]) == 0
    assert json.loads((interrupted / "metrics.json").read_text())["epochs"] == 2
    assert json.loads((interrupted / "run.json").read_text())["config"]["epochs"] == 2


def test_resume_names_the_options_fixed_by_the_run(interrupted, capsys):
    assert main(["train", "--resume", str(interrupted), "--lr", "0.5", "--batch-size", "7",
                 "--augment", "flip", "--no-progress"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("--resume: ignoring"))
    assert "--lr 0.5" in line and "--batch-size 7" in line and "--augment flip" in line
    assert "fixed by the run" in line
    cfg = json.loads((interrupted / "run.json").read_text())["config"]
    assert cfg["lr"] == 0.003 and cfg["batch_size"] == 64  # the run's own


def test_resume_refuses_fewer_epochs_than_done(interrupted, capsys):
    assert main(["train", "--resume", str(interrupted), "--epochs", "0", "--no-progress"]) == 2
    assert "--epochs" in capsys.readouterr().err


def _nan_after(n):
    """cross_entropy, but NaN from the n-th call on (a run that diverges at step n)."""
    calls = []

    def loss_fn(scores, y):
        calls.append(1)
        loss = nn.functional.cross_entropy(scores, y)
        return loss * float("nan") if len(calls) >= n else loss
    return loss_fn


def _problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    return [(fovea.tensor(x[i:i + 16]), fovea.tensor(y[i:i + 16])) for i in range(0, 64, 16)]


def test_a_nan_loss_stops_naming_the_step_and_the_last_good_checkpoint(tmp_path):
    from fovea import optim

    batches = _problem()
    fovea.manual_seed(0)
    model = nn.Linear(10, 2)
    # Call 1 is the initial-loss check; 2-5 are epoch 1's steps, 6-9 epoch 2's: NaN at step 6.
    t = Trainer(model, _nan_after(7), optim.SGD(model.parameters(), lr=0.1), batches,
                num_classes=2, progress=False, log=lambda *a: None, run_dir=tmp_path)
    with pytest.raises(TrainingDiverged) as e:
        t.fit(3)
    msg = str(e.value)
    ck = tmp_path / "checkpoints" / "epoch-0001"
    assert "loss became nan at step 6 (epoch 2)" in msg
    assert f"the last good checkpoint is {ck} (epoch 1)" in msg and "\n" not in msg
    saved = load_checkpoint(tmp_path)
    assert saved["state"]["epoch"] == 1
    assert all(np.isfinite(a).all() for a in saved["model"].values())
    # The NaN never reached the weights in memory either.
    assert np.isfinite(model.weight.detach().numpy()).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the inf weights overflow, as meant
def test_a_diverged_run_keeps_its_checkpoint_and_is_marked_failed(tmp_path, monkeypatch,
                                                                  capsys):
    real = Trainer.train_step

    def nan_in_epoch_2(self, x, y):
        if self.epoch == 1:
            with fovea.no_grad():
                self.params[0].mul_(float("inf"))
        return real(self, x, y)

    monkeypatch.setattr(Trainer, "train_step", nan_in_epoch_2)
    out = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--out", str(out), *FAST]) == 2
    err = capsys.readouterr().err
    assert "training diverged" in err and "epoch-0001" in err and err.count("\n") == 1
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and "TrainingDiverged" in info["error"]
    assert load_checkpoint(out)["state"]["epoch"] == 1


def test_weights_that_become_non_finite_are_never_checkpointed(tmp_path):
    from fovea import optim

    batches = _problem()
    model = nn.Linear(10, 2)

    class Poison:  # a NaN slipping into the weights without a NaN loss (e.g. a bad clip)
        def on_step(self, trainer, loss):
            if trainer.step == 2:
                model.bias._data[0] = math.nan

    t = Trainer(model, nn.functional.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                batches[:2], num_classes=2, progress=False, log=lambda *a: None,
                run_dir=tmp_path, callbacks=[Poison()])
    with pytest.raises(TrainingDiverged, match="parameter 'bias' became non-finite"):
        t.fit(2)
    assert not (tmp_path / "checkpoints" / "LATEST").exists()
