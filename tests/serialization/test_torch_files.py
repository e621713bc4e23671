"""Reading ``torch.save`` files: values, dtypes, views and parameters against what PyTorch
wrote (a stored fixture, and fresh files when PyTorch is installed), a PyTorch model's weights
in the equivalent fovea model, malicious pickles refused before anything runs, and corrupt,
truncated or legacy files refused with one-line errors."""

from __future__ import annotations

import io
import os
import pickle
import struct
import time
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch_cases
from _files import tensor_pickle, torch_zip

import fovea
import fovea.nn as nn
from backends import standin
from fovea.serialization import SerializationError, UnsafeLoadError
from oracle import needs_torch, torch

FIXTURE = torch_cases.DATA / "torch_small.pt"


def _one_line(exc_info) -> str:
    msg = str(exc_info.value)
    assert "\n" not in msg and msg.startswith("fovea.load: ")
    return msg


def _check_objects(obj, expected: dict[str, np.ndarray]):
    """``obj`` (loaded by fovea) holds what torch_cases.torch_objects saved."""
    assert type(obj["model"]) is OrderedDict
    for k, v in obj["model"].items():
        np.testing.assert_array_equal(v.numpy(), expected[f"model.{k}"], err_msg=k)
        assert v.dtype == expected[f"model.{k}"].dtype
    assert obj["model"]["1.num_batches_tracked"].dtype == np.int64
    for i, t in enumerate(obj["dtypes"]):
        assert t.dtype == expected[f"dtypes.{i}"].dtype
        np.testing.assert_array_equal(t.numpy(), expected[f"dtypes.{i}"])
    for i, t in enumerate(obj["views"]):
        assert t.shape == expected[f"views.{i}"].shape
        np.testing.assert_array_equal(t.numpy(), expected[f"views.{i}"])
        assert np.shares_memory(t.numpy(), obj["base"].numpy())  # views of one storage
    assert isinstance(obj["parameter"], nn.Parameter) and obj["parameter"].requires_grad
    assert obj["plain"] == {"epoch": 3, "lr": 0.25, "name": "run", "flag": True, "none": None,
                            "pair": (1, 2.5), 7: "int key"}
    groups = obj["optimizer"]["param_groups"]
    assert groups[0]["params"] == list(range(6)) and groups[0]["momentum"] == 0.9


def _model_output_matches(obj, expected_output):
    model = torch_cases.fovea_model()
    model.load_state_dict(obj["model"])
    out = model(obj["input"])
    np.testing.assert_allclose(out.detach().numpy(), expected_output, rtol=1e-5, atol=1e-6)


def test_stored_pytorch_file_loads_with_its_values():
    obj = fovea.load(FIXTURE)
    expected = dict(np.load(torch_cases.DATA / "torch_small.npz"))
    _check_objects(obj, expected)
    _model_output_matches(obj, expected["output"])


@needs_torch
def test_fresh_pytorch_checkpoint_loads_and_fovea_model_matches_torch_model(tmp_path):
    objects = torch_cases.torch_objects(torch)
    torch.save(objects, tmp_path / "model.pt")
    obj = fovea.load(tmp_path / "model.pt")
    _check_objects(obj, torch_cases.expected_arrays(objects))
    model, _ = torch_cases.torch_model(torch)
    x = torch.randn(5, 3, 6, 6, dtype=torch.float32)
    fv = torch_cases.fovea_model()
    fv.load_state_dict(obj["model"])
    np.testing.assert_allclose(fv(fovea.tensor(x.numpy())).detach().numpy(),
                               model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


@needs_torch
def test_pytorch_optimizer_state_resumes_the_same_trajectory_in_fovea(tmp_path):
    tm, topt = torch_cases.torch_model(torch)
    tm.train()
    torch.save({"model": tm.state_dict(), "opt": topt.state_dict()}, tmp_path / "ckpt.pth")
    ckpt = fovea.load(tmp_path / "ckpt.pth")
    fm = torch_cases.fovea_model().train()
    fm.load_state_dict(ckpt["model"])
    fopt = fovea.optim.SGD(fm.parameters(), lr=0.1, momentum=0.9)
    fopt.load_state_dict(ckpt["opt"])
    x = torch.randn(8, 3, 6, 6)
    for _ in range(2):
        topt.zero_grad()
        tm(x).square().mean().backward()
        topt.step()
        fopt.zero_grad()
        (fm(fovea.tensor(x.numpy())) ** 2).mean().backward()
        fopt.step()
    for (k, a), b in zip(tm.state_dict().items(), fm.state_dict().values()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16",
                                   "int8", "uint8", "bool"])
