"""Mixup and CutMix: batch transforms that mix images *and* labels (Lecture 7's
"regularisation: add noise in training, average it out at test time").

Both pair each example with the one before it in the batch (``roll(1)`` over the batch, as
torchvision.transforms.v2 does), draw one λ ~ Beta(α, α) per batch, and return soft labels
(N, num_classes) = λ·onehot(y) + (1 − λ)·onehot(y_rolled):

* :class:`MixUp` (Zhang et al., 2018): x̃ = λ·x + (1 − λ)·x_rolled.
* :class:`CutMix` (Yun et al., 2019): a box of area (1 − λ)·H·W, centred at a uniform random
  pixel and clipped to the image, is pasted from x_rolled; λ is then corrected to the kept
  area, 1 − (box area) / (H·W).

Train on the soft labels with ``F.cross_entropy(logits, soft)`` (probability targets), which
equals λ·CE(logits, y) + (1 − λ)·CE(logits, y_rolled): :func:`mixed_cross_entropy` computes
that form from the pair of hard labels. Call a transform as ``t(x, y, rng)`` on a float
(N, C, H, W) NumPy batch (or fovea Tensors) and integer labels (N,); it returns new arrays of
the same kinds, never changing its input.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["CutMix", "MixUp", "RandomMixing", "mixed_cross_entropy"]


def _alpha(alpha, name: str) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha > 0 \
            or not math.isfinite(alpha):
        raise ValueError(f"{name}: alpha must be a positive finite number, got {alpha!r}")
    return float(alpha)


class _Mixing:
    """Shared checks and the label mixing; subclasses implement ``mix_images``."""

    def __init__(self, *, alpha: float = 1.0, num_classes: int):
        name = type(self).__name__
        self.alpha = _alpha(alpha, name)
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
                or num_classes < 1:
            raise ValueError(f"{name}: num_classes must be a positive integer, got "
                             f"{num_classes!r}")
        self.num_classes = int(num_classes)

    def __call__(self, x, y, rng: np.random.Generator):
        from fovea.tensor import Tensor

        name = type(self).__name__
        tensors = isinstance(x, Tensor)
        xa = np.asarray(x.numpy() if tensors else x)
        ya = np.asarray(y.numpy() if isinstance(y, Tensor) else y)
        if xa.ndim != 4 or xa.dtype.kind != "f":
            raise ValueError(f"{name}: expected a floating batch (N, C, H, W), got shape "
                             f"{xa.shape} and dtype {xa.dtype}")
        if ya.shape != (xa.shape[0],) or ya.dtype.kind not in "iu":
            raise ValueError(f"{name}: expected integer labels of shape ({xa.shape[0]},), got "
                             f"shape {ya.shape} and dtype {ya.dtype}")
        if len(ya) and (ya.min() < 0 or ya.max() >= self.num_classes):
            raise ValueError(f"{name}: labels must be in [0, {self.num_classes}), got "
                             f"[{ya.min()}, {ya.max()}]")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{name}: rng must be a numpy.random.Generator, got "
                            f"{type(rng).__name__}")
        lam = float(rng.beta(self.alpha, self.alpha))
        mixed, lam = self.mix_images(xa, lam, rng)
        soft = self.mix_labels(ya, lam, xa.dtype)
        if tensors:
            import fovea

            return fovea.tensor(mixed), fovea.tensor(soft)
        return mixed, soft

    def mix_labels(self, y: np.ndarray, lam: float, dtype) -> np.ndarray:
        """λ·onehot(y) + (1 − λ)·onehot(roll(y, 1)): (N, num_classes)."""
        eye = np.eye(self.num_classes, dtype=dtype)
        return (lam * eye[y] + (1.0 - lam) * eye[np.roll(y, 1)]).astype(dtype)

    def mix_images(self, x: np.ndarray, lam: float, rng) -> tuple[np.ndarray, float]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


class MixUp(_Mixing):
    """x̃ = λ·x + (1 − λ)·roll(x, 1), λ ~ Beta(α, α) per batch (torchvision.transforms.v2's
    ``MixUp(alpha=1.0, num_classes=...)``)."""

    def mix_images(self, x, lam, rng):
        return (lam * x + (1.0 - lam) * np.roll(x, 1, axis=0)).astype(x.dtype), lam


class CutMix(_Mixing):
    """Paste a random box of roll(x, 1) into x; λ is the kept fraction of the image
    (torchvision.transforms.v2's ``CutMix(alpha=1.0, num_classes=...)``)."""

    @staticmethod
    def box(h: int, w: int, lam: float, rng) -> tuple[int, int, int, int]:
        """(y0, y1, x0, x1) of a box of about (1 − λ)·H·W centred at a uniform pixel,
        clipped to the image."""
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        r = 0.5 * math.sqrt(1.0 - lam)
        dh, dw = int(r * h), int(r * w)
        return max(cy - dh, 0), min(cy + dh, h), max(cx - dw, 0), min(cx + dw, w)

    def mix_images(self, x, lam, rng):
        h, w = x.shape[2:]
        y0, y1, x0, x1 = self.box(h, w, lam, rng)
        out = x.copy()
        out[:, :, y0:y1, x0:x1] = np.roll(x, 1, axis=0)[:, :, y0:y1, x0:x1]
        return out, 1.0 - (y1 - y0) * (x1 - x0) / float(h * w)


class RandomMixing:
    """Apply one of ``transforms`` per batch, chosen uniformly (``fovea train --mixup A
    --cutmix B`` uses both, as the usual recipes do)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        if not self.transforms:
            raise ValueError("RandomMixing: give at least one transform")

    def __call__(self, x, y, rng):
        t = self.transforms[int(rng.integers(len(self.transforms)))]
        return t(x, y, rng)

    def __repr__(self) -> str:
        return f"RandomMixing({self.transforms!r})"


def mixed_cross_entropy(logits, y_a, y_b, lam: float):
    """λ·CE(logits, y_a) + (1 − λ)·CE(logits, y_b): the mixup loss from the hard label pair
    (equal to ``F.cross_entropy(logits, soft)`` with the soft labels). logits (N, C); y_a,
    y_b (N,) class indices; a scalar tensor (mean over the batch)."""
    from fovea.nn.functional import cross_entropy

    if not 0.0 <= float(lam) <= 1.0:
        raise ValueError(f"mixed_cross_entropy: lam must be in [0, 1], got {lam!r}")
    return cross_entropy(logits, y_a) * float(lam) + cross_entropy(logits, y_b) * (1 - float(lam))
