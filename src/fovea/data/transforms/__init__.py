"""Per-image transforms with torchvision's interface (``torchvision.transforms``).

A transform is called on ONE image, ``t(img)``, inside a ``Dataset.__getitem__``: a PIL image
(worked with Pillow) or an image tensor — a fovea Tensor or a NumPy array (..., C, H, W)
(worked with NumPy) — and returns the same kind of object::

    from fovea.data import transforms as T
    tf = T.Compose([T.RandomResizedCrop(24), T.RandomHorizontalFlip(),
                    T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.ToTensor(),
                    T.Normalize((0.5,) * 3, (0.25,) * 3)])
    x = tf(pil_image)            # float32 Tensor (3, 24, 24)

Randomness comes from fovea's default generator, read at every call: ``fovea.manual_seed(s)``
makes a pipeline repeat; each DataLoader worker process reseeds it (``base_seed + worker_id``,
see :func:`fovea.utils.data.get_worker_info`), so workers draw different numbers.

Batch API. ``Compose``, ``Normalize``, ``RandomCrop``, ``RandomHorizontalFlip``,
``RandomAffine`` and ``ColorJitter`` called with two arguments, ``t(batch, rng)``, run the
vectorised batch transforms of :mod:`fovea.data.batch_transforms` on a float (N, C, H, W)
NumPy batch with per-example parameters drawn from ``rng`` (what
:class:`~fovea.data.ArrayDataset` and ``fovea train`` use); ``Cutout`` and
``SubtractMeanImage`` exist only in that form.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from fovea.data import batch_transforms as _B
from fovea.data._random import default_rng
from fovea.data.batch_transforms import Cutout, SubtractMeanImage, bilinear_sample  # noqa: F401
from fovea.data.transforms import functional as F
from fovea.data.transforms.functional import InterpolationMode

__all__ = [
    "Compose", "ToTensor", "PILToTensor", "ToPILImage", "Normalize", "Resize", "CenterCrop",
    "Pad", "RandomCrop", "RandomResizedCrop", "RandomHorizontalFlip", "RandomVerticalFlip",
    "RandomRotation", "RandomAffine", "ColorJitter", "Grayscale", "RandomGrayscale",
    "RandomErasing", "Lambda", "RandomApply", "RandomChoice", "RandomOrder",
    "InterpolationMode", "Cutout", "SubtractMeanImage", "functional",
]
functional = F

_BATCH_NDIM = 4


class Transform:
    """Base: ``__call__(img)`` -> ``forward(img)``; ``t(batch, rng)`` runs the batch twin
    (:meth:`batch_transform`) where one exists."""

    def __call__(self, img, rng=None):
        if rng is not None:
            return self._batch_call(img, rng)
        return self.forward(img)

    def forward(self, img):
        raise NotImplementedError

    def batch_transform(self):
        """The :mod:`fovea.data.batch_transforms` equivalent, for ``t(batch, rng)``."""
        raise TypeError(f"{type(self).__name__} is a per-image transform: call it as t(img); "
                        f"t(batch, rng) exists only for Compose, Normalize, RandomCrop, "
                        f"RandomHorizontalFlip, RandomAffine and ColorJitter")

    def _batch_call(self, x, rng):
        if getattr(self, "_batch", None) is None:
            self._batch = self.batch_transform()
        return self._batch(x, rng)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


def _rand() -> float:
    return float(default_rng().random())


def _uniform(lo: float, hi: float) -> float:
    return float(default_rng().uniform(lo, hi))


def _randint(lo: int, hi: int) -> int:
    """An int in [lo, hi)."""
    return int(default_rng().integers(lo, hi))


def _setup_size(size, op: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{op}: please provide only two dimensions (h, w) for size, got {size!r}")


def _check_p(p, op: str) -> float:
    if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
        raise ValueError(f"{op}: probability p should be in [0, 1], got {p!r}")
    return float(p)


# --- containers -------------------------------------------------------------------------------

class Compose(Transform):
    """Apply ``transforms`` in order: ``t(img)``; ``t(batch, rng)`` passes ``rng`` on."""

    def __init__(self, transforms: Sequence[Callable]):
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable, got "
                                f"{type(t).__name__}")
        self.transforms = transforms

    def forward(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def _batch_call(self, x, rng):
        for t in self.transforms:
            x = t(x, rng)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda(Transform):
    """Wrap a function ``lambd(img) -> img`` as a transform."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument lambd should be callable, got "
                            f"{type(lambd).__name__!r}")
        self.lambd = lambd

    def forward(self, img):
        return self.lambd(img)


