"""The lectures' training techniques as pieces of ``fovea train`` (``--ema``, ``--mixup``,
``--cutmix``, ``--drop-path``, ``--max-norm``, ``--snapshots``, ``--label-smoothing``).

Each is a small object that :func:`fovea.train.run.train` plugs in, so the run keeps its
directory, checkpoints and exact resume:

* :class:`EMA`: an exponential moving average of the weights (and batch-norm statistics),
  updated after every step with the decay warming up as min(decay, (1 + n) / (10 + n)); its
  weights are saved in each checkpoint and become the run's ``model.safetensors`` (Polyak
  averaging, Lecture 7).
* :class:`MixingLoader`: wraps the training loader and mixes each batch (MixUp / CutMix) with
  a generator derived from the seed, the epoch and the batch, so a resumed run repeats it.
* :func:`add_drop_path`: stochastic depth on every residual block of a model through forward
  hooks (the state-dict keys do not change), with the linear decay rule of Huang et al.:
  block l of L drops with probability p·l/L.
* :class:`MaxNorm`: the max-norm constraint after each step.
* :class:`Snapshots`: K cycles of cosine annealing with warm restarts (per step), saving the
  weights at the end of each cycle, ``RUN/snapshots/cycle-k.safetensors``: a snapshot
  ensemble from one run (Huang et al., 2017; ``fovea ensemble RUN --snapshots``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fovea.train.checkpoint import save_weights

__all__ = ["EMA", "MaxNorm", "MixingLoader", "Snapshots", "add_drop_path", "build_mixing",
           "loss_function",
           "residual_blocks", "snapshot_lr"]


class EMA:
    """Exponential moving average of a model's parameters and buffers, after every step.

    ``checkpoint_name`` makes the Trainer save ``state_dict()`` in each checkpoint as
    ``ema.safetensors`` and give it back to ``load_state_dict`` on resume.
    """

    checkpoint_name = "ema"

    def __init__(self, model, decay: float):
        from fovea.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        self.decay = float(decay)

        def warm_ema(averaged, current, n_averaged):
            # NOTE: the decay warms up as min(decay, (1 + n) / (10 + n)) (TensorFlow's and
            # timm's rule), so a short run is not dominated by its random initial weights.
            n = int(n_averaged._data)
            get_ema_multi_avg_fn(min(self.decay, (1 + n) / (10 + n)))(averaged, current, n)

        self.averaged = AveragedModel(model, multi_avg_fn=warm_ema, use_buffers=True)

    def on_step(self, trainer, loss) -> None:
        self.averaged.update_parameters(trainer.model)

    def state_dict(self) -> dict:
        # NOTE: np.asarray: AveragedModel's n_averaged counter holds a NumPy scalar after its
        # first update, which safetensors cannot write.
        return {k: np.asarray(v._data) for k, v in self.averaged.state_dict().items()}

    def load_state_dict(self, state: dict) -> None:
        self.averaged.load_state_dict(state)

    @property
    def model(self):
        """The averaged copy of the model (a plain module of the same architecture)."""
        return self.averaged.module


class MixingLoader:
    """A training loader whose batches go through ``mixing(x, y, rng)`` (soft labels out).

    The generator of batch b in epoch e is ``default_rng([seed, e, b, 7])``: independent of
    the loader's own streams and the same again after a resume.
    """

    def __init__(self, loader, mixing, seed: int):
        self.loader, self.mixing, self.seed, self.epoch = loader, mixing, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for b, (x, y) in enumerate(self.loader):
            yield self.mixing(x, y, np.random.default_rng([self.seed, self.epoch, b, 7]))


def build_mixing(mixup: float | None, cutmix: float | None, num_classes: int):
    """MixUp(α=mixup), CutMix(α=cutmix), or one of the two per batch when both are given."""
    from fovea.data.mixing import CutMix, MixUp, RandomMixing

    ts = ([MixUp(alpha=mixup, num_classes=num_classes)] if mixup else []) + \
         ([CutMix(alpha=cutmix, num_classes=num_classes)] if cutmix else [])
    if not ts:
        return None
    return ts[0] if len(ts) == 1 else RandomMixing(ts)


def residual_blocks(model) -> list:
    """The residual blocks of ``model``, in order: modules with a ``shortcut`` or
    ``downsample`` and a last batch norm ``bn2`` / ``bn3`` ending the residual branch (the
    CIFAR ResNets' and torchvision's BasicBlock and Bottleneck)."""
    blocks = []
    for m in model.modules():
        if not (hasattr(m, "shortcut") or hasattr(m, "downsample")):
            continue
        last = getattr(m, "bn3", None) or getattr(m, "bn2", None)
        if last is not None:
            blocks.append((m, last))
    return blocks


def add_drop_path(model, p: float, generator=None) -> list:
    """Stochastic depth on every residual block: block l of L (from 1) drops its residual
    branch per example with probability p·l/L (in training only). Hooks the branch's last
    batch norm, so the model and its state dict are unchanged. Returns the hook handles.

    Raises ValueError when the model has no residual blocks.
    """
    from fovea.nn.functional.stochastic import stochastic_depth

    blocks = residual_blocks(model)
    if not blocks:
        raise ValueError(f"train: --drop-path needs a model with residual blocks (a ResNet), "
                         f"got {type(model).__name__}")
    handles = []
    for i, (_, last) in enumerate(blocks, start=1):
        rate = p * i / len(blocks)

        def hook(module, inputs, out, rate=rate):
            return stochastic_depth(out, rate, "row", module.training, generator)

        handles.append(last.register_forward_hook(hook))
    return handles


class MaxNorm:
    """``nn.apply_max_norm_(model, c)`` after every step."""

    def __init__(self, max_norm: float):
        self.max_norm = float(max_norm)

    def on_step(self, trainer, loss) -> None:
        from fovea.nn.modules.regularisers import apply_max_norm_

        apply_max_norm_(trainer.model, self.max_norm)


def snapshot_lr(base_lr: float, step: int, steps_per_cycle: int) -> float:
    """Cosine annealing with warm restarts: base · (1 + cos(π · t / T)) / 2, t = step mod T."""
    t = step % steps_per_cycle
    return 0.5 * base_lr * (1.0 + math.cos(math.pi * t / steps_per_cycle))


class Snapshots:
    """K cosine cycles over the run, the learning rate set before every step; the weights at
    the end of each cycle go to ``RUN/snapshots/cycle-k.safetensors``."""

    def __init__(self, k: int, epochs: int, steps_per_epoch: int, base_lr: float, run_dir,
                 meta: dict):
        if epochs % k:
            raise ValueError(f"train: --snapshots {k} needs --epochs divisible by {k} (one "
                             f"cosine cycle per snapshot), got --epochs {epochs}")
        self.k, self.cycle_epochs = k, epochs // k
        self.steps_per_cycle = self.cycle_epochs * steps_per_epoch
        self.base_lr, self.run_dir, self.meta = base_lr, Path(run_dir), meta

    def set_lr(self, trainer) -> None:
        lr = snapshot_lr(self.base_lr, trainer.step, self.steps_per_cycle)
        for group in trainer.optimizer.param_groups:
            group["lr"] = lr

    def on_step(self, trainer, loss) -> None:
        self.set_lr(trainer)  # for the next step
        # NOTE: saved at the cycle's last step, before the epoch's checkpoint: a run stopped
        # in between redoes the epoch on resume and writes the snapshot again.
        if trainer.step % self.steps_per_cycle == 0:
            cycle = trainer.step // self.steps_per_cycle
            out = self.run_dir / "snapshots"
            out.mkdir(exist_ok=True)
            save_weights(trainer.model.state_dict(), out / f"cycle-{cycle}.safetensors",
                         metadata=dict(self.meta, epoch=cycle * self.cycle_epochs))


# --- plugging them into a run (fovea.train.run.train) -------------------------------------

def validate_options(cfg, bad, number, integer) -> None:
    """Check the techniques' options of a TrainConfig (``bad`` raises the one-line error)."""
    if cfg.ema is not None and not (number(cfg.ema) and 0 < cfg.ema < 1):
        bad("--ema", cfg.ema, "a decay in (0, 1), e.g. 0.999")
    for name in ("mixup", "cutmix"):
        v = getattr(cfg, name)
        if v is not None and not (number(v) and v > 0):
            bad(f"--{name}", v, "a positive alpha of the Beta(alpha, alpha) mixing weight")
    if cfg.drop_path is not None and not (number(cfg.drop_path) and 0 <= cfg.drop_path < 1):
        bad("--drop-path", cfg.drop_path, "a probability in [0, 1)")
    if cfg.max_norm is not None and not (number(cfg.max_norm) and cfg.max_norm > 0):
        bad("--max-norm", cfg.max_norm, "a positive bound on each unit's weight norm")
    if not (number(cfg.label_smoothing) and 0 <= cfg.label_smoothing < 1):
        bad("--label-smoothing", cfg.label_smoothing, "a number in [0, 1), e.g. 0.1")
    if cfg.snapshots is not None:
        if not (integer(cfg.snapshots) and cfg.snapshots >= 1):
            bad("--snapshots", cfg.snapshots, "an integer >= 1 (cosine cycles)")
        if integer(cfg.epochs) and cfg.epochs % cfg.snapshots:
            bad("--snapshots", cfg.snapshots, f"a divisor of --epochs {cfg.epochs} (one "
                "cosine cycle of equal length per snapshot)")


