"""Fooling networks: adversarial examples (FGSM, PGD in L∞ and L2, targeted or not),
fooling images, robust accuracy, and batches for adversarial training.

Attacks work in the model's *input* space: give them a model that takes pixels in [0, 1]
(wrap a run's model with :class:`Normalized`), so that ε is in pixel units and ``clip``
keeps images valid. Images (N, C, H, W), labels (N,) ints; results are NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

import fovea
from fovea import nn
from fovea.nn import functional as F
from fovea.viz._model import as_batch, class_score, evaluating

__all__ = ["Normalized", "loss_gradient", "fgsm", "pgd", "fooling_image", "robust_accuracy",
           "AdversarialBatches"]


class Normalized(nn.Module):
    """``model((x - mean) / std)``: a run's model as a model of pixels in [0, 1].

    Args:
        model: takes normalised (N, C, H, W) images.
        mean, std: per-channel values (C,), as a run records them.
    """

    def __init__(self, model: nn.Module, mean, std):
        super().__init__()
        self.model = model
        for name, v in (("mean", mean), ("std", std)):
            self.register_buffer(name, fovea.tensor(np.asarray(v, np.float32).reshape(1, -1, 1, 1)))

    def forward(self, x):
        return self.model((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))


def loss_gradient(model, x, y) -> tuple[np.ndarray, np.ndarray]:
    """(∂ Σ cross-entropy / ∂ x, scores): the per-example loss gradient (N, C, H, W) and
    the scores (N, K). Summed, not averaged, so each example's step does not shrink with N."""
    xt = as_batch(x).requires_grad_(True)
    scores = model(xt)
    loss = F.cross_entropy(scores, fovea.tensor(np.asarray(y, dtype=np.int64)),
                           reduction="sum")
    (g,) = fovea.grad(loss, xt)
    return g.numpy(), scores.detach().numpy()


def _clip(a, clip):
    return a if clip is None else np.clip(a, clip[0], clip[1])


def fgsm(model, x, y, eps: float, targeted: bool = False, clip=(0.0, 1.0)) -> np.ndarray:
    """The fast gradient sign method (Goodfellow et al., 2015):
    x + ε · sign(∇ₓ loss(x, y)); with ``targeted`` y is the wanted class and the step goes
    down its loss, x - ε · sign(∇). Clipped to ``clip`` (None: no clipping)."""
    x = as_batch(x).numpy()
    with evaluating(model):
        g, _ = loss_gradient(model, x, y)
    step = -eps if targeted else eps
    return _clip(x + step * np.sign(g), clip).astype(x.dtype)


def _l2_normalize(g):
    n = np.sqrt((g.reshape(len(g), -1) ** 2).sum(1)).reshape(-1, *[1] * (g.ndim - 1))
    return g / np.maximum(n, 1e-12)


def _project(delta, eps, norm):
    """Δ projected onto the ε-ball of ``norm`` (∞: clip each pixel; 2: rescale if longer)."""
    if norm == "inf":
        return np.clip(delta, -eps, eps)
    n = np.sqrt((delta.reshape(len(delta), -1) ** 2).sum(1)).reshape(-1, *[1] * (delta.ndim - 1))
    return delta * np.minimum(1.0, eps / np.maximum(n, 1e-12))


def pgd(model, x, y, eps: float, alpha: float | None = None, steps: int = 10,
        norm: str = "inf", targeted: bool = False, random_start: bool = True,
        clip=(0.0, 1.0), generator: np.random.Generator | None = None) -> np.ndarray:
    """Projected gradient descent (Madry et al., 2018), ``norm`` "inf" or "2".

    Each step moves by ``alpha`` (default 2.5 ε / steps) along sign(∇) (L∞) or ∇/‖∇‖₂ (L2),
    up the loss of y (down the loss of the target class with ``targeted``), then projects
    onto the ε-ball around x and into ``clip``. ``random_start`` begins at a uniform point
    of the L∞ ball (a random direction scaled uniformly in the L2 ball).
    """
    if norm not in ("inf", "2"):
        raise ValueError(f"pgd: norm must be 'inf' or '2', got {norm!r}")
    x = as_batch(x).numpy()
    alpha = 2.5 * eps / steps if alpha is None else alpha
    rng = generator if generator is not None else np.random.default_rng(0)
    delta = np.zeros_like(x)
    if random_start:
        if norm == "inf":
            delta = rng.uniform(-eps, eps, x.shape)
        else:
            r = rng.uniform(0, 1, (len(x),) + (1,) * (x.ndim - 1))
            delta = _l2_normalize(rng.standard_normal(x.shape)) * eps * r
        delta = _clip(x + delta, clip) - x
    sign = -1.0 if targeted else 1.0
    with evaluating(model):
        for _ in range(steps):
            g, _ = loss_gradient(model, (x + delta).astype(x.dtype), y)
            step = np.sign(g) if norm == "inf" else _l2_normalize(g)
            delta = _project(delta + sign * alpha * step, eps, norm)
            delta = _clip(x + delta, clip) - x
    return (x + delta).astype(x.dtype)


