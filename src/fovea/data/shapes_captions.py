"""A captioning data set fovea generates: scenes of coloured shapes and their descriptions.

No captioning data set can be downloaded here, so :func:`load_shapes_captions` renders
one, deterministic by seed: each image holds one or two shapes (circle, square, triangle),
each of a colour and a size, and for two shapes a relative position; its captions come from
a small grammar::

    a small red circle
    a large blue square left of a small green triangle

A two-shape scene has two reference captions (``A left of B`` and ``B right of A``), which
BLEU scores a generated caption against. :func:`load_coco_captions` reads a COCO-style JSON
file (``images`` with ``id`` and ``file_name``, ``annotations`` with ``image_id`` and
``caption``) and its images from disk into the same structure. :class:`CaptionVocab` maps
words to integers with ``<NULL>`` (padding, 0), ``<START>``, ``<END>`` and ``<UNK>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CaptionVocab", "CaptionSplit", "CaptionData", "load_shapes_captions",
           "load_coco_captions", "render_scene", "tokenize"]

COLOURS = {"red": (0.9, 0.1, 0.1), "green": (0.1, 0.8, 0.2), "blue": (0.15, 0.3, 0.95),
           "yellow": (0.95, 0.9, 0.1), "purple": (0.65, 0.2, 0.8), "white": (0.95, 0.95, 0.95)}
SHAPES = ("circle", "square", "triangle")
SIZES = {"small": 0.13, "large": 0.24}  # radius as a fraction of the image side
RELATIONS = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
SPLITS = ("train", "val", "test")
NULL, START, END, UNK = "<NULL>", "<START>", "<END>", "<UNK>"


def tokenize(caption: str) -> list[str]:
    """Lower-case words (punctuation dropped)."""
    return re.findall(r"[a-z0-9]+", caption.lower())


class CaptionVocab:
    """Words ↔ integers: 0 ``<NULL>``, 1 ``<START>``, 2 ``<END>``, 3 ``<UNK>``, then words."""

    SPECIAL = (NULL, START, END, UNK)

    def __init__(self, words):
        self.words = list(self.SPECIAL) + [w for w in words if w not in self.SPECIAL]
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def from_captions(cls, captions) -> CaptionVocab:
        return cls(sorted({w for c in captions for w in tokenize(c)}))

    def __len__(self) -> int:
        return len(self.words)

    null, start, end, unk = 0, 1, 2, 3

    def encode(self, captions, max_length: int) -> np.ndarray:
        """(N, max_length + 2) int64: ``<START>`` words ``<END>`` then ``<NULL>`` padding.

        A caption of more than ``max_length`` words is an error (never silently cut).
        """
        out = np.zeros((len(captions), max_length + 2), dtype=np.int64)
        for n, c in enumerate(captions):
            words = tokenize(c)
            if len(words) > max_length:
                raise ValueError(f"caption {n} has {len(words)} words, more than max_length="
                                 f"{max_length}: {c!r}")
            ids = [self.start] + [self.index.get(w, self.unk) for w in words] + [self.end]
            out[n, :len(ids)] = ids
        return out

    def decode(self, ids) -> str:
        """Words up to the first ``<END>`` (``<START>`` and ``<NULL>`` skipped)."""
        words = []
        for i in ids:
            i = int(i)
            if i == self.end:
                break
            if i not in (self.null, self.start):
                words.append(self.words[i] if i < len(self.words) else UNK)
        return " ".join(words)


@dataclass
class CaptionSplit:
    """images (N, 3, S, S) float32 in [0, 1]; references: N lists of captions."""

    images: np.ndarray
    references: list[list[str]]

    def __len__(self) -> int:
        return len(self.references)


@dataclass
class CaptionData:
    train: CaptionSplit
    val: CaptionSplit
    test: CaptionSplit
    vocab: CaptionVocab
    max_length: int

    def split(self, name: str) -> CaptionSplit:
        if name not in SPLITS:
            raise ValueError(f"captions: split must be one of {SPLITS}, got {name!r}")
        return getattr(self, name)


def _mask(shape: str, cx: float, cy: float, r: float, yy: np.ndarray, xx: np.ndarray):
    if shape == "circle":
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    if shape == "square":
        return (np.abs(xx - cx) <= r * 0.85) & (np.abs(yy - cy) <= r * 0.85)
    top, bottom = cy - r, cy + r  # an upward triangle: widens from the apex down
    return (yy >= top) & (yy <= bottom) & (np.abs(xx - cx) <= (yy - top) * 0.6)


def _phrase(obj) -> str:
    size, colour, shape = obj
    return f"a {size} {colour} {shape}"


def render_scene(rng: np.random.Generator, size: int = 32):
    """One image (3, size, size) and its reference captions."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    img = 0.1 + 0.05 * rng.random((3, size, size), dtype=np.float32)
    n = int(rng.integers(1, 3))
    objs = [(str(rng.choice(list(SIZES))), str(rng.choice(list(COLOURS))),
             str(rng.choice(SHAPES))) for _ in range(n)]
    if n == 2:
        while objs[1] == objs[0]:  # two identical shapes would make the caption ambiguous
            objs[1] = (objs[1][0], str(rng.choice(list(COLOURS))), objs[1][2])
        rel = str(rng.choice(list(RELATIONS)))
        a, b = rng.uniform(0.27, 0.33), rng.uniform(0.67, 0.73)  # first/second along the axis
        j1, j2 = rng.uniform(0.3, 0.7, size=2)
        first, second = (a, b) if rel in ("left of", "above") else (b, a)
        centres = [(first, j1), (second, j2)] if rel in ("left of", "right of") \
            else [(j1, first), (j2, second)]
        captions = [f"{_phrase(objs[0])} {rel} {_phrase(objs[1])}",
                    f"{_phrase(objs[1])} {RELATIONS[rel]} {_phrase(objs[0])}"]
    else:
        centres = [tuple(rng.uniform(0.35, 0.65, size=2))]
        captions = [_phrase(objs[0])]
    for (sz, colour, shape), (cx, cy) in zip(objs, centres):
        r = SIZES[sz] * (0.8 if n == 2 else 1.0)
        m = _mask(shape, cx, cy, r, yy, xx)
        img[:, m] = np.asarray(COLOURS[colour], dtype=np.float32)[:, None]
    return img, captions


