"""Small image classifiers from the lectures, built from ``fovea.nn`` layers.

Every builder takes ``(in_channels, image_size, num_classes)`` and returns a ``Module`` that
maps images (N, C, H, W) to class scores (N, num_classes).
"""

from __future__ import annotations

from collections.abc import Callable

from fovea import nn


def linear(in_channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
    """The lectures' linear classifier: Flatten – Linear (a softmax classifier with the
    cross-entropy loss; a multiclass SVM with ``multi_margin_loss``)."""
    return nn.Sequential(nn.Flatten(),
                         nn.Linear(in_channels * image_size[0] * image_size[1], num_classes))


def mlp(in_channels: int, image_size: tuple[int, int], num_classes: int,
        hidden: tuple[int, ...] = (256, 128)) -> nn.Module:
    """Flatten – (Linear – ReLU)×len(hidden) – Linear."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = in_channels * image_size[0] * image_size[1]
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def two_layer(in_channels: int, image_size: tuple[int, int], num_classes: int,
              hidden: int = 100) -> nn.Module:
    """The lectures' two-layer net: affine – ReLU – affine (softmax in the loss)."""
    return mlp(in_channels, image_size, num_classes, hidden=(hidden,))


def three_layer_convnet(in_channels: int, image_size: tuple[int, int], num_classes: int,
                        filters: int = 32, kernel: int = 7, hidden: int = 100) -> nn.Module:
    """CS231n's three-layer ConvNet: conv (filters×k×k, 'same' padding) – ReLU – 2×2 max-pool –
    affine (hidden) – ReLU – affine (num_classes)."""
    h, w = image_size[0] // 2, image_size[1] // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, filters, kernel, padding=kernel // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(filters * h * w, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def small_cnn(in_channels: int, image_size: tuple[int, int], num_classes: int,
              width: int = 32, dropout: float = 0.2) -> nn.Module:
    """The default model: [conv3×3 – BN – ReLU]×2 – max-pool – conv3×3 – BN – ReLU – max-pool
    – dropout – affine. Two poolings, so H and W should be at least 4."""
    h, w = image_size[0] // 4, image_size[1] // 4
    if h < 1 or w < 1:
        raise ValueError(f"small_cnn: images of size {image_size} are too small (need >= 4x4)")
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1, bias=False),
        nn.BatchNorm2d(2 * width),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(2 * width * h * w, num_classes),
    )


MODELS: dict[str, Callable[..., nn.Module]] = {
    "linear": linear,
    "mlp": mlp,
    "two_layer": two_layer,
    "three_layer_convnet": three_layer_convnet,
    "small_cnn": small_cnn,
}


def build_model(name: str, in_channels: int, image_size: tuple[int, int],
                num_classes: int) -> nn.Module:
    """The registered model ``name`` for images (in_channels, *image_size) and num_classes."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(sorted(MODELS))}")
    return MODELS[name](in_channels, tuple(image_size), num_classes)
