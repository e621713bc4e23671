"""DataLoader worker processes: per-worker seeding, worker_init_fn, order, errors naming the
worker, Ctrl-C and early exits leaving no process behind, persistent workers, timeout, spawn."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import fovea
from fovea.data import transforms as T
from fovea.data._random import default_rng
from fovea.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _alive(pid):
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def _wait_gone(pids, limit=10.0):
    deadline = time.time() + limit
    while time.time() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return not any(_alive(p) for p in pids)


class Seeds(Dataset):
    """Each example reports who made it and the first draws of every seeded generator."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return (i, info.id, info.seed, os.getpid(), np.random.random(), random.random(),
                float(default_rng().random()))


def test_each_worker_is_seeded_with_base_seed_plus_its_id():
    loader = DataLoader(Seeds(), batch_size=2, num_workers=2, seed=7)
    batches = list(loader)
    base = loader.base_seed(0)
    wid = np.concatenate([b[1].numpy() for b in batches])
    seeds = np.concatenate([b[2].numpy() for b in batches])
    np.testing.assert_array_equal(seeds, base + wid)
    assert wid.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]            # batches go round-robin
    # NumPy, random and fovea were seeded: first draws of worker 0 and 1 differ, and repeat
    first = {int(b[1][0]): [float(b[k][0]) for k in (4, 5, 6)] for b in batches[:2]}
    assert first[0] != first[1]
    again = list(DataLoader(Seeds(), batch_size=2, num_workers=2, seed=7))
    for u, v in zip(batches, again):
        for k in (0, 1, 2, 4, 5, 6):
            np.testing.assert_array_equal(u[k].numpy(), v[k].numpy())
    assert loader.base_seed(1) != base                        # a new epoch, new seeds


class Augmented(Dataset):
    def __init__(self):
        self.images = np.random.default_rng(0).random((12, 3, 10, 10)).astype(np.float32)
        self.tf = T.Compose([T.RandomResizedCrop(8), T.RandomHorizontalFlip(),
                             T.ColorJitter(0.3, 0.3, 0.3)])

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.tf(self.images[i]), i


def test_per_image_augmentation_in_workers_repeats_with_the_seed():
    a = [x.numpy() for x, _ in DataLoader(Augmented(), batch_size=3, num_workers=2, seed=1)]
    b = [x.numpy() for x, _ in DataLoader(Augmented(), batch_size=3, num_workers=2, seed=1)]
    c = [x.numpy() for x, _ in DataLoader(Augmented(), batch_size=3, num_workers=2, seed=2)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c))


_INIT = {}


def _init(worker_id):
    _INIT["id"] = worker_id * 100


