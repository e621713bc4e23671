"""A trained run as the viz methods want it: a model of pixels in [0, 1] and images of its
data set, plus the default layer to look at and images read from files or sample photos."""

from __future__ import annotations

import numpy as np

import fovea
from fovea import nn
from fovea.viz._model import evaluating
from fovea.viz.adversarial import Normalized

__all__ = ["load_pixel_model", "run_images", "last_feature_layer", "read_picture",
           "adversarial_finetune"]


def load_pixel_model(run_dir):
    """(model taking (N, C, H, W) pixels in [0, 1], run description) of a run directory:
    the run's model behind its input normalisation (:class:`Normalized`), in eval mode."""
    from fovea.train.run import load_run

    model, info = load_run(run_dir)
    return Normalized(model, info["mean"], info["std"]).eval(), info


def run_images(info: dict, split: str = "test", count: int | None = None):
    """(images (n, C, H, W) float32 in [0, 1], labels (n,)) of the run's data set split,
    the first ``count`` of them."""
    from fovea.data import load_dataset

    cfg = info["config"]
    folder = ({"image_size": cfg.get("image_size"), "channels": cfg.get("channels")}
              if cfg["dataset"].startswith("folder:") else {})
    data = load_dataset(cfg["dataset"], data_dir=cfg["data_dir"], seed=cfg["seed"], **folder)
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    count = len(x) if count is None else min(count, len(x))
    return np.asarray(x[:count], dtype=np.float32), np.asarray(y[:count])


def last_feature_layer(model: nn.Module, x) -> str:
    """The name of the last leaf module whose output is a feature map (N, K, h, w): the
    usual Grad-CAM layer. Raises ValueError for a model without one (an MLP)."""
    found: list[str] = []
    handles = [m.register_forward_hook(
        lambda mod, i, o, name=name: found.append(name) if getattr(o, "ndim", 0) == 4 else None)
        for name, m in model.named_modules() if name and not any(True for _ in m.children())]
    try:
        with evaluating(model), fovea.no_grad():
            model(fovea.tensor(np.asarray(x[:1], dtype=np.float32)))
    finally:
        for h in handles:
            h.remove()
    if not found:
        raise ValueError("the model has no convolutional feature maps (is it an MLP?); this "
                         "method needs a layer with (N, K, h, w) output")
    return found[-1]


def read_picture(source: str, shape=None) -> np.ndarray:
    """An image as (1, C, H, W) float32 in [0, 1] from a file path or a bundled sample photo
    name (``fovea.data.samples``, e.g. ``"chelsea"``), resized and converted to ``shape``
    (C, H, W) when given."""
    from fovea.data.samples import SAMPLE_IMAGES, sample_image_path

    path = sample_image_path(source) if source in SAMPLE_IMAGES else source
    if path is None:
        raise ValueError(f"{source}: that sample image's package is not installed")
    if shape is None:
        from PIL import Image

        with Image.open(path) as im:
            im = im.convert("L" if im.mode in ("L", "1", "I;16") else "RGB")
            a = np.asarray(im, dtype=np.uint8)
        a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    else:
        from fovea.train.run import read_image

        a = read_image(path, tuple(shape), resize=True)
    return (a[None] / 255.0).astype(np.float32)


def adversarial_finetune(run_dir, out_dir, eps: float = 0.1, epochs: int = 1,
                         attack: str = "fgsm", lr: float = 1e-3, count: int | None = None,
                         fraction: float = 0.5, seed: int = 0, log=print, **attack_args):
    """Adversarial training (Goodfellow et al., 2015; Madry et al., 2018 with ``"pgd"``):
    fine-tune a run's model on batches whose first ``fraction`` is replaced by adversarial
    examples against the current weights (:class:`AdversarialBatches`), with
    :class:`fovea.train.Trainer` and Adam, on ``count`` training images (default all).

    Writes a run directory ``out_dir`` (the run's ``run.json`` plus an ``adversarial``
    entry, and ``model.safetensors``) that every ``fovea`` command reads like the original.
    Returns the Trainer's history.
    """
    import json
    from pathlib import Path

    from fovea.data import ArrayDataset, DataLoader
    from fovea.nn import functional as F
    from fovea.train.checkpoint import atomic_write_text, save_weights
    from fovea.train.trainer import Trainer
    from fovea.viz.adversarial import AdversarialBatches

    pixel_model, info = load_pixel_model(run_dir)
    x, y = run_images(info, "train", count)
    fovea.manual_seed(seed)
    loader = DataLoader(ArrayDataset(x, y), batch_size=64, shuffle=True)
    batches = AdversarialBatches(loader, pixel_model, eps, attack=attack, fraction=fraction,
                                 **attack_args)
    opt = fovea.optim.Adam(pixel_model.model.parameters(), lr=lr)
    trainer = Trainer(pixel_model, F.cross_entropy, opt, batches, train_eval_loader=loader,
                      num_classes=info["num_classes"], loss_kind=None, progress=False, log=log,
                      explosion_factor=100.0)  # adversarial losses start far above clean ones
    history = trainer.fit(epochs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = dict(info, adversarial={"from": str(run_dir), "eps": eps, "epochs": epochs,
                                   "attack": attack, "lr": lr, "fraction": fraction,
                                   "train_images": len(x), "seed": seed})
    save_weights(pixel_model.model.state_dict(), out / "model.safetensors")
    atomic_write_text(out / "run.json", json.dumps(info, indent=2))
    return history
