"""Per-image transform functions, as ``torchvision.transforms.functional``.

Every function takes a PIL image (worked with Pillow) or an image tensor — a fovea
:class:`~fovea.Tensor` or a NumPy array of shape (..., C, H, W) (worked with NumPy; leading
dimensions share the same operation) — and returns the same kind of object. Integer images
(uint8 from :func:`pil_to_tensor`) keep their dtype; float images are expected in [0, 1].
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from enum import Enum

import numpy as np
from PIL import Image, ImageEnhance

from fovea.data.transforms import _array
from fovea.tensor import Tensor


class InterpolationMode(Enum):
    """Resampling filters, as ``torchvision.transforms.InterpolationMode``.

    NEAREST on tensors/arrays reads pixel ``floor(i * in / out)`` (``interpolate``'s
    "nearest"); NEAREST_EXACT reads the pixel under the output pixel's centre, which is what
    Pillow's NEAREST does. Tensors/arrays support NEAREST, NEAREST_EXACT and BILINEAR; PIL
    images also BICUBIC, BOX, HAMMING and LANCZOS.
    """

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


_PIL_FILTERS = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}


def interpolation_mode(value, op: str) -> InterpolationMode:
    """An InterpolationMode from the enum, its string value, or a Pillow filter constant."""
    if isinstance(value, InterpolationMode):
        return value
    if isinstance(value, str):
        try:
            return InterpolationMode(value)
        except ValueError:
            pass
    elif isinstance(value, numbers.Integral):
        for mode, f in _PIL_FILTERS.items():
            if f == value and mode is not InterpolationMode.NEAREST_EXACT:
                return mode
    raise TypeError(f"{op}: interpolation must be an InterpolationMode, got {value!r}")


# --- kinds of image ---------------------------------------------------------------------------

def _is_pil(img) -> bool:
    return isinstance(img, Image.Image)


def _unwrap(img, op: str, min_ndim: int = 3):
    """(array, rewrap) for a Tensor or ndarray image of shape (..., C, H, W)."""
    if isinstance(img, Tensor):
        a, wrap = img.detach().numpy(), _to_tensor
    elif isinstance(img, np.ndarray):
        a, wrap = img, _identity
    else:
        raise TypeError(f"{op}: img should be a PIL Image, a fovea Tensor or a numpy array, "
                        f"got {type(img).__name__}")
    if a.ndim < min_ndim:
        raise ValueError(f"{op}: expected an image of shape (..., C, H, W), got shape "
                         f"{a.shape}")
    return a, wrap


def _identity(a):
    return a


def _to_tensor(a):
    from fovea.creation import from_numpy

    return from_numpy(np.ascontiguousarray(a))


def get_dimensions(img) -> list[int]:
    """[channels, height, width] of a PIL image or an image tensor."""
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    a, _ = _unwrap(img, "get_dimensions", 2)
    c = 1 if a.ndim == 2 else a.shape[-3]
    return [c, a.shape[-2], a.shape[-1]]


def get_image_size(img) -> list[int]:
    """[width, height]."""
    _, h, w = get_dimensions(img)
    return [w, h]


# --- conversions ------------------------------------------------------------------------------

def _pil_array(pic) -> np.ndarray:
    """HWC array of a PIL image with torchvision's dtypes per mode."""
    dtypes = {"I": np.int32, "I;16": np.int16, "F": np.float32}
    if pic.mode in dtypes:
        a = np.array(pic, dtype=dtypes[pic.mode], copy=True)
    elif pic.mode == "1":
        a = 255 * np.array(pic, dtype=np.uint8)
    else:
        a = np.array(pic, dtype=np.uint8, copy=True)
    return a.reshape(pic.height, pic.width, len(pic.getbands()))


def to_tensor(pic) -> Tensor:
    """PIL image or HWC / HW array -> CHW Tensor; uint8 becomes float32 in [0, 1].

    Other dtypes are kept unscaled (as torchvision): an int32 'I' image stays int32.
    """
    if _is_pil(pic):
        a = _pil_array(pic)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_tensor: pic should be 2 or 3 dimensional, got {pic.ndim} "
                             f"dimensions")
        a = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"to_tensor: pic should be a PIL Image or a numpy.ndarray, got "
                        f"{type(pic).__name__}")
    a = np.ascontiguousarray(a.transpose(2, 0, 1))
    if a.dtype == np.uint8:
        from fovea import dtypes

        a = a.astype(dtypes.get_default_dtype()) / np.float32(255)
        a = a.astype(dtypes.get_default_dtype(), copy=False)
    return _to_tensor(a)


