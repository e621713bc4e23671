"""DataLoader on fovea datasets: shapes, drop_last, seeded shuffling, exact resume, worker
processes giving the same batches as the calling process."""

import os
import time

import numpy as np
import pytest

import fovea
from fovea.data import ArrayDataset, DataLoader, Dataset, TensorDataset
from fovea.data import transforms as T


def _dataset(n=50, transform=None):
    rng = np.random.default_rng(0)
    x = rng.random((n, 3, 6, 6)).astype(np.float32)
    return ArrayDataset(x, np.arange(n) % 10, transform=transform)


_AUG = T.Compose([T.RandomCrop(6, padding=1), T.RandomHorizontalFlip(), T.Cutout(2)])


def _collect(loader, as_numpy=True):
    return [tuple(t.numpy() if as_numpy else t for t in batch) for batch in loader]


def _same(a, b):
    assert len(a) == len(b)
    for ba, bb in zip(a, b):
        for ta, tb in zip(ba, bb):
            np.testing.assert_array_equal(ta, tb)


def test_batches_are_fovea_tensors_with_the_right_shapes_and_dtypes():
    loader = DataLoader(_dataset(), batch_size=16)
    batches = list(loader)
    assert len(loader) == 4 and len(batches) == 4
    x, y = batches[0]
    assert isinstance(x, fovea.Tensor) and isinstance(y, fovea.Tensor)
    assert x.shape == (16, 3, 6, 6) and x.dtype == np.float32
    assert y.shape == (16,) and y.dtype == np.int64
    assert not x.requires_grad
    assert batches[-1][0].shape[0] == 50 - 48


def test_drop_last_drops_the_short_batch():
    loader = DataLoader(_dataset(), batch_size=16, drop_last=True)
    sizes = [x.shape[0] for x, _ in loader]
    assert len(loader) == 3 and sizes == [16, 16, 16]
    assert len(DataLoader(_dataset(10), batch_size=16, drop_last=True)) == 0


def test_without_shuffle_batches_follow_dataset_order():
    ds = _dataset()
    (x, y), *_ = DataLoader(ds, batch_size=8, as_tensor=False)
    np.testing.assert_array_equal(x, ds.images[:8])
    np.testing.assert_array_equal(y, ds.labels[:8])


def test_shuffle_visits_every_example_once_per_epoch():
    ds = TensorDataset(np.arange(37))
    loader = DataLoader(ds, batch_size=5, shuffle=True, seed=1, as_tensor=False)
    for _ in range(2):
        seen = np.concatenate([b[0] for b in loader])
        np.testing.assert_array_equal(np.sort(seen), np.arange(37))
        assert not np.array_equal(seen, np.arange(37))


def test_same_seed_same_batches_other_seed_or_epoch_different():
    ds = _dataset(transform=_AUG)
    a = _collect(DataLoader(ds, batch_size=8, shuffle=True, seed=5))
    b = _collect(DataLoader(ds, batch_size=8, shuffle=True, seed=5))
    _same(a, b)
    c = _collect(DataLoader(ds, batch_size=8, shuffle=True, seed=6))
    assert not np.array_equal(a[0][1], c[0][1])
    loader = DataLoader(ds, batch_size=8, shuffle=True, seed=5)
    first, second = _collect(loader), _collect(loader)
    _same(first, a)
    assert loader.epoch == 2
    assert not np.array_equal(first[0][1], second[0][1])


def test_augmentation_differs_between_epochs_for_the_same_examples():
    ds = _dataset(transform=T.Compose([T.RandomCrop(6, padding=2)]))
    loader = DataLoader(ds, batch_size=50, seed=0)
    (x0, _), = _collect(loader)
    (x1, _), = _collect(loader)
    assert not np.array_equal(x0, x1)


def test_resume_at_an_epoch_boundary_matches_an_uninterrupted_run():
    ds = _dataset(transform=_AUG)
    ref = DataLoader(ds, batch_size=8, shuffle=True, seed=3)
    epochs = [_collect(ref) for _ in range(3)]
    resumed = DataLoader(ds, batch_size=8, shuffle=True, seed=3)
    resumed.set_epoch(2)
    _same(_collect(resumed), epochs[2])
    state = ref.state_dict()
    assert state == {"seed": 3, "epoch": 3, "batch": 0}


