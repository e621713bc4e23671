"""The run report: PNG figures drawn with matplotlib and ``metrics.json``.

Figures: ``loss.png`` (per-iteration loss, with a moving average), ``accuracy.png``
(train/validation accuracy per epoch), ``lr.png`` (the learning rate of each epoch),
``update_ratio.png`` (‖Δw‖/‖w‖ per parameter and epoch, against the lectures' 1e-3),
``confusion.png`` (test confusion matrix),
``filters.png`` (first-layer filters as images), ``misclassified.png`` (a grid of test
images the model got wrong, with true → predicted labels). Every file is written atomically.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from fovea.train.checkpoint import atomic_write_bytes, atomic_write_text


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    plt = _figure()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def plot_loss(loss: list[float], path) -> None:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    it = np.arange(1, len(loss) + 1)
    ax.plot(it, loss, lw=0.6, alpha=0.5, label="loss per iteration")
    if len(loss) >= 10:
        k = max(5, len(loss) // 50)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(it[k - 1:], smooth, lw=1.5, label=f"moving average ({k})")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("Loss")
    _save(fig, path)


def plot_accuracy(train_acc, val_acc, path) -> None:
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ep = np.arange(1, len(train_acc) + 1)
    ax.plot(ep, train_acc, "o-", label="train")
    ax.plot(ep, val_acc, "s-", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title("Accuracy per epoch (a widening gap means overfitting)")
    _save(fig, path)


def _integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_lr(lr, path) -> None:
    """The learning rate used in each epoch (what the schedule did)."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(1, len(lr) + 1), lr, "o-")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    if len(lr) and min(lr) > 0 and max(lr) / min(lr) > 20:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    _integer_epochs(ax)
    ax.set_title("Learning rate per epoch")
    _save(fig, path)


def plot_update_ratios(layer_ratio: dict, total, path, max_lines: int = 12) -> None:
    """‖Δw‖/‖w‖ per parameter per epoch (log scale) with the ~1e-3 rule of thumb.

    With many parameters, only weights (not biases or norm parameters) are drawn, at most
    ``max_lines`` of them; the whole model's ratio is always drawn.
    """
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(layer_ratio)
    if len(names) > max_lines:
        names = [n for n in names if n.endswith("weight")][:max_lines]
    for name in names:
        values = np.asarray(layer_ratio[name], dtype=np.float64)
        ax.plot(np.arange(1, len(values) + 1), values, ".-", lw=1, label=name)
    ax.plot(np.arange(1, len(total) + 1), total, "k-", lw=2, label="whole model")
    ax.axhline(1e-3, color="gray", ls="--", lw=1)
    ax.text(0.99, 1e-3, "1e-3", transform=ax.get_yaxis_transform(), ha="right", va="bottom",
            color="gray", fontsize=8)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("update / weight")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6, ncol=2, loc="best")
    _integer_epochs(ax)
    ax.set_title("Update-to-weight ratio per parameter (~1e-3 is healthy)")
    _save(fig, path)


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def plot_confusion(matrix: np.ndarray, classes, path) -> None:
    plt = _figure()
    n = len(classes)
    fig, ax = plt.subplots(figsize=(0.45 * n + 2.5, 0.45 * n + 2))
    im = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), classes, rotation=90 if n > 10 else 0)
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    fig.colorbar(im, ax=ax)
    ax.set_title("Test confusion matrix")
    _save(fig, path)


def _tile(images: np.ndarray) -> np.ndarray:
    """Scale each image of (N, C, H, W) to [0, 1] for display; returns (N, H, W[, 3])."""
    x = images.astype(np.float64)
    lo = x.min(axis=(1, 2, 3), keepdims=True)
    hi = x.max(axis=(1, 2, 3), keepdims=True)
    x = (x - lo) / np.maximum(hi - lo, 1e-12)
    return x[:, 0] if x.shape[1] != 3 else x.transpose(0, 2, 3, 1)


def first_layer_filters(model, image_shape) -> np.ndarray | None:
    """First-layer weights as images (N, C, H, W): conv kernels, or the rows of a first
    Linear layer reshaped to the input image (the lectures' class templates)."""
    for _, p in model.named_parameters():
        w = p.detach().numpy()
        if w.ndim == 4:
            return w
        if w.ndim == 2 and w.shape[1] == int(np.prod(image_shape)):
            return w.reshape(-1, *image_shape)
        return None
    return None


def plot_filters(filters: np.ndarray, path, max_filters: int = 64) -> None:
    plt = _figure()
    tiles = _tile(filters[:max_filters])
    n = len(tiles)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9))
    for ax, k in zip(np.atleast_1d(axes).ravel(), range(rows * cols)):
        ax.axis("off")
        if k < n:
            ax.imshow(tiles[k], cmap="gray" if tiles[k].ndim == 2 else None,
                      interpolation="nearest")
    fig.suptitle("First-layer filters")
    _save(fig, path)


def plot_misclassified(images, y_true, y_pred, classes, path, max_images: int = 32) -> None:
    plt = _figure()
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:max_images]
    cols = max(1, min(8, len(wrong)))
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(max(cols * 1.1, 3.5), rows * 1.4 + 0.5),
                             squeeze=False)
    axes = np.atleast_1d(axes).ravel()
    tiles = _tile(images[wrong]) if len(wrong) else []
    for ax in axes:
        ax.axis("off")
    for ax, k, t in zip(axes, wrong, tiles):
        ax.imshow(t, cmap="gray" if t.ndim == 2 else None, interpolation="nearest")
        ax.set_title(f"{classes[y_true[k]]}→{classes[y_pred[k]]}", fontsize=7)
    fig.suptitle(f"Misclassified test images (true→predicted), {len(wrong)} shown",
                 fontsize=9, y=1.0)
    fig.tight_layout()
    _save(fig, path)


def write_metrics(path, metrics: dict) -> None:
    atomic_write_text(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def write_report(run_dir, history, model, test_images, test_true, test_pred, classes) -> list:
    """Draw every figure of the report into ``run_dir``; returns the written paths."""
    run_dir = Path(run_dir)
    paths = [run_dir / n for n in ("loss.png", "accuracy.png", "confusion.png",
                                   "misclassified.png")]
    plot_loss(history.loss, paths[0])
    plot_accuracy(history.train_acc, history.val_acc, paths[1])
    plot_confusion(confusion_matrix(test_true, test_pred, len(classes)), classes, paths[2])
    plot_misclassified(test_images, test_true, test_pred, classes, paths[3])
    if history.lr:
        paths.append(run_dir / "lr.png")
        plot_lr(history.lr, paths[-1])
    if any(np.isfinite(history.update_ratio)):
        paths.append(run_dir / "update_ratio.png")
        plot_update_ratios(history.layer_ratio, history.update_ratio, paths[-1])
    filters = first_layer_filters(model, test_images.shape[1:])
    if filters is not None:
        paths.append(run_dir / "filters.png")
        plot_filters(filters, paths[-1])
    return paths
