"""Training, evaluating and using a captioning model: ``fovea caption train|evaluate|predict``.

A run directory holds ``run.json`` (configuration, vocabulary; ``fovea runs`` lists it),
``model.safetensors``, checkpoints after each epoch (atomic; ``--resume`` continues
exactly: each epoch's shuffle comes from its own seeded stream), ``metrics.json`` (BLEU-1..4
on the test split for greedy decoding and beam search), ``loss.png``, ``examples.png``
(test images with their generated captions) and, with attention, ``attention.png``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import fovea
from fovea.captioning.bleu import corpus_bleu_scores, require_nltk
from fovea.captioning.decode import beam_search, greedy
from fovea.captioning.model import CaptionModel, build_encoder, caption_loss
from fovea.data.shapes_captions import (
    CaptionData,
    CaptionVocab,
    load_coco_captions,
    load_shapes_captions,
)
from fovea.nn.utils import clip_grad_norm_
from fovea.train.checkpoint import (
    CheckpointError,
    atomic_write_text,
    load_checkpoint,
    load_model_weights,
    save_checkpoint,
    save_weights,
)
from fovea.train.run import RunStatus, _now  # run.json as fovea train keeps it
from fovea.train.trainer import _isatty


@dataclass
class CaptionConfig:
    """The options of ``fovea caption train`` (see its ``--help``)."""

    coco: str | None = None          # a COCO-style caption JSON; None: generated shapes
    images: str | None = None        # the folder of the COCO file's images
    n_train: int = 4000
    n_val: int = 300
    n_test: int = 500
    image_size: int = 32
    max_length: int = 16             # COCO files only (the shapes grammar sets its own)
    encoder: str = "small_cnn"
    freeze_encoder: bool = False
    attention: bool = False
    embed_dim: int = 64
    hidden_size: int = 256
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    grad_clip: float = 5.0
    beam_size: int = 3
    seed: int = 0
    out: str | None = None
    progress: bool = True

    @property
    def dataset(self) -> str:
        return "shapes" if self.coco is None else "coco-" + Path(self.coco).stem

    def validate(self) -> CaptionConfig:
        for name in ("n_train", "image_size", "max_length", "embed_dim", "hidden_size",
                     "epochs", "batch_size", "beam_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"caption train: --{name.replace('_', '-')} must be a positive "
                                 f"integer, got {v!r}")
        if self.coco is not None and self.images is None:
            raise ValueError("caption train: --coco needs --images (the folder of its images)")
        if not self.lr > 0:
            raise ValueError(f"caption train: --lr must be positive, got {self.lr}")
        return self


def load_data(cfg: CaptionConfig) -> CaptionData:
    if cfg.coco is None:
        return load_shapes_captions(cfg.n_train, cfg.n_val, cfg.n_test, cfg.image_size, cfg.seed)
    return load_coco_captions(cfg.coco, cfg.images, cfg.image_size, cfg.max_length,
                              seed=cfg.seed)


def build(cfg: CaptionConfig, vocab_size: int) -> CaptionModel:
    encoder = build_encoder(cfg.encoder, cfg.image_size)
    return CaptionModel(vocab_size, encoder, cfg.image_size, cfg.embed_dim, cfg.hidden_size,
                        cfg.attention, cfg.freeze_encoder)


def decode_split(model, images: np.ndarray, vocab: CaptionVocab, max_length: int,
                 beam_size: int | None = None, batch: int = 256, return_attention=False,
                 temperature: float | None = None, seed: int | None = None):
    """Captions (strings) of ``images`` (N, 3, S, S): greedy, beam search of ``beam_size``,
    or (``temperature``) words sampled from the softmax of scores / temperature, reproducible
    by ``seed``."""
    if temperature is not None and beam_size is not None:
        raise ValueError("caption: sampling (temperature) and beam search exclude each other")
    rng = np.random.default_rng(seed)
    texts, atts = [], []
    for i in range(0, len(images), batch):
        x = fovea.tensor(images[i:i + batch])
        if beam_size is None:
            ids, att = greedy(model, x, max_length, return_attention=True,
                              temperature=temperature, generator=rng)
        else:
            ids, att = beam_search(model, x, max_length, beam_size, return_attention=True)
        texts += [vocab.decode(r) for r in ids]
        atts.append(att)
    if return_attention:
        return texts, (np.concatenate(atts) if atts else np.zeros((0, max_length, 0)))
    return texts


def _config_from(info: dict) -> CaptionConfig:
    names = {f.name for f in fields(CaptionConfig)}
    return CaptionConfig(**{k: v for k, v in info["config"].items() if k in names})


def train(cfg: CaptionConfig, resume_dir=None, log=print) -> dict:
    """Train (or resume) a captioning model; returns the metrics (also metrics.json)."""
    t0 = time.perf_counter()
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        info = _read_info(run_dir)
        epochs = cfg.epochs
        cfg = _config_from(info)
        if epochs != CaptionConfig.epochs:  # given: a new end (not before what is done)
            done = int(info.get("epochs_done") or 0)
            if epochs < done:
                raise ValueError(f"caption train: --epochs {epochs} is fewer than the {done} "
                                 f"epochs {run_dir} has already done")
            cfg.epochs = epochs
        info["config"]["epochs"] = cfg.epochs
    cfg.validate()
    require_nltk()  # BLEU is computed every epoch: refuse before any work
    fovea.manual_seed(cfg.seed)
    data = load_data(cfg)
    vocab, max_length = data.vocab, data.max_length
    model = build(cfg, len(vocab))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = fovea.optim.Adam(params, lr=cfg.lr)
    history = {"loss": [], "epoch_loss": [], "val_bleu4": []}
    epoch = 0
    if resume_dir is not None:
        ck = load_checkpoint(run_dir)
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        epoch, history = ck["state"]["epoch"], ck["state"]["history"]
        fovea.set_rng_state(fovea.tensor(np.asarray(ck["state"]["rng"], dtype=np.uint8)))
        log(f"resuming {run_dir} at epoch {epoch} of {cfg.epochs}")
    else:
        run_dir = _new_run_dir(cfg)
        info = {"kind": "caption", "config": dict(asdict(cfg), dataset=cfg.dataset,
                                                  model=f"caption-{cfg.encoder}"
                                                  + ("-att" if cfg.attention else ""),
                                                  optimizer="adam"),
                "vocab": vocab.words, "max_length": max_length, "started": _now(),
                "seconds": 0.0}
    run_status = RunStatus(run_dir, info, t0)  # run.json's status and wall time

    def write_info(status, **extra):
        run_status.write(status, epochs_done=epoch, **extra)

    write_info("running")
    train_set = data.train
    n = len(train_set)
    show = cfg.progress and _isatty(sys.stderr)
    try:
        while epoch < cfg.epochs:
            rng = np.random.default_rng([cfg.seed, epoch])  # each epoch its own stream
            order = rng.permutation(n)
            # one of each image's reference captions, drawn per epoch
            picks = [refs[int(rng.integers(len(refs)))] for refs in train_set.references]
            caps = vocab.encode(picks, max_length)
            model.train()
            batches = range(0, n, cfg.batch_size)
            if show:
                from tqdm.auto import tqdm

                batches = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False)
            losses = []
            for i in batches:
                idx = order[i:i + cfg.batch_size]
                scores = model(fovea.tensor(train_set.images[idx]), fovea.tensor(caps[idx]))
                loss = caption_loss(scores, fovea.tensor(caps[idx]))
                optimizer.zero_grad()
                loss.backward()
                if cfg.grad_clip:
                    clip_grad_norm_(params, cfg.grad_clip)
                optimizer.step()
                value = float(loss.item())
                if not math.isfinite(value):
                    raise fovea.errors.UserError(f"caption train: the loss became {value}; try "
                                                 "a smaller --lr")
                losses.append(value)
            epoch += 1
            history["loss"] += losses
            history["epoch_loss"].append(float(np.mean(losses)))
            val = data.val
            bleu = corpus_bleu_scores(val.references, decode_split(
                model, val.images, vocab, max_length))["bleu4"] if len(val) else float("nan")
            history["val_bleu4"].append(bleu)
            log(f"epoch {epoch}/{cfg.epochs}: loss {history['epoch_loss'][-1]:.3f}, val "
                f"BLEU-4 (greedy) {bleu:.3f}")
            save_checkpoint(run_dir, epoch, model, optimizer, None,
                            {"history": history, "rng": fovea.get_rng_state().tolist()})
            write_info("running")
    except BaseException as exc:
        write_info("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                   error=f"{type(exc).__name__}: {exc}")
        raise
    save_weights(model.state_dict(), run_dir / "model.safetensors",
                 metadata={"model": info["config"]["model"], "dataset": cfg.dataset})
    metrics = _evaluate(model, data, cfg.beam_size, "test")
    metrics.update(epochs=epoch, final_loss=history["epoch_loss"][-1],
                   parameters=model.num_parameters(), model=info["config"]["model"],
                   dataset=cfg.dataset,
                   seconds=run_status.elapsed())
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    _report(model, data, history, run_dir, cfg)
    write_info("complete", test_bleu4=metrics["greedy"]["bleu4"])
    metrics["run_dir"] = str(run_dir)
    return metrics


def _evaluate(model, data: CaptionData, beam_size: int, split: str) -> dict:
    s = data.split(split)
    out = {"split": split, "images": len(s)}
    out["greedy"] = corpus_bleu_scores(s.references, decode_split(model, s.images, data.vocab,
                                                                  data.max_length))
    out["beam"] = corpus_bleu_scores(s.references, decode_split(
        model, s.images, data.vocab, data.max_length, beam_size=beam_size))
    out["beam_size"] = beam_size
    return out


def _read_info(run_dir: Path) -> dict:
    try:
        info = json.loads((Path(run_dir) / "run.json").read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"caption: {run_dir} is not a run directory ({exc})") from None
    if info.get("kind") != "caption":
        raise ValueError(f"caption: {run_dir} is not a run of `fovea caption train`")
    return info


def _new_run_dir(cfg: CaptionConfig) -> Path:
    from fovea.train.run import default_run_dir

    if cfg.out is None:
        return default_run_dir(SimpleNamespace(dataset=f"caption-{cfg.dataset}",
                                               model=cfg.encoder + ("-att" if cfg.attention
                                                                    else "")))
    out = Path(cfg.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"caption train: --out {out} already exists and is not empty; "
                              "choose a new directory or --resume it")
    out.mkdir(parents=True, exist_ok=True)
    return out


def load_run(run_dir):
    """(model with the run's final weights, vocabulary, max_length, config) of a run."""
    info = _read_info(Path(run_dir))
    cfg = _config_from(info)
    vocab = CaptionVocab(info["vocab"][len(CaptionVocab.SPECIAL):])
    model = build(cfg, len(vocab))
    load_model_weights(model, Path(run_dir) / "model.safetensors")
    model.eval()
    return model, vocab, int(info["max_length"]), cfg


def evaluate(run_dir, split: str = "test", beam_size: int | None = None) -> dict:
    """BLEU-1..4 on a split of the run's data set, greedy and beam search."""
    model, vocab, max_length, cfg = load_run(run_dir)
    data = load_data(cfg)
    data.vocab, data.max_length = vocab, max_length
    return _evaluate(model, data, beam_size or cfg.beam_size, split)


def predict(run_dir, image_paths, beam_size: int | None = None, attention_out=None,
            temperature: float | None = None, seed: int | None = None) -> list:
    """Captions of image files (resized to the run's image size): greedy, beam search, or
    sampled at ``temperature`` (reproducible by ``seed``)."""
    from PIL import Image

    model, vocab, max_length, cfg = load_run(run_dir)
    images = []
    for p in image_paths:
        if not Path(p).is_file():
            raise FileNotFoundError(f"caption predict: {p}: no such image file")
        with Image.open(p) as f:
            f = f.convert("RGB").resize((cfg.image_size, cfg.image_size))
            images.append(np.asarray(f, dtype=np.float32).transpose(2, 0, 1) / 255.0)
    x = np.stack(images)
    texts, att = decode_split(model, x, vocab, max_length, beam_size=beam_size,
                              return_attention=True, temperature=temperature, seed=seed)
    if attention_out is not None:
        if not cfg.attention:
            raise ValueError("caption predict: --attention-maps needs a model trained with "
                             "--attention")
        plot_attention(x[0], texts[0], att[0], model.feature_shape[1:], attention_out)
    return texts


def _report(model, data, history, run_dir, cfg) -> None:
    from fovea.train.report import plot_loss

    if history["loss"]:
        plot_loss(history["loss"], run_dir / "loss.png")
    test = data.test
    k = min(12, len(test))
    if not k:
        return
    texts, att = decode_split(model, test.images[:k], data.vocab, data.max_length,
                              return_attention=True)
    plot_examples(test.images[:k], texts, test.references[:k], run_dir / "examples.png")
    if cfg.attention:
        plot_attention(test.images[0], texts[0], att[0], model.feature_shape[1:],
                       run_dir / "attention.png")


def plot_examples(images, texts, references, path) -> None:
    """A grid of images titled with the generated caption (and the first reference)."""
    from fovea.train.report import _figure, _save

    plt = _figure()
    cols = min(4, len(images))
    rows = -(-len(images) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, text, refs in zip(axes.ravel(), images, texts, references):
        ax.imshow(np.clip(img.transpose(1, 2, 0), 0, 1), interpolation="nearest")
        ax.set_title(f"{_wrap(text)}\n(ref: {_wrap(refs[0])})", fontsize=7)
    _save(fig, path)


def _wrap(s: str, width: int = 34) -> str:
    words, lines, cur = s.split(), [], ""
    for w in words:
        if len(cur) + len(w) + 1 > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return "\n".join(lines + [cur])


def plot_attention(image, text, att, grid, path) -> None:
    """The image once per generated word, overlaid with that word's attention map."""
    from fovea.train.report import _figure, _save

    plt = _figure()
    words = text.split() + ["<END>"]
    n = min(len(words), att.shape[0])
    fig, axes = plt.subplots(1, n + 1, figsize=(2.0 * (n + 1), 2.3), squeeze=False)
    img = np.clip(image.transpose(1, 2, 0), 0, 1)
    axes[0, 0].imshow(img, interpolation="nearest")
    axes[0, 0].set_title("image", fontsize=8)
    for j in range(n):
        ax = axes[0, j + 1]
        ax.imshow(img, interpolation="nearest")
        a = att[j].reshape(grid)
        ax.imshow(a, cmap="gray", alpha=0.6, extent=(-0.5, img.shape[1] - 0.5,
                                                     img.shape[0] - 0.5, -0.5),
                  interpolation="bilinear")
        ax.set_title(words[j], fontsize=8)
    for ax in axes.ravel():
        ax.axis("off")
    _save(fig, path)
