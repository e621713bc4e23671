"""``fovea train --device``: the model, its batches and its checkpoints through a device,
on the stand-in device registered as ``"cuda"`` with the CUDA backend's kernels."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import fovea
from backends import standin
from fovea import backends
from fovea.backends.cuda import runtime
from fovea.cli import build_parser
from fovea.train.checkpoint import load_weights
from fovea.train.run import TrainConfig, train


@contextlib.contextmanager
def standin_as_cuda():
    previous = backends.registered_backend("cuda")
    backends.unregister(standin.NAME)
    backends.register(runtime.make_backend(standin.xp, (standin.StandInArray,)))
    try:
        yield
    finally:
        backends.unregister("cuda")
        if previous is not None:
            backends.register(previous)
        standin.register()


def config(tmp_path, name, **kw):
    options = dict(epochs=1, overfit_small=True, progress=False, num_workers=0,
                   out=str(tmp_path / name))
    return TrainConfig(**(options | kw))


@pytest.mark.slow  # three short runs with their reports (about 20 s)
def test_a_run_on_the_device_matches_the_cpu(tmp_path):
    ref = train(config(tmp_path, "cpu"), log=lambda *a: None)
    with standin_as_cuda():
        m = train(config(tmp_path, "cuda", device="cuda"), log=lambda *a: None)
        w = load_weights(tmp_path / "cuda" / "model.safetensors")  # copied off the device
        resumed = train(config(tmp_path, "x", device="cuda", epochs=2),
                        resume_dir=tmp_path / "cuda", given={"epochs"}, log=lambda *a: None)
    assert m["initial_loss"] == pytest.approx(ref["initial_loss"], rel=1e-6)
    assert m["final_loss"] == pytest.approx(ref["final_loss"], rel=1e-4)
    assert m["final_train_accuracy"] == ref["final_train_accuracy"]
    assert resumed["epochs"] == 2 and resumed["resumed"]
    on_cpu = train(config(tmp_path, "y", device="cpu", epochs=3), resume_dir=tmp_path / "cuda",
                   given={"epochs", "device"}, log=lambda *a: None)  # a GPU run, resumed here
    assert on_cpu["epochs"] == 3
    w_ref = load_weights(tmp_path / "cpu" / "model.safetensors")
    assert w.keys() == w_ref.keys()
    for k in w:
        assert type(w[k]) is np.ndarray
        np.testing.assert_allclose(w[k], w_ref[k], rtol=1e-3, atol=1e-4, err_msg=k)


def test_the_device_option(tmp_path):
    args = build_parser().parse_args(["train", "--device", "cuda"])
    assert args.device == "cuda"
    if not fovea.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            config(tmp_path, "none", device="cuda").validate()
    with pytest.raises(RuntimeError, match="no backend for device 'tpu'"):
        config(tmp_path, "none", device="tpu").validate()
