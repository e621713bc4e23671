"""The main job as a function: a configuration in, a trained run directory out.

``train(config)`` loads the data set as fixed splits, normalises it with the training set's
per-channel statistics, builds the model, optimizer and schedule, runs the
:class:`~fovea.train.trainer.Trainer`, evaluates the best-validation weights once on the test
split and writes the run directory::

    RUN/model.safetensors   best-validation weights (PyTorch key names)
    RUN/run.json            the configuration, normalisation and class names (for evaluate/predict)
    RUN/metrics.json        test/val/train accuracy, epochs, seconds, ...
    RUN/*.png               the report (loss, accuracy, confusion, filters, misclassified)
    RUN/checkpoints/        the last complete checkpoint (for --resume)
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

import fovea
from fovea import nn
from fovea.train.checkpoint import (
    CheckpointError,
    atomic_write_text,
    load_model_weights,
    read_latest,
    save_weights,
)

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULES = ("none", "step", "cosine", "exponential", "inverse_time", "onecycle", "plateau",
             "warmup_cosine")
AUGMENTATIONS = ("crop", "flip", "affine", "jitter", "cutout")


@dataclass
class TrainConfig:
    """Every option of ``fovea train`` (and the keys of its ``--config`` TOML file)."""

    dataset: str = "digits"
    data_dir: str | None = None
    image_size: int | None = None  # folder data sets: resize to image_size x image_size
    channels: int | None = None  # folder data sets: convert to 1 or 3 channels
    model: str = "small_cnn"
    epochs: int = 12
    batch_size: int = 64
    lr: float = 3e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"
    augment: str = "none"
    seed: int = 0
    out: str | None = None
    grad_clip: float | None = None
    early_stopping: int | None = None
    overfit_small: bool = False
    num_workers: int = 1
    progress: bool = True

    def validate(self) -> TrainConfig:
        from fovea.models import MODELS

        def bad(name, value, expected):
            raise ValueError(f"train: invalid {name} {value!r}: expected {expected}")

        if self.model not in MODELS:
            bad("--model", self.model, "one of " + ", ".join(sorted(MODELS)))
        if self.optimizer not in OPTIMIZERS:
            bad("--optimizer", self.optimizer, "one of " + ", ".join(OPTIMIZERS))
        if self.schedule not in SCHEDULES:
            bad("--schedule", self.schedule, "one of " + ", ".join(SCHEDULES))
        for a in self.augmentations:
            if a not in AUGMENTATIONS:
                bad("--augment", a, "a comma-separated list of " + ", ".join(AUGMENTATIONS)
                    + " (or none)")
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            bad("--epochs", self.epochs, "an integer >= 1")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            bad("--batch-size", self.batch_size, "an integer >= 1")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            bad("--lr", self.lr, "a positive number")
        if self.weight_decay < 0:
            bad("--weight-decay", self.weight_decay, "a number >= 0")
        return self

    def with_dataset_defaults(self, given=()) -> TrainConfig:
        """Take the data set's recommended options (``fovea.data.catalog.TRAIN_DEFAULTS``,
        e.g. fewer epochs for Fashion-MNIST) for every option not named in ``given``."""
        from fovea.data.catalog import train_defaults

        for name, value in train_defaults(self.dataset).items():
            if name not in given:
                setattr(self, name, value)
        return self

    @property
    def augmentations(self) -> list[str]:
        a = (self.augment or "none").strip()
        return [] if a in ("none", "") else [s.strip() for s in a.split(",") if s.strip()]

    @classmethod
    def from_toml(cls, path) -> TrainConfig:
        import tomllib

        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no such config file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML ({exc})") from None
        data = {k.replace("-", "_"): v for k, v in data.items()}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown keys {unknown}; valid keys are {sorted(known)}")
        return cls(**data)


# --- building blocks ---------------------------------------------------------------------

def build_optimizer(cfg: TrainConfig, params):
    from fovea import optim

    name, lr, wd = cfg.optimizer, cfg.lr, cfg.weight_decay
    if name == "sgd":
        return optim.SGD(params, lr=lr, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=wd,
                         nesterov=name == "nesterov")
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, weight_decay=wd)
    return optim.Adagrad(params, lr=lr, weight_decay=wd)


def build_scheduler(cfg: TrainConfig, optimizer, steps_per_epoch: int):
    """The learning-rate schedule, stepped once per epoch by the Trainer."""
    from fovea.optim import lr_scheduler as S

    name, epochs = cfg.schedule, cfg.epochs
    if name == "none":
        return None
    if name == "step":
        return S.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "cosine":
        return S.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "exponential":
        return S.ExponentialLR(optimizer, gamma=0.9)
    if name == "inverse_time":
        return S.InverseTimeLR(optimizer, decay_rate=0.5)
    if name == "plateau":
        return S.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=2)
    if name == "onecycle":
        return S.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=epochs)
    warm = max(1, epochs // 5)
    return S.SequentialLR(optimizer, [S.LinearLR(optimizer, 0.1, 1.0, total_iters=warm),
                                      S.CosineAnnealingLR(optimizer, T_max=epochs - warm)],
                          milestones=[warm])


def build_augmentation(cfg: TrainConfig, image_shape):
    from fovea.data import transforms as T

    h = image_shape[1]
    steps = []
    for a in cfg.augmentations:
        if a == "crop":
            steps.append(T.RandomCrop(h, padding=max(1, h // 8)))
        elif a == "flip":
            steps.append(T.RandomHorizontalFlip())
        elif a == "affine":
            steps.append(T.RandomAffine(degrees=10, translate=(0.1, 0.1), scale=(0.9, 1.1)))
        elif a == "jitter":
            steps.append(T.ColorJitter(brightness=0.2, contrast=0.2))
        elif a == "cutout":
            steps.append(T.Cutout(max(1, h // 4)))
    return T.Compose(steps) if steps else None


def channel_stats(x: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of images (N, C, H, W), for normalisation (Lecture 6)."""
    mean = x.mean(axis=(0, 2, 3), dtype=np.float64)
    std = x.std(axis=(0, 2, 3), dtype=np.float64)
    return mean.tolist(), np.maximum(std, 1e-6).tolist()


