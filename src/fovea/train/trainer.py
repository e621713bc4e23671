"""The training loop (CS231n's Solver): epochs of mini-batch updates with babysitting built in.

* Before training, the initial loss is compared with its expected value (log C for softmax,
  C − 1 for the SVM loss at small weights) and a warning is given when it is far off.
* Training stops with :class:`TrainingDiverged` when the loss becomes NaN/inf or exceeds 3×
  its initial value ("explosion"), before that loss reaches the weights, naming the step and
  the last good checkpoint (which stays as it was); a checkpoint is never written from
  non-finite weights.
* The ratio of update magnitude to weight magnitude is logged, for the whole model and per
  parameter (~1e-3 is healthy).
* Per-iteration loss history, per-epoch train/validation accuracy, best-validation weights,
  early stopping, gradient clipping, a checkpoint every epoch, exact resume.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

import fovea
import fovea.nn.functional as F
from fovea.train.checkpoint import load_checkpoint, save_checkpoint


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf or exploded past 3× its initial value."""


@dataclass
class History:
    """What a run records. Lists grow by one per iteration (``loss``) or per epoch."""

    loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    update_ratio: list[float] = field(default_factory=list)
    # Per parameter name, one mean ‖Δw‖/‖w‖ per epoch (the report's per-layer curves).
    layer_ratio: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0  # wall time spent in training epochs, over every session
    initial_loss: float | None = None
    best_val_acc: float = -1.0
    best_epoch: int = 0
    epochs_without_improvement: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        return cls(**d)


def expected_initial_loss(kind: str, num_classes: int) -> float:
    """The loss of a freshly initialised classifier with small weights (Lecture 6)."""
    if kind == "softmax":
        return math.log(num_classes)
    if kind == "svm":
        return float(num_classes - 1)
    raise ValueError(f"expected_initial_loss: unknown loss kind {kind!r}")


TTA_MODES = ("none", "flip")  # test-time augmentation: flip averages an image and its mirror


def accuracy(model, loader, tta: str = "none") -> tuple[float, np.ndarray, np.ndarray]:
    """Accuracy of ``model`` (in eval mode) over ``loader``; also predictions and labels.

    ``tta="flip"``: test-time augmentation (Lecture 7: average the predictions over a fixed
    set of transformed copies): the softmax of each image and of its left-right mirror are
    averaged before the argmax.
    """
    plain, augmented, labels = predictions(model, loader, tta)
    p = plain if augmented is None else augmented
    return correct_fraction(p, labels), p, labels


def predictions(model, loader, tta: str = "none"):
    """One pass of ``model`` (in eval mode) over ``loader``: ``(plain, augmented, labels)``.

    ``plain``: the argmax of each image's scores; ``augmented``: with ``tta="flip"`` the
    argmax of the averaged softmax of the image and its mirror (the image's own forward is
    computed once for both), else None; ``labels``: the loader's labels.
    """
    if tta not in TTA_MODES:
        raise ValueError(f"accuracy: invalid tta {tta!r}: expected one of "
                         f"{', '.join(TTA_MODES)}")
    was_training = model.training
    model.eval()
    plain, augmented, labels = [], [], []
    with fovea.no_grad():
        for x, y in loader:
            scores = model(x)
            plain.append(scores.argmax(dim=1).numpy())
            if tta == "flip":
                mean = (F.softmax(scores, dim=1)
                        + F.softmax(model(fovea.flip(x, dims=(-1,))), dim=1))
                augmented.append(mean.argmax(dim=1).numpy())
            labels.append(np.asarray(y.numpy() if isinstance(y, fovea.Tensor) else y))
    model.train(was_training)
    aug = np.concatenate(augmented) if tta != "none" else None
    return np.concatenate(plain), aug, np.concatenate(labels)


