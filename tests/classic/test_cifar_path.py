"""The CIFAR-10 path end to end, on generated files in the official python-pickle format.

``fovea classic`` trains each model on them through ``fovea.data``'s CIFAR-10 loader; the
files follow the published layout: ``cifar-10-batches-py/data_batch_1..5``, ``test_batch`` and
``batches.meta``, each a pickled dict with bytes keys.
"""

import json
import pickle
import re
import tarfile

import numpy as np
import pytest

from fovea.cli import main

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


def _cifar_supported() -> bool:
    try:
        from fovea.data import splits
    except ImportError:  # pragma: no cover
        return False
    return "cifar10" in getattr(splits, "_LOADERS", {})


pytestmark = pytest.mark.skipif(not _cifar_supported(),
                                reason="fovea.data cannot load 'cifar10' yet")


def _images(rng, labels):
    """Class k: a distinct mean colour and a bright row at height 3k, plus noise."""
    n = len(labels)
    base = np.stack([rng.integers(40, 216, 3) for _ in range(10)])      # (10, 3)
    img = np.empty((n, 3, 32, 32))
    img[:] = base[labels][:, :, None, None]
    img[np.arange(n), :, 3 * labels, :] = 255
    img += rng.normal(0, 12, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8).reshape(n, 3072)


def _write(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f)


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    palette_rng = np.random.default_rng(99)   # the same class colours in every batch
    state = palette_rng.bit_generator.state
    for i in range(1, 6):
        labels = rng.integers(0, 10, 300)
        palette_rng.bit_generator.state = state
        data = _images(palette_rng, labels)
        _write(folder / f"data_batch_{i}", {b"batch_label": f"training batch {i} of 5".encode(),
                                             b"labels": labels.tolist(), b"data": data,
                                             b"filenames": [b"x.png"] * 300})
    labels = rng.integers(0, 10, 200)
    palette_rng.bit_generator.state = state
    _write(folder / "test_batch", {b"batch_label": b"testing batch 1 of 1",
                                   b"labels": labels.tolist(),
                                   b"data": _images(palette_rng, labels),
                                   b"filenames": [b"x.png"] * 200})
    _write(folder / "batches.meta", {b"label_names": [c.encode() for c in CLASSES],
                                     b"num_cases_per_batch": 300, b"num_vis": 3072})
    # The published archive: cifar-10-python.tar.gz holding cifar-10-batches-py/, in the cache
    # folder that fovea.data.cifar10 reads (root/cifar10/).
    archive = root / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    return root


@pytest.fixture
def cifar_files(cifar_dir, monkeypatch):
    """The generated archive and extracted files, registered with their own checksums (the
    real ones are the published ones)."""
    import hashlib

    from fovea.data import cifar

    archive = cifar_dir / "cifar10" / "cifar-10-python.tar.gz"
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(cifar, "CIFAR10", cifar.Resource(cifar.CIFAR10.filename,
                                                         cifar.CIFAR10.urls, md5))
    members = {p.name: hashlib.md5(p.read_bytes()).hexdigest()
               for p in (cifar_dir / "cifar-10-batches-py").iterdir()}
    monkeypatch.setattr(cifar, "CIFAR10_MEMBER_MD5", members)
    return cifar_dir


@pytest.mark.parametrize("model, extra", [
    ("knn", ["--k", "1", "3"]),
    ("svm", ["--num-iters", "200"]),
    ("softmax", ["--features", "hog+color", "--num-iters", "200", "--learning-rate", "1e-2"]),
    ("two-layer", ["--num-iters", "200", "--hidden-size", "30"]),
])
def test_every_model_runs_on_cifar_format_files(capsys, tmp_path, cifar_files, model, extra):
    rc = main(["classic", model, "--dataset", "cifar10", "--data-dir", str(cifar_files),
               "--no-download", "--out", str(tmp_path), *extra])
    out, err = capsys.readouterr()
    assert rc == 0, err
    test_acc = float(re.search(r"test accuracy: ([0-9.]+)", out).group(1))
    assert test_acc >= 0.8   # the generated classes are easy to tell apart
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["classes"] == CLASSES and report["sizes"]["test"] == 200
    if model == "svm":
        from PIL import Image

        assert Image.open(tmp_path / "templates.png").size[0] > 0
