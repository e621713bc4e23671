"""Batch transforms for images: preprocessing (Lecture 6) and data augmentation.

These work on whole float (N, C, H, W) batches with one vectorised pass and an explicit
generator; ``fovea train`` and :class:`~fovea.data.ArrayDataset` use them. The per-image
transforms with torchvision's interface live in :mod:`fovea.data.transforms` (whose
same-named classes, called as ``t(batch, rng)``, run the batch versions defined here).

API. A transform is a callable ``t(x, rng) -> x`` on a float (N, C, H, W) NumPy batch; ``rng``
is a ``numpy.random.Generator`` (deterministic transforms ignore it, random ones require
it). The :class:`~fovea.data.DataLoader` passes each batch its own generator derived from
the loader's seed, the epoch and the batch number, so augmentation is reproducible.
Transforms never modify their input in place.

Random transforms split into ``sample(shape, rng) -> params`` (per-example random
parameters, arrays of leading dimension N) and ``apply(x, params)`` (deterministic and
vectorised over the batch: no Python loop over examples), so the same parameters can be
replayed, and tests can pin them by hand.

Preprocessing that is *fitted* (:class:`Normalize` via :meth:`Normalize.fit`,
:class:`SubtractMeanImage`) must be fitted on the training split only, then applied
unchanged to validation and test data.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

_IMAGE_NDIM = 4


def _check_batch(x, name: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray batch (N, C, H, W), got "
                        f"{type(x).__name__}")
    if x.ndim != _IMAGE_NDIM:
        raise ValueError(f"{name}: expected a batch of shape (N, C, H, W), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating batch, got dtype {x.dtype}")
    return x


def _check_rng(rng, name: str) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name}: a random transform needs a numpy.random.Generator as rng, "
                        f"got {type(rng).__name__}")
    return rng


def _pair(value, name: str, arg: str) -> tuple[int, int]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value), int(value)
    if (isinstance(value, Sequence) and len(value) == 2
            and all(isinstance(v, numbers.Integral) for v in value)):
        return int(value[0]), int(value[1])
    raise ValueError(f"{name}: {arg} must be an int or a pair of ints, got {value!r}")


def _range(value, name: str, arg: str, center: float = 0.0,
           minimum: float = -math.inf) -> tuple[float, float]:
    """A number v -> (center - v, center + v) clipped at minimum; a pair -> itself."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name}: {arg} must be non-negative, got {value}")
        lo, hi = max(center - float(value), minimum), center + float(value)
    elif isinstance(value, Sequence) and len(value) == 2 and all(
            isinstance(v, numbers.Real) for v in value):
        lo, hi = float(value[0]), float(value[1])
    else:
        raise ValueError(f"{name}: {arg} must be a number or a (min, max) pair, got {value!r}")
    if not lo <= hi or lo < minimum:
        raise ValueError(f"{name}: {arg} range ({lo}, {hi}) is empty or below {minimum}")
    return lo, hi


class Transform:
    """Base class: ``__call__(x, rng)`` validates ``x`` and calls ``forward``."""

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.forward(_check_batch(x, type(self).__name__), rng)

    def forward(self, x: np.ndarray, rng) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if not k.startswith("_") and not isinstance(v, np.ndarray))
        return f"{type(self).__name__}({fields})"


class RandomTransform(Transform):
    """A transform with per-example random parameters: ``apply(x, sample(x.shape, rng))``."""

    def forward(self, x, rng):
        return self.apply(x, self.sample(x.shape, _check_rng(rng, type(self).__name__)))

    def sample(self, shape: tuple[int, int, int, int], rng: np.random.Generator) -> dict:
        raise NotImplementedError

    def apply(self, x: np.ndarray, params: dict) -> np.ndarray:
        raise NotImplementedError


class Compose(Transform):
    """Apply transforms in order, all drawing from the same generator.

    Args:
        transforms: callables ``t(x, rng) -> x``.
    """

    def __init__(self, transforms: Sequence[Callable]):
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got "
                                f"{type(t).__name__}")
        self.transforms = transforms

    def forward(self, x, rng):
        for t in self.transforms:
            x = t(x, rng)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


