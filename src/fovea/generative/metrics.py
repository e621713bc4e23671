"""Sample-quality metrics in the feature space of a fovea classifier.

* :func:`frechet_distance` — the Fréchet (2-Wasserstein) distance between two Gaussians,
  ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^{½}). On the features of a classifier trained on the
  same data (:class:`ClassifierFeatures`) it is a **classifier FID**: the recipe of FID
  (Heusel et al., 2017) with a small fovea ConvNet in place of Inception-v3, so its values are
  comparable only with each other, never with published FIDs.
* :func:`precision_recall` — improved precision and recall (Kynkäänniemi et al., 2019): the
  fraction of generated samples inside the real data's k-NN manifold, and of real samples
  inside the generated one.
* :func:`few_label_accuracy` — the lecture's use of an autoencoder: a linear softmax
  classifier trained on the features of a few labelled images.
"""

from __future__ import annotations

import numpy as np

import fovea
from fovea import nn

__all__ = ["ClassifierFeatures", "feature_statistics", "few_label_accuracy",
           "frechet_distance", "precision_recall"]


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) of features (N, D), float64 (N − 1 normalisation)."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"feature_statistics: expected (N, D) features with N >= 2, got shape "
                         f"{f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{½} Σ₂ Σ₁^{½})^{½}.

    The last term equals tr (Σ₁Σ₂)^{½} and is computed from symmetric eigendecompositions,
    so it is real and stable for singular covariances.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    r = _sqrt_psd(s1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * cross)


def _kth_distances(a: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Distance of each row of a to its k-th nearest other row."""
    out = np.empty(len(a))
    sq = (a ** 2).sum(1)
    for s in range(0, len(a), chunk):
        d = sq[s:s + chunk, None] + sq[None] - 2 * a[s:s + chunk] @ a.T
        out[s:s + chunk] = np.sqrt(np.clip(np.partition(d, k, axis=1)[:, k], 0, None))
    return out


def _inside(points: np.ndarray, centers: np.ndarray, radii: np.ndarray,
            chunk: int = 1024) -> np.ndarray:
    """Whether each point lies within radius of at least one center."""
    out = np.empty(len(points), dtype=bool)
    csq = (centers ** 2).sum(1)
    for s in range(0, len(points), chunk):
        p = points[s:s + chunk]
        d = (p ** 2).sum(1)[:, None] + csq[None] - 2 * p @ centers.T
        out[s:s + chunk] = (np.sqrt(np.clip(d, 0, None)) <= radii[None]).any(axis=1)
    return out


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of ``fake`` (M, D) against ``real`` (N, D) features.

    Each sample's manifold ball has the radius of its k-th nearest neighbour in its own set;
    precision = fraction of fakes inside some real ball, recall = fraction of reals inside
    some fake ball.
    """
    r, f = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if min(len(r), len(f)) <= k:
        raise ValueError(f"precision_recall: need more than k={k} samples in each set, got "
                         f"{len(r)} real and {len(f)} generated")
    precision = _inside(f, r, _kth_distances(r, k)).mean()
    recall = _inside(r, f, _kth_distances(f, k)).mean()
    return float(precision), float(recall)


class ClassifierFeatures:
    """Features of a trained fovea classifier: the input of its last ``nn.Linear`` layer.

    Args:
        model: a classifier (``nn.Module``) with at least one ``nn.Linear``.
        mean, std: per-channel normalisation the classifier was trained with (a
            ``fovea train`` run's ``run.json`` holds them), applied to images in [0, 1].
    """

    def __init__(self, model, mean=None, std=None):
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        if not linears:
            raise ValueError("ClassifierFeatures: the classifier has no nn.Linear layer whose "
                             "input could serve as features")
        self.model, self.last = model.eval(), linears[-1]
        self.mean, self.std = mean, std

    @classmethod
    def from_run(cls, run_dir):
        """The classifier of a ``fovea train`` run directory."""
        from fovea.train.run import load_run

        model, info = load_run(run_dir)
        return cls(model, info["mean"], info["std"])

    def __call__(self, images, batch_size: int = 256) -> np.ndarray:
        """Features (N, D) of images (N, C, H, W) in [0, 1]."""
        x = np.asarray(images, dtype=np.float32)
        if self.mean is not None:
            m = np.asarray(self.mean, np.float32)[None, :, None, None]
            s = np.asarray(self.std, np.float32)[None, :, None, None]
            x = (x - m) / s
        feats = []
        handle = self.last.register_forward_hook(
            lambda mod, inp, out: feats.append(inp[0].reshape(inp[0].shape[0], -1).numpy()))
        try:
            with fovea.no_grad():
                for s in range(0, len(x), batch_size):
                    self.model(fovea.tensor(x[s:s + batch_size]))
        finally:
            handle.remove()
        return np.concatenate(feats).astype(np.float64)


def few_label_accuracy(train_features, train_labels, test_features, test_labels,
                       num_classes: int, steps: int = 300, lr: float = 0.05,
                       weight_decay: float = 1e-3, seed: int = 0) -> float:
    """Test accuracy of a linear softmax classifier trained on (few) labelled features.

    Features are standardised with the training features' statistics; full-batch Adam.
    """
    a, b = np.asarray(train_features, np.float32), np.asarray(test_features, np.float32)
    mu, sd = a.mean(0), a.std(0) + 1e-6
    xa, xb = fovea.tensor((a - mu) / sd), fovea.tensor((b - mu) / sd)
    ya = fovea.tensor(np.asarray(train_labels, np.int64))
    fovea.manual_seed(seed)
    clf = nn.Linear(a.shape[1], num_classes)
    opt = fovea.optim.Adam(clf.parameters(), lr=lr, weight_decay=weight_decay)
    with fovea.enable_grad():  # callers may be evaluating under no_grad
        for _ in range(steps):
            opt.zero_grad()
            nn.functional.cross_entropy(clf(xa), ya).backward()
            opt.step()
    with fovea.no_grad():
        pred = clf(xb).argmax(dim=1).numpy()
    return float((pred == np.asarray(test_labels)).mean())
