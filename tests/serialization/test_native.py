"""fovea.save / fovea.load in fovea's own format: round trips of every supported value, state
dicts that resume training exactly, shared objects, map_location, atomic writes, and one-line
errors for what cannot be saved or read."""

from __future__ import annotations

import io
import json
import math
import os
import time
from collections import OrderedDict

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from backends import standin
from fovea.serialization import SerializationError


def _roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    fovea.save(obj, buf)
    buf.seek(0)
    return fovea.load(buf, **load_kwargs)


def _one_line_error(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and msg.startswith("fovea.")
    return msg


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.int64,
                                   np.uint8, np.bool_])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)])
def test_tensor_roundtrip_keeps_values_shape_and_dtype(dtype, shape):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(shape) * 50).astype(dtype)
    out = _roundtrip(fovea.tensor(a))
    assert isinstance(out, fovea.Tensor) and out.dtype == dtype and out.shape == shape
    np.testing.assert_array_equal(out.numpy(), a)


def test_non_contiguous_tensor_is_saved_by_value():
    base = fovea.tensor(np.arange(24.0).reshape(4, 6))
    view = base.T[1:, ::2]
    out = _roundtrip(view)
    np.testing.assert_array_equal(out.numpy(), view.numpy())


def test_nested_containers_and_plain_values_roundtrip():
    obj = {"ints": [0, -3, 2**70], "floats": (0.1, -2.5e300, math.inf, -math.inf),
           "text": "ünïcode", "flags": [True, False], "none": None, 3: "int key",
           (1, "a"): "tuple key", 2.5: "float key", "empty": [{}, (), []],
           "ordered": OrderedDict([("b", 1), ("a", 2)]), "device": fovea.device("cpu"),
           "array": np.arange(5, dtype=np.int16), "scalar": np.float32(1.25)}
    out = _roundtrip(obj)
    assert list(out) == list(obj)
    assert out["ints"] == [0, -3, 2**70] and out["floats"] == obj["floats"]
    assert type(out["floats"]) is tuple and type(out["empty"][1]) is tuple
    assert out["text"] == "ünïcode" and out["flags"] == [True, False] and out["none"] is None
    assert out[3] == "int key" and out[(1, "a")] == "tuple key" and out[2.5] == "float key"
    assert type(out["ordered"]) is OrderedDict and list(out["ordered"]) == ["b", "a"]
    assert out["device"] == fovea.device("cpu")
    assert out["array"].dtype == np.int16 and out["array"].tolist() == [0, 1, 2, 3, 4]
    assert type(out["scalar"]) is np.float32 and out["scalar"] == 1.25
    nan = _roundtrip([math.nan])[0]
    assert isinstance(nan, float) and math.isnan(nan)
    assert type(_roundtrip(True)) is bool and type(_roundtrip(1)) is int


def test_requires_grad_and_parameters_are_kept():
    p = nn.Parameter(fovea.ones(2))
    frozen = nn.Parameter(fovea.ones(2), requires_grad=False)
    t = fovea.zeros(3, requires_grad=True)
    out = _roundtrip([p, frozen, t, fovea.zeros(1)])
    assert isinstance(out[0], nn.Parameter) and out[0].requires_grad
    assert isinstance(out[1], nn.Parameter) and not out[1].requires_grad
    assert type(out[2]) is fovea.Tensor and out[2].requires_grad and out[2].is_leaf
    assert not out[3].requires_grad


def _model():
    fovea.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(12, 2))


def _train(model, opt, sched, x, steps):
    for _ in range(steps):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        sched.step()


