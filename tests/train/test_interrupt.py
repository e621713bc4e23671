"""A run that is killed (SIGKILL, not even a chance to clean up) or interrupted (Ctrl-C)
leaves its last complete checkpoint loadable, and --resume continues from it."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fovea.train.checkpoint import load_checkpoint, read_latest

TRAIN = [sys.executable, "-m", "fovea.cli", "train", "--model", "two_layer", "--epochs", "400",
         "--num-workers", "0", "--no-progress"]
# --num-workers 0: these tests are about the training loop and its checkpoints. With worker
# processes, the digits' tiny epochs are mostly pool start-up and teardown, and a Ctrl-C that
# lands in the teardown can be swallowed by CPython ("Exception ignored in
# _ConnectionBase.__del__", seen in CI); tests/data/test_data_workers.py covers Ctrl-C with
# workers.


def _ctrl_c_delivered():
    """In the child: Ctrl-C's default action and unblocked, as in a terminal. (A test run
    started in the background, ``pytest &`` from a script, ignores SIGINT, and children
    inherit that.)"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _start(out):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(TRAIN + ["--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=_ctrl_c_delivered)


def _wait_for_checkpoints(out, proc, n=2, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        latest = read_latest(out)
        if latest is not None and int(latest.name.split("-")[1]) >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"training exited early: {proc.stderr.read()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("no checkpoint appeared")


@pytest.mark.slow
def test_sigkill_leaves_the_last_checkpoint_loadable_and_resumable(tmp_path):
    out = tmp_path / "run"
    proc = _start(out)
    _wait_for_checkpoints(out, proc)
    proc.send_signal(signal.SIGKILL)  # possibly in the middle of writing a checkpoint
    proc.wait()
    ck = load_checkpoint(out)
    epoch = ck["state"]["epoch"]
    assert epoch >= 2 and set(ck["model"]) == {"1.weight", "1.bias", "3.weight", "3.bias"}
    assert all(np.isfinite(a).all() for a in ck["model"].values())
    leftovers = [p.name for p in (out / "checkpoints").iterdir() if p.name.startswith(".")]
    assert len(leftovers) <= 1  # at most the one temporary directory being written
    r = subprocess.run(TRAIN[:6] + ["--epochs", str(epoch + 1), "--resume", str(out),
                                     "--no-progress"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"resuming {out} at epoch {epoch}" in r.stdout
    assert load_checkpoint(out)["state"]["epoch"] == epoch + 1


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    proc = _start(out)
    _wait_for_checkpoints(out, proc, n=1)
    # A second press 20 s later if the first did not stop it (see the note at TRAIN).
    presses = 0
    for presses in (1, 2):
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=20 if presses == 1 else 60)
            break
        except subprocess.TimeoutExpired:
            continue
    assert proc.returncode == 130 and "interrupted" in err, (presses, proc.returncode,
                                                             err[-2000:])
    assert "Traceback" not in err
    assert load_checkpoint(out)["state"]["epoch"] >= 1
