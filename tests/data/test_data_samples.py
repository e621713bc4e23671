"""sample_images(): the photos bundled in scikit-image and scikit-learn, read without them."""

import dataclasses
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import fovea.data.samples as si
from fovea.data import DatasetError, sample_images

HAVE_SKIMAGE = si.sample_image_path("chelsea") is not None
skip_no_skimage = pytest.mark.skipif(not HAVE_SKIMAGE, reason="scikit-image not installed "
                                                             "(pip install scikit-image)")


@skip_no_skimage
def test_skimage_photos_equal_skimages_own_loaders():
    data = pytest.importorskip("skimage.data")
    for name, loader in (("astronaut", data.astronaut), ("chelsea", data.chelsea),
                         ("coffee", data.coffee), ("rocket", data.rocket),
                         ("camera", data.camera), ("coins", data.coins)):
        ref = loader()
        ref = ref[:, :, None] if ref.ndim == 2 else ref
        got = sample_images(name)
        assert got.dtype == np.uint8 and got.shape == si.SAMPLE_IMAGES[name].shape
        np.testing.assert_array_equal(got, ref)


def test_sklearn_photos_equal_sklearns_loader():
    if si.sample_image_path("china") is None:
        pytest.skip("scikit-learn not installed (pip install scikit-learn)")
    from sklearn.datasets import load_sample_image

    for name in ("china", "flower"):
        np.testing.assert_array_equal(sample_images(name), load_sample_image(f"{name}.jpg"))


def test_every_listed_image_is_inside_the_wheel_and_matches_its_registry():
    # only files shipped in the package, never ones fetched on demand (eagle is fetched)
    assert "eagle" not in si.SAMPLE_IMAGES
    everything = sample_images()
    assert set(everything) == set(si.available_sample_images())
    for name, arr in everything.items():
        assert arr.shape == si.SAMPLE_IMAGES[name].shape and arr.dtype == np.uint8
    if HAVE_SKIMAGE:
        # scikit-image's own registry lists the same SHA-256 for each of its files
        spec = importlib.util.find_spec("skimage")
        registry = (spec.submodule_search_locations[0] + "/data/_registry.py")
        text = open(registry).read()
        for info in si.SAMPLE_IMAGES.values():
            if info.package == "scikit-image":
                assert f'"{info.path}": "{info.sha256}"' in text, info.name


@skip_no_skimage
def test_reading_does_not_import_the_packages():
    code = ("import sys; from fovea.data import sample_images; d = sample_images(); "
            "print(len(d), 'skimage' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(len(si.available_sample_images())), "False", "False"]


def test_errors_name_the_image_and_what_to_do(monkeypatch):
    with pytest.raises(ValueError, match="unknown image 'lena'; choose from astronaut"):
        sample_images("lena")
    monkeypatch.setattr(si, "sample_image_path", lambda name: None)
    with pytest.raises(DatasetError, match="'coffee' needs scikit-image; pip install "
                                           "scikit-image"):
        sample_images("coffee")
    assert sample_images() == {}


@skip_no_skimage
def test_a_changed_file_fails_its_checksum(monkeypatch):
    bad = dataclasses.replace(si.SAMPLE_IMAGES["rocket"], sha256="0" * 64)
    monkeypatch.setitem(si.SAMPLE_IMAGES, "rocket", bad)
    with pytest.raises(DatasetError, match="rocket.jpg: checksum mismatch"):
        sample_images("rocket")