def test_every_storage_dtype_and_a_strided_view(dtype, tmp_path):
    base = (torch.arange(30) % 7 - 3).to(getattr(torch, dtype)).reshape(5, 6)
    torch.save({"t": base[1::2, 1::2].t(), "s": base[2, 3]}, tmp_path / "d.pt")
    out = fovea.load(tmp_path / "d.pt")
    np.testing.assert_array_equal(out["t"].numpy(), base[1::2, 1::2].t().numpy())
    assert out["t"].dtype == np.dtype(dtype) and out["s"].shape == ()


@needs_torch
def test_bfloat16_is_widened_to_float32(tmp_path):
    t = torch.tensor([1.5, -2.0, 3.0e10], dtype=torch.bfloat16)
    torch.save(t, tmp_path / "b.pt")
    out = fovea.load(tmp_path / "b.pt")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.numpy(), t.float().numpy())


def test_hand_made_strided_tensor_follows_offset_and_strides():
    values = np.arange(12, dtype=np.float32)
    pkl = tensor_pickle("0", 12, 1, (3, 2), (4, 2))  # rows every 4, columns every 2, from 1
    out = fovea.load(io.BytesIO(torch_zip(pkl, {"0": values.tobytes()})))
    assert out.tolist() == [[1.0, 3.0], [5.0, 7.0], [9.0, 11.0]]


def test_big_endian_storages_are_converted():
    values = np.array([1.5, -2.0], dtype=">f8")
    pkl = tensor_pickle("0", 2, 0, (2,), (1,), storage="DoubleStorage")
    out = fovea.load(io.BytesIO(torch_zip(pkl, {"0": values.tobytes()}, byteorder=b"big")))
    assert out.dtype == np.float64 and out.tolist() == [1.5, -2.0]


# --- map_location ---------------------------------------------------------------------------
def _xpu_file() -> bytes:
    """One float tensor saved on a device named 'xpu' (no such fovea backend)."""
    pkl = tensor_pickle("0", 2, 0, (2,), (1,), location="xpu")
    return torch_zip(pkl, {"0": np.array([1.0, 2.0], np.float32).tobytes()})


def test_tensor_from_unknown_device_needs_map_location():
    with pytest.raises(SerializationError, match="saved on 'xpu'.*map_location='cpu'") as e:
        fovea.load(io.BytesIO(_xpu_file()))
    _one_line(e)
    for ml in ["cpu", fovea.device("cpu"), {"xpu": "cpu"}, {"xpu": fovea.device("cpu")},
               lambda storage, loc: storage]:
        out = fovea.load(io.BytesIO(_xpu_file()), map_location=ml)
        assert out.device == "cpu" and out.tolist() == [1.0, 2.0]


def test_map_location_to_another_registered_device():
    obj = fovea.load(FIXTURE, map_location={"cpu": standin.NAME})
    w = obj["model"]["0.weight"]
    assert w.device == standin.NAME and isinstance(w._data, standin.StandInArray)
    seen = []
    fovea.load(FIXTURE, map_location=lambda s, loc: seen.append(loc))  # None: keep the CPU
    assert seen and set(seen) == {"cpu"}


def test_error_inside_map_location_callable_propagates_unchanged():
    def broken(storage, location):
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        fovea.load(FIXTURE, map_location=broken)


# --- malicious files ------------------------------------------------------------------------
class Payload:
    """Pickles as a call of ``target(*args)`` (what an attacker's file does)."""

    def __init__(self, target, *args):
        self.target, self.args = target, args

    def __reduce__(self):
        return self.target, self.args


class CustomClass:
    pass


def _marker_payloads(marker: str):
    return [Payload(os.system, f"touch {marker}"),
            Payload(eval, f"open({marker!r}, 'w')"),
            Payload(exec, f"open({marker!r}, 'w')")]


