"""NumPy kernels of the per-image transforms, on (..., C, H, W) arrays.

Resampling follows ``torchvision.transforms.functional``'s tensor path: separable filter
weights for resize (bilinear with antialias like Pillow, nearest as ``interpolate``), and an
inverse affine map on pixel-centre coordinates relative to the image centre for rotations and
affine warps (``grid_sample(align_corners=False)``, outside pixels read ``fill``).
"""

from __future__ import annotations

import math

import numpy as np

GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, what Pillow's convert("L") uses


def max_value(dtype) -> float:
    """The value of full intensity: 1.0 for floats, the type's maximum for integers."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return 1.0
    if dtype.kind == "b":
        return 1
    return float(np.iinfo(dtype).max)


def cast_like(out: np.ndarray, dtype) -> np.ndarray:
    """Float results back to an integer image's dtype: rounded and clipped (resampling)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return out.astype(dtype, copy=False)
    info = np.iinfo(dtype)
    return np.clip(np.round(out), info.min, info.max).astype(dtype)


def work_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    return dtype if dtype.kind == "f" else np.dtype(np.float32)


# --- resize -----------------------------------------------------------------------------------

def _linear_weights(n_in: int, n_out: int, antialias: bool) -> np.ndarray:
    """(n_out, n_in) weights of the triangle filter at half-pixel centres.

    Output pixel i reads around ``center = (i + 0.5) * scale`` (scale = n_in / n_out). When
    shrinking with antialias the filter widens by ``scale`` (Pillow's and torchvision's
    antialiased bilinear); otherwise its support is one pixel, which is plain bilinear
    interpolation with the border clamped (``interpolate(align_corners=False)``). Each row is
    normalised to sum to 1.
    """
    scale = n_in / n_out
    support = max(scale, 1.0) if antialias else 1.0
    center = (np.arange(n_out) + 0.5) * scale
    pos = np.arange(n_in) + 0.5
    if not antialias and scale > 1:
        # plain bilinear between the two nearest pixel centres (clamped at the borders)
        src = np.clip(center - 0.5, 0, n_in - 1)
        w = np.maximum(0.0, 1.0 - np.abs(np.arange(n_in)[None, :] - src[:, None]))
    else:
        w = np.maximum(0.0, 1.0 - np.abs(pos[None, :] - center[:, None]) / support)
    return w / w.sum(axis=1, keepdims=True)


def _nearest_index(n_in: int, n_out: int, exact: bool) -> np.ndarray:
    scale = n_in / n_out
    if exact:  # nearest-exact (= Pillow's NEAREST): the pixel under the output centre
        return np.minimum(np.floor((np.arange(n_out) + 0.5) * scale).astype(np.int64), n_in - 1)
    # torch's legacy "nearest": floor(i * scale)
    return np.minimum(np.floor(np.arange(n_out) * scale).astype(np.int64), n_in - 1)


def resize(a: np.ndarray, size: tuple[int, int], mode: str, antialias: bool) -> np.ndarray:
    """Resize the last two axes to ``size`` = (h, w); mode nearest, nearest-exact, bilinear."""
    h, w = a.shape[-2:]
    oh, ow = size
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        rows, cols = _nearest_index(h, oh, exact), _nearest_index(w, ow, exact)
        return np.ascontiguousarray(a[..., rows[:, None], cols[None, :]])
    dt = work_dtype(a.dtype)
    wh = _linear_weights(h, oh, antialias).astype(dt)
    ww = _linear_weights(w, ow, antialias).astype(dt)
    out = np.matmul(np.matmul(wh, a.astype(dt, copy=False)), ww.T)
    return cast_like(out, a.dtype)


# --- geometry ---------------------------------------------------------------------------------