class RandomApply(Transform):
    """Apply all ``transforms`` with probability ``p``, else none."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5):
        self.transforms = list(transforms)
        self.p = _check_p(p, "RandomApply")

    def forward(self, img):
        if self.p < _rand():
            return img
        for t in self.transforms:
            img = t(img)
        return img


class RandomChoice(Transform):
    """Apply one of ``transforms``, picked with weights ``p`` (uniform when None)."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None):
        self.transforms = list(transforms)
        if not self.transforms:
            raise ValueError("RandomChoice: transforms must not be empty")
        if p is not None:
            if not isinstance(p, Sequence):
                raise TypeError("RandomChoice: argument p should be a sequence")
            if len(p) != len(self.transforms):
                raise ValueError(f"RandomChoice: length of p doesn't match the number of "
                                 f"transforms: {len(p)} != {len(self.transforms)}")
            if any(w < 0 for w in p) or sum(p) <= 0:
                raise ValueError(f"RandomChoice: p must be non-negative with a positive sum, "
                                 f"got {list(p)}")
        self.p = None if p is None else [float(w) for w in p]

    def forward(self, img):
        n = len(self.transforms)
        w = np.full(n, 1.0 / n) if self.p is None else np.asarray(self.p) / sum(self.p)
        k = int(np.searchsorted(np.cumsum(w), _rand() * w.sum(), side="right"))
        return self.transforms[min(k, n - 1)](img)


class RandomOrder(Transform):
    """Apply ``transforms`` in a random order."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def forward(self, img):
        for k in default_rng().permutation(len(self.transforms)):
            img = self.transforms[int(k)](img)
        return img


# --- conversions ------------------------------------------------------------------------------

class ToTensor(Transform):
    """PIL image or HWC (HW) uint8 array -> float32 (C, H, W) Tensor in [0, 1].

    Other array dtypes (and PIL modes I, I;16, F) keep their values and dtype, as torchvision.
    """

    def forward(self, pic):
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor(Transform):
    """PIL image -> (C, H, W) Tensor of the image's dtype (uint8 for L/RGB), unscaled."""

    def forward(self, pic):
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return "PILToTensor()"


class ToPILImage(Transform):
    """(C, H, W) Tensor or (H, W, C) array -> PIL image (floats scaled by 255, truncated)."""

    def __init__(self, mode: str | None = None):
        self.mode = mode

    def forward(self, pic):
        return F.to_pil_image(pic, self.mode)


class Normalize(Transform):
    """``(x[c] - mean[c]) / std[c]`` per channel of a float image tensor (..., C, H, W).

    Args:
        mean, std: per-channel sequences (or one number for all channels).
        inplace: modify the input tensor instead of returning a new one.
    """

    def __init__(self, mean, std, inplace: bool = False):
        self.mean = list(np.atleast_1d(np.asarray(mean, dtype=np.float64)).tolist())
        self.std = list(np.atleast_1d(np.asarray(std, dtype=np.float64)).tolist())
        self.inplace = bool(inplace)

    @classmethod
    def fit(cls, x: np.ndarray) -> Normalize:
        """Per-channel mean and std of a training batch ``x``: (N, C, H, W)."""
        b = _B.Normalize.fit(x)
        return cls(b.mean.tolist(), b.std.tolist())

    def forward(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)

    def batch_transform(self):
        return _B.Normalize(self.mean, self.std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std}, inplace={self.inplace})"


