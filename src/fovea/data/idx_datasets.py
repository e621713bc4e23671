"""MNIST and Fashion-MNIST as :class:`~fovea.data.ArrayDataset` s, as torchvision offers them.

``FashionMNIST(train=True)`` reads the 60,000 training images from wherever
:mod:`fovea.data.mnist` finds them (a data directory, the Debian package, the cache);
``load_dataset("fashion_mnist")`` gives the same data as fixed train/val/test splits.
"""

from __future__ import annotations

import os

import numpy as np

from fovea.data import mnist as _m
from fovea.data.dataset import ArrayDataset, Transform


class MNIST(ArrayDataset):
    """The MNIST training or test set as a dataset, like ``torchvision.datasets.MNIST``.

    Images are kept as uint8 ``(N, 1, 28, 28)``; ``ds[i]`` gives a float32 (1, 28, 28) image
    in [0, 1] and its int64 label, and the :class:`~fovea.data.DataLoader` gets batches
    through ``transform``.

    Args:
        root: a data directory to search first and to download into (None: the system
            package and the cache only; see the module docstring).
        train: the 60,000 training images (True) or the 10,000 test images (False).
        transform: batch transform ``t(x, rng)`` (fovea's transforms work on batches).
        download: fetch missing files (MD5-checked); False raises :class:`DatasetError`
            naming the
            directories searched.

    Attributes:
        data: uint8 (N, 28, 28) images; ``targets``: int64 (N,) labels;
        classes: the class names; ``class_to_idx``: name -> label.
    """

    name = "mnist"
    classes = _m.MNIST_CLASSES

    @staticmethod
    def _resources():
        return _m.MNIST

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Transform | None = None, download: bool = False):
        part = "train" if train else "test"
        resources = self._resources()
        files = tuple(r.filename for r in (resources[:2] if train else resources[2:]))
        directory = _m.locate(self.name, resources, root, download, files)
        images, labels = _m.read_mnist_files(directory, resources, parts=(part,))
        super().__init__(images, labels, transform)
        self.train, self.root = train, directory
        self.classes = list(type(self).classes)
        self.class_to_idx = {c: k for k, c in enumerate(self.classes)}

    @property
    def data(self) -> np.ndarray:
        return self.images[:, 0]

    @property
    def targets(self) -> np.ndarray:
        return self.labels


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando) as a dataset, like ``torchvision.datasets.FashionMNIST``.

    Same arguments and attributes as :class:`MNIST`; the files are found in ``root``, in
    ``/usr/share/datasets/fashion-mnist/`` (``apt-get install dataset-fashion-mnist``) or in
    the cache before any download. 60,000 training / 10,000 test images of 10 classes.
    """

    name = "fashion_mnist"
    classes = _m.FASHION_MNIST_CLASSES

    @staticmethod
    def _resources():
        return _m.FASHION_MNIST


__all__ = ["MNIST", "FashionMNIST"]