def load_shapes_captions(n_train: int = 4000, n_val: int = 500, n_test: int = 500,
                         image_size: int = 32, seed: int = 0) -> CaptionData:
    """The generated data set: three splits, each drawn from its own seeded stream."""
    splits = {}
    for k, (name, n) in enumerate(zip(SPLITS, (n_train, n_val, n_test))):
        rng = np.random.default_rng([seed, k])
        scenes = [render_scene(rng, image_size) for _ in range(n)]
        images = np.stack([s[0] for s in scenes]) if scenes else \
            np.zeros((0, 3, image_size, image_size), np.float32)
        splits[name] = CaptionSplit(images, [s[1] for s in scenes])
    vocab = CaptionVocab.from_captions(c for refs in splits["train"].references for c in refs)
    max_length = max((len(tokenize(c)) for s in splits.values() for refs in s.references
                      for c in refs), default=1)
    return CaptionData(splits["train"], splits["val"], splits["test"], vocab, max_length)


def load_coco_captions(json_file, image_dir, image_size: int = 64, max_length: int = 16,
                       val_fraction: float = 0.1, test_fraction: float = 0.1,
                       seed: int = 0) -> CaptionData:
    """A COCO-style caption file and its images, resized to ``image_size``², split by image.

    Captions longer than ``max_length`` words are an error naming the caption.
    """
    from PIL import Image

    path = Path(json_file)
    try:
        data = json.loads(path.read_text())
        images, annotations = data["images"], data["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"captions: {path} is not a COCO-style caption file with 'images' and "
                         f"'annotations' ({exc})") from None
    refs: dict = {}
    for a in annotations:
        refs.setdefault(a["image_id"], []).append(a["caption"])
    items = [(im, refs[im["id"]]) for im in images if im["id"] in refs]
    if not items:
        raise ValueError(f"captions: {path} has no image with a caption")
    pixels, references = [], []
    for im, caps in items:
        with Image.open(Path(image_dir) / im["file_name"]) as f:
            f = f.convert("RGB").resize((image_size, image_size))
            pixels.append(np.asarray(f, dtype=np.float32).transpose(2, 0, 1) / 255.0)
        for c in caps:
            if len(tokenize(c)) > max_length:
                raise ValueError(f"captions: a caption of image {im['id']} has "
                                 f"{len(tokenize(c))} words, more than max_length={max_length}")
        references.append(caps)
    order = np.random.default_rng(seed).permutation(len(items))
    n_val, n_test = int(len(items) * val_fraction), int(len(items) * test_fraction)
    parts = {"val": order[:n_val], "test": order[n_val:n_val + n_test],
             "train": order[n_val + n_test:]}
    x = np.stack(pixels)
    splits = {k: CaptionSplit(x[v], [references[i] for i in v]) for k, v in parts.items()}
    vocab = CaptionVocab.from_captions(c for refs in splits["train"].references for c in refs)
    return CaptionData(splits["train"], splits["val"], splits["test"], vocab, max_length)
