"""Shared helpers of the ONNX tests: export, check, run in onnxruntime, compare."""

import numpy as np
import pytest

import fovea
from fovea import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def randomize(model, seed=0):
    """Batch norm statistics and affine parameters away from their identity defaults, so that
    folding is exercised (a fresh BN is x·1 + 0) and no output is trivially zero."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean._data[...] = rng.normal(0, 0.1, c)
            m.running_var._data[...] = rng.uniform(0.5, 1.5, c)
            if m.weight is not None:
                m.weight._data[...] = rng.uniform(0.5, 1.5, c)
                m.bias._data[...] = rng.normal(0, 0.1, c)
    return model


def flat(out):
    if hasattr(out, "numpy"):
        return [out.numpy() if not out.requires_grad else out.detach().numpy()]
    return [a for o in out for a in flat(o)]


def session(proto):
    onnx.checker.check_model(proto, full_check=True)
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def assert_close(got, want, tol=1e-5):
    """|got - want| <= tol · max(1, max|want|): float32 agreement at the outputs' scale."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()) if want.size else 1.0)
    assert float(np.abs(got - want).max() if want.size else 0.0) <= tol * scale


def run_ort(sess, names, xs):
    return sess.run(None, {n: x.numpy() for n, x in zip(names, xs)})


def fovea_out(model, xs):
    with fovea.no_grad():
        return flat(model(*xs))