def test_resume_in_the_middle_of_an_epoch_matches_an_uninterrupted_run():
    ds = _dataset(transform=_AUG)
    ref = DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    full = [_collect(ref) for _ in range(2)]

    run = DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    _collect(run)                               # epoch 0
    it = iter(run)
    for _ in range(3):                          # three batches of epoch 1, then "crash"
        next(it)
    state = run.state_dict()
    assert state == {"seed": 11, "epoch": 1, "batch": 3}

    fresh = DataLoader(ds, batch_size=8, shuffle=True, seed=0)
    fresh.load_state_dict(state)
    _same(_collect(fresh), full[1][3:])
    assert fresh.state_dict() == {"seed": 11, "epoch": 2, "batch": 0}


def test_an_abandoned_pass_counts_as_an_epoch():
    loader = DataLoader(TensorDataset(np.arange(20)), batch_size=5, shuffle=True, seed=0,
                        as_tensor=False)
    next(iter(loader))
    assert loader.state_dict()["epoch"] == 0
    rest = _collect(loader, as_numpy=False)
    ref = DataLoader(TensorDataset(np.arange(20)), batch_size=5, shuffle=True, seed=0,
                     as_tensor=False)
    ref.set_epoch(1)
    _same(rest, _collect(ref, as_numpy=False))


@pytest.mark.parametrize("workers", [1, 3])
def test_worker_processes_give_the_same_batches_as_the_calling_process(workers):
    ds = _dataset(n=90, transform=T.Compose([_AUG, T.RandomAffine(15, translate=(0.1, 0.1)),
                                             T.ColorJitter(0.3, 0.3, 0.3)]))
    serial = DataLoader(ds, batch_size=7, shuffle=True, seed=2)
    parallel = DataLoader(ds, batch_size=7, shuffle=True, seed=2, num_workers=workers,
                          prefetch_factor=2)
    for _ in range(2):
        _same(_collect(serial), _collect(parallel))


class _SlowDataset(Dataset):
    """get_batch sleeps (like decoding or I/O) and returns the pid of the process that ran it."""

    def __init__(self, n, delay):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.float32(i)

    def get_batch(self, indices, rng=None):
        time.sleep(self.delay)
        return indices.astype(np.float32), np.full(len(indices), os.getpid())


def test_workers_overlap_loading_with_compute():
    delay, n = 0.05, 12
    ds = _SlowDataset(n, delay)
    start = time.perf_counter()
    pids = set()
    for _x, pid in DataLoader(ds, batch_size=1, num_workers=2):
        pids.update(pid.tolist())
        time.sleep(delay)                        # the "training step"
    parallel = time.perf_counter() - start
    assert os.getpid() not in pids and len(pids) == 2
    # serial would take >= 2 * n * delay = 1.2 s; overlapped about (n + 1) * delay = 0.65 s
    assert parallel < 0.9 * 2 * n * delay, parallel


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_breaking_out_of_a_loop_stops_its_worker_processes():
    loader = DataLoader(_SlowDataset(40, 0.005), batch_size=1, num_workers=2)
    pids = set()
    for i, (_, pid) in enumerate(loader):
        pids.update(pid.tolist())
        if i == 4:
            break
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert pids and not any(_alive(p) for p in pids)


class _FailingDataset(_SlowDataset):
    def get_batch(self, indices, rng=None):
        if indices[0] == 4:
            raise RuntimeError("broken example 4")
        return super().get_batch(indices, rng)


def test_an_error_in_a_worker_reaches_the_caller():
    loader = DataLoader(_FailingDataset(8, 0.0), batch_size=1, num_workers=2)
    with pytest.raises(RuntimeError, match="broken example 4"):
        list(loader)


@pytest.mark.parametrize("kwargs, msg", [({"batch_size": 0}, "batch_size"),
                                         ({"num_workers": -1}, "num_workers option"),
                                         ({"seed": -3}, "seed"),
                                         ({"batch_size": 2.5}, "batch_size")])
def test_bad_arguments_are_rejected(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        DataLoader(_dataset(), **kwargs)


def test_bad_state_dicts_are_rejected():
    loader = DataLoader(_dataset(), batch_size=10)
    with pytest.raises(ValueError, match="missing keys"):
        loader.load_state_dict({"seed": 0})
    with pytest.raises(ValueError, match="past the end"):
        loader.load_state_dict({"seed": 0, "epoch": 0, "batch": 9})


def test_seed_none_draws_a_seed_that_is_recorded():
    loader = DataLoader(_dataset(), batch_size=10, shuffle=True, seed=None)
    again = DataLoader(_dataset(), batch_size=10, shuffle=True, seed=loader.seed)
    _same(_collect(loader), _collect(again))
