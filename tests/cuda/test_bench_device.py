"""fovea.bench.device (``fovea bench --device``) on the stand-in device registered as
``"cuda"``: one step of each library from the same weights gives the same loss."""

from __future__ import annotations

import numpy as np
import pytest
from test_train_device import standin_as_cuda

from fovea.bench import device as dev


def test_a_row_times_fovea_on_the_device():
    with standin_as_cuda():
        row = dev.measure("mlp", "cuda", rounds=2, steps=1, quick=True, use_torch=False,
                          warmup=1)
        env = dev.environment("cuda")
    assert row["model"] == "mlp" and row["batch"] == 32 and len(row["fovea_ms_all"]) == 2
    assert row["fovea_ms"] > 0 and np.isfinite(row["fovea_first_loss"])
    assert "fovea_peak_bytes" not in row  # a stand-in has no memory pool
    text = dev.markdown([row], env)
    assert "MLP 3072-100-10, batch 32" in text and "| — |" in text


def test_the_torch_twin_starts_from_the_same_loss():
    pytest.importorskip("torch")
    with standin_as_cuda():
        row = dev.measure("three_layer_convnet", "cuda", rounds=1, steps=1, quick=True,
                          warmup=1)
    assert row["torch_device"] == "cpu"  # the stand-in is no GPU: PyTorch runs on the CPU
    assert row["fovea_first_loss"] == pytest.approx(row["torch_first_loss"], rel=1e-5)
    assert row["ratio"] == pytest.approx(row["fovea_ms"] / row["torch_ms"])