@pytest.mark.parametrize("which", range(3))
def test_malicious_pickle_is_refused_without_running(which, tmp_path):
    marker = str(tmp_path / "pwned")
    payload = _marker_payloads(marker)[which]
    name = f"{payload.target.__module__}.{payload.target.__name__}"
    pkl = pickle.dumps({"weights": [1.0], "x": payload}, protocol=2)
    (tmp_path / "model.pt").write_bytes(torch_zip(pkl))
    with pytest.raises(UnsafeLoadError) as e:
        fovea.load(tmp_path / "model.pt")
    assert _one_line(e) == (f"fovea.load: refusing to load '{name}' from model.pt: only "
                            "tensors, storages, dicts and plain values are allowed")
    assert isinstance(e.value, pickle.UnpicklingError)  # what PyTorch's weights_only raises
    assert not os.path.exists(marker)
    with pytest.raises(UnsafeLoadError):  # weights_only=False changes nothing
        fovea.load(tmp_path / "model.pt", weights_only=False)
    assert not os.path.exists(marker)


def test_custom_class_is_refused():
    pkl = pickle.dumps([CustomClass()], protocol=2)
    with pytest.raises(UnsafeLoadError, match=r"'test_torch_files\.CustomClass'"):
        fovea.load(io.BytesIO(torch_zip(pkl)))


@needs_torch
def test_malicious_object_saved_by_torch_is_refused(tmp_path):
    marker = str(tmp_path / "pwned")
    torch.save({"w": torch.ones(2), "evil": Payload(os.system, f"touch {marker}")},
               tmp_path / "evil.pt")
    with pytest.raises(UnsafeLoadError, match="refusing to load '(posix|os|nt).system'"):
        fovea.load(tmp_path / "evil.pt")
    assert not os.path.exists(marker)


def test_shared_references_load_in_linear_time():
    node: list = []
    for _ in range(60):  # 2**60 paths, 60 lists: the pickle memo shares them
        node = [node, node]
    data = torch_zip(pickle.dumps(node, protocol=2))
    assert len(data) < 10_000
    start = time.perf_counter()
    out = fovea.load(io.BytesIO(data))
    assert time.perf_counter() - start < 5 and out[0] is out[1]


# --- corrupt, truncated and unsupported files ----------------------------------------------
@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.6, 0.9, 0.999])
def test_truncated_pytorch_file_is_a_one_line_error(fraction):
    data = FIXTURE.read_bytes()
    cut = data[:max(1, int(len(data) * fraction))]
    with pytest.raises(SerializationError) as e:
        fovea.load(io.BytesIO(cut))
    _one_line(e)


def test_corrupt_pytorch_files_are_one_line_errors():
    four = np.arange(4, dtype=np.float32).tobytes()
    cases = {
        "reaches past its storage": torch_zip(tensor_pickle("0", 4, 2, (2, 2), (2, 1)),
                                              {"0": four}),
        "has 8 bytes, expected 16": torch_zip(tensor_pickle("0", 4, 0, (4,), (1,)),
                                              {"0": four[:8]}),
        "storage '0' is missing": torch_zip(tensor_pickle("0", 4, 0, (4,), (1,))),
        "no archive/data.pkl": _zip_without_pickle(),
        r"corrupt \(": torch_zip(b"\x80\x02(garbage"),
        "not a tuple of non-negative": torch_zip(tensor_pickle("0", 4, 0, (3,), (1,))
                                                 .replace(b"(J\x03\x00\x00\x00t",
                                                          b"(J\xfd\xff\xff\xfft"), {"0": four}),
    }
    for message, data in cases.items():
        with pytest.raises(SerializationError, match=message) as e:
            fovea.load(io.BytesIO(data))
        _one_line(e)


def _zip_without_pickle() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


def test_legacy_and_torchscript_formats_are_refused_clearly():
    legacy = b"\x80\x02\x8a\x0a" + struct.pack("<Q", 0x1950A86A20F9469C) + b"\xfc\x6c."
    with pytest.raises(SerializationError, match="legacy .* torch.save") as e:
        fovea.load(io.BytesIO(legacy))
    _one_line(e)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("m/data.pkl", b"")
        z.writestr("m/constants.pkl", b"")
        z.writestr("m/code/__torch__.py", b"")
    with pytest.raises(SerializationError, match="TorchScript"):
        fovea.load(io.BytesIO(buf.getvalue()))


@needs_torch
def test_legacy_file_written_by_torch_is_refused(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(SerializationError, match="legacy"):
        fovea.load(tmp_path / "old.pt")
