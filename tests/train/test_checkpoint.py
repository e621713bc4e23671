"""Checkpoint files: safetensors round trip, atomic writes, clear errors on broken files."""

import numpy as np
import pytest

import fovea
from fovea.train.checkpoint import (
    CheckpointError,
    atomic_write_bytes,
    load_weights,
    read_latest,
    save_weights,
)


def test_weights_round_trip_with_pytorch_key_names(tmp_path):
    sd = {"features.0.weight": fovea.randn(4, 3), "bn.num_batches_tracked": np.array(7)}
    save_weights(sd, tmp_path / "m.safetensors")
    back = load_weights(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(back["features.0.weight"], sd["features.0.weight"].numpy())
    assert back["bn.num_batches_tracked"] == 7


def test_torch_can_read_our_safetensors_file(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import load_file

    save_weights({"w": np.arange(6, dtype=np.float32).reshape(2, 3)}, tmp_path / "m.safetensors")
    assert load_file(str(tmp_path / "m.safetensors"))["w"].shape == (2, 3)


def test_truncated_file_gets_a_clear_error_naming_it(tmp_path):
    path = tmp_path / "m.safetensors"
    save_weights({"w": np.ones((50, 50), dtype=np.float32)}, path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="m.safetensors.*truncated or corrupt"):
        load_weights(path)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_weights(tmp_path / "missing.safetensors")


def test_failed_atomic_write_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    atomic_write_bytes(path, b"old")

    def boom(*a):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temp file left


def test_no_checkpoint_means_none(tmp_path):
    assert read_latest(tmp_path) is None


def test_zero_dimensional_buffers_keep_their_shape(tmp_path):
    save_weights({"bn.num_batches_tracked": np.array(3, dtype=np.int64)}, tmp_path / "m.st")
    assert load_weights(tmp_path / "m.st")["bn.num_batches_tracked"].shape == ()
