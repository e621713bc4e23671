"""``torch.utils.data``'s import paths: datasets, samplers, the DataLoader, collation.

    from fovea.utils.data import DataLoader, Dataset, TensorDataset, random_split

The classes live in :mod:`fovea.data` (see docs/data.md); this package re-exports them under
the names PyTorch programs import.
"""

from fovea.data._worker import WorkerInfo, get_worker_info
from fovea.data.collate import default_collate, default_convert
from fovea.data.dataloader import DataLoader
from fovea.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from fovea.data.distributed_sampler import DistributedSampler
from fovea.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
    "DistributedSampler", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "WorkerInfo",
    "default_collate", "default_convert", "get_worker_info", "random_split",
]
