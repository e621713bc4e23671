"""``fovea train --tensorboard``: what a run logs to ``RUN/tensorboard`` (a Trainer callback).

Per update (global step = updates so far): ``loss/train``; four times an epoch the
update-to-weight ratio ‖Δw‖/‖w‖ of each parameter, ``update_ratio/<name>`` (the lectures'
rule: about 1e-3). Per epoch: ``loss/epoch``, ``accuracy/train``, ``accuracy/val``,
``learning_rate``, histograms ``weights/<name>`` and ``gradients/<name>`` (of the epoch's last
batch), and ``predictions``: a grid of validation images titled with the predicted and
true class. At the end: the hyperparameters with the final accuracies (the HParams tab).
"""

from __future__ import annotations

import numpy as np

import fovea
from fovea.utils.tensorboard import SummaryWriter

SAMPLES = 16  # images in the sample-prediction grid


class TensorBoardLogger:
    """Logs a :class:`~fovea.train.trainer.Trainer`'s progress with a ``SummaryWriter``.

    Args:
        log_dir: where the event files go.
        images: (N, C, H, W) normalised images to show predictions for (the first
            :data:`SAMPLES` are used).
        labels: their (N,) labels.
        classes: class names.
        purge_step: on resume, the step to continue from (later events of the interrupted
            session are hidden).
    """

    def __init__(self, log_dir, images: np.ndarray, labels: np.ndarray, classes,
                 purge_step: int | None = None):
        self.writer = SummaryWriter(log_dir, purge_step=purge_step, flush_secs=30)
        self.images, self.labels = images[:SAMPLES], np.asarray(labels)[:SAMPLES]
        self.classes = list(classes)

    def on_step(self, trainer, loss: float) -> None:
        w, step = self.writer, trainer.step
        w.add_scalar("loss/train", loss, step)
        for name, ratio in trainer.last_ratios.items():
            w.add_scalar(f"update_ratio/{name}", ratio, step)

    def on_epoch_end(self, trainer) -> None:
        w, h, step = self.writer, trainer.history, trainer.step
        w.add_scalar("loss/epoch", h.epoch_loss[-1], step)
        w.add_scalar("accuracy/train", h.train_acc[-1], step)
        w.add_scalar("accuracy/val", h.val_acc[-1], step)
        w.add_scalar("learning_rate", h.lr[-1], step)
        for name, p in trainer.named_params:
            w.add_histogram(f"weights/{name}", p, step)
            if p.grad is not None and np.isfinite(p.grad.numpy()).all():
                w.add_histogram(f"gradients/{name}", p.grad, step)
        if len(self.images):
            w.add_figure("predictions", self.figure(trainer.model), step)
        w.flush()

    def figure(self, model):
        """A grid of the sample images, each titled "predicted (true)", red when wrong."""
        from fovea.train.report import _figure, _tile

        was_training = model.training
        model.eval()
        with fovea.no_grad():
            pred = model(fovea.tensor(self.images)).argmax(dim=1).numpy()
        model.train(was_training)
        plt = _figure()
        n = len(self.images)
        cols = min(8, n)
        rows = -(-n // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.4), squeeze=False)
        tiles = _tile(self.images)
        for k, ax in enumerate(axes.ravel()):
            ax.axis("off")
            if k < n:
                ax.imshow(tiles[k], cmap="gray" if tiles[k].ndim == 2 else None,
                          interpolation="nearest")
                ok = pred[k] == self.labels[k]
                ax.set_title(f"{self.classes[pred[k]]} ({self.classes[self.labels[k]]})",
                             fontsize=7, color="black" if ok else "red")
        fig.tight_layout()
        return fig

    def close(self, metrics: dict | None = None, cfg=None) -> None:
        """Record the hyperparameters with the final metrics (if given) and close."""
        if metrics is not None and cfg is not None:
            hp = {k: v for k, v in vars(cfg).items() if isinstance(v, bool | int | float | str)
                  and k not in ("progress", "tensorboard", "out", "num_workers")}
            scores = {"hparam/test_accuracy": metrics["test_accuracy"],
                      "hparam/val_accuracy": metrics["val_accuracy"]}
            self.writer.add_hparams(hp, {k: v for k, v in scores.items() if v is not None},
                                    run_name="hparams")
        self.writer.close()
