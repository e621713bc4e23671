"""Anchors over feature-map grids, the box coder, the IoU matcher and the balanced sampler:
the pieces torchvision's detection heads (RPN, Fast R-CNN head, SSD, RetinaNet) share."""

from __future__ import annotations

import math

import numpy as np

import fovea
from fovea.errors import ShapeError
from fovea.tensor import Tensor

__all__ = ["AnchorGenerator", "BoxCoder", "Matcher", "BalancedPositiveNegativeSampler"]


class AnchorGenerator:
    """Anchors of several sizes and aspect ratios centred on every cell of each feature map.

    As ``torchvision``'s ``AnchorGenerator``: level ``l`` has ``len(sizes[l]) *
    len(aspect_ratios[l])`` cell anchors ``round([-w, -h, w, h] / 2)`` with ``h = size *
    sqrt(ratio)`` and ``w = size / sqrt(ratio)`` (ratio = height / width), shifted by the
    level's stride ``image_size // grid_size`` over its grid. Anchors are ordered by level,
    then row, column, and cell anchor (ratio-major, as torchvision).
    """

    def __init__(self, sizes=((32, 64, 128),), aspect_ratios=((0.5, 1.0, 2.0),)):
        sizes = tuple(s if isinstance(s, list | tuple) else (s,) for s in sizes)
        if len(aspect_ratios) == 1 and len(sizes) > 1:
            aspect_ratios = tuple(aspect_ratios) * len(sizes)
        if len(sizes) != len(aspect_ratios):
            raise ValueError(f"AnchorGenerator: {len(sizes)} levels of sizes but "
                             f"{len(aspect_ratios)} of aspect_ratios")
        self.sizes, self.aspect_ratios = sizes, tuple(aspect_ratios)
        self.cell_anchors = [self._cell(s, a) for s, a in zip(sizes, self.aspect_ratios)]

    @staticmethod
    def _cell(sizes, ratios) -> np.ndarray:
        scales = np.asarray(sizes, np.float64)
        hr = np.sqrt(np.asarray(ratios, np.float64))
        wr = 1.0 / hr
        ws = (wr[:, None] * scales[None, :]).reshape(-1)
        hs = (hr[:, None] * scales[None, :]).reshape(-1)
        return np.round(np.stack([-ws, -hs, ws, hs], 1) / 2)

    def num_anchors_per_location(self) -> list[int]:
        """Anchors per feature-map cell at each level."""
        return [len(c) for c in self.cell_anchors]

    def grid_anchors(self, image_size, grid_sizes) -> np.ndarray:
        """(sum_l H_l * W_l * A_l, 4) float32 xyxy anchors for an image of ``(height, width)``
        and feature maps of ``grid_sizes = [(H_l, W_l), ...]``."""
        if len(grid_sizes) != len(self.cell_anchors):
            raise ValueError(f"AnchorGenerator: {len(grid_sizes)} feature maps but "
                             f"{len(self.cell_anchors)} levels of anchors")
        out = []
        for (gh, gw), cell in zip(grid_sizes, self.cell_anchors):
            sy, sx = image_size[0] // gh, image_size[1] // gw
            ys, xs = np.meshgrid(np.arange(gh) * sy, np.arange(gw) * sx, indexing="ij")
            shifts = np.stack([xs, ys, xs, ys], -1).reshape(-1, 1, 4)
            out.append((shifts + cell[None]).reshape(-1, 4))
        return np.concatenate(out).astype(np.float32)

    def __call__(self, images: Tensor, feature_maps) -> list[Tensor]:
        """One (A, 4) anchor tensor per image of the (N, C, H, W) batch ``images``."""
        grids = [tuple(f.shape[-2:]) for f in feature_maps]
        a = fovea.tensor(self.grid_anchors(tuple(images.shape[-2:]), grids))
        return [a for _ in range(images.shape[0])]


