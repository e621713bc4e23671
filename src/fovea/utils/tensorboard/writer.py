"""``SummaryWriter``: PyTorch's TensorBoard writer, on tensorboardX, accepting fovea Tensors.

Every method has the signature of ``torch.utils.tensorboard.SummaryWriter``'s; tensors (fovea
Tensors, NumPy arrays, lists) are turned into NumPy arrays and handed to tensorboardX, which
writes the event files (protocol buffers, CRC-checked records) that TensorBoard reads.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import numpy as np

from fovea.errors import UserError

# Event files are named like PyTorch's (time, host, process, counter): two writers opened in
# the same second in one directory must not share (and clobber) one file.
_FILE_COUNTER = itertools.count()


class TensorBoardMissing(UserError, ImportError):
    """tensorboardX, the event-file writer, is not installed (an optional extra)."""


def require_tensorboardx():
    """The ``tensorboardX`` module, or :class:`TensorBoardMissing` with how to install it."""
    try:
        import tensorboardX
    except ImportError:
        raise TensorBoardMissing("TensorBoard logging needs the tensorboardX package: "
                                 "pip install 'fovea[tensorboard]' (or pip install "
                                 "tensorboardX)") from None
    return tensorboardX


def _np(value) -> np.ndarray:
    """A fovea Tensor, NumPy array, number or (nested) list as a NumPy array on the host."""
    from fovea.tensor import Tensor

    if isinstance(value, Tensor):
        return np.asarray(value.detach().numpy())
    if isinstance(value, list | tuple) and value and isinstance(value[0], Tensor):
        return np.stack([_np(v) for v in value])
    return np.asarray(value)


def _scalar(value, what: str) -> float:
    a = _np(value)
    if a.size != 1:
        raise ValueError(f"{what}: expected a scalar or a one-element tensor, got shape "
                         f"{tuple(a.shape)}")
    return float(a.reshape(()))


class SummaryWriter:
    """Writes TensorBoard event files to ``log_dir``, as ``torch.utils.tensorboard``'s does.

    Args:
        log_dir: the directory (default ``runs/<date>_<host><comment>``).
        comment: appended to the default ``log_dir`` (ignored when ``log_dir`` is given).
        purge_step: on resuming a crashed run, events with a step >= ``purge_step`` written
            before are hidden by TensorBoard.
        max_queue: events kept in memory before a write.
        flush_secs: seconds between automatic writes to disk.
        filename_suffix: appended to every event file name.
    """

    def __init__(self, log_dir: str | os.PathLike | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = ""):
        tbx = require_tensorboardx()
        suffix = f".{os.getpid()}.{next(_FILE_COUNTER)}{filename_suffix}"
        self._w = tbx.SummaryWriter(logdir=None if log_dir is None else os.fspath(log_dir),
                                    comment=comment, purge_step=purge_step,
                                    max_queue=max_queue, flush_secs=flush_secs,
                                    filename_suffix=suffix)
        self.log_dir = self._w.logdir
        self._args = dict(max_queue=max_queue, flush_secs=flush_secs)
        self._scalars_writers: dict[str, SummaryWriter] = {}  # add_scalars' runs

    def get_logdir(self) -> str:
        """The directory the event files are written to."""
        return self.log_dir

    # --- scalars -------------------------------------------------------------------------
    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """One value of the curve ``tag`` at ``global_step``."""
        # NOTE: tensorboardX writes the classic simple_value (float32) form, which TensorBoard
        # reads as a scalar; new_style / double_precision only change PyTorch's encoding.
        self._w.add_scalar(tag, _scalar(scalar_value, "add_scalar"), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """Several curves in one chart: as in PyTorch, each key is a run of its own, the
        directory ``<log_dir>/<main_tag>_<key>``, holding the scalar ``main_tag``."""
        values = {k: _scalar(v, "add_scalars") for k, v in tag_scalar_dict.items()}
        for key, value in values.items():
            logdir = os.path.join(self.log_dir, main_tag.replace("/", "_") + "_" + key)
            if logdir not in self._scalars_writers:
                self._scalars_writers[logdir] = SummaryWriter(logdir, **self._args)
            self._scalars_writers[logdir].add_scalar(main_tag, value, global_step, walltime)

    # --- distributions, images, text ------------------------------------------------------
    def add_histogram(self, tag: str, values, global_step: int | None = None,
                      bins: str = "tensorflow", walltime: float | None = None,
                      max_bins: int | None = None) -> None:
        """A histogram of ``values`` (any shape; flattened)."""
        a = _np(values).astype(np.float64).ravel()
        if a.size == 0:
            raise ValueError(f"add_histogram: {tag!r}: no values")
        if not np.isfinite(a).all():
            raise ValueError(f"add_histogram: {tag!r} has NaN or inf values")
        self._w.add_histogram(tag, a, global_step, bins, walltime, max_bins)

    def add_image(self, tag: str, img_tensor, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        """One image: floats in [0, 1] or uint8 in [0, 255], laid out as ``dataformats``
        (``CHW``, ``HWC``, ``HW``; C is 1, 3 or 4)."""
        self._w.add_image(tag, _np(img_tensor), global_step, walltime, dataformats)

    def add_images(self, tag: str, img_tensor, global_step: int | None = None,
                   walltime: float | None = None, dataformats: str = "NCHW") -> None:
        """A batch of images (``NCHW``, ``NHWC``, ...), shown as one grid."""
        self._w.add_images(tag, _np(img_tensor), global_step, walltime, dataformats)

    def add_figure(self, tag: str, figure, global_step: int | None = None, close: bool = True,
                   walltime: float | None = None) -> None:
        """A matplotlib figure (or a list of them), rendered to an image."""
        self._w.add_figure(tag, figure, global_step, close, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        """Text (Markdown) shown in TensorBoard's text tab."""
        self._w.add_text(tag, text_string, global_step, walltime)

    def add_pr_curve(self, tag: str, labels, predictions, global_step: int | None = None,
                     num_thresholds: int = 127, weights=None,
                     walltime: float | None = None) -> None:
        """A precision-recall curve: ``labels`` in {0, 1}, ``predictions`` in [0, 1]."""
        self._w.add_pr_curve(tag, _np(labels), _np(predictions), global_step, num_thresholds,
                             None if weights is None else _np(weights), walltime)

    # --- hyperparameters and embeddings ---------------------------------------------------
    def add_hparams(self, hparam_dict: dict, metric_dict: dict,
                    hparam_domain_discrete: dict | None = None, run_name: str | None = None,
                    global_step: int | None = None) -> None:
        """One session of the HParams dashboard: its hyperparameters and resulting metrics.

        As in PyTorch, they go to a subdirectory ``run_name`` (default: the current time) of
        ``log_dir``, with each metric also written as a scalar there.
        ``hparam_domain_discrete`` lists the possible values of some hyperparameters.
        """
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("add_hparams: hparam_dict and metric_dict must be dicts")
        from tensorboardX.summary import hparams

        hp = {k: self._hparam(k, v) for k, v in hparam_dict.items()}
        metrics = {k: _scalar(v, "add_hparams") for k, v in metric_dict.items()}
        exp, ssi, sei = hparams(hp, metrics)
        if hparam_domain_discrete:
            exp = _with_discrete_domains(exp, hparam_domain_discrete)
        logdir = os.path.join(self.log_dir, run_name or str(time.time()))
        with SummaryWriter(log_dir=logdir) as w:
            for summary in (exp, ssi, sei):
                w._w.file_writer.add_summary(summary, global_step)
            for k, v in metrics.items():
                w.add_scalar(k, v, global_step)

    @staticmethod
    def _hparam(name: str, value) -> Any:
        from fovea.tensor import Tensor

        if isinstance(value, Tensor | np.ndarray | np.generic):
            return _scalar(value, "add_hparams")
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise TypeError(f"add_hparams: hyperparameter {name!r} is a {type(value).__name__}; "
                        f"expected bool, int, float, str or a one-element tensor")

    def add_embedding(self, mat, metadata=None, label_img=None, global_step: int | None = None,
                      tag: str = "default", metadata_header=None) -> None:
        """Points ``mat`` (N, D) for the projector, with optional labels (``metadata``: N
        values, or N rows under ``metadata_header``) and thumbnails (``label_img``: N, C, H, W)."""
        m = _np(mat)
        if m.ndim != 2:
            raise ValueError(f"add_embedding: mat must be (N, D), got shape {tuple(m.shape)}")
        img = None if label_img is None else _np(label_img)
        self._w.add_embedding(m, metadata, img, global_step, tag, metadata_header)

    # --- lifetime ------------------------------------------------------------------------
    def flush(self) -> None:
        """Write every pending event to disk."""
        for w in self._scalars_writers.values():
            w.flush()
        for fw in (self._w.all_writers or {}).values():
            _drain(fw.event_writer)

    def close(self) -> None:
        """Flush and close the event files."""
        for w in self._scalars_writers.values():
            w.close()
        self._w.close()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _with_discrete_domains(exp, domains: dict):
    """The experiment summary of tensorboardX with each listed hyperparameter's values."""
    from tensorboardX.proto.plugin_hparams_pb2 import HParamsPluginData

    meta = exp.value[0].metadata.plugin_data
    data = HParamsPluginData.FromString(meta.content)
    for info in data.experiment.hparam_infos:
        values = domains.get(info.name)
        if values is None:
            continue
        if not isinstance(values, list | tuple):
            raise TypeError(f"add_hparams: hparam_domain_discrete[{info.name!r}] must be a list")
        info.domain_discrete.extend(values)
    meta.content = data.SerializeToString()
    return exp


def _drain(ev) -> None:
    """Write the events queued in a tensorboardX ``EventFileWriter``, then flush the file.

    tensorboardX's own ``flush`` flushes the file but not its queue, whose events a thread
    writes later; PyTorch's ``flush`` writes every pending event. Stopping the thread (it
    writes what was queued before its stop signal) and starting a new one on the same queue
    and file does that.
    """
    worker = getattr(ev, "_worker", None)
    if getattr(ev, "_closed", True) or worker is None:
        return
    worker.stop()
    ev._worker = type(worker)(ev._event_queue, ev._ev_writer, ev._flush_secs)
    ev._worker.start()
    ev._ev_writer.flush()