def pil_to_tensor(pic) -> Tensor:
    """PIL image -> CHW Tensor with the image's own dtype (uint8 for L/RGB), unscaled."""
    if not _is_pil(pic):
        raise TypeError(f"pil_to_tensor: pic should be a PIL Image, got {type(pic).__name__}")
    a = _pil_array(pic)
    if pic.mode == "1":
        a = a // 255 * 1  # torchvision keeps mode "1" as 0/1
    return _to_tensor(a.transpose(2, 0, 1))


def to_pil_image(pic, mode: str | None = None) -> Image.Image:
    """CHW Tensor or HWC array -> PIL image.

    Floats (unless ``mode="F"``) are scaled by 255 and truncated to uint8, as torchvision's
    ``pic.mul(255).byte()``. Default modes: 1 channel L (uint8), I;16, I or F by dtype; 2 LA;
    3 RGB; 4 RGBA.
    """
    if isinstance(pic, Tensor):
        a = pic.detach().numpy()
        if a.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2 or 3 dimensional, got "
                             f"{a.ndim} dimensions")
        a = a[None] if a.ndim == 2 else a
        if a.shape[0] > 4:
            raise ValueError(f"to_pil_image: pic should not have > 4 channels, got "
                             f"{a.shape[0]} channels")
        if a.dtype.kind == "f" and mode != "F":
            a = (a * 255).astype(np.uint8)
        a = a.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"to_pil_image: pic should be 2 or 3 dimensional, got "
                             f"{pic.ndim} dimensions")
        a = pic[:, :, None] if pic.ndim == 2 else pic
        if a.shape[-1] > 4:
            raise ValueError(f"to_pil_image: pic should not have > 4 channels, got "
                             f"{a.shape[-1]} channels")
        if a.dtype.kind == "f" and mode != "F":
            a = (a * 255).astype(np.uint8)
    else:
        raise TypeError(f"to_pil_image: pic should be a Tensor or ndarray, got "
                        f"{type(pic).__name__}")
    c = a.shape[2]
    if c == 1:
        a = a[:, :, 0]
        by_dtype = {np.dtype(np.uint8): "L", np.dtype(np.int16): "I;16",
                    np.dtype(np.int32): "I", np.dtype(np.float32): "F"}
        expected = by_dtype.get(a.dtype)
        if mode is not None and expected is not None and mode != expected and not (
                mode == "L" and a.dtype == np.uint8):
            raise ValueError(f"to_pil_image: incorrect mode ({mode}) supplied for input type "
                             f"{a.dtype}; should be {expected}")
        mode = mode or expected
        if mode is None:
            raise TypeError(f"to_pil_image: input type {a.dtype} is not supported")
        if mode == "I;16":
            return Image.fromarray(a.astype("<u2"), mode="I;16")
        return Image.fromarray(a, mode=mode)
    modes = {2: ("LA",), 3: ("RGB", "YCbCr", "HSV", "LAB"), 4: ("RGBA", "CMYK", "RGBX")}
    if c not in modes:
        raise ValueError(f"to_pil_image: pic should have 1 to 4 channels, got {c}")
    if mode is None:
        if a.dtype != np.uint8:
            raise TypeError(f"to_pil_image: input type {a.dtype} is not supported for "
                            f"{c}-channel images")
        mode = modes[c][0]
    elif mode not in modes[c]:
        raise ValueError(f"to_pil_image: only modes {list(modes[c])} are supported for "
                         f"{c}-channel images, got {mode}")
    return Image.fromarray(np.ascontiguousarray(a.astype(np.uint8, copy=False)), mode=mode)


# --- normalisation ----------------------------------------------------------------------------

