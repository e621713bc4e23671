"""Image folders: one subfolder per class, PNG/JPEG files decoded with Pillow.

::

    root/cat/001.png
    root/cat/002.jpg
    root/dog/abc.jpeg

Class names are the subfolder names in sorted order (label k is ``classes[k]``). Every image
is decoded once into memory (uint8) and must end up with the same size and channel count:
give ``image_size`` to resize, ``channels`` (1 or 3) to convert; otherwise a file that
differs from the first raises a :class:`DatasetError` naming it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fovea.data.dataset import ArrayDataset, Transform
from fovea.data.download import DatasetError
from fovea.data.splits import DatasetSplits, split_indices, uint8_to_float

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
_MODE_CHANNELS = {"L": 1, "RGB": 3}


def _size(image_size) -> tuple[int, int] | None:
    if image_size is None:
        return None
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if (isinstance(image_size, Sequence) and len(image_size) == 2
            and all(isinstance(v, int) and v > 0 for v in image_size)):
        return int(image_size[0]), int(image_size[1])
    raise ValueError(f"ImageFolder: image_size (--image-size) must be a positive int or "
                     f"(height, width), got {image_size!r}")


def find_images(root: str | os.PathLike,
                extensions: Sequence[str] = IMAGE_EXTENSIONS) -> tuple[list[str], list[Path],
                                                                       np.ndarray]:
    """List a class-per-subfolder tree.

    Returns:
        ``(classes, files, labels)``: sorted class names, image paths (sorted within each
        class), int64 labels (N,).

    Raises:
        DatasetError: ``root`` is not a directory, has no class subfolders, or a class
            folder holds no image.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: image folder not found (expected a directory with one "
                           f"subfolder per class)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DatasetError(f"{root}: no class subfolders found")
    exts = tuple(e.lower() for e in extensions)
    files: list[Path] = []
    labels: list[int] = []
    for k, name in enumerate(classes):
        found = sorted(p for p in (root / name).iterdir()
                       if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in exts)
        if not found:
            raise DatasetError(f"{root / name}: class folder has no {'/'.join(exts)} images")
        files += found
        labels += [k] * len(found)
    return classes, files, np.asarray(labels, dtype=np.int64)


def _decode(path: Path, channels: int | None, size: tuple[int, int] | None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        # NOTE: Pillow refuses images over 2 * MAX_IMAGE_PIXELS (~179 megapixels) and only
        # warns between 1x and 2x; the warning is made an error too, so that a small file
        # that expands to gigabytes (a "decompression bomb") is never decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            im.load()
            if channels is not None:
                im = im.convert("L" if channels == 1 else "RGB")
            elif im.mode not in _MODE_CHANNELS:
                raise DatasetError(f"{path}: unsupported image mode {im.mode!r}; expected "
                                   f"grayscale (L) or RGB, or pass --channels 1 or 3 "
                                   f"(channels=) to convert")
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DatasetError(f"{path}: image too large to decode safely ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DatasetError(f"{path}: cannot decode image ({type(exc).__name__}: {exc})") from exc
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def load_images(files: Sequence[Path], image_size=None, channels: int | None = None,
                expect: tuple[int, int, int] | None = None,
                hint: str | None = None) -> np.ndarray:
    """Decode ``files`` into one uint8 (N, C, H, W) array.

    Args:
        files: image paths.
        image_size: resize every image to (H, W) (an int for a square); None keeps sizes,
            which must then all agree.
        channels: 1 or 3 converts every image; None keeps each image's own (L or RGB), which
            must then all agree.
        expect: a required (C, H, W) (e.g. the training folder's), or None for the first
            image's.
        hint: what a mismatched file's message tells the user to do (default: the
            ``--image-size`` / ``--channels`` options of ``fovea train``; ``fovea predict``
            says ``--resize``).

    Raises:
        DatasetError: an undecodable file, or one whose size or channel count differs
            (names the file, what it has and what was expected).
    """
    size = _size(image_size)
    if channels not in (None, 1, 3):
        raise ValueError(f"ImageFolder: channels (--channels) must be None, 1 or 3, got "
                         f"{channels!r}")
    out = None
    for i, path in enumerate(files):
        img = _decode(path, channels, size)
        if out is None:
            shape = expect or img.shape
            out = np.empty((len(files),) + tuple(shape), dtype=np.uint8)
        if img.shape != out.shape[1:]:
            c, h, w = img.shape
            ec, eh, ew = out.shape[1:]
            what = (f"{c} channels but expected {ec} ("
                    + (hint or "pass --channels / channels= to convert") + ")" if c != ec
                    else f"size {h}x{w} but expected {eh}x{ew} ("
                    + (hint or "pass --image-size / image_size= to resize") + ")")
            raise DatasetError(f"{path}: image has {what}")
        out[i] = img
    if out is None:
        raise DatasetError("ImageFolder: no image files to load")
    return out


class ImageFolder(ArrayDataset):
    """An :class:`~fovea.data.ArrayDataset` read from a class-per-subfolder directory.

    Images are decoded once and kept as uint8 (N, C, H, W); batches come out as float32 in
    [0, 1] (then through ``transform``).

    Args:
        root: the directory holding one subfolder per class.
        image_size: resize to (H, W) (an int for a square); None requires equal sizes.
        channels: 1 (grayscale) or 3 (RGB) to convert; None requires equal channel counts.
        transform: batch transform ``t(x, rng)``.
        extensions: file suffixes to read (case-insensitive).

    Attributes:
        classes: class names; ``classes[k]`` is label k.
        class_to_idx: name -> label.
        files: the image paths, in label order.
    """

    def __init__(self, root: str | os.PathLike, image_size=None, channels: int | None = None,
                 transform: Transform | None = None,
                 extensions: Sequence[str] = IMAGE_EXTENSIONS):
        self.root = Path(root)
        self.classes, self.files, labels = find_images(self.root, extensions)
        self.class_to_idx = {c: k for k, c in enumerate(self.classes)}
        images = load_images(self.files, image_size, channels)
        super().__init__(images, labels, transform)


def image_folder_splits(path: str | os.PathLike, seed: int = 0, val_fraction: float = 0.1,
                        test_fraction: float = 0.2, image_size=None,
                        channels: int | None = None) -> DatasetSplits:
    """An image folder as :class:`DatasetSplits` (what ``load_dataset("folder:PATH")`` returns).

    Layouts:

    - ``PATH/train/<class>/...`` (+ optional ``PATH/val/``, ``PATH/test/``): the given
      folders are the splits; a missing ``test`` is a seeded ``test_fraction`` of ``train``
      and a missing ``val`` a seeded ``val_fraction`` of it.
    - otherwise ``PATH/<class>/...``: one pool split at random (seeded) into train / val /
      test with the given fractions.

    All folders must have the same classes and every image the same (C, H, W).
    """
    root = Path(path)
    if (root / "train").is_dir():
        train = ImageFolder(root / "train", image_size, channels)
        shape = train.images.shape[1:]
        parts = {}
        for name in ("val", "test"):
            if (root / name).is_dir():
                classes, files, labels = find_images(root / name)
                if classes != train.classes:
                    raise DatasetError(f"{root / name}: classes {classes} differ from the "
                                       f"training folder's {train.classes}")
                parts[name] = (load_images(files, image_size, channels, expect=shape), labels)
        n = len(train)
        tr, va, te = split_indices(n, 0.0 if "val" in parts else val_fraction,
                                   0.0 if "test" in parts else test_fraction, seed)
        x, y = train.images, train.labels
        x_val, y_val = parts.get("val", (x[np.sort(va)], y[np.sort(va)]))
        x_test, y_test = parts.get("test", (x[np.sort(te)], y[np.sort(te)]))
        tr = np.sort(tr)
        return DatasetSplits(f"folder:{path}", uint8_to_float(x[tr]), y[tr],
                             uint8_to_float(x_val), y_val, uint8_to_float(x_test), y_test,
                             list(train.classes))
    pool = ImageFolder(root, image_size, channels)
    tr, va, te = (np.sort(i) for i in split_indices(len(pool), val_fraction, test_fraction,
                                                     seed))
    x, y = pool.images, pool.labels
    return DatasetSplits(f"folder:{path}", uint8_to_float(x[tr]), y[tr], uint8_to_float(x[va]),
                         y[va], uint8_to_float(x[te]), y[te], list(pool.classes))