# --- preprocessing ---------------------------------------------------------------------------

class Normalize(Transform):
    """Per-channel standardisation: ``out[:, c] = (x[:, c] - mean[c]) / std[c]``.

    Args:
        mean: C per-channel means (a number applies to every channel).
        std: C per-channel standard deviations, all > 0.
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError(f"Normalize: mean and std must be numbers or 1-D sequences, got "
                             f"shapes {self.mean.shape} and {self.std.shape}")
        if not np.all(self.std > 0) or not np.all(np.isfinite(self.std)):
            raise ValueError(f"Normalize: std must be finite and > 0, got {self.std.tolist()}")
        if not np.all(np.isfinite(self.mean)):
            raise ValueError(f"Normalize: mean must be finite, got {self.mean.tolist()}")

    @classmethod
    def fit(cls, x: np.ndarray) -> Normalize:
        """Per-channel mean and std of a training batch ``x``: (N, C, H, W)."""
        x = _check_batch(x, "Normalize.fit")
        if x.size == 0:
            raise ValueError("Normalize.fit: empty batch")
        xd = x.astype(np.float64)
        std = xd.std(axis=(0, 2, 3))
        return cls(xd.mean(axis=(0, 2, 3)), np.where(std > 0, std, 1.0))

    def forward(self, x, rng=None):
        c = x.shape[1]
        if len(self.mean) not in (1, c) or len(self.std) not in (1, c):
            raise ValueError(f"Normalize: batch has {c} channels but mean/std have "
                             f"{len(self.mean)}/{len(self.std)} entries")
        mean = self.mean.astype(x.dtype).reshape(1, -1, 1, 1)
        inv = (1.0 / self.std).astype(x.dtype).reshape(1, -1, 1, 1)
        return (x - mean) * inv

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class SubtractMeanImage(Transform):
    """Subtract the training set's mean image (AlexNet-style, Lecture 6): ``x - mean_image``.

    Args:
        mean_image: (C, H, W) array, or None and call :meth:`fit` on the training images.
    """

    def __init__(self, mean_image: np.ndarray | None = None):
        self.mean_image = None
        if mean_image is not None:
            m = np.asarray(mean_image)
            if m.ndim != 3 or m.dtype.kind != "f":
                raise ValueError(f"SubtractMeanImage: mean_image must be a float (C, H, W) "
                                 f"array, got dtype {m.dtype} shape {m.shape}")
            self.mean_image = m

    def fit(self, x: np.ndarray) -> SubtractMeanImage:
        """Set ``mean_image`` to the mean of the training batch ``x`` (N, C, H, W) over N."""
        x = _check_batch(x, "SubtractMeanImage.fit")
        if len(x) == 0:
            raise ValueError("SubtractMeanImage.fit: empty batch")
        self.mean_image = x.astype(np.float64).mean(axis=0)
        return self

    def forward(self, x, rng=None):
        if self.mean_image is None:
            raise ValueError("SubtractMeanImage: not fitted; call fit(x_train) first")
        if x.shape[1:] != self.mean_image.shape:
            raise ValueError(f"SubtractMeanImage: images have shape {x.shape[1:]} but the "
                             f"mean image has shape {self.mean_image.shape}")
        return x - self.mean_image.astype(x.dtype)[None]

    def __repr__(self) -> str:
        shape = None if self.mean_image is None else self.mean_image.shape
        return f"SubtractMeanImage(mean_image shape={shape})"


# --- geometric augmentation ------------------------------------------------------------------

class RandomHorizontalFlip(RandomTransform):
    """Mirror each image left-right with probability ``p``.

    params: ``flip`` bool (N,).
    """

    def __init__(self, p: float = 0.5):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)

    def sample(self, shape, rng):
        return {"flip": rng.random(shape[0]) < self.p}

    def apply(self, x, params):
        return np.where(params["flip"][:, None, None, None], x[..., ::-1], x)


class RandomCrop(RandomTransform):
    """Pad, then cut a random ``size`` window from each image (per-example offsets).

    Args:
        size: output (height, width), or an int for a square.
        padding: int (all sides), (left/right, top/bottom) or (left, top, right, bottom).
        fill: value of constant padding.
        padding_mode: ``"constant"``, ``"edge"`` or ``"reflect"`` (as ``numpy.pad``).

    params: ``top``, ``left`` int (N,): window corner in the padded image.
    """

    _MODES = ("constant", "edge", "reflect")

    def __init__(self, size, padding=0, fill: float = 0.0, padding_mode: str = "constant"):
        self.size = _pair(size, "RandomCrop", "size")
        if min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be positive, got {self.size}")
        if isinstance(padding, numbers.Integral):
            pad = (int(padding),) * 4
        elif isinstance(padding, Sequence) and len(padding) == 2:
            pad = (int(padding[0]), int(padding[1])) * 2
        elif isinstance(padding, Sequence) and len(padding) == 4:
            pad = tuple(int(p) for p in padding)
        else:
            raise ValueError(f"RandomCrop: padding must be an int, a pair or 4 ints, got "
                             f"{padding!r}")
        if min(pad) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        if padding_mode not in self._MODES:
            raise ValueError(f"RandomCrop: padding_mode must be one of {self._MODES}, got "
                             f"{padding_mode!r}")
        self.padding = pad  # left, top, right, bottom
        self.fill = float(fill)
        self.padding_mode = padding_mode

    def _padded_hw(self, shape):
        left, top, right, bottom = self.padding
        hp, wp = shape[2] + top + bottom, shape[3] + left + right
        h, w = self.size
        if h > hp or w > wp:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the padded "
                             f"image ({hp}, {wp})")
        return hp, wp

    def sample(self, shape, rng):
        hp, wp = self._padded_hw(shape)
        return {"top": rng.integers(0, hp - self.size[0] + 1, size=shape[0]),
                "left": rng.integers(0, wp - self.size[1] + 1, size=shape[0])}

    def apply(self, x, params):
        self._padded_hw(x.shape)
        left, top, right, bottom = self.padding
        widths = ((0, 0), (0, 0), (top, bottom), (left, right))
        if self.padding_mode == "constant":
            xp = np.pad(x, widths, mode="constant", constant_values=self.fill)
        else:
            xp = np.pad(x, widths, mode=self.padding_mode)
        h, w = self.size
        windows = np.lib.stride_tricks.sliding_window_view(xp, (h, w), axis=(2, 3))
        n = np.arange(x.shape[0])
        # windows: (N, C, Hp-h+1, Wp-w+1, h, w); advanced indices on axes 0, 2, 3 -> (N, C, h, w)
        return np.ascontiguousarray(windows[n, :, params["top"], params["left"]])


class RandomAffine(RandomTransform):
    """Random rotation, translation, scale and shear about the image centre, bilinear.

    Each output pixel p is read from the input at ``c + A⁻¹ (p - c - t)`` (inverse mapping)
    with bilinear interpolation; c = ((W-1)/2, (H-1)/2) is the centre in (x, y) = (column,
    row) pixel coordinates, ``A = R(θ) · Shear(φx, φy) · s`` and t the translation, where a
    positive θ rotates counter-clockwise as displayed (so θ = 90° equals ``np.rot90``),
    ``Shear = [[1, tan φx], [tan φy, 1]]``. Samples outside the image read ``fill`` (each of
    the four bilinear corners separately, like ``grid_sample(padding_mode="zeros")``).

    Args:
        degrees: θ drawn from (-d, d), or a (min, max) pair, in degrees.
        translate: (a, b): tx drawn from (-a W, a W), ty from (-b H, b H); None for none.
        scale: (lo, hi) for s; None for 1.
        shear: φx from (-v, v) for a number v, from (min, max) for a pair, and
            (x_min, x_max, y_min, y_max) for both axes; degrees; None for none.
        fill: value for pixels sampled from outside the image.

    params: ``angle``, ``tx``, ``ty``, ``scale``, ``shear_x``, ``shear_y`` float (N,)
    (angles in degrees, translations in pixels).
    """

    def __init__(self, degrees=0.0, translate=None, scale=None, shear=None, fill: float = 0.0):
        self.degrees = _range(degrees, "RandomAffine", "degrees")
        if translate is not None:
            if not (isinstance(translate, Sequence) and len(translate) == 2
                    and all(0 <= float(t) <= 1 for t in translate)):
                raise ValueError(f"RandomAffine: translate must be a pair of fractions in "
                                 f"[0, 1], got {translate!r}")
            translate = (float(translate[0]), float(translate[1]))
        self.translate = translate
        if scale is not None:
            if not (isinstance(scale, Sequence) and len(scale) == 2
                    and 0 < float(scale[0]) <= float(scale[1])):
                raise ValueError(f"RandomAffine: scale must be a (lo, hi) pair with "
                                 f"0 < lo <= hi, got {scale!r}")
            scale = (float(scale[0]), float(scale[1]))
        self.scale = scale
        self.shear = self._shear(shear)
        self.fill = float(fill)

    @staticmethod
    def _shear(shear):
        if shear is None:
            return (0.0, 0.0, 0.0, 0.0)
        if isinstance(shear, Sequence) and len(shear) == 4:
            vals = tuple(float(v) for v in shear)
            if vals[0] > vals[1] or vals[2] > vals[3]:
                raise ValueError(f"RandomAffine: shear ranges must be (min, max), got {shear!r}")
            return vals
        return _range(shear, "RandomAffine", "shear") + (0.0, 0.0)

    def sample(self, shape, rng):
        n, _, h, w = shape
        angle = rng.uniform(*self.degrees, size=n)
        if self.translate is not None:
            tx = rng.uniform(-self.translate[0] * w, self.translate[0] * w, size=n)
            ty = rng.uniform(-self.translate[1] * h, self.translate[1] * h, size=n)
        else:
            tx = ty = np.zeros(n)
        s = rng.uniform(*self.scale, size=n) if self.scale is not None else np.ones(n)
        shx = rng.uniform(self.shear[0], self.shear[1], size=n)
        shy = rng.uniform(self.shear[2], self.shear[3], size=n)
        return {"angle": angle, "tx": tx, "ty": ty, "scale": s, "shear_x": shx,
                "shear_y": shy}

    @staticmethod
    def matrices(params: dict) -> np.ndarray:
        """The forward 2×2 matrices ``A = R(θ) · Shear · s``: float64 (N, 2, 2)."""
        th = np.deg2rad(np.asarray(params["angle"], dtype=np.float64))
        cos, sin = np.cos(th), np.sin(th)
        kx = np.tan(np.deg2rad(np.asarray(params["shear_x"], dtype=np.float64)))
        ky = np.tan(np.deg2rad(np.asarray(params["shear_y"], dtype=np.float64)))
        s = np.asarray(params["scale"], dtype=np.float64)
        # Counter-clockwise on screen (y points down): R = [[cos, sin], [-sin, cos]].
        rot = np.stack([np.stack([cos, sin], -1), np.stack([-sin, cos], -1)], -2)
        shear = np.stack([np.stack([np.ones_like(kx), kx], -1),
                          np.stack([ky, np.ones_like(ky)], -1)], -2)
        return rot @ shear * s[:, None, None]

    def apply(self, x, params):
        n, _, h, w = x.shape
        a = self.matrices(params)
        det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
        if np.any(np.abs(det) < 1e-12):
            raise ValueError("RandomAffine: singular transform (shear of ±90° or scale 0)")
        inv = np.stack([np.stack([a[:, 1, 1], -a[:, 0, 1]], -1),
                        np.stack([-a[:, 1, 0], a[:, 0, 0]], -1)], -2) / det[:, None, None]
        # src = c + A^-1 (p - c - t) = A^-1 p + (c - A^-1 (c + t)): one offset per example.
        # The grid is built in the batch's dtype: float32 batches get float32 coordinates
        # (error ~1e-5 px), float64 batches stay exact for comparisons.
        dt = x.dtype
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        px = cx + np.asarray(params["tx"], dtype=np.float64)
        py = cy + np.asarray(params["ty"], dtype=np.float64)
        off_x = (cx - inv[:, 0, 0] * px - inv[:, 0, 1] * py).astype(dt)[:, None, None]
        off_y = (cy - inv[:, 1, 0] * px - inv[:, 1, 1] * py).astype(dt)[:, None, None]
        m = inv.astype(dt)[:, :, :, None, None]
        cols = np.arange(w, dtype=dt)[None, None, :]
        rows = np.arange(h, dtype=dt)[None, :, None]
        src_x = m[:, 0, 0] * cols + m[:, 0, 1] * rows + off_x                  # (N, H, W)
        src_y = m[:, 1, 0] * cols + m[:, 1, 1] * rows + off_y
        return bilinear_sample(x, src_x, src_y, self.fill)


def bilinear_sample(x: np.ndarray, src_x: np.ndarray, src_y: np.ndarray,
                    fill: float = 0.0) -> np.ndarray:
    """Sample ``x`` at real-valued pixel positions with bilinear interpolation.

    Corners that fall outside the image read ``fill`` (each corner separately, as
    ``grid_sample(padding_mode="zeros")`` does for fill 0). Implementation: the batch is
    padded by one ``fill`` pixel and laid out channels-last, so that every corner is one
    row gather (``np.take``) of C contiguous values after clipping the corner coordinates
    to the padded border; no masks, no loop over examples.

    Args:
        x: (N, C, H, W) images.
        src_x, src_y: (N, Ho, Wo) column and row positions to read, per example.
        fill: value of the corners that fall outside the image.

    Returns:
        (N, C, Ho, Wo) array of ``x``'s dtype.
    """
    n, c, h, w = x.shape
    _, ho, wo = src_x.shape
    hp, wp = h + 2, w + 2
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=fill)
    rows = np.ascontiguousarray(padded.transpose(0, 2, 3, 1)).reshape(n * hp * wp, c)
    # clip far-away coordinates first so that the int conversion cannot overflow
    src_x = np.clip(src_x, -2, w + 1)
    src_y = np.clip(src_y, -2, h + 1)
    x0, y0 = np.floor(src_x), np.floor(src_y)
    fx = (src_x - x0).astype(x.dtype).reshape(-1, 1)
    fy = (src_y - y0).astype(x.dtype).reshape(-1, 1)
    # padded column of image column j is j + 1; clipping to [0, w + 1] puts every outside
    # corner on the fill border
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    x1 = (np.clip(x0 + 1, -1, w) + 1).reshape(-1)
    x0 = (np.clip(x0, -1, w) + 1).reshape(-1)
    base = (np.arange(n, dtype=np.int64) * (hp * wp))[:, None, None]
    r0 = (base + (np.clip(y0, -1, h) + 1) * wp).reshape(-1)
    r1 = (base + (np.clip(y0 + 1, -1, h) + 1) * wp).reshape(-1)

    def corner(r, col):
        return np.take(rows, r + col, axis=0)     # (N*Ho*Wo, C)

    top = corner(r0, x0)
    top += fx * (corner(r0, x1) - top)
    bottom = corner(r1, x0)
    bottom += fx * (corner(r1, x1) - bottom)
    top += fy * (bottom - top)
    return np.ascontiguousarray(top.reshape(n, ho, wo, c).transpose(0, 3, 1, 2))


# --- photometric augmentation ----------------------------------------------------------------

_GRAY = np.array([0.299, 0.587, 0.114])


def _grayscale(x: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of an RGB batch: (N, 3, H, W) -> (N, 1, H, W)."""
    g = _GRAY.astype(x.dtype)
    return g[0] * x[:, 0:1] + g[1] * x[:, 1:2] + g[2] * x[:, 2:3]


