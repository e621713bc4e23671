"""The main job as a function: a configuration in, a trained run directory out.

``train(config)`` loads the data set as fixed splits, normalises it with the training set's
per-channel statistics, builds the model, optimizer and schedule, runs the
:class:`~fovea.train.trainer.Trainer`, evaluates the best-validation weights once on the test
split and writes the run directory::

    RUN/model.safetensors   best-validation weights (PyTorch key names)
    RUN/run.json            the configuration, normalisation and class names (for evaluate/predict),
                            and the run's status (running / complete / interrupted / failed)
    RUN/metrics.json        test/val/train accuracy, epochs, seconds, ...
    RUN/*.png               the report (loss, accuracy, learning rate, update ratios, ...)
    RUN/checkpoints/        the last complete checkpoint (for --resume)
    RUN/tensorboard/        event files (with ``tensorboard=True``)

A run directory is never overwritten: a default name that exists gets a suffix (-2, -3, ...)
claimed atomically with ``os.mkdir``; an existing ``out`` is refused unless ``overwrite``.
Everything is checked before the directory is created, and a start that fails before its
first checkpoint removes the directory it created.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import socket
import tempfile
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
    tensorboard: bool = False
    # transfer learning (fovea.models.transfer): weights to start from, what to freeze, and
    # per-group learning rates (default: --lr)
    init: str | None = None
    freeze: str = "none"
    head_lr: float | None = None
    backbone_lr: float | None = None
    # The lectures' training techniques (fovea.train.techniques; off when None).
    ema: float | None = None  # decay of an exponential moving average of the weights
    mixup: float | None = None  # MixUp's alpha
    cutmix: float | None = None  # CutMix's alpha
    drop_path: float | None = None  # stochastic depth of the last residual block
    max_norm: float | None = None  # max-norm constraint after each step
    snapshots: int | None = None  # snapshot ensemble: this many cosine cycles
    label_smoothing: float = 0.0  # the loss's target: (1 - eps) one-hot + eps uniform
    device: str = "cpu"  # where the model trains: cpu or cuda (docs/gpu.md)
    sync_bn: bool = True  # --nproc > 1: batch statistics over the global batch
    # False: the validation split joins the training split (no per-epoch validation; the
    # best weights are then chosen by the training accuracy, and --ema's average wins)
    validation: bool = True
    # The per-epoch training accuracy on a fixed random sample of this many training images
    # (None: all of them; a pass over 60,000 images costs a third of a ResNet-20 epoch).
    train_eval_size: int | None = None
    tta: str = "none"  # test-time augmentation of the test accuracy: none or flip

    def validate(self) -> TrainConfig:
        """Check every option; raises ValueError naming the option as the command line does."""
        from fovea.models import MODELS

        def bad(name, value, expected):
            raise ValueError(f"train: invalid {name} {value!r}: expected {expected}")

        def integer(v) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def number(v) -> bool:
            return integer(v) or (isinstance(v, float) and math.isfinite(v))

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
        if not (integer(self.epochs) and self.epochs >= 1):
            bad("--epochs", self.epochs, "an integer >= 1")
        if not (integer(self.batch_size) and self.batch_size >= 1):
            bad("--batch-size", self.batch_size, "an integer >= 1")
        if not (number(self.lr) and self.lr > 0):
            bad("--lr", self.lr, "a positive finite number")
        if not (number(self.momentum) and 0 <= self.momentum < 1):
            bad("--momentum", self.momentum, "a number in [0, 1)")
        if not (number(self.weight_decay) and self.weight_decay >= 0):
            bad("--weight-decay", self.weight_decay, "a finite number >= 0")
        if not (integer(self.seed) and 0 <= self.seed < 2**32):
            bad("--seed", self.seed, "an integer in [0, 2**32)")
        if self.grad_clip is not None and not (number(self.grad_clip) and self.grad_clip > 0):
            bad("--grad-clip", self.grad_clip, "a positive finite number (the largest gradient "
                "norm)")
        if self.early_stopping is not None and not self.validation:
            bad("--early-stopping", self.early_stopping, "no early stopping with "
                "--no-validation (it watches the validation accuracy)")
        if self.early_stopping is not None and not (integer(self.early_stopping)
                                                    and self.early_stopping >= 1):
            bad("--early-stopping", self.early_stopping, "an integer >= 1 (epochs without a "
                "better validation accuracy)")
        if not (integer(self.num_workers) and self.num_workers >= 0):
            bad("--num-workers", self.num_workers, "an integer >= 0")
        if self.freeze not in ("none", "backbone"):
            bad("--freeze", self.freeze, "one of none, backbone")
        for name in ("head_lr", "backbone_lr"):
            value = getattr(self, name)
            if value is not None and not (number(value) and value > 0):
                bad("--" + name.replace("_", "-"), value, "a positive finite number")
        if self.device != "cpu":
            from fovea import backends

            backends.get(self.device)  # a clear one-line error when the device is not there
        if self.train_eval_size is not None and not (integer(self.train_eval_size)
                                                     and self.train_eval_size >= 1):
            bad("--train-eval-size", self.train_eval_size, "an integer >= 1 (training images)")
        from fovea.train.trainer import TTA_MODES

        if self.tta not in TTA_MODES:
            bad("--tta", self.tta, "one of " + ", ".join(TTA_MODES))
        from fovea.train.techniques import validate_options

        validate_options(self, bad, number, integer)
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


def _loaders(cfg, x_train, y_train, x_val, y_val, image_shape, world=None):
    from fovea.data import ArrayDataset, DataLoader, DistributedSampler

    augment = build_augmentation(cfg, image_shape)
    train_set = ArrayDataset(x_train, y_train, transform=augment)
    if world is not None and world.size > 1:
        # Each process: its shard of every epoch, --batch-size / processes at a time.
        sampler = DistributedSampler(train_set, world.size, world.rank, seed=cfg.seed)
        train = DataLoader(train_set, batch_size=world.local_batch(cfg.batch_size),
                           sampler=sampler, seed=cfg.seed, num_workers=cfg.num_workers)
    else:
        train = DataLoader(train_set, batch_size=cfg.batch_size, shuffle=True, seed=cfg.seed,
                           num_workers=cfg.num_workers)
    eval_bs = max(256, cfg.batch_size)
    if cfg.train_eval_size is not None and cfg.train_eval_size < len(y_train):
        # a fixed sample (the same every epoch and on resume), in the data's order
        pick = np.sort(np.random.default_rng(cfg.seed).choice(
            len(y_train), cfg.train_eval_size, replace=False))
        x_train, y_train = x_train[pick], y_train[pick]
    if world is not None and world.size > 1:
        # each process evaluates its share; World.accuracy adds the counts up
        (x_train, y_train), (x_val, y_val) = (world.shard(x_train, y_train),
                                              world.shard(x_val, y_val))
    train_eval = DataLoader(ArrayDataset(x_train, y_train), batch_size=eval_bs)
    val = DataLoader(ArrayDataset(x_val, y_val), batch_size=eval_bs) if len(y_val) else None
    return train, train_eval, val


def _on_device(cfg: TrainConfig, loader):
    """``loader`` yielding its batches on ``cfg.device`` (None stays None; the CPU: as is)."""
    if loader is None or cfg.device == "cpu":
        return loader
    from fovea.data import DeviceLoader

    return DeviceLoader(loader, cfg.device)


def _run_name(cfg: TrainConfig) -> str:
    dataset = cfg.dataset
    if dataset.startswith("folder:"):
        dataset = "folder-" + Path(dataset[len("folder:"):]).name
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in dataset)
    return f"{safe}-{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}"


def default_run_dir(cfg: TrainConfig, root="runs") -> Path:
    """Create and return a new run directory ``root/<dataset>-<model>-<time>[-k]``.

    The name is claimed with ``os.mkdir``, which fails when the name exists, so runs started
    in the same second (a sweep, several processes) get -2, -3, ... and never share one.
    """
    base = Path(root) / _run_name(cfg)
    base.parent.mkdir(parents=True, exist_ok=True)
    k = 1
    while True:
        path = base if k == 1 else Path(f"{base}-{k}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            k += 1


class RunDirClaim:
    """The run directory of a new run: where it is, and how to undo its creation.

    ``abandon()`` removes what this start created (never a directory that existed before: an
    empty one given as ``out`` is emptied again, a replaced run is put back); ``keep()``
    makes the new run final (and deletes the run it replaced).
    """

    def __init__(self, cfg: TrainConfig, overwrite: bool):
        self.out = Path(cfg.out) if cfg.out else None
        self.overwrite, self.cfg = overwrite, cfg
        self.path: Path | None = None
        self.existed = False      # an empty directory given as out
        self.aside: Path | None = None  # the run being replaced, moved out of the way
        if self.out is not None:
            self._check_out()

    def _check_out(self) -> str | None:
        out = self.out
        if not (out.exists() or out.is_symlink()):
            return None
        if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
            return "empty"
        if not self.overwrite:
            raise FileExistsError(f"train: --out {out} already exists; choose a new directory "
                                  f"or pass --overwrite to replace the run in it")
        if not (out.is_dir() and not out.is_symlink() and (out / "run.json").is_file()):
            raise FileExistsError(f"train: --overwrite replaces only a fovea run directory "
                                  f"(one holding run.json); {out} is not one")
        return "run"

    def create(self) -> Path:
        if self.out is None:
            self.path = default_run_dir(self.cfg)
            return self.path
        state = self._check_out()  # again: it may have changed while the data loaded
        if state == "empty":
            self.existed = True
        elif state == "run":
            self.aside = self.out.parent / f".{self.out.name}.replaced-{secrets.token_hex(4)}"
            os.rename(self.out, self.aside)
        if not self.existed:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.mkdir(self.out)
            except FileExistsError:  # another process took it since the check
                raise FileExistsError(f"train: --out {self.out} was created by another process "
                                      f"meanwhile; choose a new directory") from None
        self.path = self.out
        return self.path

    def abandon(self) -> None:
        if self.path is None:
            return
        if self.existed:
            for child in self.path.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() \
                    else child.unlink()
        else:
            shutil.rmtree(self.path, ignore_errors=True)
        if self.aside is not None:
            os.rename(self.aside, self.path)
            self.aside = None

    def keep(self) -> None:
        if self.aside is not None:
            shutil.rmtree(self.aside, ignore_errors=True)
            self.aside = None


def _absolute_data_paths(cfg: TrainConfig) -> None:
    """Make the data paths of ``cfg`` absolute, so that the run works from any directory."""
    if cfg.data_dir:
        cfg.data_dir = os.path.abspath(os.path.expanduser(cfg.data_dir))
    if cfg.dataset.startswith("folder:"):
        cfg.dataset = "folder:" + os.path.abspath(os.path.expanduser(cfg.dataset[7:]))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# Options a resumed run may change: they do not change what it computes (--epochs moves the
# end, which the schedule follows). Every other option is fixed by the run.
RESUMABLE = ("epochs", "progress", "num_workers", "tensorboard", "device")


def _given_fields(cfg: TrainConfig) -> set[str]:
    """Fields of ``cfg`` that differ from the defaults (what a Python caller set)."""
    d = TrainConfig()
    return {f.name for f in fields(cfg) if getattr(cfg, f.name) != getattr(d, f.name)}


def _resume_config(cfg: TrainConfig, saved: TrainConfig, given, run_dir: Path, log):
    """The resumed run's configuration: the saved one, with the options of :data:`RESUMABLE`
    that were given; says which other given options are ignored."""
    ignored = []
    for f in fields(TrainConfig):
        if f.name not in given:
            continue
        mine, theirs = getattr(cfg, f.name), getattr(saved, f.name)
        if f.name in RESUMABLE or f.name == "progress":
            setattr(saved, f.name, mine)
        elif mine != theirs:
            flag = "--" + f.name.replace("_", "-")
            ignored.append(f"{flag} {mine}" if not isinstance(mine, bool) else flag)
    saved.progress = cfg.progress
    if ignored:
        log(f"--resume: ignoring {', '.join(ignored)}: fixed by the run {run_dir} "
            f"(only {', '.join('--' + n.replace('_', '-') for n in RESUMABLE if n != 'progress')}"
            f" may change)")
    return saved


# --- the job -----------------------------------------------------------------------------

def train(cfg: TrainConfig, resume_dir=None, log=print, given=None,
          overwrite: bool = False, callbacks=()) -> dict:
    """Run the main job; returns the metrics (also written to ``RUN/metrics.json``).

    Args:
        cfg: the options.
        resume_dir: continue this run from its last checkpoint instead of starting a new one.
            Only the options of :data:`RESUMABLE` that are *given* apply; the run keeps its
            planned ``epochs`` unless ``epochs`` is given.
        given: the names of the options the user gave (the command line's); default: those
            that differ from :class:`TrainConfig`'s defaults.
        overwrite: replace the run in an existing ``cfg.out`` (refused otherwise).
        callbacks: more Trainer callbacks (``fovea tune`` reports each epoch to its pruner).
    """
    from fovea.data import load_dataset
    from fovea.models import build_model
    from fovea.train import distributed_run
    from fovea.train.trainer import Trainer

    given = _given_fields(cfg) if given is None else set(given)
    cfg.validate()
    # One process of an MPI launch (fovea train --nproc N, or mpiexec ... fovea train):
    # the same run on a shard of each batch; only rank 0 writes (train/distributed_run.py).
    world = distributed_run.world()
    if not world.is_main:
        log, cfg.progress = _silent, False
    claim = None
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        saved = read_run_json(run_dir)
        latest = read_latest(run_dir)
        if latest is None:
            raise CheckpointError(f"{run_dir}: no complete checkpoint to resume from")
        cfg = _resume_config(cfg, TrainConfig(**saved["config"]), given, run_dir, log)
        done = int(latest.name.split("-")[1])
        if cfg.epochs < done:
            raise ValueError(f"train: invalid --epochs {cfg.epochs}: {run_dir} has already "
                             f"done {done} epochs")
        cfg.validate()
    else:
        # refuses an existing --out before the slow work
        claim = RunDirClaim(cfg, overwrite) if world.is_main else None
        _absolute_data_paths(cfg)
    t0 = time.perf_counter()
    fovea.manual_seed(cfg.seed)
    data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, seed=cfg.seed,
                        image_size=cfg.image_size, channels=cfg.channels)
    if not cfg.validation:
        data = data.without_validation()
    x_train, y_train = data.x_train, data.y_train
    if cfg.overfit_small:
        # Lecture 6: a model that cannot overfit 20 examples without regularisation is broken.
        x_train, y_train = x_train[:20], y_train[:20]
        cfg.weight_decay, cfg.augment, cfg.schedule = 0.0, "none", "none"
    mean, std = channel_stats(x_train)
    xs = [normalize(x, mean, std) for x in (x_train, data.x_val, data.x_test)]
    train_loader, train_eval, val_loader = _loaders(cfg, xs[0], y_train, xs[1], data.y_val,
                                                    data.image_shape, world)
    c, h, w = data.image_shape
    model = build_model(cfg.model, c, (h, w), data.num_classes)
    if cfg.overfit_small:
        model.apply(lambda m: setattr(m, "p", 0.0) if isinstance(m, nn.Dropout) else None)
    from fovea.train import techniques

    if cfg.drop_path:
        techniques.add_drop_path(model, cfg.drop_path)
    train_loader = techniques.wrap_loader(cfg, train_loader, data.num_classes)
    if cfg.device != "cpu":  # the model and every batch on the device (batches prefetched)
        model.to(cfg.device)
        train_loader, train_eval, val_loader = (_on_device(cfg, loader) for loader in
                                                (train_loader, train_eval, val_loader))
    params = model.parameters()
    if cfg.init or cfg.freeze != "none" or cfg.head_lr or cfg.backbone_lr:
        from fovea.models.transfer import setup_transfer

        # a resumed run's weights come from its checkpoint, not from --init
        params = setup_transfer(model, cfg.init if resume_dir is None else None, cfg.freeze,
                                cfg.lr, cfg.head_lr, cfg.backbone_lr, log)
    # several processes: SyncBatchNorm (unless --no-sync-bn), gradients averaged
    model = world.wrap(model, sync_bn=cfg.sync_bn)
    optimizer = build_optimizer(cfg, params)
    # --snapshots sets the learning rate itself, per step (cosine cycles with restarts).
    scheduler = None if cfg.snapshots else build_scheduler(cfg, optimizer, len(train_loader))
    if cfg.tensorboard:
        from fovea.utils.tensorboard import require_tensorboardx

        require_tensorboardx()  # a missing extra is refused before the run exists
    if resume_dir is None:
        run_dir = world.share(claim.create() if world.is_main else None)
        run_info = {"config": asdict(cfg), "mean": mean, "std": std, "classes": data.classes,
                    "image_shape": list(data.image_shape), "num_classes": data.num_classes,
                    "started": _now(), "seconds": 0.0}
    else:
        run_info = saved
        run_info["config"] = asdict(cfg)
    progress, tb = RunStatus(run_dir, run_info, t0, active=world.is_main), None
    # (ranks > 0 keep what techniques write, e.g. snapshots, in a private temporary folder)
    scratch = None if world.is_main else Path(tempfile.mkdtemp(prefix="fovea-rank"))
    try:
        trainer = Trainer(model, techniques.loss_function(cfg), optimizer, train_loader,
                          val_loader, scheduler, num_classes=data.num_classes,
                          train_eval_loader=train_eval, grad_clip=cfg.grad_clip,
                          early_stopping=cfg.early_stopping, run_dir=run_dir,
                          config=asdict(cfg), progress=cfg.progress, log=log,
                          accuracy_fn=world.accuracy,
                          callbacks=[progress, *techniques.callbacks(
                              cfg, model, scratch or run_dir, len(train_loader)),
                              *callbacks])
        if resume_dir is not None:
            trainer.resume()  # every process reads the checkpoint (any process count)
            trainer.scheduler = _replay_schedule(cfg, optimizer, trainer, len(train_loader))
            log(f"resuming {run_dir} at epoch {trainer.epoch} of {cfg.epochs}")
        if not world.is_main:
            trainer.run_dir = None  # no checkpoints from ranks > 0
        progress.write("running")
        if cfg.tensorboard and world.is_main:
            from fovea.train.tensorboard_log import TensorBoardLogger

            tb = TensorBoardLogger(run_dir / "tensorboard", xs[1] if len(data.y_val) else xs[0],
                                   data.y_val if len(data.y_val) else y_train, data.classes,
                                   purge_step=len(trainer.history.loss) or None)
            trainer.callbacks.append(tb)
        metrics = _finish(cfg, trainer, model, data, xs, run_dir, t0, resume_dir is not None,
                          write=world.is_main)
        if tb is not None:
            tb.close(metrics, cfg)
    except BaseException as exc:
        if tb is not None:
            tb.close()
        if not world.is_main:
            raise
        keep = resume_dir is not None or read_latest(run_dir) is not None
        if not keep and claim is not None:
            claim.abandon()
            log(f"removed {run_dir}: the run stopped before its first checkpoint")
        elif progress.started:
            progress.write("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                           error=f"{type(exc).__name__}: {exc}")
            if claim is not None:
                claim.keep()
        raise
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if claim is not None:
        claim.keep()
    progress.write("complete", test_accuracy=metrics["test_accuracy"])
    metrics["run_dir"] = str(run_dir)
    world.barrier()  # every process ends together (rank 0 wrote the outputs)
    return metrics


def _silent(*args, **kwargs) -> None:
    """The log of ranks > 0: rank 0 speaks for the run."""


class RunStatus:
    """Keeps ``run.json``'s status, epochs done, best accuracy and wall time up to date."""

    def __init__(self, run_dir: Path, info: dict, t0: float, active: bool = True):
        self.run_dir, self.info, self.t0 = run_dir, info, t0
        self.before = float(info.get("seconds") or 0.0)  # earlier sessions' wall time
        self.started = False
        self.active = active  # False on ranks > 0 of a distributed run: rank 0 writes

    def elapsed(self) -> float:
        """The run's wall time so far, earlier sessions included (seconds, 2 decimals)."""
        return round(self.before + time.perf_counter() - self.t0, 2)

    def write(self, status: str, **extra) -> None:
        self.started = True
        if not self.active:
            return
        self.info.update(status=status, updated=_now(), pid=os.getpid(),
                         host=socket.gethostname(), seconds=self.elapsed(), **extra)
        if status != "failed":
            self.info.pop("error", None)
        atomic_write_text(self.run_dir / "run.json", json.dumps(self.info, indent=2) + "\n")

    def on_epoch_end(self, trainer) -> None:
        h = trainer.history
        self.write("running", epochs_done=trainer.epoch, best_val_accuracy=h.best_val_acc,
                   best_epoch=h.best_epoch)


def _finish(cfg, trainer, model, data, xs, run_dir, t0, resumed, write: bool = True) -> dict:
    """Train to the end, evaluate the best weights on the test split, write the outputs
    (``write=False``: ranks > 0 of a distributed run, which only train)."""
    from fovea.data import ArrayDataset, DataLoader
    from fovea.train.report import write_metrics, write_report
    from fovea.train.techniques import finish_ema
    from fovea.train.trainer import correct_fraction, predictions

    history = trainer.fit(cfg.epochs)
    final_state = {k: v._data.copy() for k, v in model.state_dict().items()}
    if trainer.best_state is not None:
        model.load_state_dict(trainer.best_state)
    ema_metrics = finish_ema(trainer, model, xs, data)  # --ema: the averaged weights win
    if not write:
        return {"test_accuracy": float("nan"), "epochs": trainer.epoch,
                "_final_state": final_state}
    save_weights(model.state_dict(), run_dir / "model.safetensors",
                 metadata={"model": cfg.model, "dataset": cfg.dataset})
    test_loader = _on_device(cfg, DataLoader(ArrayDataset(xs[2], data.y_test), batch_size=256))
    # one pass for the plain and the test-time-augmented accuracy (--tta)
    pred, pred_tta, true = (predictions(model, test_loader, cfg.tta) if len(data.y_test)
                            else ([], None, []))
    metrics = {
        "test_accuracy": correct_fraction(np.asarray(pred), np.asarray(true)),
        "val_accuracy": history.best_val_acc if len(data.y_val) else None,  # --no-validation
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
    metrics.update(ema_metrics)
    if pred_tta is not None:
        metrics["test_accuracy_tta"] = correct_fraction(pred_tta, true)
    if resumed:
        metrics["resumed"] = True
    write_metrics(run_dir / "metrics.json", metrics)
    if len(data.y_test):
        write_report(run_dir, history, model, data.x_test, true, pred, data.classes)
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


def read_run_json(run_dir: Path) -> dict:
    path = run_dir / "run.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; is {run_dir} a fovea run directory?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt run description ({exc})") from None


def check_finite(state: dict, path) -> None:
    """Refuse weights with NaN/inf values (a diverged run), naming the first such parameter."""
    for name, a in state.items():
        a = np.asarray(a)
        if a.dtype.kind in "fc" and not np.isfinite(a).all():
            nan, inf = int(np.isnan(a).sum()), int(np.isinf(a).sum())
            raise ValueError(f"{path}: parameter {name!r} has non-finite values ({nan} NaN, "
                             f"{inf} inf of {a.size}); the run diverged, so its weights cannot "
                             f"be used")


def load_run(run_dir):
    """The trained model of a run directory and its run description."""
    from fovea.models import build_model

    run_dir = Path(run_dir)
    info = read_run_json(run_dir)
    c, h, w = info["image_shape"]
    model = build_model(info["config"]["model"], c, (h, w), info["num_classes"])
    load_model_weights(model, run_dir / "model.safetensors")
    check_finite({k: v._data for k, v in model.state_dict().items()},
                 run_dir / "model.safetensors")
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


# Images above this many pixels are refused before decoding (Pillow's own bomb limit; a
# 30,000 x 30,000 PNG of 100 KB would otherwise take 900 MB to decode).
def _max_pixels() -> int:
    from PIL import Image

    return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def read_image(path, shape: tuple[int, int, int], resize: bool = False) -> np.ndarray:
    """One image file as uint8 (C, H, W) of ``shape``, for ``predict``.

    Without ``resize`` an image of another size or channel count is refused; with it, it is
    converted (grayscale/RGB) and resized. Raises ValueError (one line naming the file) for a
    missing, undecodable, oversized or mismatched file.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    c, h, w = shape
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                iw, ih = im.size
                if iw * ih > _max_pixels():
                    raise ValueError(f"{path}: image too large to decode ({iw}x{ih} pixels, "
                                     f"more than {_max_pixels():,}; a decompression bomb?)")
                im.load()
                mode = "L" if c == 1 else "RGB"
                if im.mode != mode:
                    if not resize:
                        have = {"L": 1, "RGB": 3}.get(im.mode)
                        what = f"{have} channels" if have else f"mode {im.mode}"
                        raise ValueError(f"{path}: image has {what} but the model expects {c} "
                                         f"(pass --resize to convert)")
                    im = im.convert(mode)
                if im.size != (w, h):
                    if not resize:
                        raise ValueError(f"{path}: image is {ih}x{iw} but the model expects "
                                         f"{h}x{w} (pass --resize to resize)")
                    im = im.resize((w, h), Image.Resampling.BILINEAR)
                a = np.asarray(im, dtype=np.uint8)
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{path}: image too large to decode ({exc})") from None
    except (UnidentifiedImageError, SyntaxError) as exc:
        raise ValueError(f"{path}: not a readable image ({type(exc).__name__}: {exc})") \
            from None
    except OSError as exc:
        raise OSError(f"{path}: cannot read image ({exc})") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def predict(run_dir, image_paths, top: int = 5, resize: bool = False,
            errors: list | None = None) -> list[list[tuple] | None]:
    """Top-``top`` (class, probability) pairs for each image file.

    With ``errors`` a list, a file that cannot be used (missing, not an image, oversized, of
    the wrong shape without ``resize``) gives None in its place and ``(path, message)`` is
    appended to ``errors``; the other files are still classified. Without it, the first
    such file raises.
    """
    if not (isinstance(top, int) and top >= 1):
        raise ValueError(f"predict: invalid --top {top!r}: expected an integer >= 1")
    model, info = load_run(run_dir)
    shape = tuple(info["image_shape"])
    images, good = [], []
    for i, p in enumerate(image_paths):
        try:
            images.append(read_image(p, shape, resize))
            good.append(i)
        except (ValueError, OSError) as exc:
            if errors is None:
                raise
            errors.append((str(p), str(exc)))
    out: list[list[tuple] | None] = [None] * len(image_paths)
    if not images:
        return out
    x = normalize(np.stack(images).astype(np.float32) / 255.0, info["mean"], info["std"])
    with fovea.no_grad():
        probs = nn.functional.softmax(model(fovea.tensor(x)), dim=1).numpy()
    for i, p in zip(good, probs):
        order = np.argsort(-p)[:top]
        out[i] = [(info["classes"][k], float(p[k])) for k in order]
    return out