def fooling_image(model, x, target, step: float = 0.5, max_steps: int = 200,
                  clip=(0.0, 1.0)) -> tuple[np.ndarray, int]:
    """Push one image (1, C, H, W) to class ``target`` with small normalised steps up its
    score, x ← x + step · ∇/‖∇‖₂ (CS231n's fooling images), until the model predicts it.

    Returns (the fooling image, the number of steps taken); raises RuntimeError if it is
    not fooled within ``max_steps``.
    """
    x = as_batch(x).numpy().copy()
    t = np.array([int(target)])
    with evaluating(model):
        for k in range(max_steps + 1):
            xt = fovea.tensor(x, requires_grad=True)
            scores = model(xt)
            if int(np.argmax(scores.detach().numpy()[0])) == t[0]:
                return x, k
            (g,) = fovea.grad(class_score(scores, t), xt)
            x = _clip(x + step * _l2_normalize(g.numpy()), clip).astype(x.dtype)
    raise RuntimeError(f"fooling_image: the model does not predict class {target} after "
                       f"{max_steps} steps of {step}; raise max_steps or step")


def robust_accuracy(model, x, y, eps_values: Iterable[float], attack: str = "fgsm",
                    batch_size: int = 256, **attack_args) -> dict[float, float]:
    """Accuracy on adversarial examples, ``{ε: accuracy}`` (ε = 0: the clean accuracy).

    Args:
        attack: "fgsm" or "pgd" (``attack_args`` go to it: steps, norm, ...).
    """
    fn = {"fgsm": fgsm, "pgd": pgd}.get(attack)
    if fn is None:
        raise ValueError(f"robust_accuracy: attack must be 'fgsm' or 'pgd', got {attack!r}")
    x, y = as_batch(x).numpy(), np.asarray(y)
    out = {}
    for eps in eps_values:
        right = 0
        for s in range(0, len(x), batch_size):
            xb, yb = x[s:s + batch_size], y[s:s + batch_size]
            adv = xb if eps == 0 else fn(model, xb, yb, eps, **attack_args)
            with evaluating(model), fovea.no_grad():
                right += int((model(fovea.tensor(adv)).numpy().argmax(1) == yb).sum())
        out[float(eps)] = right / len(x)
    return out


class AdversarialBatches:
    """Batches of a loader with part of each replaced by adversarial examples made against
    the model's *current* weights, for adversarial training with :class:`fovea.train.Trainer`
    (``Trainer(model, loss, opt, AdversarialBatches(loader, model, eps=0.1), ...)``).

    Args:
        loader: yields (x, y) batches of pixel images (tensors or arrays).
        model: the model being trained (attacked in eval mode, then back to its mode).
        eps, attack, attack_args: the attack (``"fgsm"`` or ``"pgd"``).
        fraction: the share of each batch replaced (Goodfellow et al. mix clean and
            adversarial examples half and half).
    """

    def __init__(self, loader, model, eps: float, attack: str = "fgsm",
                 fraction: float = 0.5, **attack_args):
        self.loader, self.model, self.eps = loader, model, eps
        self.attack = {"fgsm": fgsm, "pgd": pgd}[attack]
        self.fraction, self.attack_args = fraction, attack_args

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for xb, yb in self.loader:
            x = as_batch(xb).numpy().copy()
            y = yb.numpy() if isinstance(yb, fovea.Tensor) else np.asarray(yb)
            k = int(round(self.fraction * len(x)))
            if k:
                with fovea.enable_grad():  # also when iterated under no_grad (evaluation)
                    x[:k] = self.attack(self.model, x[:k], y[:k], self.eps, **self.attack_args)
            yield fovea.tensor(x), fovea.tensor(y)
