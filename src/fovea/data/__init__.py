"""Data: named data sets as fixed splits, Dataset/DataLoader, transforms.

- :func:`load_dataset` -> :class:`DatasetSplits` (``digits``, ``cifar10``, ``cifar100``,
  ``mnist``, ``fashion_mnist``, ``folder:PATH``);
  ``mnist5k`` too; where each comes from and its licence: docs/datasets.md;
- :class:`MNIST`, :class:`FashionMNIST` (torchvision-style datasets), :func:`sample_images`
  (photos bundled in scikit-image and scikit-learn);
- :class:`Dataset`, :class:`ArrayDataset`, :class:`TensorDataset`, :class:`Subset`,
  :func:`random_split`, :class:`ImageFolder`;
- :class:`DataLoader` (seeded, resumable, threaded prefetch); :class:`DeviceLoader` (its
  batches on a device, the next one uploaded while the current one computes);
- :mod:`fovea.data.transforms` (batch transforms ``t(x, rng)``);
- per-image transforms with torchvision's interface in :mod:`fovea.data.transforms`, batch
  transforms in :mod:`fovea.data.batch_transforms`; samplers, ``default_collate``,
  ``IterableDataset``, ``ConcatDataset``, worker processes (also as :mod:`fovea.utils.data`);
- the loaders behind ``load_dataset``: :func:`fovea.data.cifar.cifar10` / ``cifar100``,
  :func:`fovea.data.mnist.mnist` / ``fashion_mnist`` (not re-exported here, so that the
  submodule ``fovea.data.mnist`` is not shadowed by its function).

See docs/data.md.
"""

from fovea.data import batch_transforms, transforms  # noqa: F401
from fovea.data._worker import WorkerInfo, get_worker_info  # noqa: F401
from fovea.data.collate import default_collate, default_convert  # noqa: F401
from fovea.data.dataloader import DataLoader  # noqa: F401
from fovea.data.dataset import (  # noqa: F401
    ArrayDataset,
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from fovea.data.device_loader import DeviceLoader  # noqa: F401
from fovea.data.distributed_sampler import DistributedSampler  # noqa: F401
from fovea.data.download import DatasetError  # noqa: F401
from fovea.data.idx_datasets import MNIST, FashionMNIST  # noqa: F401
from fovea.data.image_folder import ImageFolder, image_folder_splits  # noqa: F401
from fovea.data.sampler import (  # noqa: F401
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from fovea.data.samples import available_sample_images, sample_images  # noqa: F401
from fovea.data.splits import DatasetSplits, digits, load_dataset, split_indices  # noqa: F401

# isort: split
# Mixup and CutMix: batch transforms that mix images and labels.
from fovea.data.mixing import *  # noqa: F403
