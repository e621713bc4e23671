"""DeviceLoader: batches on a device, the next upload started before the current batch is
handed out; the CPU path untouched; the pinned-buffer stager against a fake CuPy that
records the order of its calls."""

from __future__ import annotations

import types

import numpy as np

import fovea
from backends import standin
from fovea.backends.cuda.transfer import PinnedStager
from fovea.data import ArrayDataset, DataLoader, DeviceLoader


def loader():
    x = np.arange(40, dtype=np.float32).reshape(10, 1, 2, 2)
    return DataLoader(ArrayDataset(x, np.arange(10)), batch_size=4, seed=0)


def test_cpu_batches_pass_through_unchanged():
    base = loader()
    wrapped = DeviceLoader(base, "cpu")
    assert len(wrapped) == 3 and wrapped.batch_size == 4 and wrapped.dataset is base.dataset
    got = list(wrapped)
    ref = list(loader())
    assert len(got) == 3
    for (x, y), (rx, ry) in zip(got, ref):
        assert type(x._data) is np.ndarray
        np.testing.assert_array_equal(x.numpy(), rx.numpy())
        np.testing.assert_array_equal(y.numpy(), ry.numpy())


def test_batches_arrive_on_another_device():
    got = list(DeviceLoader(loader(), standin.NAME))
    ref = list(loader())
    assert len(got) == len(ref) == 3
    for (x, y), (rx, ry) in zip(got, ref):
        assert x.device == standin.NAME and y.device == standin.NAME
        assert isinstance(x._data, standin.StandInArray) and x.dtype == fovea.float32
        np.testing.assert_array_equal(x.cpu().numpy(), rx.numpy())
        np.testing.assert_array_equal(y.cpu().numpy(), ry.numpy())
    nested = [{"a": np.ones(2), "n": 3}, (fovea.zeros(1), "text")]
    (out,) = DeviceLoader(nested[:1] * 1, standin.NAME)
    assert out["a"].device == standin.NAME and out["n"] == 3
    assert list(DeviceLoader([], standin.NAME)) == []


def test_the_next_upload_starts_before_the_current_batch_is_handed_out():
    log = []

    def batches():
        for i in range(3):
            log.append(f"load {i}")
            yield np.full(2, float(i))

    it = iter(DeviceLoader(batches(), standin.NAME))
    first = next(it)
    assert log == ["load 0", "load 1"]  # batch 1 is on its way while batch 0 computes
    assert first.cpu().tolist() == [0.0, 0.0]
    assert [b.cpu().tolist()[0] for b in it] == [1.0, 2.0]


class _Event:
    def __init__(self, log, n):
        self.log, self.n = log, n

    def synchronize(self):
        self.log.append(("wait host", self.n))


def fake_cupy(log):
    events = []

    class Stream:
        def __init__(self, non_blocking=False):
            log.append(("stream", non_blocking))

        def record(self):
            events.append(_Event(log, len(events)))
            log.append(("record", events[-1].n))
            return events[-1]

        def wait_event(self, ev):
            log.append(("compute waits", ev.n))

    class DeviceArray:
        def __init__(self, shape, dtype):
            self.shape, self.dtype, self.data = shape, dtype, None

        def set(self, buf, stream=None):
            assert isinstance(stream, Stream)
            log.append(("copy", id(buf)))
            self.data = buf.copy()

    compute = Stream.__new__(Stream)
    cp = types.SimpleNamespace(empty=DeviceArray, cuda=types.SimpleNamespace(
        Stream=Stream, get_current_stream=lambda: compute))
    cupyx = types.SimpleNamespace(empty_pinned=lambda shape, dtype: np.empty(shape, dtype))
    return cp, cupyx


def test_pinned_stager_copies_on_its_stream_and_reuses_finished_buffers():
    log = []
    cp, cupyx = fake_cupy(log)
    st = PinnedStager(cp, cupyx, depth=2)
    assert log == [("stream", True)]
    outs = [st.upload(np.full((2, 3), float(i)), slot=0) for i in range(3)]
    assert [o.data[0, 0] for o in outs] == [0.0, 1.0, 2.0] and outs[0].dtype == np.float64
    copies = [e[1] for e in log if e[0] == "copy"]
    assert copies[0] == copies[2] != copies[1]  # two buffers in turn
    # the third upload reuses buffer 0 only after the first copy's event: then copies
    i = log.index(("wait host", 0))
    assert log[i + 1][0] == "copy" and log.count(("compute waits", 2)) == 1
    st.upload(np.zeros(5, np.int64), slot=1)  # another slot: its own buffers
    assert log[-3][0] == "copy" and log[-3][1] not in copies[:2]