def wrap_loader(cfg, loader, num_classes: int):
    """The training loader, mixing batches when ``--mixup`` / ``--cutmix`` are given."""
    mixing = build_mixing(cfg.mixup, cfg.cutmix, num_classes)
    return loader if mixing is None else MixingLoader(loader, mixing, cfg.seed)


def callbacks(cfg, model, run_dir, steps_per_epoch: int) -> list:
    """The Trainer callbacks of the techniques that ``cfg`` turns on."""
    out = []
    if cfg.max_norm:
        out.append(MaxNorm(cfg.max_norm))
    if cfg.ema:  # after the constraint: it averages the constrained weights
        out.append(EMA(model, cfg.ema))
    if cfg.snapshots:
        out.append(Snapshots(cfg.snapshots, cfg.epochs, steps_per_epoch, cfg.lr, run_dir,
                             {"model": cfg.model, "dataset": cfg.dataset}))
    return out


def loss_function(cfg):
    """The training loss: cross-entropy, with ``--label-smoothing`` ε when it is > 0."""
    from functools import partial

    from fovea.nn.functional import cross_entropy

    eps = float(cfg.label_smoothing)
    return partial(cross_entropy, label_smoothing=eps) if eps else cross_entropy


def finish_ema(trainer, model, xs, data) -> dict:
    """With ``--ema``: put the averaged weights into ``model`` (the run's final weights) and
    return the metrics that compare them with the best raw weights; otherwise ``{}``."""
    ema = next((cb for cb in trainer.callbacks if isinstance(cb, EMA)), None)
    if ema is None:
        return {}
    from fovea.data import ArrayDataset, DataLoader
    from fovea.train.trainer import accuracy

    out = {"ema_decay": ema.decay}
    if len(data.y_val):
        val = DataLoader(ArrayDataset(xs[1], data.y_val), batch_size=256)
        out["ema_val_accuracy"] = accuracy(ema.model, val)[0]
    if len(data.y_test):
        test = DataLoader(ArrayDataset(xs[2], data.y_test), batch_size=256)
        out["best_raw_test_accuracy"] = accuracy(model, test)[0]
    model.load_state_dict(ema.model.state_dict())
    return out