def correct_fraction(pred: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of predictions equal to the labels (0.0 for an empty set)."""
    return float((pred == labels).mean()) if len(labels) else 0.0


class Trainer:
    """Trains a classifier with mini-batch updates and checks that training is healthy.

    Args:
        model: a ``fovea.nn.Module`` mapping (N, C, H, W) images to (N, classes) scores.
        loss_fn: ``loss_fn(scores, labels) -> scalar Tensor``.
        optimizer: a ``fovea.optim`` optimizer over the model's parameters.
        train_loader: an iterable of ``(x, y)`` batches; if it has ``set_epoch(e)`` it is
            called before each epoch (deterministic shuffling for exact resume).
        val_loader: batches for validation accuracy (best weights and early stopping).
        train_eval_loader: the training set without augmentation or shuffling, for the
            per-epoch training accuracy (default: ``train_loader``).
        scheduler: an ``lr_scheduler`` stepped once per epoch (``ReduceLROnPlateau`` gets the
            validation accuracy).
        num_classes: for the initial-loss check.
        loss_kind: "softmax" or "svm" (which initial loss to expect), or None to skip.
        grad_clip: clip the global gradient norm to this value.
        early_stopping: stop after this many epochs without a better validation accuracy.
        run_dir: where checkpoints go (None: no checkpoints).
        config: saved in each checkpoint (what the run was started with).
        progress: show a progress bar (only when standard error is a terminal, so that logs
            get one line per epoch rather than every frame of the bar).
        explosion_factor: the loss may not exceed this multiple of its initial value.
        callbacks: objects with optional methods ``on_step(trainer, loss)`` (after each
            update) and ``on_epoch_end(trainer)`` (after each epoch's checkpoint), e.g. the
            TensorBoard logger of :mod:`fovea.train.tensorboard`.
        accuracy_fn: ``accuracy_fn(model, loader)`` returning ``(fraction, ...)`` for the
            per-epoch accuracies (default :func:`accuracy`; a data-parallel run passes
            :meth:`fovea.train.distributed_run.World.accuracy`).
    """

    def __init__(self, model, loss_fn: Callable, optimizer, train_loader: Iterable,
                 val_loader: Iterable | None = None, scheduler=None, *, num_classes: int,
                 train_eval_loader: Iterable | None = None,
                 loss_kind: str | None = "softmax", grad_clip: float | None = None,
                 early_stopping: int | None = None, run_dir=None, config: dict | None = None,
                 progress: bool = True, explosion_factor: float = 3.0, log=print,
                 callbacks: Iterable = (), accuracy_fn: Callable | None = None):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.train_loader, self.val_loader, self.scheduler = train_loader, val_loader, scheduler
        self.train_eval_loader = train_eval_loader or train_loader
        self.num_classes, self.loss_kind = num_classes, loss_kind
        self.grad_clip, self.early_stopping = grad_clip, early_stopping
        self.run_dir, self.config = run_dir, dict(config or {})
        self.progress, self.explosion_factor, self.log = progress, explosion_factor, log
        self.history = History()
        self.epoch = 0
        self.best_state: dict | None = None
        self.named_params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self.params = [p for _, p in self.named_params]
        self.callbacks = list(callbacks)
        # accuracy(model, loader) -> (fraction, ...): a data-parallel run's counts each
        # process's shard of the evaluation sets and adds the counts up
        self.accuracy = accuracy_fn or accuracy
        self.step = 0  # updates done so far (the global step of logs)
        # The last measured ‖Δw‖/‖w‖ per parameter name (empty until measured).
        self.last_ratios: dict[str, float] = {}

    # --- babysitting ---------------------------------------------------------------------
    def check_initial_loss(self) -> float:
        """Loss of the untrained model on the first batch; warn when far from log C / C − 1."""
        x, y = next(iter(self.train_eval_loader))
        # Eval mode: the check must not move batch-norm statistics or draw dropout masks.
        was_training = self.model.training
        self.model.eval()
        with fovea.no_grad():
            loss = float(self.loss_fn(self.model(x), y).item())
        self.model.train(was_training)
        if self.loss_kind is not None:
            expected = expected_initial_loss(self.loss_kind, self.num_classes)
            if not math.isfinite(loss) or abs(loss - expected) > max(0.5 * expected, 0.5):
                warnings.warn(
                    f"initial loss {loss:.3f} is far from the expected {expected:.3f} "
                    f"({'log C' if self.loss_kind == 'softmax' else 'C - 1'} for "
                    f"C = {self.num_classes}): check the initialisation scale and the loss",
                    stacklevel=2)
        return loss

    def _check_loss(self, loss: float) -> None:
        initial = self.history.initial_loss
        if not math.isfinite(loss):
            self._diverged(f"loss became {loss}")
        if initial is not None and loss > self.explosion_factor * max(initial, 1e-8):
            self._diverged(f"loss exploded to {loss:.4g} (more than "
                           f"{self.explosion_factor:g}x the initial {initial:.4g})")

    def _diverged(self, what: str):
        where = f"at step {self.step + 1} (epoch {self.epoch + 1})"
        raise TrainingDiverged(f"{what} {where}; {self._last_good()}: lower the learning rate")

    def _last_good(self) -> str:
        from fovea.train.checkpoint import read_latest

        latest = read_latest(self.run_dir) if self.run_dir is not None else None
        if latest is None:
            return "no checkpoint was written"
        return f"the last good checkpoint is {latest} (epoch {int(latest.name.split('-')[1])})"

    def _check_weights(self) -> None:
        """Refuse to end an epoch (and checkpoint) with NaN/inf weights."""
        for name, p in self.named_params:
            if not np.isfinite(p._data).all():
                self._diverged(f"parameter {name!r} became non-finite")

    # --- the loop ------------------------------------------------------------------------
    def train_step(self, x, y) -> tuple[float, float]:
        """One update; returns the loss and the update/weight magnitude ratio."""
        self.model.train()
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        value = float(loss.item())
        self._check_loss(value)  # before the update: a NaN never reaches the weights
        loss.backward()
        if self.grad_clip is not None:
            fovea.nn.utils.clip_grad_norm_(self.params, self.grad_clip)
        before = [p._data.copy() for p in self.params] if self._measure_ratio else None
        self.optimizer.step()
        self.step += 1
        ratio = float("nan")
        if before is not None:
            # array methods, not np.sum: the weights may live on a GPU
            upd = [float(((p._data - b).astype(np.float64) ** 2).sum())
                   for p, b in zip(self.params, before)]
            w = [float((b.astype(np.float64) ** 2).sum()) for b in before]
            ratio = math.sqrt(sum(upd)) / max(math.sqrt(sum(w)), 1e-12)
            self.last_ratios = {n: math.sqrt(u) / max(math.sqrt(v), 1e-12)
                                for (n, _), u, v in zip(self.named_params, upd, w)}
        return value, ratio

    def fit(self, epochs: int) -> History:
        """Train until ``epochs`` epochs have run in total (a resumed run continues)."""
        from tqdm.auto import tqdm

        if self.history.initial_loss is None:
            self.history.initial_loss = self.check_initial_loss()
        self.step = len(self.history.loss)
        # NOTE: a bar redrawn in place is one line on a terminal, but thousands of lines in a
        # log file; without a terminal the per-epoch log line is the progress report.
        show = self.progress and _isatty(sys.stderr)
        while self.epoch < epochs:
            if hasattr(self.train_loader, "set_epoch"):
                self.train_loader.set_epoch(self.epoch)
            losses, ratios, layers = [], [], {}
            bar = tqdm(self.train_loader, desc=f"epoch {self.epoch + 1}/{epochs}",
                       disable=not show, leave=False, unit="batch")
            start, seen = time.perf_counter(), 0
            for i, (x, y) in enumerate(bar):
                # The update/weight ratio costs a copy of the weights: measure 4 times an epoch.
                self._measure_ratio = i % max(1, _len(self.train_loader) // 4) == 0
                self.last_ratios = {}
                loss, ratio = self.train_step(x, y)
                self.history.loss.append(loss)
                losses.append(loss)
                if not math.isnan(ratio):
                    ratios.append(ratio)
                    for name, r in self.last_ratios.items():
                        layers.setdefault(name, []).append(r)
                seen += len(x)
                for cb in self.callbacks:
                    if hasattr(cb, "on_step"):
                        cb.on_step(self, loss)
                bar.set_postfix(loss=f"{loss:.4f}",
                                img_s=f"{seen / max(time.perf_counter() - start, 1e-9):.0f}")
            self.history.seconds += time.perf_counter() - start
            self._end_epoch(losses, ratios, layers)
            for cb in self.callbacks:
                if hasattr(cb, "on_epoch_end"):
                    cb.on_epoch_end(self)
            if self._should_stop():
                self.log(f"early stopping: no better validation accuracy for "
                         f"{self.early_stopping} epochs (best {self.history.best_val_acc:.4f} "
                         f"at epoch {self.history.best_epoch})")
                break
        return self.history

    def _end_epoch(self, losses, ratios, layers=None) -> None:
        self._check_weights()
        h = self.history
        train_acc = self.accuracy(self.model, self.train_eval_loader)[0]
        val_acc = self.accuracy(self.model, self.val_loader)[0] if self.val_loader else train_acc
        h.train_acc.append(train_acc)
        h.val_acc.append(val_acc)
        h.epoch_loss.append(float(np.mean(losses)) if losses else float("nan"))
        h.update_ratio.append(float(np.mean(ratios)) if ratios else float("nan"))
        for name, _ in self.named_params:
            # Earlier epochs of a parameter first seen now (cannot happen in one run) stay NaN.
            series = h.layer_ratio.setdefault(name, [float("nan")] * (len(h.update_ratio) - 1))
            values = (layers or {}).get(name)
            series.append(float(np.mean(values)) if values else float("nan"))
        h.lr.append(float(self.optimizer.param_groups[0]["lr"]))
        self.epoch += 1
        if val_acc > h.best_val_acc:
            h.best_val_acc, h.best_epoch = val_acc, self.epoch
            h.epochs_without_improvement = 0
            self.best_state = {k: v._data.copy() for k, v in self.model.state_dict().items()}
        else:
            h.epochs_without_improvement += 1
        if self.scheduler is not None:
            if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                self.scheduler.step(val_acc)
            else:
                self.scheduler.step()
        self.log(f"epoch {self.epoch}: loss {h.epoch_loss[-1]:.4f}  train acc {train_acc:.4f}  "
                 f"val acc {val_acc:.4f}  lr {h.lr[-1]:.3g}  update/weight "
                 f"{h.update_ratio[-1]:.1e}")
        if self.run_dir is not None:
            self.save()

    def _should_stop(self) -> bool:
        return (self.early_stopping is not None
                and self.history.epochs_without_improvement >= self.early_stopping)

    # --- checkpoints ---------------------------------------------------------------------
    def save(self) -> None:
        """Write a checkpoint of everything needed to continue bit-identically."""
        state = {
            "history": self.history.to_dict(),
            "rng": fovea.default_generator().bit_generator.state,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "config": self.config,
        }
        # Callbacks with a ``checkpoint_name`` (the EMA) keep their weights in the checkpoint.
        extra = {cb.checkpoint_name: cb.state_dict() for cb in self.callbacks
                 if hasattr(cb, "checkpoint_name")}
        save_checkpoint(self.run_dir, self.epoch, self.model, self.optimizer, self.best_state,
                        state, extra)

    def resume(self) -> None:
        """Load the latest checkpoint of ``run_dir`` and continue from its epoch."""
        ck = load_checkpoint(self.run_dir)
        st = ck["state"]
        try:
            self.model.load_state_dict(ck["model"])
        except ValueError as exc:
            raise ValueError(f"{ck['path']}: the checkpoint does not fit this model: {exc}") \
                from None
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.scheduler is not None and st.get("scheduler") is not None:
            self.scheduler.load_state_dict(st["scheduler"])
        fovea.default_generator().bit_generator.state = st["rng"]
        self.history = History.from_dict(st["history"])
        self.best_state = ck["best"]
        self.epoch = int(st["epoch"])
        for cb in self.callbacks:
            name = getattr(cb, "checkpoint_name", None)
            if name is not None and name in ck["extra"]:
                cb.load_state_dict(ck["extra"][name])
            elif name is not None:
                self.log(f"resume: {ck['path']} has no {name}.safetensors; {name} starts "
                         f"again from the current weights")

    _measure_ratio = True


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _len(loader) -> int:
    try:
        return len(loader)
    except TypeError:
        return 1