def normalize(tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
    """``out[..., c, :, :] = (x[..., c, :, :] - mean[c]) / std[c]`` on a float image tensor."""
    if _is_pil(tensor):
        raise TypeError(f"normalize: img should be a Tensor image, got {type(tensor).__name__}")
    a, wrap = _unwrap(tensor, "normalize")
    if a.dtype.kind != "f":
        raise TypeError(f"normalize: input tensor should be a float tensor, got {a.dtype}")
    m = np.asarray(mean, dtype=a.dtype).reshape(-1)
    s = np.asarray(std, dtype=a.dtype).reshape(-1)
    if np.any(s == 0):
        raise ValueError(f"normalize: std evaluated to zero after conversion to {a.dtype}, "
                         f"leading to division by zero")
    if len(m) not in (1, a.shape[-3]) or len(s) not in (1, a.shape[-3]):
        raise ValueError(f"normalize: image has {a.shape[-3]} channels but mean/std have "
                         f"{len(m)}/{len(s)} entries")
    m, s = m.reshape(-1, 1, 1), s.reshape(-1, 1, 1)
    if inplace:
        a -= m
        a /= s
        return tensor
    return wrap((a - m) / s)


# --- size and geometry ------------------------------------------------------------------------

def _output_size(h: int, w: int, size, max_size) -> tuple[int, int]:
    """torchvision's ``_compute_resized_output_size``: (new_h, new_w)."""
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    short, long = (w, h) if w <= h else (h, w)
    new_short = int(size if isinstance(size, numbers.Integral) else size[0])
    new_long = int(new_short * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"resize: max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {new_short}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None,
           antialias: bool | None = True):
    """Resize to ``size``: an int matches the shorter side (keeping the aspect ratio), a pair
    is (h, w). PIL images use Pillow (always antialiased); tensors/arrays use separable
    filters (bilinear antialiased when ``antialias``, as torchvision)."""
    mode = interpolation_mode(interpolation, "resize")
    if isinstance(size, numbers.Integral):
        size = [int(size)]
    if not isinstance(size, Sequence) or len(size) not in (1, 2):
        raise ValueError(f"resize: size must be an int or a sequence of 1 or 2 ints, got "
                         f"{size!r}")
    if max_size is not None and len(size) != 1:
        raise ValueError("resize: max_size should only be passed if size specifies the length "
                         "of the smaller edge, i.e. size should be an int or a sequence of "
                         f"length 1, got size={size}")
    _, h, w = get_dimensions(img)
    oh, ow = _output_size(h, w, size, max_size)
    if min(oh, ow) < 1:
        raise ValueError(f"resize: output size ({oh}, {ow}) must be positive")
    if (oh, ow) == (h, w):
        return img
    if _is_pil(img):
        return img.resize((ow, oh), _PIL_FILTERS[mode])
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT,
                    InterpolationMode.BILINEAR):
        raise ValueError(f"resize: interpolation {mode.value} is not supported for tensors and "
                         f"arrays (use nearest, nearest-exact or bilinear)")
    a, wrap = _unwrap(img, "resize")
    return wrap(_array.resize(a, (oh, ow), mode.value, bool(antialias)))


def crop(img, top: int, left: int, height: int, width: int):
    """The window (top, left, height, width); parts outside the image are zero."""
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    a, wrap = _unwrap(img, "crop")
    return wrap(_array.crop(a, int(top), int(left), int(height), int(width)))