class InitSeen(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return _INIT.get("id", -1)


def test_worker_init_fn_runs_in_each_worker():
    out = [b.tolist() for b in DataLoader(InitSeen(), batch_size=1, num_workers=2,
                                          worker_init_fn=_init)]
    assert out == [[0], [100], [0], [100]] and "id" not in _INIT


class Failing(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise KeyError(f"missing example {i}")
        if i == 5:
            raise ValueError("bad value")
        return os.getpid()


def test_an_error_names_the_worker_and_carries_the_traceback():
    loader = DataLoader(Failing(), batch_size=1, num_workers=2)
    pids = []
    with pytest.raises(KeyError) as info:
        for b in loader:
            pids += b.tolist()
    msg = str(info.value)
    assert "Caught KeyError in DataLoader worker process 1" in msg
    assert "Original Traceback" in msg and "missing example 3" in msg
    assert pids and _wait_gone(pids)


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            os._exit(3)
        return i


def test_a_worker_that_dies_is_reported():
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid\(s\) \d+\) exited"):
        list(DataLoader(Dies(), batch_size=1, num_workers=2))


class Slow(Dataset):
    def __init__(self, delay):
        self.delay = delay

    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(self.delay)
        return i


def test_timeout_raises():
    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        list(DataLoader(Slow(3.0), batch_size=1, num_workers=1, timeout=0.3))


class Pids(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return i, os.getpid()


def test_persistent_workers_serve_every_epoch_and_stop_with_the_loader():
    loader = DataLoader(Pids(), batch_size=2, num_workers=2, persistent_workers=True)
    epochs = [[(b[0].tolist(), b[1].tolist()) for b in loader] for _ in range(3)]
    pids = {p for e in epochs for _, ps in e for p in ps}
    assert len(pids) == 2
    assert all([i for i, _ in e] == [[0, 1], [2, 3], [4, 5]] for e in epochs)
    it = iter(loader)                      # abandon an epoch midway: the next one is whole
    next(it)
    del it
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]
    del loader
    assert _wait_gone(pids)


class Stream(IterableDataset):
    def __iter__(self):
        info = get_worker_info()
        return iter(range(10) if info is None else range(info.id, 10, info.num_workers))


def test_iterable_datasets_are_split_by_the_workers_and_interleaved():
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [
        [0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    out = [b.tolist() for b in DataLoader(Stream(), batch_size=3, num_workers=2)]
    assert out == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]     # what torch yields too
    out = [b.tolist() for b in DataLoader(Stream(), batch_size=3, num_workers=2,
                                          drop_last=True)]
    assert out == [[0, 2, 4], [1, 3, 5]]


def test_out_of_order_delivery_still_yields_every_batch():
    ds = TensorDataset(np.arange(20))
    got = [b[0].tolist() for b in DataLoader(Pids(), batch_size=1, num_workers=2,
                                            in_order=False)]
    assert sorted(x for g in got for x in g) == list(range(6))
    assert len(list(DataLoader(ds, batch_size=3, num_workers=2, in_order=False))) == 7


def test_spawn_workers_give_the_same_batches():
    ds = TensorDataset(np.arange(24, dtype=np.float32).reshape(12, 2), np.arange(12))
    ref = [b[0].numpy() for b in DataLoader(ds, batch_size=5, shuffle=True, seed=4)]
    out = [b[0].numpy() for b in DataLoader(ds, batch_size=5, shuffle=True, seed=4,
                                            num_workers=2, multiprocessing_context="spawn")]
    for u, v in zip(ref, out):
        np.testing.assert_array_equal(u, v)


_CTRL_C = textwrap.dedent("""
    import os, sys, time
    from fovea.utils.data import DataLoader, Dataset

    class Slow(Dataset):
        def __len__(self):
            return 10_000
        def __getitem__(self, i):
            time.sleep(0.01)
            return i

    def init(worker_id):
        with open(sys.argv[1], "a") as f:
            f.write(f"{os.getpid()}\\n")

    for k, _ in enumerate(DataLoader(Slow(), batch_size=2, num_workers=2,
                                     worker_init_fn=init)):
        if k == 5:
            print("ready", flush=True)
""")


def _ctrl_c_delivered():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_ctrl_c_in_the_main_process_leaves_no_worker_behind(tmp_path):
    pid_file = tmp_path / "pids"
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # SIGINT's default action in the child, as in a terminal (a test run started in the
    # background ignores SIGINT, and children inherit that)
    proc = subprocess.Popen([sys.executable, "-c", _CTRL_C, str(pid_file)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_delivered)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)               # Ctrl-C reaches the main process only
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "KeyboardInterrupt" in err, (proc.returncode, err[-2000:])
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 2 and _wait_gone(pids)


def test_seeding_leaves_the_main_process_generator_alone():
    fovea.manual_seed(3)
    expected = float(default_rng().random())
    fovea.manual_seed(3)
    loader = DataLoader(Seeds(), batch_size=4, num_workers=2, seed=0)
    list(loader)
    assert float(default_rng().random()) == expected


def test_persistent_workers_restart_an_iterable_stream_every_epoch():
    loader = DataLoader(Stream(), batch_size=3, num_workers=2, persistent_workers=True)
    first = [b.tolist() for b in loader]
    second = [b.tolist() for b in loader]
    assert first == second == [[0, 2, 4], [1, 3, 5], [6, 8], [7, 9]]