# --- size -------------------------------------------------------------------------------------

class Resize(Transform):
    """Resize to ``size``: an int matches the shorter side (aspect ratio kept), (h, w) exact.

    Args:
        size: int or (h, w).
        interpolation: :class:`InterpolationMode` (BILINEAR; NEAREST, NEAREST_EXACT; PIL
            images also BICUBIC, BOX, HAMMING, LANCZOS).
        max_size: with an int size, cap on the longer side.
        antialias: low-pass when shrinking tensors (PIL images are always antialiased).
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
                 antialias: bool | None = True):
        if not isinstance(size, int | Sequence):
            raise TypeError(f"Resize: size should be int or sequence, got {type(size).__name__}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("Resize: if size is a sequence, it should have 1 or 2 values")
        self.size = size
        self.max_size = max_size
        self.interpolation = F.interpolation_mode(interpolation, "Resize")
        self.antialias = antialias

    def forward(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(Transform):
    """Crop the centre ``size`` (int or (h, w)); smaller images are zero-padded first."""

    def __init__(self, size):
        self.size = _setup_size(size, "CenterCrop")

    def forward(self, img):
        return F.center_crop(img, self.size)


class Pad(Transform):
    """Pad the borders (see :func:`functional.pad`)."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        F._ltrb(padding, "Pad")
        if padding_mode not in F._PAD_MODES:
            raise ValueError(f"Pad: padding_mode should be one of {list(F._PAD_MODES)}, got "
                             f"{padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def forward(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class RandomCrop(Transform):
    """Pad (optional), then crop a random ``size`` window.

    Args:
        size: int or (h, w).
        padding: int, (left/right, top/bottom) or (left, top, right, bottom), or None.
        pad_if_needed: pad an image smaller than ``size`` (by the missing amount on each side).
        fill: constant padding value (a number or one per channel).
        padding_mode: constant, edge, reflect or symmetric.
    """

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant"):
        self.size = _setup_size(size, "RandomCrop")
        if padding is not None:
            F._ltrb(padding, "RandomCrop")
        if padding_mode not in F._PAD_MODES:
            raise ValueError(f"RandomCrop: padding_mode should be one of {list(F._PAD_MODES)}, "
                             f"got {padding_mode!r}")
        self.padding, self.pad_if_needed = padding, bool(pad_if_needed)
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img, output_size) -> tuple[int, int, int, int]:
        """(top, left, h, w) of a uniformly placed window of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than input "
                             f"image size {(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def forward(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))

    def batch_transform(self):
        if self.pad_if_needed or self.padding_mode == "symmetric" or not isinstance(
                self.fill, numbers.Real):
            raise ValueError("RandomCrop: the batch form t(batch, rng) supports neither "
                             "pad_if_needed, symmetric padding nor per-channel fill")
        pad = 0 if self.padding is None else F._ltrb(self.padding, "RandomCrop")
        return _B.RandomCrop(self.size, padding=pad, fill=self.fill,
                             padding_mode=self.padding_mode)


class RandomResizedCrop(Transform):
    """Crop a random area fraction (``scale``) and aspect ratio (``ratio``), resize to ``size``.

    Ten tries draw area ~ U(scale) · H·W and log-ratio ~ U(log ratio); the first window that
    fits is used, else a centre crop clamped to the ratio range (torchvision's rule).
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
        self.size = _setup_size(size, "RandomResizedCrop")
        if not isinstance(scale, Sequence):
            raise TypeError("RandomResizedCrop: scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("RandomResizedCrop: ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("RandomResizedCrop: scale and ratio should be of kind (min, max)",
                          stacklevel=2)
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation = F.interpolation_mode(interpolation, "RandomResizedCrop")
        self.antialias = antialias

    @staticmethod
    def get_params(img, scale, ratio) -> tuple[int, int, int, int]:
        """(top, left, h, w) of the window to crop."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = float(width) / float(height)
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def forward(self, img):
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, list(self.size), self.interpolation,
                              self.antialias)


# --- flips and warps --------------------------------------------------------------------------

class RandomHorizontalFlip(Transform):
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5):
        self.p = _check_p(p, "RandomHorizontalFlip")

    def forward(self, img):
        return F.hflip(img) if _rand() < self.p else img

    def batch_transform(self):
        return _B.RandomHorizontalFlip(self.p)


class RandomVerticalFlip(Transform):
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5):
        self.p = _check_p(p, "RandomVerticalFlip")

    def forward(self, img):
        return F.vflip(img) if _rand() < self.p else img


def _degrees(degrees, op: str, name: str = "degrees") -> tuple[float, float]:
    if isinstance(degrees, numbers.Number):
        if degrees < 0:
            raise ValueError(f"{op}: if {name} is a single number, it must be positive, got "
                             f"{degrees}")
        return -float(degrees), float(degrees)
    if not isinstance(degrees, Sequence) or len(degrees) != 2:
        raise ValueError(f"{op}: {name} should be a sequence of length 2, got {degrees!r}")
    return float(degrees[0]), float(degrees[1])


def _fill(fill, op: str):
    if fill is None:
        return None
    if isinstance(fill, numbers.Number):
        return fill
    if isinstance(fill, Sequence):
        return [float(f) for f in fill]
    raise TypeError(f"{op}: fill should be a number or a sequence, got {type(fill).__name__}")


class RandomRotation(Transform):
    """Rotate by an angle ~ U(degrees) counter-clockwise (``degrees=d`` means (-d, d)).

    Args:
        interpolation: NEAREST (default) or BILINEAR.
        expand: enlarge the output to hold the whole rotated image.
        center: (x, y) in pixels; None for the image centre.
        fill: value for the area outside the rotated image.
    """

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center=None, fill=0):
        self.degrees = _degrees(degrees, "RandomRotation")
        self.interpolation = F.interpolation_mode(interpolation, "RandomRotation")
        if center is not None and (not isinstance(center, Sequence) or len(center) != 2):
            raise ValueError(f"RandomRotation: center should be a sequence of length 2, got "
                             f"{center!r}")
        self.expand, self.center, self.fill = bool(expand), center, _fill(fill, "RandomRotation")

    @staticmethod
    def get_params(degrees) -> float:
        return _uniform(float(degrees[0]), float(degrees[1]))

    def forward(self, img):
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)


class RandomAffine(Transform):
    """Random rotation (clockwise, torchvision's affine convention), translation, scale and
    shear about the centre.

    Args:
        degrees: angle ~ U(-d, d) for a number, U(min, max) for a pair.
        translate: (a, b): tx ~ U(-a W, a W), ty ~ U(-b H, b H), rounded to pixels.
        scale: (lo, hi), or None for 1.
        shear: x shear ~ U(-s, s) for a number, U(min, max) for a pair; a 4-sequence gives
            (x_min, x_max, y_min, y_max); degrees.
        interpolation: NEAREST (default) or BILINEAR.
        fill: value for the area outside the transformed image.
        center: (x, y) in pixels; None for the image centre.
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0, center=None):
        self.degrees = _degrees(degrees, "RandomAffine")
        if translate is not None:
            if not isinstance(translate, Sequence) or len(translate) != 2:
                raise ValueError(f"RandomAffine: translate should be a sequence of length 2, "
                                 f"got {translate!r}")
            if not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"RandomAffine: translation values should be between 0 and 1, "
                                 f"got {translate!r}")
        if scale is not None:
            if not isinstance(scale, Sequence) or len(scale) != 2:
                raise ValueError(f"RandomAffine: scale should be a sequence of length 2, got "
                                 f"{scale!r}")
            if not all(s > 0 for s in scale):
                raise ValueError(f"RandomAffine: scale values should be positive, got {scale!r}")
        if shear is not None:
            if isinstance(shear, numbers.Number):
                shear = _degrees(shear, "RandomAffine", "shear")
            elif not isinstance(shear, Sequence) or len(shear) not in (2, 4):
                raise ValueError(f"RandomAffine: shear should be a sequence of length 2 or 4, "
                                 f"got {shear!r}")
            shear = tuple(float(s) for s in shear)
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation = F.interpolation_mode(interpolation, "RandomAffine")
        self.fill, self.center = _fill(fill, "RandomAffine"), center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size):
        """(angle, (tx, ty), scale, (shear_x, shear_y)); ``img_size`` is [width, height]."""
        angle = _uniform(float(degrees[0]), float(degrees[1]))
        if translate is not None:
            max_dx, max_dy = float(translate[0] * img_size[0]), float(translate[1] * img_size[1])
            tx = int(round(_uniform(-max_dx, max_dx)))
            ty = int(round(_uniform(-max_dy, max_dy)))
            translations = (tx, ty)
        else:
            translations = (0, 0)
        scale = _uniform(scale_ranges[0], scale_ranges[1]) if scale_ranges is not None else 1.0
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                shear_y = _uniform(shears[2], shears[3])
        return angle, translations, scale, (shear_x, shear_y)

    def forward(self, img):
        _, h, w = F.get_dimensions(img)
        angle, translate, scale, shear = self.get_params(self.degrees, self.translate,
                                                         self.scale, self.shear, [w, h])
        return F.affine(img, angle, translate, scale, shear, self.interpolation, self.fill,
                        self.center)

    def batch_transform(self):
        if not isinstance(self.fill, numbers.Real) or self.center is not None:
            raise ValueError("RandomAffine: the batch form t(batch, rng) needs a number fill "
                             "and center=None")
        return _B.RandomAffine(self.degrees, self.translate, self.scale, self.shear,
                               fill=self.fill)