def _size_pair(size, op: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{op}: please provide only two dimensions (h, w) for size, got {size!r}")


def center_crop(img, output_size):
    """Crop the centre (``round((H - h) / 2)`` rows from the top); pad with 0 if too small."""
    ch, cw = _size_pair(output_size, "center_crop")
    _, h, w = get_dimensions(img)
    if ch > h or cw > w:
        ltrb = [(cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0]
        img = pad(img, ltrb, fill=0)
        _, h, w = get_dimensions(img)
        if (h, w) == (ch, cw):
            return img
    top = int(round((h - ch) / 2.0))
    left = int(round((w - cw) / 2.0))
    return crop(img, top, left, ch, cw)


def resized_crop(img, top, left, height, width, size,
                 interpolation=InterpolationMode.BILINEAR, antialias=True):
    return resize(crop(img, top, left, height, width), size, interpolation,
                  antialias=antialias)


def _ltrb(padding, op: str) -> tuple[int, int, int, int]:
    if isinstance(padding, numbers.Integral):
        p = int(padding)
        return p, p, p, p
    if isinstance(padding, Sequence) and len(padding) == 1:
        p = int(padding[0])
        return p, p, p, p
    if isinstance(padding, Sequence) and len(padding) == 2:
        return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
    if isinstance(padding, Sequence) and len(padding) == 4:
        return tuple(int(p) for p in padding)
    raise ValueError(f"{op}: padding must be an int or a 1, 2 or 4 element sequence, got "
                     f"{padding!r}")


_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad the borders: padding int, (left/right, top/bottom) or (left, top, right, bottom);
    modes constant (``fill``), edge, reflect, symmetric."""
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"pad: padding_mode should be one of {list(_PAD_MODES)}, got "
                         f"{padding_mode!r}")
    ltrb = _ltrb(padding, "pad")
    if min(ltrb) < 0:
        raise ValueError(f"pad: padding must be non-negative, got {padding!r}")
    if _is_pil(img):
        a = np.asarray(img)
        chw = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
        fill_ = 0 if fill is None else fill
        out = _array.pad(chw, ltrb, fill_, padding_mode)
        out = out[0] if a.ndim == 2 else out.transpose(1, 2, 0)
        res = Image.fromarray(np.ascontiguousarray(out), mode=img.mode)
        if img.mode == "P":
            res.putpalette(img.getpalette())
        return res
    a, wrap = _unwrap(img, "pad")
    return wrap(_array.pad(a, ltrb, 0 if fill is None else fill, padding_mode))


def hflip(img):
    """Mirror left-right."""
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    a, wrap = _unwrap(img, "hflip")
    return wrap(a[..., ::-1].copy())


def vflip(img):
    """Mirror top-bottom."""
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    a, wrap = _unwrap(img, "vflip")
    return wrap(a[..., ::-1, :].copy())


def _pil_fill(img, fill):
    if fill is None:
        return None
    bands = len(img.getbands())
    if isinstance(fill, numbers.Number):
        return tuple([fill] * bands) if bands > 1 else fill
    fill = tuple(fill)
    if len(fill) == 1 and bands > 1:
        fill = fill * bands
    return fill if bands > 1 else fill[0]


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center=None, fill=None):
    """Rotate by ``angle`` degrees counter-clockwise about ``center`` (default: the centre);
    ``expand`` grows the output to hold the whole rotated image."""
    mode = interpolation_mode(interpolation, "rotate")
    if _is_pil(img):
        return img.rotate(angle, resample=_PIL_FILTERS[mode], expand=expand, center=center,
                          fillcolor=_pil_fill(img, fill))
    a, wrap = _unwrap(img, "rotate")
    h, w = a.shape[-2:]
    center_f = [0.0, 0.0] if center is None else [c - s * 0.5 for c, s in zip(center, [w, h])]
    matrix = _array.inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    ow, oh = _array.affine_output_size(matrix, w, h) if expand else (w, h)
    return wrap(_array.warp_affine(a, matrix, (oh, ow), mode.value, fill))


def affine(img, angle: float, translate, scale: float, shear, interpolation=InterpolationMode.
           NEAREST, fill=None, center=None):
    """Rotate by ``angle`` degrees *clockwise* (torchvision's convention for affine), scale,
    shear (degrees, (x, y) or x only) and translate (pixels) about the centre."""
    mode = interpolation_mode(interpolation, "affine")
    if isinstance(shear, numbers.Number):
        shear = [shear, 0.0]
    shear = [float(s) for s in shear]
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(translate) != 2:
        raise ValueError(f"affine: translate should be a sequence of length 2, got {translate}")
    if scale <= 0:
        raise ValueError(f"affine: scale should be positive, got {scale}")
    _, h, w = get_dimensions(img)
    if _is_pil(img):
        c = [w * 0.5, h * 0.5] if center is None else center
        matrix = _array.inverse_affine_matrix(c, angle, translate, scale, shear)
        return img.transform((w, h), Image.Transform.AFFINE, matrix, _PIL_FILTERS[mode],
                             fillcolor=_pil_fill(img, fill))
    a, wrap = _unwrap(img, "affine")
    center_f = [0.0, 0.0] if center is None else [c - s * 0.5 for c, s in zip(center, [w, h])]
    matrix = _array.inverse_affine_matrix(center_f, angle, [float(t) for t in translate],
                                          scale, shear)
    return wrap(_array.warp_affine(a, matrix, (h, w), mode.value, fill))


# --- colour -----------------------------------------------------------------------------------

def _check_factor(factor, name: str):
    if factor < 0:
        raise ValueError(f"adjust_{name}: {name}_factor ({factor}) is not non-negative")


def adjust_brightness(img, brightness_factor: float):
    """``x * factor`` clipped to the valid range."""
    _check_factor(brightness_factor, "brightness")
    if _is_pil(img):
        return ImageEnhance.Brightness(img).enhance(brightness_factor)
    a, wrap = _unwrap(img, "adjust_brightness")
    return wrap(_array.blend(a, 0, brightness_factor))


def adjust_contrast(img, contrast_factor: float):
    """Blend with the mean grey level of the image: ``f * x + (1 - f) * mean(gray(x))``."""
    _check_factor(contrast_factor, "contrast")
    if _is_pil(img):
        return ImageEnhance.Contrast(img).enhance(contrast_factor)
    a, wrap = _unwrap(img, "adjust_contrast")
    dt = _array.work_dtype(a.dtype)
    g = _array.grayscale(a) if a.shape[-3] == 3 else a
    mean = g.astype(dt).mean(axis=(-3, -2, -1), keepdims=True)
    return wrap(_array.blend(a, mean, contrast_factor))


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey image: ``f * x + (1 - f) * gray(x)`` (grey images unchanged)."""
    _check_factor(saturation_factor, "saturation")
    if _is_pil(img):
        if img.mode in ("L", "1", "I", "F", "I;16"):
            return img
        return ImageEnhance.Color(img).enhance(saturation_factor)
    a, wrap = _unwrap(img, "adjust_saturation")
    if a.shape[-3] == 1:
        return img
    return wrap(_array.blend(a, _array.grayscale(a), saturation_factor))


def adjust_hue(img, hue_factor: float):
    """Shift the hue by ``hue_factor`` turns (in [-0.5, 0.5]) in HSV space."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5]")
    if _is_pil(img):
        if img.mode in ("L", "1", "I", "F", "I;16"):
            return img
        mode = img.mode
        h, s, v = img.convert("HSV").split()
        hue = np.array(h, dtype=np.int64)
        hue = (hue + int(hue_factor * 255)) % 256  # wraps around, as torchvision's PIL path
        h = Image.fromarray(hue.astype(np.uint8), "L")
        return Image.merge("HSV", (h, s, v)).convert(mode)
    a, wrap = _unwrap(img, "adjust_hue")
    if a.shape[-3] == 1:
        return img
    return wrap(_array.adjust_hue(a, hue_factor))


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Luma ``0.299 R + 0.587 G + 0.114 B``, repeated to ``num_output_channels`` (1 or 3)."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be either 1 or 3, got "
                         f"{num_output_channels}")
    if _is_pil(img):
        g = img.convert("L")
        return Image.merge("RGB", [g, g, g]) if num_output_channels == 3 else g
    a, wrap = _unwrap(img, "rgb_to_grayscale")
    c = a.shape[-3]
    if c not in (1, 3):
        raise TypeError(f"rgb_to_grayscale: input image permitted channel values are [1, 3], "
                        f"but found {c}")
    g = a.copy() if c == 1 else _array.grayscale(a)
    if num_output_channels == 3:
        g = np.repeat(g, 3, axis=-3)
    return wrap(g)


def erase(img, i: int, j: int, h: int, w: int, v, inplace: bool = False):
    """Write ``v`` (a number, (C, 1, 1) or (C, h, w) values) into rows i:i+h, cols j:j+w."""
    if _is_pil(img):
        raise TypeError(f"erase: img should be a Tensor image, got {type(img).__name__}")
    a, wrap = _unwrap(img, "erase")
    out = a if inplace else a.copy()
    v = v.detach().numpy() if isinstance(v, Tensor) else np.asarray(v)
    out[..., i:i + h, j:j + w] = v.astype(a.dtype, copy=False)
    return img if inplace else wrap(out)
