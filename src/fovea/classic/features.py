"""Hand-designed image features (Lecture 3, "Aside: image features").

Before convolutional networks, linear classifiers were trained on features computed from the
pixels rather than on the pixels themselves: a histogram of oriented gradients (HOG) for
shape, a colour histogram for colour. Every function here takes a batch of images
(N, C, H, W), C = 1 (grey) or 3 (RGB), values in [0, 1], and returns one row per image,
(N, F), computed for the whole batch at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike

from fovea.classic._checks import positive_int

# ITU-R BT.601 luma weights.
_LUMA = np.array([0.299, 0.587, 0.114])


def _as_images(images, op: str) -> np.ndarray:
    """``images`` as a finite float array (N, C, H, W) with C in {1, 3}; (N, H, W) gets C=1."""
    x = np.asarray(images)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{op}: images must be a numeric array, got dtype {x.dtype}")
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"{op}: images must have shape (N, C, H, W) with C = 1 or 3, or "
                         f"(N, H, W), got {np.asarray(images).shape}")
    x = x.astype(np.float64, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"{op}: images contain non-finite values (NaN or inf)")
    return x


def rgb_to_gray(images: ArrayLike) -> np.ndarray:
    """Luminance 0.299 R + 0.587 G + 0.114 B of images (N, 3, H, W) → (N, H, W).

    Grey images (N, 1, H, W) are returned as (N, H, W) unchanged.
    """
    return _gray(images, "rgb_to_gray")


def _gray(images, op: str) -> np.ndarray:
    x = _as_images(images, op)
    if x.shape[1] == 1:
        return x[:, 0]
    return np.einsum("nchw,c->nhw", x, _LUMA)


def hog_features(images: ArrayLike, cell_size: int = 8, num_bins: int = 9, block_size: int = 2,
                 eps: float = 1e-5) -> np.ndarray:
    """Histogram of oriented gradients (Dalal & Triggs), one descriptor per image.

    1. Convert to grey and take centred differences, gx = I[r, c+1] - I[r, c-1] and
       gy = I[r-1, c] - I[r+1, c] (rows grow downwards, so gy points up), replicating the
       border pixels.
    2. Magnitude |g| and unsigned orientation θ = atan2(gy, gx) mod 180°; 0° is a gradient
       pointing right (a vertical edge), 90° one pointing up (a horizontal edge).
    3. Each pixel votes |g| into the ``num_bins`` orientation bins of width 180°/num_bins,
       split linearly between the two bins whose centres surround θ (circularly).
    4. Votes are summed over non-overlapping ``cell_size`` × ``cell_size`` cells (pixels
       beyond the last whole cell are ignored).
    5. Blocks of ``block_size`` × ``block_size`` cells, sliding one cell at a time, are
       L2-Hys normalised: v / sqrt(|v|² + eps²), clipped at 0.2, normalised again.

    Args:
        images: (N, C, H, W) or (N, H, W), C = 1 or 3.
        cell_size: pixels per cell side.
        num_bins: orientation bins over [0°, 180°).
        block_size: cells per block side; at most the number of cells along either side.
        eps: the normalisation's small constant.

    Returns:
        (N, B_h · B_w · block_size² · num_bins) with B = cells - block_size + 1 blocks per
        side, ordered by block row, block column, cell row, cell column, bin.

    Example:
        >>> hog_features(np.random.rand(2, 3, 32, 32)).shape   # 4×4 cells, 3×3 blocks
        (2, 324)
    """
    op = "hog_features"
    gray = _gray(images, op)
    cell_size = positive_int(cell_size, op, "cell_size")
    num_bins = positive_int(num_bins, op, "num_bins")
    block_size = positive_int(block_size, op, "block_size")
    N, H, W = gray.shape
    cells_h, cells_w = H // cell_size, W // cell_size
    if block_size > min(cells_h, cells_w):
        raise ValueError(f"{op}: images of {H}×{W} pixels give {cells_h}×{cells_w} cells of "
                         f"{cell_size} pixels, fewer than block_size={block_size}")
    p = np.pad(gray, ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = p[:, 1:-1, 2:] - p[:, 1:-1, :-2]
    gy = p[:, :-2, 1:-1] - p[:, 2:, 1:-1]
    h, w = cells_h * cell_size, cells_w * cell_size
    gx, gy = gx[:, :h, :w], gy[:, :h, :w]
    magnitude = np.hypot(gx, gy)
    theta = np.degrees(np.arctan2(gy, gx)) % 180.0
    # Linear interpolation between neighbouring bin centres (centre of bin b: (b + ½)·width).
    pos = theta / (180.0 / num_bins) - 0.5
    low = np.floor(pos)
    frac = pos - low
    bin0 = low.astype(np.int64) % num_bins
    bin1 = (bin0 + 1) % num_bins
    # Flat (image, cell row, cell column, bin) key of every vote, summed with bincount.
    rows = np.arange(h) // cell_size
    cols = np.arange(w) // cell_size
    cell = (np.arange(N)[:, None, None] * cells_h + rows[None, :, None]) * cells_w \
        + cols[None, None, :]
    size = N * cells_h * cells_w * num_bins
    hist = np.bincount((cell * num_bins + bin0).ravel(), ((1 - frac) * magnitude).ravel(),
                       minlength=size)
    hist += np.bincount((cell * num_bins + bin1).ravel(), (frac * magnitude).ravel(),
                        minlength=size)
    hist = hist.reshape(N, cells_h, cells_w, num_bins)
    blocks = sliding_window_view(hist, (block_size, block_size), axis=(1, 2))
    blocks = blocks.transpose(0, 1, 2, 4, 5, 3)        # (N, Bh, Bw, bs, bs, bins)
    v = blocks.reshape(N, blocks.shape[1] * blocks.shape[2], -1)
    v = v / np.sqrt(np.sum(v * v, axis=2, keepdims=True) + eps ** 2)
    v = np.minimum(v, 0.2)
    v = v / np.sqrt(np.sum(v * v, axis=2, keepdims=True) + eps ** 2)
    return v.reshape(N, -1)


def color_histogram_hsv(images: ArrayLike, nbin: int = 10, channels: str = "h") -> np.ndarray:
    """Histogram of the HSV colour channels of RGB images.

    Each pixel is converted to hue, saturation and value in [0, 1]; for each requested
    channel the fraction of pixels in each of ``nbin`` equal bins over [0, 1] is reported
    (value 1 falls in the last bin), so each channel's histogram sums to 1.

    Args:
        images: RGB images (N, 3, H, W), values in [0, 1].
        nbin: bins per channel.
        channels: which of ``"h"``, ``"s"``, ``"v"`` to histogram, in that order of output.

    Returns:
        (N, nbin · len(channels)).

    Example:
        >>> color_histogram_hsv(np.random.rand(2, 3, 32, 32), nbin=10).shape
        (2, 10)
    """
    from matplotlib.colors import rgb_to_hsv

    op = "color_histogram_hsv"
    x = _as_images(images, op)
    if x.shape[1] != 3:
        raise ValueError(f"{op}: images must be RGB (N, 3, H, W), got {x.shape[1]} channel(s)")
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError(f"{op}: images must have values in [0, 1], got range "
                         f"[{x.min():g}, {x.max():g}]")
    nbin = positive_int(nbin, op, "nbin")
    if not channels or any(c not in "hsv" for c in channels) or len(set(channels)) != len(
            channels):
        raise ValueError(f"{op}: channels must be distinct letters of 'hsv', got {channels!r}")
    N, _, H, W = x.shape
    hsv = rgb_to_hsv(x.transpose(0, 2, 3, 1)).reshape(N, H * W, 3)
    offsets = (np.arange(N) * nbin)[:, None]
    out = []
    for c in channels:
        values = hsv[:, :, "hsv".index(c)]
        idx = np.clip(np.floor(values * nbin).astype(np.int64), 0, nbin - 1)
        counts = np.bincount((idx + offsets).ravel(), minlength=N * nbin).reshape(N, nbin)
        out.append(counts / max(H * W, 1))
    return np.concatenate(out, axis=1)


def extract_features(images: ArrayLike, feature_fns: Sequence[Callable[[np.ndarray], np.ndarray]],
                     batch_size: int = 1000) -> np.ndarray:
    """Apply each feature function to the images and concatenate the results per image.

    Args:
        images: (N, C, H, W).
        feature_fns: functions mapping images (b, C, H, W) to features (b, F_i), e.g.
            ``[hog_features, color_histogram_hsv]`` or ``functools.partial`` of them.
        batch_size: images processed at once (bounds the temporary memory).

    Returns:
        (N, F_1 + F_2 + ...), float64.

    Example:
        >>> feats = extract_features(images, [hog_features, color_histogram_hsv])
    """
    op = "extract_features"
    x = np.asarray(images)
    if x.ndim < 3:
        raise ValueError(f"{op}: images must have shape (N, C, H, W), got {x.shape}")
    fns = list(feature_fns) if not callable(feature_fns) else [feature_fns]
    if not fns or not all(callable(f) for f in fns):
        raise ValueError(f"{op}: feature_fns must be a non-empty list of functions")
    batch_size = positive_int(batch_size, op, "batch_size")
    chunks = []
    widths = None
    for start in range(0, max(x.shape[0], 1), batch_size):
        batch = x[start:start + batch_size]
        parts = [np.asarray(f(batch), dtype=np.float64) for f in fns]
        for f, part in zip(fns, parts):
            if part.ndim != 2 or part.shape[0] != batch.shape[0]:
                name = getattr(f, "__name__", repr(f))
                raise ValueError(f"{op}: feature function {name} returned shape {part.shape}; "
                                 f"expected ({batch.shape[0]}, F)")
        w = [p.shape[1] for p in parts]
        if widths is not None and w != widths:
            raise ValueError(f"{op}: feature functions returned {w} features for one batch but "
                             f"{widths} for another")
        widths = w
        chunks.append(np.concatenate(parts, axis=1))
    return np.concatenate(chunks, axis=0)
