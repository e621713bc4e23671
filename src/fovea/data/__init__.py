"""Data: named data sets as fixed splits, Dataset/DataLoader, transforms."""

from fovea.data.splits import DatasetSplits, digits, load_dataset, split_indices  # noqa: F401
