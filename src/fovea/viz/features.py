"""What a network learned: first-layer filters, activation maps, the image patches that
excite a channel most, and nearest neighbours in a layer's feature space.

Models map (N, C, H, W) images to scores; ``layer`` is a submodule or its dotted name from
``model.named_modules()`` (``"3"`` in a Sequential). Results are NumPy arrays.
"""

from __future__ import annotations

import numpy as np

import fovea
from fovea import nn
from fovea.viz._model import as_batch, capture, conv_layers, evaluating, resolve

__all__ = ["first_layer_filters", "activations", "features", "receptive_field",
           "max_activating_patches", "nearest_neighbours"]


def first_layer_filters(model: nn.Module, image_shape=None) -> np.ndarray:
    """The first layer's weights as images (K, C, kh, kw): the first Conv2d, or else the
    first Linear's rows reshaped to ``image_shape`` (C, H, W) — the linear classifier's
    templates of the lectures."""
    convs = conv_layers(model)
    if convs:
        return convs[0][1].weight.detach().numpy().copy()
    for _, m in model.named_modules():
        if isinstance(m, nn.Linear):
            if image_shape is None or int(np.prod(image_shape)) != m.in_features:
                raise ValueError(f"first_layer_filters: the first layer is Linear with "
                                 f"{m.in_features} inputs; pass image_shape (C, H, W) of that "
                                 f"size to see its rows as images")
            return m.weight.detach().numpy().reshape(-1, *image_shape).copy()
    raise ValueError("first_layer_filters: the model has no Conv2d or Linear layer")


def activations(model: nn.Module, x, layer, batch_size: int = 256) -> np.ndarray:
    """The output of ``layer`` for images ``x`` (N, ...), e.g. (N, K, h, w) for a conv."""
    x = as_batch(x)
    parts = []
    with evaluating(model), fovea.no_grad(), capture(model, layer) as seen:
        for s in range(0, x.shape[0], batch_size):
            model(x[s:s + batch_size])
            parts.append(seen.pop().numpy())
    return np.concatenate(parts)


def features(model: nn.Module, x, layer, batch_size: int = 256) -> np.ndarray:
    """``layer``'s output flattened per image: (N, D), for embeddings and neighbours."""
    a = activations(model, x, layer, batch_size)
    return a.reshape(len(a), -1)


def receptive_field(model: nn.Module, layer) -> tuple[int, int, int]:
    """(size, jump, start) of ``layer``'s output units along a spatial axis, for a
    Sequential-like chain of modules: unit i sees input pixels
    [start + i·jump, start + i·jump + size). Conv2d and max/avg pooling change the field
    (square kernels); element-wise layers (ReLU, batch norm, dropout) do not.
    """
    target = resolve(model, layer)
    size, jump, start = 1, 1, 0
    for _, m in model.named_modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, p, d = (_first(getattr(m, a, 1)) for a in
                          ("kernel_size", "stride", "padding", "dilation"))
            s = s or k
            start -= p * jump
            size += (k - 1) * d * jump
            jump *= s
        elif isinstance(m, (nn.Linear, nn.Flatten)) and m is not target:
            raise ValueError(f"receptive_field: layer {layer!r} comes after a {type(m).__name__}"
                             f"; only convolutional feature maps have a receptive field")
        if m is target:
            return size, jump, start
    raise ValueError(f"receptive_field: layer {layer!r} is not in the model")


def _first(v):
    if v is None:
        return 0
    return int(v[0] if isinstance(v, (tuple, list)) else v)


def max_activating_patches(model: nn.Module, x, layer, channel: int, k: int = 9,
                           batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` image patches that excite ``channel`` of ``layer`` most over images ``x``.

    Each image's strongest position counts once (so one image cannot fill the grid); the
    patch is the unit's receptive field (:func:`receptive_field`), zero-padded at borders.

    Returns:
        (patches (k, C, size, size), values (k,)) in decreasing order of activation.
    """
    x = as_batch(x).numpy()
    a = activations(model, x, layer, batch_size)
    if a.ndim != 4 or not 0 <= channel < a.shape[1]:
        raise ValueError(f"max_activating_patches: layer {layer!r} gives {a.shape}; need a "
                         f"feature map (N, K, h, w) with channel {channel} in range")
    size, jump, start = receptive_field(model, layer)
    amap = a[:, channel].reshape(len(a), -1)
    best = amap.argmax(1)
    order = np.argsort(-amap[np.arange(len(a)), best], kind="stable")[:k]
    pad = max(size, abs(start)) + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    patches = []
    for n in order:
        i, j = divmod(int(best[n]), a.shape[3])
        y0, x0 = start + i * jump + pad, start + j * jump + pad
        patches.append(xp[n, :, y0:y0 + size, x0:x0 + size])
    return np.stack(patches), amap[order, best[order]]


def nearest_neighbours(queries, bank, k: int = 5) -> np.ndarray:
    """Indices (Q, k) of the ``k`` rows of ``bank`` (M, D) closest in L2 distance to each
    row of ``queries`` (Q, D), nearest first. Pass pixels for pixel-space neighbours or
    :func:`features` for a layer's feature space."""
    q = np.asarray(queries, dtype=np.float64).reshape(len(queries), -1)
    b = np.asarray(bank, dtype=np.float64).reshape(len(bank), -1)
    d = (q ** 2).sum(1)[:, None] - 2 * q @ b.T + (b ** 2).sum(1)[None]
    idx = np.argpartition(d, min(k, len(b) - 1), axis=1)[:, :k]
    return np.take_along_axis(idx, np.argsort(np.take_along_axis(d, idx, 1), axis=1), 1)
