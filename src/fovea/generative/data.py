"""The data a generative run trains on: image data sets scaled for each model, or toy points.

* VAEs and autoencoders: pixels in [0, 1] (the reference recipe's BCE targets);
* GANs: pixels in [−1, 1] (the generator ends in tanh);
* PixelCNN: binarised pixels, x > 0.5 (the Bernoulli likelihood needs 0/1 values);
* toy sets (``8gaussians``, ``25gaussians``): 100,000 training points (the size of the
  WGAN-GP toy script's 25-Gaussian set; an epoch is 390 batches of 256) and 2,000 test points
  drawn with the run's seed, (N, 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fovea.generative.toy import TOY_SETS, toy_sample

__all__ = ["GenerativeData", "load_generative_data"]

TOY_TRAIN, TOY_TEST = 100_000, 2_000


@dataclass
class GenerativeData:
    """Training and test arrays in the model's scale, with labels (zeros for toy sets)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list
    scale: str  # "unit", "symmetric", "binary" or "points"

    @property
    def shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    @property
    def is_toy(self) -> bool:
        return self.scale == "points"

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Model-scale images back to [0, 1] (for figures and classifier features)."""
        return (x + 1) / 2 if self.scale == "symmetric" else x


def scale_for(model: str) -> str:
    if model in ("dcgan", "lsgan", "wgan-gp", "cgan"):
        return "symmetric"
    return "binary" if model == "pixelcnn" else "unit"


def load_generative_data(dataset: str, model: str, seed: int = 0, data_dir=None,
                         max_train: int | None = None, binarize: bool = False) -> GenerativeData:
    """Load ``dataset`` for ``model`` (see the module docstring for the scales);
    ``binarize`` gives a VAE or autoencoder binarised pixels too (x > 0.5), so that its
    Bernoulli likelihood is a normalised one (the literature's "binarised MNIST")."""
    if dataset in TOY_SETS:
        rng = np.random.default_rng(seed)
        x_train = toy_sample(dataset, TOY_TRAIN, rng)
        x_test = toy_sample(dataset, TOY_TEST, rng)
        x_train = x_train if max_train is None else x_train[:max_train]
        return GenerativeData(dataset, x_train, np.zeros(len(x_train), np.int64), x_test,
                              np.zeros(TOY_TEST, np.int64), [], "points")
    from fovea.data import load_dataset

    d = load_dataset(dataset, data_dir=data_dir, seed=seed)
    x_train, y_train = d.x_train, d.y_train
    if max_train is not None:
        x_train, y_train = x_train[:max_train], y_train[:max_train]
    scale = "binary" if binarize and scale_for(model) == "unit" else scale_for(model)

    def convert(x):
        if scale == "symmetric":
            return (x * 2 - 1).astype(np.float32)
        if scale == "binary":
            return (x > 0.5).astype(np.float32)
        return x.astype(np.float32)

    return GenerativeData(d.name, convert(x_train), y_train, convert(d.x_test), d.y_test,
                          list(d.classes), scale)