def crop(a: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Window [top, top + height) x [left, left + width); parts outside the image are 0."""
    h, w = a.shape[-2:]
    if 0 <= top and 0 <= left and top + height <= h and left + width <= w:
        return a[..., top:top + height, left:left + width].copy()
    out = np.zeros(a.shape[:-2] + (height, width), dtype=a.dtype)
    r0, r1 = max(top, 0), min(top + height, h)
    c0, c1 = max(left, 0), min(left + width, w)
    if r0 < r1 and c0 < c1:
        out[..., r0 - top:r1 - top, c0 - left:c1 - left] = a[..., r0:r1, c0:c1]
    return out


def pad(a: np.ndarray, ltrb: tuple[int, int, int, int], fill, mode: str) -> np.ndarray:
    left, top, right, bottom = ltrb
    widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "constant":
        fill = np.asarray(fill, dtype=a.dtype)
        if fill.ndim == 0:
            return np.pad(a, widths, mode="constant", constant_values=fill)
        out = np.pad(a, widths, mode="constant")
        mask = np.ones(a.shape[-2:], dtype=bool)
        mask = ~np.pad(mask, widths[-2:], mode="constant")
        out[..., mask] = fill.reshape(-1, 1)
        return out
    return np.pad(a, widths, mode=mode)


def inverse_affine_matrix(center, angle, translate, scale, shear) -> list[float]:
    """torchvision's ``_get_inverse_affine_matrix``: output -> input coordinates, 2x3 flat.

    The forward map is ``T * C * RotateScaleShear * C^-1`` with the rotation ``angle``
    clockwise in degrees, shear (sx, sy) in degrees, scale and translation (tx, ty) in pixels,
    about ``center`` (x, y).
    """
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]  # det([[a, b], [c, d]]) = 1
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
    m[2] += cx
    m[5] += cy
    return m


def affine_output_size(matrix, w: int, h: int) -> tuple[int, int]:
    """(w, h) of the box holding the transformed image (``rotate(expand=True)``)."""
    pts = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                    [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    theta = np.asarray(matrix, dtype=np.float32).reshape(2, 3)
    new = pts @ theta.T
    lo = new.min(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    hi = new.max(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    tol = 1e-4  # ceil of 1e-15 would add a pixel
    cmax = np.ceil(np.trunc(hi / tol) * tol)
    cmin = np.floor(np.trunc(lo / tol) * tol)
    size = cmax - cmin
    return int(size[0]), int(size[1])


def warp_affine(a: np.ndarray, matrix, out_hw: tuple[int, int], mode: str, fill) -> np.ndarray:
    """Sample ``a`` (..., C, H, W) through the inverse map ``matrix`` (2x3, centred coords).

    Output pixel (i, j) has centred coordinates ``(j + 0.5 - ow/2, i + 0.5 - oh/2)``; the
    matrix gives the centred input point, i.e. input pixel ``x + (W - 1)/2``. ``nearest``
    rounds half to even (as ``grid_sample``), ``bilinear`` weighs the 4 neighbours, reading 0
    outside. With a ``fill``, nearest pixels whose sample lies outside take it and bilinear
    ones blend towards it by the part of their footprint outside (torchvision's rule).
    """
    h, w = a.shape[-2:]
    oh, ow = out_hw
    m = np.asarray(matrix, dtype=np.float64).reshape(2, 3)
    xo = np.arange(ow) + 0.5 - ow * 0.5
    yo = np.arange(oh) + 0.5 - oh * 0.5
    sx = m[0, 0] * xo[None, :] + m[0, 1] * yo[:, None] + m[0, 2] + (w - 1) * 0.5  # (oh, ow)
    sy = m[1, 0] * xo[None, :] + m[1, 1] * yo[:, None] + m[1, 2] + (h - 1) * 0.5
    dt = work_dtype(a.dtype)
    src = a.astype(dt, copy=False)
    if mode == "nearest":
        xi, yi = np.rint(sx).astype(np.int64), np.rint(sy).astype(np.int64)
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        out = src[..., np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
        out = np.where(inside, out, 0).astype(dt, copy=False)
        coverage = inside.astype(dt)
    elif mode == "bilinear":
        x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
        fx, fy = (sx - x0).astype(dt), (sy - y0).astype(dt)
        out = np.zeros(a.shape[:-2] + (oh, ow), dtype=dt)
        coverage = np.zeros((oh, ow), dtype=dt)
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                xx, yy = x0 + dx, y0 + dy
                ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
                wgt = np.where(ok, wx * wy, 0).astype(dt)
                out += wgt * src[..., np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
                coverage += wgt
    else:
        raise ValueError(f"affine: interpolation {mode!r} is not supported for tensors and "
                         f"arrays (use nearest or bilinear)")
    if fill is not None:
        f = np.asarray(fill, dtype=dt)
        f = f.reshape(-1, 1, 1) if f.ndim else f
        if mode == "nearest":
            out = np.where(coverage < 0.5, f, out)
        else:
            # NOTE: torchvision samples a ones-channel alongside the image and computes
            # img * mask + (1 - mask) * fill with the (already zero-padded) sample: the
            # coverage weighs the edge pixels twice. Kept so results match.
            out = out * coverage + (1 - coverage) * f
    return cast_like(out, a.dtype)


# --- colour -----------------------------------------------------------------------------------

def blend(a: np.ndarray, b, ratio: float) -> np.ndarray:
    """``ratio * a + (1 - ratio) * b`` clipped to [0, full intensity], in a's dtype."""
    dt = work_dtype(a.dtype)
    out = ratio * a.astype(dt, copy=False) + (1.0 - ratio) * np.asarray(b, dtype=dt)
    out = np.clip(out, 0, max_value(a.dtype))
    return out.astype(a.dtype, copy=False)  # integer images truncate, as torchvision


def grayscale(a: np.ndarray) -> np.ndarray:
    """Luma of (..., 3, H, W) as (..., 1, H, W) in a's dtype (integers truncate)."""
    dt = work_dtype(a.dtype)
    r, g, b = (a[..., k:k + 1, :, :].astype(dt) for k in range(3))
    gw = GRAY_WEIGHTS
    out = gw[0] * r + gw[1] * g + gw[2] * b
    return out.astype(a.dtype, copy=False)


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """(..., 3, H, W) floats in [0, 1] -> hue, saturation, value, each in [0, 1]."""
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc, minc = rgb.max(axis=-3), rgb.min(axis=-3)
    delta = maxc - minc
    s = np.where(maxc > 0, delta / np.where(maxc > 0, maxc, 1), 0)
    d = np.where(delta > 0, delta, 1)
    rc, gc, bc = (maxc - r) / d, (maxc - g) / d, (maxc - b) / d
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = np.where(delta > 0, (h / 6.0) % 1.0, 0.0)
    return np.stack([h, s, maxc], axis=-3)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    h, s, v = hsv[..., 0, :, :], hsv[..., 1, :, :], hsv[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = [np.choose(i, [c[k] for c in choices]) for k in range(3)]
    return np.stack(out, axis=-3)


def adjust_hue(a: np.ndarray, factor: float) -> np.ndarray:
    dt = work_dtype(a.dtype)
    x = a.astype(dt) / max_value(a.dtype)
    hsv = rgb_to_hsv(x)
    hsv[..., 0, :, :] = (hsv[..., 0, :, :] + factor) % 1.0
    out = hsv_to_rgb(hsv)
    if a.dtype.kind == "f":
        return out.astype(a.dtype, copy=False)
    return (out * max_value(a.dtype)).astype(a.dtype)  # truncates, as torchvision