# --- colour -----------------------------------------------------------------------------------

def _jitter_range(value, name: str, center: float = 1.0, bound=(0.0, math.inf),
                  clip_first_on_zero: bool = True):
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"ColorJitter: if {name} is a single number, it must be non "
                             f"negative, got {value}")
        value = [center - float(value), center + float(value)]
        if clip_first_on_zero:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, Sequence) and len(value) == 2:
        value = [float(value[0]), float(value[1])]
    else:
        raise TypeError(f"ColorJitter: {name} should be a single number or a list/tuple with "
                        f"length 2, got {value!r}")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, but got "
                         f"{value}")
    return None if value[0] == value[1] == center else tuple(value)


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order.

    ``brightness=b`` draws the factor from [max(0, 1 - b), 1 + b] (or a (min, max) pair); the
    same for contrast and saturation; ``hue=h`` draws the shift from [-h, h] with h <= 0.5.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0.0, bound=(-0.5, 0.5),
                                 clip_first_on_zero=False)

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """(order, b, c, s, h): a permutation of the 4 steps and the factors (None: off)."""
        order = default_rng().permutation(4)
        b = None if brightness is None else _uniform(*brightness)
        c = None if contrast is None else _uniform(*contrast)
        s = None if saturation is None else _uniform(*saturation)
        h = None if hue is None else _uniform(*hue)
        return order, b, c, s, h

    def forward(self, img):
        order, b, c, s, h = self.get_params(self.brightness, self.contrast, self.saturation,
                                            self.hue)
        for k in order:
            if k == 0 and b is not None:
                img = F.adjust_brightness(img, b)
            elif k == 1 and c is not None:
                img = F.adjust_contrast(img, c)
            elif k == 2 and s is not None:
                img = F.adjust_saturation(img, s)
            elif k == 3 and h is not None:
                img = F.adjust_hue(img, h)
        return img

    def batch_transform(self):
        if self.hue is not None:
            raise ValueError("ColorJitter: the batch form t(batch, rng) has no hue")
        return _B.ColorJitter(self.brightness or 0.0, self.contrast or 0.0,
                              self.saturation or 0.0)