@pytest.mark.parametrize("make_opt", [
    lambda ps: fovea.optim.SGD(ps, lr=0.1, momentum=0.9),
    lambda ps: fovea.optim.Adam(ps, lr=0.01, amsgrad=True),
])
def test_model_optimizer_and_scheduler_checkpoint_resumes_exactly(make_opt, tmp_path):
    x = fovea.randn(4, 2, 4, 4, generator=np.random.default_rng(1))
    model = _model()
    opt = make_opt(model.parameters())
    sched = fovea.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _train(model, opt, sched, x, 3)
    fovea.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "epoch": 3}, tmp_path / "ckpt.fovea")

    ckpt = fovea.load(tmp_path / "ckpt.fovea")
    resumed = _model()
    resumed.load_state_dict(ckpt["model"])
    opt2 = make_opt(resumed.parameters())
    opt2.load_state_dict(ckpt["optimizer"])
    sched2 = fovea.optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(ckpt["scheduler"])
    assert ckpt["epoch"] == 3 and set(ckpt["optimizer"]["state"]) == set(range(6))
    _train(model, opt, sched, x, 3)
    _train(resumed, opt2, sched2, x, 3)
    for (k, a), b in zip(model.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert opt.param_groups[0]["lr"] == opt2.param_groups[0]["lr"]


def test_same_object_twice_loads_as_one_object():
    t = fovea.randn(3)
    inner = [1, 2]
    sd1, sd2 = _model().state_dict(), None
    sd2 = OrderedDict((k, v.detach()) for k, v in sd1.items())  # other Tensors, same arrays
    out = _roundtrip({"a": t, "b": t, "l1": inner, "l2": inner, "sd1": sd1, "sd2": sd2})
    assert out["a"] is out["b"] and out["l1"] is out["l2"]
    w1, w2 = out["sd1"]["0.weight"], out["sd2"]["0.weight"]
    assert w1 is not w2 and np.shares_memory(w1.numpy(), w2.numpy())


def test_shared_structure_is_linear_in_size_not_exponential():
    node: list = []
    for _ in range(60):  # 2**60 paths through 60 distinct lists
        node = [node, node]
    buf = io.BytesIO()
    start = time.perf_counter()
    fovea.save(node, buf)
    assert len(buf.getvalue()) < 10_000
    buf.seek(0)
    out = fovea.load(buf)
    assert time.perf_counter() - start < 5
    depth = 0
    while out:
        assert out[0] is out[1]
        out, depth = out[0], depth + 1
    assert depth == 60


def test_file_is_standard_safetensors_with_the_structure_in_metadata(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file

    path = tmp_path / "w.safetensors"
    fovea.save({"w": fovea.tensor(np.eye(2)), "step": 7}, path)
    arrays = load_file(path)
    assert list(arrays) == ["0"] and (arrays["0"] == np.eye(2)).all()
    with safe_open(path, framework="np") as f:
        meta = f.metadata()
    assert meta["format"] == "fovea" and meta["fovea.version"] == "1"
    assert json.loads(meta["fovea.structure"])["$dict"][1] == ["step", 7]


def test_plain_safetensors_file_loads_as_dict_of_tensors(tmp_path):
    from safetensors.numpy import save_file

    save_file({"b": np.ones(2, np.float32), "a": np.arange(3)}, tmp_path / "m.safetensors")
    out = fovea.load(tmp_path / "m.safetensors")
    assert set(out) == {"a", "b"} and all(isinstance(v, fovea.Tensor) for v in out.values())
    assert out["a"].tolist() == [0, 1, 2] and out["b"].dtype == np.float32


def test_save_to_path_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.fovea"
    fovea.save({"v": 1}, str(path))
    assert fovea.load(str(path)) == {"v": 1}

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        fovea.save({"v": 2}, path)
    monkeypatch.undo()
    assert fovea.load(path) == {"v": 1}
    assert os.listdir(tmp_path) == ["ckpt.fovea"]  # no temporary file left behind


def test_file_objects_are_read_and_written(tmp_path):
    with open(tmp_path / "f.bin", "wb") as fh:
        fovea.save([fovea.ones(2)], fh)
    with open(tmp_path / "f.bin", "rb") as fh:
        assert fovea.load(fh)[0].tolist() == [1.0, 1.0]
    with open(tmp_path / "f.bin") as fh, pytest.raises(TypeError, match="binary mode"):
        fovea.load(fh)


@pytest.mark.parametrize("obj,where", [
    (object(), "the object"), ({"a": [1, {2, 3}]}, r"the object\['a'\]\[1\]"),
    ({"f": lambda x: x}, r"the object\['f'\]"), (1 + 2j, "the object"),
])
def test_unsupported_values_are_refused_naming_where(obj, where):
    with pytest.raises(SerializationError, match=f"can't save .* at {where}: only tensors") as e:
        fovea.save(obj, io.BytesIO())
    _one_line_error(e)


def test_cycles_are_refused():
    a: list = [1]
    a.append(a)
    with pytest.raises(SerializationError, match="contains itself"):
        fovea.save({"a": a}, io.BytesIO())


# --- map_location ---------------------------------------------------------------------------
@pytest.mark.parametrize("map_location", [None, "cpu", fovea.device("cpu"), {"cuda:0": "cpu"},
                                          lambda storage, loc: storage])
def test_map_location_forms_that_keep_tensors_on_the_cpu(map_location):
    out = _roundtrip([fovea.arange(3)], map_location=map_location)
    assert out[0].device == "cpu" and out[0].tolist() == [0, 1, 2]


def test_map_location_moves_tensors_to_another_registered_device():
    out = _roundtrip({"w": fovea.ones(2), "p": nn.Parameter(fovea.zeros(1))},
                     map_location={"cpu": standin.NAME})
    assert out["w"].device == standin.NAME and isinstance(out["p"], nn.Parameter)
    assert isinstance(out["w"]._data, standin.StandInArray)
    back = _roundtrip(out, map_location="cpu")           # saved from the stand-in device
    assert back["w"].device == "cpu" and back["w"].tolist() == [1.0, 1.0]
    kept = _roundtrip(out)                               # None: where it was saved
    assert kept["w"].device == standin.NAME


def test_map_location_callable_sees_each_storage_and_its_location():
    seen = []

    def to_standin(storage, location):
        seen.append((storage.shape, location))
        return fovea.Tensor(standin.to_device(storage.numpy() * 2))

    out = _roundtrip([fovea.ones(2, 3)], map_location=to_standin)
    assert seen == [((2, 3), "cpu")]
    assert out[0].device == standin.NAME and out[0].tolist() == [[2.0] * 3] * 2


def test_tensors_saved_on_an_unregistered_device_need_map_location():
    saved = io.BytesIO()
    fovea.save([fovea.Tensor(standin.to_device(np.ones(2)))], saved)
    fovea.backends.unregister(standin.NAME)
    try:
        saved.seek(0)
        with pytest.raises(SerializationError, match="saved on 'standin'.*map_location='cpu'"):
            fovea.load(saved)
        saved.seek(0)
        assert fovea.load(saved, map_location="cpu")[0].device == "cpu"
    finally:
        standin.register()


def test_bad_map_location_type_is_a_type_error():
    with pytest.raises(TypeError, match="map_location must be"):
        fovea.load(io.BytesIO(b"x"), map_location=3)


# --- corrupt files --------------------------------------------------------------------------
def _saved() -> bytes:
    buf = io.BytesIO()
    fovea.save({"w": fovea.randn(10, 10), "n": [1, 2, 3]}, buf)
    return buf.getvalue()


@pytest.mark.parametrize("cut", [0, 4, 8, 20, 100, -401, -1])
def test_truncated_fovea_file_is_a_one_line_error(cut):
    data = _saved()[:cut]
    with pytest.raises(SerializationError) as e:
        fovea.load(io.BytesIO(data))
    _one_line_error(e)


def test_garbage_and_broken_structure_are_one_line_errors():
    for data in [b"\x00" * 64, b"hello world, not a checkpoint"]:
        with pytest.raises(SerializationError) as e:
            fovea.load(io.BytesIO(data))
        _one_line_error(e)
    from safetensors.numpy import save

    for structure in ['{"$bogus": 1}', '{"$tensor": "7"}', '{"$ref": 5}', "[1, 2"]:
        data = save({}, metadata={"format": "fovea", "fovea.version": "1",
                                  "fovea.structure": structure})
        with pytest.raises(SerializationError, match="corrupt") as e:
            fovea.load(io.BytesIO(data))
        _one_line_error(e)
    data = save({}, metadata={"format": "fovea", "fovea.version": "99",
                              "fovea.structure": "1"})
    with pytest.raises(SerializationError, match="version '99'"):
        fovea.load(io.BytesIO(data))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fovea.load(tmp_path / "nope.pt")
