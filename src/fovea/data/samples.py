"""Natural photographs that ship inside scikit-image and scikit-learn, for visualisation work.

Only images inside the installed wheels are used (scikit-image fetches its other samples,
such as ``eagle``, over the network with pooch; those are left out). The files are located
with :func:`importlib.util.find_spec`, which does not import the packages, checked against
their SHA-256 (scikit-image's own registry lists the same digests) and decoded with Pillow.
Licences and credits: docs/datasets.md and :data:`SAMPLE_IMAGES`.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fovea.data.download import DatasetError

_SKIMAGE = "scikit-image"
_SKLEARN = "scikit-learn"


@dataclass(frozen=True)
class SampleImage:
    """One bundled photograph.

    Attributes:
        name: the key in :func:`sample_images`' result.
        package: ``"scikit-image"`` or ``"scikit-learn"`` (the pip name).
        path: the file inside the installed package.
        sha256: the file's SHA-256.
        shape: (H, W, C) after decoding; C is 1 (grayscale) or 3 (RGB).
        licence: the licence or copyright status stated by the package.
        credit: photographer / source.
    """

    name: str
    package: str
    path: str
    sha256: str
    shape: tuple[int, int, int]
    licence: str
    credit: str


def _sk(name, file, sha, shape, licence, credit):
    return SampleImage(name, _SKIMAGE, "data/" + file, sha, shape, licence, credit)


SAMPLE_IMAGES: dict[str, SampleImage] = {s.name: s for s in (
    _sk("astronaut", "astronaut.png",
        "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", (512, 512, 3),
        "public domain", "NASA (Eileen Collins)"),
    _sk("camera", "camera.png",
        "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a", (512, 512, 1),
        "CC0", "Lav Varshney"),
    _sk("chelsea", "chelsea.png",
        "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb", (300, 451, 3),
        "CC0", "Stefan van der Walt"),
    _sk("coffee", "coffee.png",
        "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7", (400, 600, 3),
        "CC0", "Rachel Michetti (Pikolo Espresso Bar)"),
    _sk("rocket", "rocket.jpg",
        "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c", (427, 640, 3),
        "public domain", "SpaceX (DSCOVR launch on Falcon 9)"),
    _sk("coins", "coins.png",
        "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba", (303, 384, 1),
        "no known copyright restrictions", "Brooklyn Museum (Greek coins from Pompeii)"),
    _sk("hubble_deep_field", "hubble_deep_field.jpg",
        "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4", (872, 1000, 3),
        "public domain", "NASA / HubbleSite"),
    _sk("retina", "retina.jpg",
        "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6", (1411, 1411, 3),
        "CC0", "Mikael Häggström (Wikimedia Commons)"),
    _sk("immunohistochemistry", "ihc.png",
        "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef", (512, 512, 3),
        "no known copyright restrictions", "Center for Microscopy And Molecular Imaging"),
    _sk("clock", "clock_motion.png",
        "f029226b28b642e80113d86622e9b215ee067a0966feaf5e60604a1e05733955", (300, 400, 1),
        "public domain", "Stefan van der Walt"),
    _sk("brick", "brick.png",
        "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf", (512, 512, 1),
        "CC0", "CC0Textures (Bricks25)"),
    _sk("grass", "grass.png",
        "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89", (512, 512, 1),
        "CC0", "CC0Textures"),
    _sk("gravel", "gravel.png",
        "c48615b451bf1e606fbd72c0aa9f8cc0f068ab7111ef7d93bb9b0f2586440c12", (512, 512, 1),
        "CC0", "CC0Textures (Gravel04)"),
    SampleImage("china", _SKLEARN, "datasets/images/china.jpg",
                "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29",
                (427, 640, 3), "CC BY 2.0", "danielbuechele (Flickr)"),
    SampleImage("flower", _SKLEARN, "datasets/images/flower.jpg",
                "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638",
                (427, 640, 3), "CC BY 2.0", "vultilion (Flickr)"),
)}

_MODULES = {_SKIMAGE: "skimage", _SKLEARN: "sklearn"}


def sample_image_path(name: str) -> Path | None:
    """The file of sample image ``name`` in its installed package, or None if absent.

    Raises:
        ValueError: ``name`` is not one of :data:`SAMPLE_IMAGES`.
    """
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"sample_images: unknown image {name!r}; choose from "
                         f"{', '.join(SAMPLE_IMAGES)}")
    info = SAMPLE_IMAGES[name]
    try:
        spec = importlib.util.find_spec(_MODULES[info.package])
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / info.path
        if path.is_file():
            return path
    return None


def available_sample_images() -> list[str]:
    """The names of the sample images whose files are installed here."""
    return [n for n in SAMPLE_IMAGES if sample_image_path(n) is not None]


def _read(name: str) -> np.ndarray:
    from PIL import Image

    info = SAMPLE_IMAGES[name]
    path = sample_image_path(name)
    if path is None:
        raise DatasetError(f"sample_images: {name!r} needs {info.package}; "
                           f"pip install {info.package}")
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if got != info.sha256:
        raise DatasetError(f"{path}: checksum mismatch (SHA-256 {got}, expected {info.sha256})")
    with Image.open(path) as im:
        arr = np.asarray(im.convert("L" if info.shape[2] == 1 else "RGB"), dtype=np.uint8)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    if arr.shape != info.shape:
        raise DatasetError(f"{path}: decoded to shape {arr.shape}, expected {info.shape}")
    return arr


def sample_images(name: str | None = None):
    """Bundled natural photographs as uint8 (H, W, C) arrays (C = 1 grayscale, 3 RGB).

    Args:
        name: one image (e.g. ``"chelsea"``), or None for every image installed here.

    Returns:
        The array for ``name``, or a dict name -> array of the available images (those of a
        package that is not installed are left out; see :func:`available_sample_images`).

    Raises:
        ValueError: an unknown name.
        DatasetError: the image's package is not installed (says what to install), or the
            file fails its checksum.

    Example::

        cat = fovea.data.sample_images("chelsea")  # (300, 451, 3) uint8
        x = cat.transpose(2, 0, 1)[None] / 255.0   # (1, 3, 300, 451) for a model
    """
    if name is not None:
        sample_image_path(name)  # validates the name
        return _read(name)
    return {n: _read(n) for n in available_sample_images()}


__all__ = ["SAMPLE_IMAGES", "SampleImage", "available_sample_images", "sample_images"]