def normalize(x: np.ndarray, mean, std) -> np.ndarray:
    m = np.asarray(mean, dtype=np.float32)[None, :, None, None]
    s = np.asarray(std, dtype=np.float32)[None, :, None, None]
    return ((x - m) / s).astype(np.float32)


def _loaders(cfg, x_train, y_train, x_val, y_val, image_shape):
    from fovea.data import ArrayDataset, DataLoader

    augment = build_augmentation(cfg, image_shape)
    train = DataLoader(ArrayDataset(x_train, y_train, transform=augment),
                       batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed,
                       num_workers=cfg.num_workers)
    eval_bs = max(256, cfg.batch_size)
    train_eval = DataLoader(ArrayDataset(x_train, y_train), batch_size=eval_bs)
    val = DataLoader(ArrayDataset(x_val, y_val), batch_size=eval_bs) if len(y_val) else None
    return train, train_eval, val


def default_run_dir(cfg: TrainConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{cfg.dataset.replace(':', '_').replace('/', '_')}-{cfg.model}-{stamp}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = Path(f"{base}-{k}")
    return path


# --- the job -----------------------------------------------------------------------------

def train(cfg: TrainConfig, resume_dir=None, log=print) -> dict:
    """Run the main job; returns the metrics (also written to ``RUN/metrics.json``)."""
    from fovea.data import load_dataset
    from fovea.models import build_model
    from fovea.train.report import write_metrics, write_report
    from fovea.train.trainer import Trainer, accuracy

    if resume_dir is not None:
        run_dir = Path(resume_dir)
        saved = _read_run_json(run_dir)
        epochs, progress = cfg.epochs, cfg.progress
        cfg = TrainConfig(**saved["config"])
        cfg.epochs, cfg.progress = epochs, progress
        if read_latest(run_dir) is None:
            raise CheckpointError(f"{run_dir}: no complete checkpoint to resume from")
    else:
        run_dir = Path(cfg.out) if cfg.out else default_run_dir(cfg)
    cfg.validate()
    t0 = time.perf_counter()
    fovea.manual_seed(cfg.seed)
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed,
                        image_size=cfg.image_size, channels=cfg.channels)
    x_train, y_train = data.x_train, data.y_train
    if cfg.overfit_small:
        # Lecture 6: a model that cannot overfit 20 examples without regularisation is broken.
        x_train, y_train = x_train[:20], y_train[:20]
        cfg.weight_decay, cfg.augment, cfg.schedule = 0.0, "none", "none"
    mean, std = channel_stats(x_train)
    xs = [normalize(x, mean, std) for x in (x_train, data.x_val, data.x_test)]
    train_loader, train_eval, val_loader = _loaders(cfg, xs[0], y_train, xs[1], data.y_val,
                                                    data.image_shape)
    c, h, w = data.image_shape
    model = build_model(cfg.model, c, (h, w), data.num_classes)
    if cfg.overfit_small:
        model.apply(lambda m: setattr(m, "p", 0.0) if isinstance(m, nn.Dropout) else None)
    optimizer = build_optimizer(cfg, model.parameters())
    scheduler = build_scheduler(cfg, optimizer, len(train_loader))
    run_dir.mkdir(parents=True, exist_ok=True)
    run_info = {"config": asdict(cfg), "mean": mean, "std": std, "classes": data.classes,
                "image_shape": list(data.image_shape), "num_classes": data.num_classes}
    atomic_write_text(run_dir / "run.json", json.dumps(run_info, indent=2) + "\n")
    trainer = Trainer(model, nn.functional.cross_entropy, optimizer, train_loader, val_loader,
                      scheduler, num_classes=data.num_classes, train_eval_loader=train_eval,
                      grad_clip=cfg.grad_clip, early_stopping=cfg.early_stopping,
                      run_dir=run_dir, config=asdict(cfg), progress=cfg.progress, log=log)
    if resume_dir is not None:
        trainer.resume()
        trainer.scheduler = _replay_schedule(cfg, optimizer, trainer, len(train_loader))
        log(f"resuming {run_dir} at epoch {trainer.epoch} of {cfg.epochs}")
    history = trainer.fit(cfg.epochs)
    final_state = {k: v._data.copy() for k, v in model.state_dict().items()}
    if trainer.best_state is not None:
        model.load_state_dict(trainer.best_state)
    save_weights(model.state_dict(), run_dir / "model.safetensors",
                 metadata={"model": cfg.model, "dataset": cfg.dataset})
    from fovea.data import ArrayDataset, DataLoader

    test_loader = DataLoader(ArrayDataset(xs[2], data.y_test), batch_size=256)
    test_acc, pred, true = accuracy(model, test_loader) if len(data.y_test) else (0.0, [], [])
    metrics = {
        "test_accuracy": test_acc,
        "val_accuracy": history.best_val_acc,
        "train_accuracy": history.train_acc[history.best_epoch - 1] if history.train_acc
        else 0.0,
        "final_train_accuracy": history.train_acc[-1] if history.train_acc else 0.0,
        "epochs": trainer.epoch,
        "best_epoch": history.best_epoch,
        "initial_loss": history.initial_loss,
        "final_loss": history.epoch_loss[-1] if history.epoch_loss else None,
        "update_to_weight_ratio": history.update_ratio[-1] if history.update_ratio else None,
        "seconds": round(time.perf_counter() - t0, 2),
        "model": cfg.model,
        "dataset": cfg.dataset,
        "parameters": model.num_parameters(),
    }
    if resume_dir is not None:
        metrics["resumed"] = True
    write_metrics(run_dir / "metrics.json", metrics)
    if len(data.y_test):
        write_report(run_dir, history, model, data.x_test, true, pred, data.classes)
    metrics["run_dir"] = str(run_dir)
    metrics["_final_state"] = final_state
    return metrics


