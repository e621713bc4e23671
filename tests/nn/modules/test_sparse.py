"""nn/modules/sparse.py: nn.Embedding against PyTorch's with loaded weights (rows and
gradients), its padding row, from_pretrained; errors that name the layer."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import needs_torch, torch


@needs_torch
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(padding_idx):
    temb = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    emb = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=np.float64)
    emb.load_state_dict(temb.state_dict())
    idx = np.array([[0, 2, 5, 2], [5, 5, 1, 3]])
    y, ty = emb(fovea.tensor(idx)), temb(torch.tensor(idx))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = np.random.default_rng(2).standard_normal(ty.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(emb.weight.grad.numpy(), temb.weight.grad.numpy(), rtol=1e-14)


@pytest.mark.parametrize("padding_idx", [2, -1])
def test_embedding_padding_row_starts_at_zero(padding_idx):
    emb = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=np.float64)
    assert (emb.weight.detach().numpy()[padding_idx] == 0).all()
    assert (emb.weight.detach().numpy()[(padding_idx + 1) % 6] != 0).any()


def test_embedding_from_pretrained_freezes():
    w = fovea.tensor(np.arange(6.0).reshape(3, 2))
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(fovea.tensor([2, 0])).numpy(), [[4, 5], [0, 1]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad


def test_embedding_errors_name_the_layer():
    emb = nn.Embedding(6, 3)
    with pytest.raises(IndexError, match=r"indices must be in \[0, 6\)"):
        emb(fovea.tensor([6]))
    with pytest.raises(TypeError, match=r"Embedding\(6, 3\): expected an integer input"):
        emb(fovea.randn(2))
