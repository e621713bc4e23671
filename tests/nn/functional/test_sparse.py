"""nn/functional/sparse.py: embedding against PyTorch through the shared harness (rows
picked, gradients scattered and added for repeated indices, the padding row's gradient kept
at zero); errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, devices, to_device, torch


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(padding_idx):
    idx = np.array([[0, 2, 5, 2], [5, 5, 1, 3]])  # repeated indices: their gradients add
    w = np.random.default_rng(1).standard_normal((6, 3))
    tpad = None if padding_idx is None else padding_idx % 6
    # The padding row's gradient is 0 by definition, not by calculus: no finite differences.
    check_op(lambda i, w: F.embedding(i, w, padding_idx),
             lambda i, w: torch.nn.functional.embedding(i, w, tpad), [idx, w],
             fd=padding_idx is None)


def test_embedding_padding_row_gets_no_gradient():
    w = fovea.tensor(np.ones((4, 2)), requires_grad=True)
    F.embedding(fovea.tensor([1, 1, 3]), w, padding_idx=1).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [0, 0], [0, 0], [1, 1]])


def test_embedding_errors():
    w = fovea.randn(6, 3)
    with pytest.raises(IndexError, match=r"indices must be in \[0, 6\)"):
        F.embedding(fovea.tensor([6]), w)
    with pytest.raises(TypeError, match="integer indices"):
        F.embedding(fovea.randn(2), w)
    with pytest.raises(ValueError, match="weight must be a 2-D tensor"):
        F.embedding(fovea.tensor([1]), fovea.randn(6))
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        F.embedding(fovea.tensor([1]), w, padding_idx=6)


@pytest.mark.parametrize("num_classes", [-1, 7])
@pytest.mark.parametrize("shape", [(5,), (2, 3), ()])
def test_one_hot_matches_torch_and_the_identity_rows(shape, num_classes):
    idx = np.random.default_rng(3).integers(0, 5, shape)
    k = idx.max() + 1 if num_classes == -1 else num_classes
    for device in devices():
        y = F.one_hot(to_device(idx, device), num_classes)
        assert y.dtype == np.int64 and y.device == device
        np.testing.assert_array_equal(np.asarray(y._data), np.eye(k, dtype=np.int64)[idx])
    if torch is not None:
        ref = torch.nn.functional.one_hot(torch.tensor(idx), num_classes)
        np.testing.assert_array_equal(F.one_hot(fovea.tensor(idx), num_classes).numpy(),
                                      ref.numpy())


def test_one_hot_errors():
    with pytest.raises(TypeError, match="one_hot: expected an int64 tensor"):
        F.one_hot(fovea.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"class values must be smaller than num_classes \(3\)"):
        F.one_hot(fovea.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="class values must be non-negative"):
        F.one_hot(fovea.tensor([0, -1]))
    with pytest.raises(ValueError, match="cannot infer the number of classes"):
        F.one_hot(fovea.tensor(np.zeros(0, dtype=np.int64)))
