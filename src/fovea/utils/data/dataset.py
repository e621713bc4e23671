"""``torch.utils.data.dataset``: the dataset classes and ``random_split``."""

from fovea.data.dataset import (  # noqa: F401
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
