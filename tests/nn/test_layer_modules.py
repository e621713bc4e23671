"""Whole models: a PyTorch state_dict loaded into the equivalent fovea model gives PyTorch's
outputs and gradients; Flatten, Embedding; a small net overfits a small batch."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


def _models():
    torch.manual_seed(0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8),
                                 torch.nn.ReLU(), torch.nn.Linear(8, 3)).double()
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    return model, tmodel


def test_torch_state_dict_gives_torchs_outputs_in_train_and_eval():
    model, tmodel = _models()
    rng = np.random.default_rng(0)
    # Give the batch norm non-trivial running statistics first.
    tmodel.train()
    for _ in range(3):
        tmodel(torch.tensor(rng.standard_normal((10, 5)) * 2 + 1))
    model.double().load_state_dict(tmodel.state_dict())
    assert list(model.state_dict()) == list(tmodel.state_dict())
    a = rng.standard_normal((6, 5))
    for train in (False, True):
        model.train(train)
        tmodel.train(train)
        x = fovea.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        y, ty = model(x), tmodel(tx)
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        target = rng.integers(0, 3, 6)
        F.cross_entropy(y, fovea.tensor(target)).backward()
        torch.nn.functional.cross_entropy(ty, torch.tensor(target)).backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        tparams = dict(tmodel.named_parameters())
        for name, p in model.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-9,
                                       atol=1e-12)
        model.zero_grad()
        tmodel.zero_grad()
    # The running statistics moved identically during the training-mode pass.
    for k, v in tmodel.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)


def test_train_eval_propagates_to_dropout_and_batch_norm():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    x = fovea.randn(8, 4)
    model.eval()
    assert not model[1].training and not model[2].training
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())
    model.train()
    assert model[1].training


@pytest.mark.parametrize("start,end", [(1, -1), (0, -1), (1, 2), (2, 3)])
def test_flatten_matches_torch(start, end):
    a = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    y = nn.Flatten(start, end)(fovea.tensor(a))
    ty = torch.nn.Flatten(start, end)(torch.tensor(a))
    assert y.shape == tuple(ty.shape)
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    with pytest.raises(ValueError, match=r"Flatten\(1, -1\): expected input with dimensions 1 "
                                         r"to -1, got shape \(3,\)"):
        nn.Flatten()(fovea.randn(3))


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(padding_idx):
    temb = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    emb = nn.Embedding(6, 3, padding_idx=padding_idx, dtype=np.float64)
    if padding_idx is not None:
        assert (emb.weight.detach().numpy()[padding_idx] == 0).all()
    emb.load_state_dict(temb.state_dict())
    idx = np.array([[0, 2, 5, 2], [5, 5, 1, 3]])
    y, ty = emb(fovea.tensor(idx)), temb(torch.tensor(idx))
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = np.random.default_rng(2).standard_normal(ty.shape)
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(emb.weight.grad.numpy(), temb.weight.grad.numpy(), rtol=1e-14)
    with pytest.raises(IndexError, match=r"indices must be in \[0, 6\)"):
        emb(fovea.tensor([6]))
    with pytest.raises(TypeError, match=r"Embedding\(6, 3\): expected an integer input"):
        emb(fovea.randn(2))


def test_embedding_from_pretrained_freezes():
    w = fovea.tensor(np.arange(6.0).reshape(3, 2))
    emb = nn.Embedding.from_pretrained(w)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(fovea.tensor([2, 0])).numpy(), [[4, 5], [0, 1]])


def test_small_net_overfits_a_small_batch():
    rng = np.random.default_rng(3)
    fovea.manual_seed(0)
    x = fovea.tensor(rng.standard_normal((16, 10)).astype(np.float32))
    y = fovea.tensor(rng.integers(0, 4, 16))
    model = nn.Sequential(nn.Linear(10, 32), nn.BatchNorm1d(32), nn.GELU(), nn.Dropout(0.1),
                          nn.Linear(32, 4))
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(150):
        loss = loss_fn(model(x), y) + F.l2_penalty([model[0].weight, model[4].weight], 1e-4)
        model.zero_grad()
        loss.backward()
        with fovea.no_grad():
            for p in model.parameters():
                p.sub_(p.grad * 0.1)
    model.eval()
    accuracy = (model(x).argmax(1).numpy() == y.numpy()).mean()
    assert accuracy == 1.0 and loss.item() < 0.1
