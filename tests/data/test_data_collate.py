"""default_collate / default_convert: the batch structure and dtypes PyTorch produces
(compared with torch.utils.data.default_collate when it is installed)."""

import collections

import numpy as np
import pytest

import fovea
from fovea.utils.data import default_collate, default_convert
from oracle import needs_torch, torch

Point = collections.namedtuple("Point", "x y")


def _examples():
    return [({"img": np.full((2, 3), k, np.float32), "id": k, "name": f"n{k}"},
             fovea.from_numpy(np.array([k, k + 1], np.int64)), float(k) / 2, bool(k % 2),
             np.int32(k)) for k in range(3)]


def test_nested_examples_become_batched_tensors():
    batch = default_collate(_examples())
    assert isinstance(batch, list) and len(batch) == 5        # tuples -> a list, as torch
    d, t, f, b, i32 = batch
    assert d["img"].shape == (3, 2, 3) and d["img"].dtype == np.float32
    assert d["id"].dtype == np.int64 and d["id"].tolist() == [0, 1, 2]
    assert d["name"] == ["n0", "n1", "n2"]
    assert t.shape == (3, 2) and t.dtype == np.int64
    assert f.dtype == np.float64 and f.tolist() == [0.0, 0.5, 1.0]
    assert b.dtype == np.bool_ and b.tolist() == [False, True, False]
    assert i32.dtype == np.int32


def test_namedtuples_keep_their_type_and_lists_must_match_in_length():
    out = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(out, Point) and out.x.tolist() == [1, 3] and out.y.dtype == np.float64
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


def test_default_convert_turns_arrays_into_tensors_without_batching():
    out = default_convert({"a": np.ones(3), "b": (np.int64(2), "s")})
    assert isinstance(out["a"], fovea.Tensor) and out["b"][1] == "s"
    assert isinstance(out["b"][0], fovea.Tensor)


@needs_torch
def test_same_structure_and_dtypes_as_torch():
    import torch.utils.data as tud

    ours = default_collate(_examples())
    theirs = tud.default_collate([tuple(torch.from_numpy(e.numpy()) if isinstance(e, fovea.Tensor)
                                        else e for e in ex) for ex in _examples()])

    def compare(a, b):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, fovea.Tensor)
            assert str(a.numpy().dtype) == str(b.numpy().dtype)
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        elif isinstance(b, dict):
            assert type(a) is type(b) and a.keys() == b.keys()
            for k in b:
                compare(a[k], b[k])
        elif isinstance(b, list):
            assert isinstance(a, list) and len(a) == len(b)
            for u, v in zip(a, b):
                compare(u, v)
        else:
            assert a == b

    compare(ours, theirs)
