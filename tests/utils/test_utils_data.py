"""fovea.utils.data mirrors torch.utils.data: the import paths, the DataLoader's argument
checks (PyTorch's messages; the same error types as torch when it is installed), batching
without a batch path, ConcatDataset and random_split."""

import numpy as np
import pytest
from PIL import Image

import fovea
from fovea.data import transforms as T
from fovea.utils.data import (
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from oracle import needs_torch, torch


def test_torch_import_paths_exist():
    import fovea.utils.data as fud
    from fovea.utils.data.dataloader import DataLoader as DL
    from fovea.utils.data.dataloader import default_collate, get_worker_info  # noqa: F401
    from fovea.utils.data.dataset import ConcatDataset, random_split  # noqa: F401
    from fovea.utils.data.sampler import BatchSampler, WeightedRandomSampler  # noqa: F401

    assert DL is fud.DataLoader and fud.get_worker_info() is None
    for name in ("Dataset", "IterableDataset", "TensorDataset", "DataLoader", "Subset",
                 "ConcatDataset", "random_split", "default_collate", "get_worker_info",
                 "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
                 "WeightedRandomSampler", "BatchSampler", "Sampler"):
        assert hasattr(fud, name), name


class Pairs(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.full((2, 2), i, np.float32), i


class Stream(IterableDataset):
    def __iter__(self):
        return iter(range(5))


DS = TensorDataset(np.arange(10))
BAD = [
    (lambda m, ds: m.DataLoader(ds, num_workers=-1),
     "num_workers option should be non-negative"),
    (lambda m, ds: m.DataLoader(ds, timeout=-1), "timeout option should be non-negative"),
    (lambda m, ds: m.DataLoader(ds, prefetch_factor=2),
     "prefetch_factor option could only be specified in multiprocessing"),
    (lambda m, ds: m.DataLoader(ds, persistent_workers=True),
     "persistent_workers option needs num_workers > 0"),
    (lambda m, ds: m.DataLoader(ds, shuffle=True, sampler=m.SequentialSampler(ds)),
     "sampler option is mutually exclusive with shuffle"),
    (lambda m, ds: m.DataLoader(ds, batch_size=4, batch_sampler=[[0, 1]]),
     "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
     "drop_last"),
    (lambda m, ds: m.DataLoader(ds, batch_size=None, drop_last=True),
     "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"),
]


@pytest.mark.parametrize("k", range(len(BAD)))
def test_dataloader_rejects_what_torch_rejects(k):
    import fovea.utils.data as fud

    make, message = BAD[k]
    with pytest.raises(ValueError, match=message):
        make(fud, DS)


@needs_torch
@pytest.mark.parametrize("k", range(len(BAD)))
def test_dataloader_errors_match_torch(k):
    import torch.utils.data as tud

    make, message = BAD[k]
    with pytest.raises(ValueError, match=message):
        make(tud, tud.TensorDataset(torch.arange(10)))


def test_iterable_datasets_refuse_shuffle_and_samplers():
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="attribute should not be set after DataLoader is"):
        DataLoader(DS).batch_size = 3


def test_map_datasets_without_a_batch_path_are_collated_per_example():
    batches = list(DataLoader(Pairs(), batch_size=3))
    x, y = batches[0]
    assert isinstance(batches[0], list) and x.shape == (3, 2, 2) and y.dtype == np.int64
    assert [len(b[1]) for b in batches] == [3, 3, 1] and len(DataLoader(Pairs(), 3)) == 3
    single = list(DataLoader(Pairs(), batch_size=None))         # no batching: converted items
    assert len(single) == 7 and single[2][0].shape == (2, 2) and single[2][1] == 2
    sampled = [b[1].tolist() for b in DataLoader(Pairs(), batch_sampler=[[6, 0], [3]])]
    assert sampled == [[6, 0], [3]]
    custom = list(DataLoader(Pairs(), batch_size=2, collate_fn=lambda items: len(items)))
    assert custom == [2, 2, 2, 1]


def test_tensor_dataset_items_are_tensors_and_batches_a_list():
    ds = TensorDataset(np.arange(6, dtype=np.float32), np.arange(6) % 2)
    x, y = ds[4]
    assert isinstance(x, fovea.Tensor) and float(x.item()) == 4.0 and int(y.item()) == 0
    (bx, by), *_ = DataLoader(ds, batch_size=4)
    assert bx.tolist() == [0, 1, 2, 3] and by.dtype == np.int64


def test_concat_dataset_and_random_split():
    cat = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 14))])
    assert len(cat) == 7 and int(cat[3][0].item()) == 10 and int(cat[-1][0].item()) == 13
    assert len(Pairs() + Pairs()) == 14
    fovea.manual_seed(0)
    a, b = random_split(range(10), [0.7, 0.3])
    fovea.manual_seed(0)
    a2, _ = random_split(range(10), [0.7, 0.3])
    assert isinstance(a, Subset) and len(a) == 7 and len(b) == 3
    assert sorted(list(a) + list(b)) == list(range(10)) and list(a) == list(a2)
    g = np.random.default_rng(1)
    c, d = random_split(range(10), [4, 6], generator=g)
    assert len(c) == 4 and len(d) == 6


def test_a_pytorch_style_dataset_with_per_image_transforms_trains_through_the_loader():
    imgs = [Image.fromarray(np.full((12, 12), 20 * k, np.uint8)) for k in range(10)]

    class Images(Dataset):
        def __init__(self, tf):
            self.tf = tf

        def __len__(self):
            return len(imgs)

        def __getitem__(self, i):
            return self.tf(imgs[i]), i % 2

    tf = T.Compose([T.RandomRotation(10), T.RandomCrop(10), T.ToTensor(),
                    T.Normalize((0.5,), (0.5,))])
    for workers in (0, 2):
        batches = list(DataLoader(Images(tf), batch_size=4, shuffle=True, num_workers=workers))
        x, y = batches[0]
        assert x.shape == (4, 1, 10, 10) and x.dtype == np.float32 and y.dtype == np.int64
        assert sum(len(b[1]) for b in batches) == 10


def test_stack_dataset_zips_datasets():
    from fovea.utils.data import StackDataset

    s = StackDataset(range(3), ["a", "b", "c"])
    assert len(s) == 3 and s[1] == (1, "b")
    d = StackDataset(x=range(3), y=range(10, 13))
    assert d[2] == {"x": 2, "y": 12}
    batch = next(iter(DataLoader(d, batch_size=3)))
    assert batch["y"].tolist() == [10, 11, 12]
    with pytest.raises(ValueError, match="size mismatch"):
        StackDataset(range(3), range(4))