class BoxCoder:
    """Encode boxes as deltas from reference boxes (anchors or proposals) and back.

    With reference centre ``(x_a, y_a)``, size ``(w_a, h_a)`` and weights ``(wx, wy, ww, wh)``:
    ``dx = wx (x - x_a) / w_a``, ``dy = wy (y - y_a) / h_a``, ``dw = ww log(w / w_a)``,
    ``dh = wh log(h / h_a)``. Decoding inverts it, clamping ``dw, dh`` at
    ``bbox_xform_clip = log(1000 / 16)`` so that ``exp`` cannot overflow. Both are composed of
    fovea ops, so gradients flow through them.
    """

    def __init__(self, weights=(1.0, 1.0, 1.0, 1.0),
                 bbox_xform_clip: float = math.log(1000.0 / 16)):
        self.weights, self.bbox_xform_clip = tuple(float(w) for w in weights), bbox_xform_clip

    @staticmethod
    def _centres(b: Tensor):
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        return b[:, 0] + 0.5 * w, b[:, 1] + 0.5 * h, w, h

    def encode_single(self, boxes, reference) -> Tensor:
        """boxes, reference: (N, 4) xyxy; returns (N, 4) deltas ``(dx, dy, dw, dh)``."""
        b, r = _t(boxes), _t(reference)
        if b.shape != r.shape:
            raise ShapeError(f"BoxCoder.encode: boxes {tuple(b.shape)} and reference boxes "
                             f"{tuple(r.shape)} must have the same shape")
        wx, wy, ww, wh = self.weights
        x, y, w, h = self._centres(b)
        xa, ya, wa, ha = self._centres(r)
        return fovea.stack([wx * (x - xa) / wa, wy * (y - ya) / ha, ww * (w / wa).log(),
                            wh * (h / ha).log()], dim=1)

    def decode_single(self, deltas, reference) -> Tensor:
        """deltas: (N, 4) ``(dx, dy, dw, dh)``, reference: (N, 4) xyxy; returns (N, 4) xyxy."""
        d, r = _t(deltas), _t(reference)
        wx, wy, ww, wh = self.weights
        xa, ya, wa, ha = self._centres(r)
        dw = (d[:, 2] / ww).clamp(max=self.bbox_xform_clip)
        dh = (d[:, 3] / wh).clamp(max=self.bbox_xform_clip)
        x, y = d[:, 0] / wx * wa + xa, d[:, 1] / wy * ha + ya
        w, h = dw.exp() * wa, dh.exp() * ha
        return fovea.stack([x - 0.5 * w, y - 0.5 * h, x + 0.5 * w, y + 0.5 * h], dim=1)


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else fovea.tensor(np.asarray(x, np.float32))


class Matcher:
    """Assign each prediction (anchor/proposal) the ground-truth box it overlaps most.

    ``matches[j] = argmax_i iou[i, j]`` when that IoU >= ``high_threshold``;
    ``BELOW_LOW_THRESHOLD`` (-1, background) when < ``low_threshold``; ``BETWEEN_THRESHOLDS``
    (-2, ignored) in between. With ``allow_low_quality_matches`` every ground truth also keeps
    the predictions of its highest IoU (ties included), so no object goes unmatched. With no
    ground truth at all, every prediction is background (images without objects train).
    """

    BELOW_LOW_THRESHOLD = -1
    BETWEEN_THRESHOLDS = -2

    def __init__(self, high_threshold: float, low_threshold: float,
                 allow_low_quality_matches: bool = False):
        if low_threshold > high_threshold:
            raise ValueError(f"Matcher: low_threshold {low_threshold} > high_threshold "
                             f"{high_threshold}")
        self.high, self.low = high_threshold, low_threshold
        self.allow_low_quality_matches = allow_low_quality_matches

    def __call__(self, match_quality_matrix) -> np.ndarray:
        """match_quality_matrix: (M ground truths, N predictions); returns int64 (N,)."""
        q = match_quality_matrix
        q = q.detach().numpy() if isinstance(q, Tensor) else np.asarray(q)
        if q.ndim != 2:
            raise ShapeError(f"Matcher: expected an (M, N) IoU matrix, got shape {q.shape}")
        if q.shape[0] == 0:
            return np.full(q.shape[1], self.BELOW_LOW_THRESHOLD, np.int64)
        vals, all_matches = q.max(0), q.argmax(0).astype(np.int64)
        matches = all_matches.copy()
        matches[vals < self.low] = self.BELOW_LOW_THRESHOLD
        matches[(vals >= self.low) & (vals < self.high)] = self.BETWEEN_THRESHOLDS
        if self.allow_low_quality_matches:
            best = q.max(1, keepdims=True)
            cols = np.nonzero((q == best) & (best > 0))[1]
            matches[cols] = all_matches[cols]
        return matches


class BalancedPositiveNegativeSampler:
    """Pick at most ``batch_size_per_image`` examples per image, a ``positive_fraction`` of
    them positive (fewer when there are not enough), the rest negative, uniformly at random."""

    def __init__(self, batch_size_per_image: int, positive_fraction: float):
        self.batch_size_per_image, self.positive_fraction = batch_size_per_image, positive_fraction

    def __call__(self, matched_idxs, generator=None):
        """matched_idxs: list of int (N_i,) arrays, 1+ positive, 0 negative, -1 ignored.
        Returns two lists of bool (N_i,) masks: positives and negatives chosen."""
        rng = generator if generator is not None else np.random.default_rng()
        pos_out, neg_out = [], []
        for m in matched_idxs:
            m = m.numpy() if isinstance(m, Tensor) else np.asarray(m)
            pos, neg = np.flatnonzero(m >= 1), np.flatnonzero(m == 0)
            n_pos = min(len(pos), int(self.batch_size_per_image * self.positive_fraction))
            n_neg = min(len(neg), self.batch_size_per_image - n_pos)
            pm, nm = np.zeros(len(m), bool), np.zeros(len(m), bool)
            pm[rng.permutation(pos)[:n_pos]] = True
            nm[rng.permutation(neg)[:n_neg]] = True
            pos_out.append(pm)
            neg_out.append(nm)
        return pos_out, neg_out
