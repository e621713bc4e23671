"""nn/modules/batchnorm.py: BatchNorm1d/2d against PyTorch's layers over several steps
(running statistics, train/eval switching, momentum=None), without running statistics,
state-dict keys, float32, and the layers' input checks."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import needs_torch, torch


@needs_torch
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("layer", ["1d", "1d_seq", "2d"])
def test_running_stats_and_train_eval_switching_match_torch(momentum, layer):
    rng = np.random.default_rng(4)
    c = 3
    cls, tcls, shape = {
        "1d": (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, c)),
        "1d_seq": (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, c, 5)),
        "2d": (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, c, 3, 3)),
    }[layer]
    bn = cls(c, momentum=momentum, dtype=np.float64)
    tbn = tcls(c, momentum=momentum).double()
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(rng.standard_normal(c)))
        tbn.bias.copy_(torch.tensor(rng.standard_normal(c)))
    bn.load_state_dict(tbn.state_dict())
    for step in range(5):
        for mode in (True, False):
            bn.train(mode)
            tbn.train(mode)
            a = rng.standard_normal(shape) * (step + 1) + step
            y = bn(fovea.tensor(a))
            ty = tbn(torch.tensor(a))
            np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                                       atol=1e-12)
    for k, v in tbn.state_dict().items():
        np.testing.assert_allclose(bn.state_dict()[k].numpy(), v.numpy(), rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 5


def test_without_running_stats_batch_stats_are_used_in_eval_too():
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm2d(2, track_running_stats=False, affine=False, dtype=np.float64).eval()
    a = rng.standard_normal((3, 2, 4, 4))
    want = (a - a.mean(axis=(0, 2, 3), keepdims=True)) / np.sqrt(
        a.var(axis=(0, 2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(bn(fovea.tensor(a)).numpy(), want, rtol=1e-10, atol=1e-12)
    assert bn.running_mean is None and list(bn.state_dict()) == []


@needs_torch
def test_batch_norm_state_dict_keys_are_torchs():
    keys = list(nn.BatchNorm2d(4).state_dict())
    assert keys == list(torch.nn.BatchNorm2d(4).state_dict())


def test_batch_norm_keeps_float32():
    bn = nn.BatchNorm2d(3)
    y = bn(fovea.randn(2, 3, 4, 4))
    assert y.dtype == np.float32 and bn.running_var.dtype == np.float32


def test_batch_norm_layer_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected input of shape "
                                         r"\(N, 16, H, W\), got \(4, 8, 5, 5\)"):
        nn.BatchNorm2d(16)(fovea.randn(4, 8, 5, 5))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected input of shape \(N, 3\) "
                                         r"or \(N, 3, L\), got \(2, 3, 4, 4\)"):
        nn.BatchNorm1d(3)(fovea.randn(2, 3, 4, 4))
    with pytest.raises(TypeError, match=r"BatchNorm1d\(3\): expected input of dtype float32"):
        nn.BatchNorm1d(3)(fovea.randn(2, 3, dtype=np.float64))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(fovea.randn(1, 3))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=2.0)