class Grayscale(Transform):
    """RGB -> luma ``0.299 R + 0.587 G + 0.114 B`` with 1 or 3 output channels."""

    def __init__(self, num_output_channels: int = 1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels should be either 1 or 3, got "
                             f"{num_output_channels}")
        self.num_output_channels = num_output_channels

    def forward(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)


class RandomGrayscale(Transform):
    """Grayscale with probability ``p``, keeping the number of channels."""

    def __init__(self, p: float = 0.1):
        self.p = _check_p(p, "RandomGrayscale")

    def forward(self, img):
        c = F.get_dimensions(img)[0]
        if _rand() < self.p:
            return F.rgb_to_grayscale(img, num_output_channels=c)
        return img


class RandomErasing(Transform):
    """Erase a random rectangle of a tensor image with probability ``p`` (Zhong et al.).

    Args:
        scale: range of the erased area as a fraction of the image.
        ratio: range of its aspect ratio (h / w), drawn log-uniformly.
        value: a number, one per channel, or ``"random"`` (standard normal noise).
        inplace: modify the input tensor.
    """

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0,
                 inplace: bool = False):
        if not isinstance(value, numbers.Number | str | tuple | list):
            raise TypeError("RandomErasing: argument value should be either a number or str or "
                            "a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("RandomErasing: if value is str, it should be 'random'")
        if not isinstance(scale, Sequence):
            raise TypeError("RandomErasing: scale should be a sequence")
        if not isinstance(ratio, Sequence):
            raise TypeError("RandomErasing: ratio should be a sequence")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            warnings.warn("RandomErasing: scale and ratio should be of kind (min, max)",
                          stacklevel=2)
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale should be between 0 and 1, got {scale}")
        if not 0 <= p <= 1:
            raise ValueError(f"RandomErasing: probability should be between 0 and 1, got {p}")
        self.p, self.scale, self.ratio = float(p), tuple(scale), tuple(ratio)
        self.value, self.inplace = value, bool(inplace)

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """(i, j, h, w, v): the rectangle and its values (the image itself when no try fits)."""
        a = img.detach().numpy() if hasattr(img, "detach") else np.asarray(img)
        img_c, img_h, img_w = a.shape[-3], a.shape[-2], a.shape[-1]
        area = img_h * img_w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * _uniform(scale[0], scale[1])
            aspect = math.exp(_uniform(*log_ratio))
            h = int(round(math.sqrt(erase_area * aspect)))
            w = int(round(math.sqrt(erase_area / aspect)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                v = default_rng().standard_normal((img_c, h, w)).astype(np.float32)
            else:
                v = np.asarray(value, dtype=np.float32)[:, None, None]
            return _randint(0, img_h - h + 1), _randint(0, img_w - w + 1), h, w, v
        return 0, 0, img_h, img_w, a

    def forward(self, img):
        if F._is_pil(img):
            raise TypeError(f"RandomErasing: img should be a Tensor image, got "
                            f"{type(img).__name__}")
        if _rand() < self.p:
            c = F.get_dimensions(img)[0]
            value = self.value
            if isinstance(value, numbers.Number):
                value = [value]
            elif isinstance(value, str):
                value = None
            elif isinstance(value, tuple):
                value = list(value)
            if value is not None and len(value) not in (1, c):
                raise ValueError(f"RandomErasing: if value is a sequence, it should have either "
                                 f"a single value or {c} (number of input channels)")
            i, j, h, w, v = self.get_params(img, self.scale, self.ratio, value)
            return F.erase(img, i, j, h, w, v, self.inplace)
        return img