def _replay_schedule(cfg, optimizer, trainer, steps_per_epoch):
    """The schedule for the new ``--epochs``, advanced to the resumed epoch.

    A schedule such as cosine annealing depends on the total number of epochs, which a resumed
    run may change; the run continues on the schedule of the new total, so "1 epoch, then
    resume to 2" equals "2 epochs". ReduceLROnPlateau depends on past metrics instead, so its
    saved state is kept.
    """
    if trainer.scheduler is None or type(trainer.scheduler).__name__ == "ReduceLROnPlateau":
        return trainer.scheduler
    for group in optimizer.param_groups:
        group["lr"] = group.get("initial_lr", group["lr"])
        group.pop("initial_lr", None)
    scheduler = build_scheduler(cfg, optimizer, steps_per_epoch)
    for _ in range(trainer.epoch):
        scheduler.step()
    return scheduler


def _read_run_json(run_dir: Path) -> dict:
    path = run_dir / "run.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; is {run_dir} a fovea run directory?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt run description ({exc})") from None


def load_run(run_dir):
    """The trained model of a run directory and its run description."""
    from fovea.models import build_model

    run_dir = Path(run_dir)
    info = _read_run_json(run_dir)
    c, h, w = info["image_shape"]
    model = build_model(info["config"]["model"], c, (h, w), info["num_classes"])
    load_model_weights(model, run_dir / "model.safetensors")
    model.eval()
    return model, info