def _clip01(x: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] in place (x is always a fresh array here)."""
    np.maximum(x, 0, out=x)
    np.minimum(x, 1, out=x)
    return x


class ColorJitter(RandomTransform):
    """Random brightness, contrast and saturation, applied in that order, clipped to [0, 1].

    With per-example factors b, c, s (inputs are expected in [0, 1], before Normalize):

    - brightness: ``x * b``;
    - contrast: ``c * x + (1 - c) * mean(gray(x))`` (the mean over the whole image);
    - saturation (3-channel images only): ``s * x + (1 - s) * gray(x)``;

    where ``gray`` is the luma 0.299 R + 0.587 G + 0.114 B (the image itself for one
    channel); each step is clipped to [0, 1].

    Args:
        brightness, contrast, saturation: v draws the factor from (max(0, 1 - v), 1 + v); a
            (min, max) pair gives the range; 0 disables the step.

    params: ``brightness``, ``contrast``, ``saturation`` float (N,) (None when disabled).
    """

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0):
        self.brightness = self._factor(brightness, "brightness")
        self.contrast = self._factor(contrast, "contrast")
        self.saturation = self._factor(saturation, "saturation")

    @staticmethod
    def _factor(value, arg):
        lo, hi = _range(value, "ColorJitter", arg, center=1.0, minimum=0.0)
        return None if lo == hi == 1.0 else (lo, hi)

    def sample(self, shape, rng):
        n = shape[0]
        if self.saturation is not None and shape[1] != 3:
            raise ValueError(f"ColorJitter: saturation needs 3-channel (RGB) images, got "
                             f"{shape[1]} channels")
        return {k: None if r is None else rng.uniform(r[0], r[1], size=n)
                for k, r in (("brightness", self.brightness), ("contrast", self.contrast),
                             ("saturation", self.saturation))}

    def apply(self, x, params):
        dt = x.dtype

        def factor(k):
            return np.asarray(params[k], dtype=dt).reshape(-1, 1, 1, 1)

        if params.get("brightness") is not None:
            x = _clip01(x * factor("brightness"))
        if params.get("contrast") is not None:
            gray = _grayscale(x) if x.shape[1] == 3 else x
            mean = gray.mean(axis=(1, 2, 3), keepdims=True, dtype=np.float64).astype(dt)
            c = factor("contrast")
            x = _clip01(c * x + (1 - c) * mean)
        if params.get("saturation") is not None:
            if x.shape[1] != 3:
                raise ValueError(f"ColorJitter: saturation needs 3-channel (RGB) images, got "
                                 f"{x.shape[1]} channels")
            s = factor("saturation")
            x = _clip01(s * x + (1 - s) * _grayscale(x))
        return x.astype(dt, copy=False)


class Cutout(RandomTransform):
    """Zero a ``size``×``size`` square at a random centre of each image (DeVries & Taylor).

    The centre is uniform over all pixels; the square is clipped at the borders, so near an
    edge less than size² pixels are cut.

    Args:
        size: side of the square, in pixels.
        fill: the value written into the square.

    params: ``cy``, ``cx`` int (N,): the square's centre; it covers rows
    ``[cy - size // 2, cy - size // 2 + size)`` and the same for columns.
    """

    def __init__(self, size: int, fill: float = 0.0):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"Cutout: size must be a positive int, got {size!r}")
        self.size = int(size)
        self.fill = float(fill)

    def sample(self, shape, rng):
        n, _, h, w = shape
        return {"cy": rng.integers(0, h, size=n), "cx": rng.integers(0, w, size=n)}

    def apply(self, x, params):
        _, _, h, w = x.shape
        y0 = np.asarray(params["cy"])[:, None] - self.size // 2
        x0 = np.asarray(params["cx"])[:, None] - self.size // 2
        rows, cols = np.arange(h)[None], np.arange(w)[None]
        in_rows = (rows >= y0) & (rows < y0 + self.size)          # (N, H)
        in_cols = (cols >= x0) & (cols < x0 + self.size)          # (N, W)
        mask = (in_rows[:, :, None] & in_cols[:, None, :])[:, None]  # (N, 1, H, W)
        return np.where(mask, np.asarray(self.fill, dtype=x.dtype), x)
