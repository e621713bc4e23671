"""Embeddings of a layer's features: PCA, t-SNE (scikit-learn's), trustworthiness, and the
pictures of them (points coloured by class; thumbnails placed on a grid by position)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["pca", "tsne", "trustworthiness", "thumbnail_grid", "scatter_plot"]


def pca(x, dim: int = 2) -> np.ndarray:
    """The projection (N, dim) of the centred rows of ``x`` (N, D) on their ``dim`` leading
    principal directions (SVD; the sign of each axis is fixed so its largest entry is >0)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    xc = x - x.mean(0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    v = vt[:dim]
    v *= np.sign(v[np.arange(len(v)), np.abs(v).argmax(1)])[:, None]
    return xc @ v.T


def tsne(x, dim: int = 2, perplexity: float = 30.0, seed: int = 0, pca_dims: int | None = 50,
         threads: int = 1):
    """t-SNE (van der Maaten & Hinton, 2008) with scikit-learn, (N, dim); the features are
    first reduced to ``pca_dims`` by :func:`pca` (as is usual, for speed). Needs
    scikit-learn (``pip install scikit-learn``).

    ``threads`` caps scikit-learn's OpenMP threads: on a busy machine its spinning threads
    made 120 points take 40 s instead of 0.7 s with one thread.
    """
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if pca_dims is not None and x.shape[1] > pca_dims and len(x) > pca_dims:
        x = pca(x, pca_dims)
    perplexity = min(perplexity, (len(x) - 1) / 3)
    with threadpool_limits(threads):
        return TSNE(dim, perplexity=perplexity, init="pca",
                    random_state=seed).fit_transform(x)


def trustworthiness(x, embedding, k: int = 5) -> float:
    """How well an embedding keeps neighbourhoods (Venna & Kaski), in [0, 1]: 1 when each
    point's ``k`` nearest neighbours in the embedding are also near in ``x``
    (scikit-learn's ``trustworthiness``)."""
    from sklearn.manifold import trustworthiness as tw

    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return float(tw(x, np.asarray(embedding, dtype=np.float64), n_neighbors=k))


def thumbnail_grid(embedding, images, cells: int = 16) -> np.ndarray:
    """The lecture's picture of an embedding: a ``cells`` × ``cells`` grid over the 2-d
    ``embedding`` (N, 2), each cell showing the image (N, C, h, w) in [0, 1] nearest its
    centre (each image used once, empty cells white). Returns (cells·h, cells·w, C)."""
    e = np.asarray(embedding, dtype=np.float64)
    imgs = np.clip(np.asarray(images, dtype=np.float64), 0, 1)
    n, c, h, w = imgs.shape
    e = (e - e.min(0)) / np.maximum(e.max(0) - e.min(0), 1e-12)
    centres = (np.stack(np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij"), -1)
               .reshape(-1, 2) + 0.5) / cells
    d = ((centres[:, None] - e[None]) ** 2).sum(-1)  # (cells², N)
    out = np.ones((cells * h, cells * w, c))
    used = np.zeros(n, dtype=bool)
    for cell in np.argsort(d.min(1)):  # cells closest to some point first
        cand = np.where(used, np.inf, d[cell])
        best = int(cand.argmin())
        if not np.isfinite(cand[best]) or cand[best] > (1.0 / cells) ** 2:
            continue
        used[best] = True
        r, q = divmod(int(cell), cells)
        out[r * h:(r + 1) * h, q * w:(q + 1) * w] = imgs[best].transpose(1, 2, 0)
    return out


def scatter_plot(embedding, labels, path, classes=None, title: str = "") -> Path:
    """Save the 2-d embedding as points coloured by class (matplotlib, PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e, labels = np.asarray(embedding), np.asarray(labels)
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    for cls in np.unique(labels):
        m = labels == cls
        name = classes[cls] if classes is not None else str(cls)
        ax.scatter(e[m, 0], e[m, 1], s=6, label=name)
    ax.legend(markerscale=3, fontsize=7, loc="best")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