def evaluate(run_dir, dataset: str | None = None, data_dir=None, split: str = "test") -> dict:
    """Accuracy of a trained run on a split of its data set (or another compatible one)."""
    from fovea.data import ArrayDataset, DataLoader, load_dataset
    from fovea.train.trainer import accuracy

    model, info = load_run(run_dir)
    cfg = info["config"]
    name = dataset or cfg["dataset"]
    # A folder is read at the size and channel count the run was trained on.
    folder = ({"image_size": cfg.get("image_size"), "channels": cfg.get("channels")}
              if name.startswith("folder:") else {})
    data = load_dataset(name, data_dir=data_dir or cfg["data_dir"], seed=cfg["seed"], **folder)
    if list(data.image_shape) != list(info["image_shape"]):
        raise ValueError(f"evaluate: the run was trained on images {tuple(info['image_shape'])}"
                         f" but {data.name} has {data.image_shape}")
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    loader = DataLoader(ArrayDataset(normalize(x, info["mean"], info["std"]), y),
                        batch_size=256)
    acc = accuracy(model, loader)[0]
    return {"accuracy": acc, "split": split, "dataset": data.name, "examples": int(len(y))}


def predict(run_dir, image_paths, top: int = 5, resize: bool = False) -> list[list[tuple]]:
    """Top-``top`` (class, probability) pairs for each image file."""
    from fovea.data.image_folder import load_images

    model, info = load_run(run_dir)
    c, h, w = info["image_shape"]
    # Without resize, an image of another size or channel count is refused (naming the file).
    images = load_images([Path(p) for p in image_paths], image_size=(h, w) if resize else None,
                         channels=c if resize else None, expect=(c, h, w))
    x = normalize(images.astype(np.float32) / 255.0, info["mean"], info["std"])
    with fovea.no_grad():
        probs = nn.functional.softmax(model(fovea.tensor(x)), dim=1).numpy()
    out = []
    for p in probs:
        order = np.argsort(-p)[:top]
        out.append([(info["classes"][k], float(p[k])) for k in order])
    return out
