"""What works in one process without MPI: the post-accumulate-grad hook (against PyTorch),
SyncBatchNorm outside a group (= BatchNorm), conversion, and DDP's refusal without a group."""

import numpy as np
import pytest

import fovea
from fovea import nn
from oracle import needs_torch, torch


def _chain(lib, x, w1, w2, seen):
    """loss = sum(tanh(x·w1)·w2); the hooks record which .grad exist when each fires."""
    for name, w in (("w1", w1), ("w2", w2)):
        w.register_post_accumulate_grad_hook(
            lambda p, name=name: seen.append(
                (name, w1.grad is not None, w2.grad is not None, p.grad.numpy().copy())))
    return (lib.tanh(x @ w1) * w2).sum()


@needs_torch
def test_post_accumulate_grad_hook_matches_pytorch():
    rng = np.random.default_rng(0)
    x, a, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    results = []
    for lib in (fovea, torch):
        w1 = lib.tensor(a.copy(), requires_grad=True)
        w2 = lib.tensor(b.copy(), requires_grad=True)
        seen = []
        loss = _chain(lib, lib.tensor(x), w1, w2, seen)
        loss.backward(retain_graph=True)
        loss.backward()  # a second backward: called again, with the accumulated .grad
        results.append(seen)
    ours, theirs = results
    # the same calls, in the same order (w2 first: its gradient is complete before w1's)
    assert [s[:3] for s in ours] == [s[:3] for s in theirs]
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o[3], t[3], rtol=1e-12)


def test_post_accumulate_grad_hook_by_hand():
    w = fovea.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.numpy().copy()))
    (w * w).sum().backward()  # w feeds one node twice: called once, with 2w
    assert len(calls) == 1 and calls[0].tolist() == [2.0, 4.0]
    fovea.grad((w * 3).sum(), w)  # fovea.grad does not accumulate: no call
    assert len(calls) == 1
    w.sum().backward()  # a leaf root's gradient: called at the end
    assert calls[-1].tolist() == [3.0, 5.0]
    handle.remove()
    w.sum().backward()
    assert len(calls) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="require gradient"):
        fovea.ones(2).register_post_accumulate_grad_hook(lambda p: None)


def test_syncbatchnorm_without_a_group_is_batchnorm():
    fovea.manual_seed(0)
    x = fovea.randn(4, 3, 5, 5, dtype=fovea.float64)
    bn = nn.BatchNorm2d(3, dtype=fovea.float64)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(bn))[0]
    assert type(sync) is nn.SyncBatchNorm and sync.weight is bn.weight
    assert sync.running_mean is bn.running_mean
    ref = nn.BatchNorm2d(3, dtype=fovea.float64)
    for m in (sync, ref):
        m.train()
    np.testing.assert_allclose(sync(x).detach().numpy(), ref(x).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(sync.running_var.numpy(), ref.running_var.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="SyncBatchNorm"):
        nn.SyncBatchNorm(4)(fovea.randn(2, 3, 5))


def test_ddp_needs_a_process_group():
    import fovea.distributed as dist

    if dist.is_initialized():
        pytest.skip("a process group is up in this process")
    with pytest.raises(RuntimeError, match="init_process_group"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(fovea.ones(2))
    assert dist.is_initialized() is False
