"""Training a character-level language model: truncated BPTT over parallel streams.

The training text is cut into ``batch_size`` contiguous streams read side by side; each
step takes the next ``seq_len`` characters of every stream, carries the recurrent state
over from the previous window (detached: truncated backpropagation through time) and
predicts every next character. Every ``eval_every`` steps the held-out text is scored in
bits per character, a sample is drawn and a checkpoint is written (atomically, as
``fovea train`` does); the state restarts from zero there, so that ``--resume`` computes
exactly what an uninterrupted run does. The run directory holds ``run.json`` (so
``fovea runs`` lists it), ``model.safetensors``, ``metrics.json`` (held-out bits per
character of the model and of the unigram, bigram and trigram baselines), ``loss.png``,
``bpc.png`` and ``samples.txt``.
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
import fovea.nn.functional as F
from fovea.lm.corpus import CharVocab, load_text, split_text, stdlib_corpus
from fovea.lm.model import CELLS, CharLM
from fovea.lm.ngram import NGramModel
from fovea.nn.utils import clip_grad_norm_
from fovea.nn.utils.bptt import detach_state
from fovea.train.checkpoint import (
    CheckpointError,
    atomic_write_text,
    load_checkpoint,
    read_latest,
    save_checkpoint,
    save_weights,
)
from fovea.train.run import RunStatus, _now  # run.json as fovea train keeps it
from fovea.train.trainer import _isatty


@dataclass
class LMConfig:
    """The options of ``fovea lm train`` (see its ``--help``)."""

    text: str | None = None          # a text file; None: Python's standard library sources
    max_chars: int | None = 3_000_000
    val_fraction: float = 0.05
    cell: str = "lstm"
    hidden_size: int = 256
    num_layers: int = 2
    embedding_dim: int = 64
    dropout: float = 0.0
    seq_len: int = 64
    batch_size: int = 32
    steps: int = 2000
    lr: float = 2e-3
    grad_clip: float = 5.0
    eval_every: int = 200
    sample_chars: int = 200
    seed: int = 0
    out: str | None = None
    progress: bool = True

    def validate(self) -> LMConfig:
        positive = ("hidden_size", "num_layers", "embedding_dim", "seq_len", "batch_size",
                    "steps", "eval_every")
        for name in positive:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"lm train: --{name.replace('_', '-')} must be a positive "
                                 f"integer, got {v!r}")
        if self.cell not in CELLS:
            raise ValueError(f"lm train: --cell must be one of {sorted(CELLS)}, got {self.cell!r}")
        if not self.lr > 0:
            raise ValueError(f"lm train: --lr must be positive, got {self.lr}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"lm train: --dropout must be in [0, 1), got {self.dropout}")
        return self

    @property
    def dataset(self) -> str:
        return "stdlib" if self.text is None else "text-" + Path(self.text).name


def load_corpus(cfg: LMConfig) -> str:
    if cfg.text is None:
        return stdlib_corpus(cfg.max_chars)
    return load_text(cfg.text, cfg.max_chars)


def held_out_text(info: dict) -> str:
    """The held-out text of a run, rebuilt from its configuration (``run.json``)."""
    cfg = LMConfig(**{k: v for k, v in info["config"].items()
                      if k in {f.name for f in fields(LMConfig)}})
    return split_text(load_corpus(cfg), cfg.val_fraction)[1]


def streams(ids: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets), each (batch, L): ``batch`` contiguous pieces of ``ids``, targets
    shifted by one character."""
    L = (len(ids) - 1) // batch
    if L < 1:
        raise ValueError(f"lm: {len(ids)} characters cannot fill {batch} streams; use a "
                         f"longer text or a smaller --batch-size")
    return ids[:batch * L].reshape(batch, L), ids[1:batch * L + 1].reshape(batch, L)


def bits_per_char(model: CharLM, ids: np.ndarray, streams_n: int = 8,
                  window: int = 256) -> float:
    """Held-out bits per character: −log₂ P of every next character, the text read as
    ``streams_n`` contiguous streams with the state carried across windows."""
    x, y = streams(ids, min(streams_n, max(1, (len(ids) - 1) // 2)))
    was = model.training
    model.eval()
    total, count, state = 0.0, 0, None
    with fovea.no_grad():
        for p in range(0, x.shape[1], window):
            xs = fovea.tensor(np.ascontiguousarray(x[:, p:p + window].T))
            ys = fovea.tensor(np.ascontiguousarray(y[:, p:p + window].T))
            logits, state = model(xs, state)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1),
                                   reduction="sum")
            total += float(loss.item())
            count += ys.numel()
    model.train(was)
    return total / count / math.log(2)


def sample(model: CharLM, vocab: CharVocab, n: int, prime: str = "\n",
           temperature: float = 1.0, top_k: int | None = None,
           generator: np.random.Generator | None = None) -> str:
    """``n`` characters drawn one at a time after ``prime`` (fed back into the model).

    ``temperature`` divides the scores (lower: more conservative); ``top_k`` keeps only the
    k most likely characters. Characters of ``prime`` the model never saw are an error.
    """
    if not temperature > 0:
        raise ValueError(f"lm sample: --temperature must be positive, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"lm sample: --top-k must be a positive integer, got {top_k}")
    if not prime:
        raise ValueError("lm sample: --prime must hold at least one character")
    rng = generator if generator is not None else np.random.default_rng()
    ids = vocab.encode(prime, strict=True, what="--prime")
    was = model.training
    model.eval()
    out = []
    with fovea.no_grad():
        logits, state = model(fovea.tensor(ids.reshape(-1, 1)))
        for _ in range(n):
            z = logits[-1, 0].numpy().astype(np.float64) / temperature
            z[vocab.unk] = -np.inf  # never emit <unk>
            if top_k is not None and top_k < len(z):
                z[np.argsort(z)[:-top_k]] = -np.inf
            p = np.exp(z - z.max())
            c = int(rng.choice(len(p), p=p / p.sum()))
            out.append(c)
            logits, state = model(fovea.tensor(np.array([[c]], dtype=np.int64)), state)
    model.train(was)
    return vocab.decode(out)


def _new_run_dir(cfg: LMConfig) -> Path:
    from fovea.train.run import default_run_dir

    if cfg.out is None:
        return default_run_dir(SimpleNamespace(dataset=f"lm-{cfg.dataset}",
                                               model=f"char{cfg.cell}"))
    out = Path(cfg.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"lm train: --out {out} already exists and is not empty; "
                              "choose a new directory or --resume it")
    out.mkdir(parents=True, exist_ok=True)
    return out


def train(cfg: LMConfig, resume_dir=None, log=print) -> dict:
    """Train (or resume) a character-level model; returns the metrics (also metrics.json)."""
    t0 = time.perf_counter()
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        try:
            info = json.loads((run_dir / "run.json").read_text())
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{run_dir}: not a fovea lm run ({exc})") from None
        steps = cfg.steps
        cfg = LMConfig(**{k: v for k, v in info["config"].items()
                          if k in {f.name for f in fields(LMConfig)}})
        if steps != LMConfig.steps:  # given: a new end (not before what is done)
            done = int(info.get("epochs_done") or 0)
            if steps < done:
                raise ValueError(f"lm train: --steps {steps} is fewer than the {done} steps "
                                 f"{run_dir} has already done")
            cfg.steps = steps
        info["config"]["steps"] = info["config"]["epochs"] = cfg.steps
    cfg.validate()
    fovea.manual_seed(cfg.seed)
    text = load_corpus(cfg)
    train_text, val_text = split_text(text, cfg.val_fraction)
    vocab = CharVocab.from_text(train_text)
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    x, y = streams(train_ids, cfg.batch_size)
    model = CharLM(len(vocab), cfg.hidden_size, cfg.num_layers, cfg.cell, cfg.embedding_dim,
                   cfg.dropout)
    optimizer = fovea.optim.Adam(model.parameters(), lr=cfg.lr)
    history = {"loss": [], "eval_steps": [], "val_bpc": [], "samples": []}
    step, pos, state = 0, 0, None
    if resume_dir is not None:
        ck = load_checkpoint(run_dir)
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        saved = ck["state"]
        step, pos, history = saved["step"], saved["pos"], saved["history"]
        fovea.set_rng_state(fovea.tensor(np.asarray(saved["rng"], dtype=np.uint8)))
        log(f"resuming {run_dir} at step {step} of {cfg.steps}")
    else:
        run_dir = _new_run_dir(cfg)
        # dataset, model, optimizer and epochs (= steps) are for `fovea runs`' table
        info = {"kind": "lm", "config": dict(asdict(cfg), dataset=cfg.dataset,
                                             model=f"char{cfg.cell}", optimizer="adam",
                                             epochs=cfg.steps),
                "vocab": vocab.chars, "started": _now(), "seconds": 0.0,
                "train_chars": len(train_text), "val_chars": len(val_text)}
    run_status = RunStatus(run_dir, info, t0)  # run.json's status and wall time

    def write_info(status, **extra):
        run_status.write(status, epochs_done=step, **extra)

    write_info("running")
    bar = None
    if cfg.progress and _isatty(sys.stderr):
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=step, desc="lm train", leave=False)
    try:
        model.train()
        while step < cfg.steps:
            if pos + cfg.seq_len > x.shape[1]:
                pos, state = 0, None  # back to the streams' beginnings: fresh state
            xs = fovea.tensor(np.ascontiguousarray(x[:, pos:pos + cfg.seq_len].T))
            ys = fovea.tensor(np.ascontiguousarray(y[:, pos:pos + cfg.seq_len].T))
            logits, state = model(xs, detach_state(state))
            loss = F.cross_entropy(logits.reshape(-1, len(vocab)), ys.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            if cfg.grad_clip:
                clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            value = float(loss.item())
            if not math.isfinite(value):
                raise fovea.errors.UserError(f"lm train: the loss became {value} at step "
                                             f"{step + 1}; try a smaller --lr")
            history["loss"].append(value)
            step, pos = step + 1, pos + cfg.seq_len
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.3f}")
            if step % cfg.eval_every == 0 or step == cfg.steps:
                bpc = bits_per_char(model, val_ids)
                text_sample = sample(model, vocab, cfg.sample_chars, prime="\n",
                                     temperature=0.8,
                                     generator=np.random.default_rng([cfg.seed, step]))
                history["eval_steps"].append(step)
                history["val_bpc"].append(bpc)
                history["samples"].append(text_sample)
                log(f"step {step}/{cfg.steps}: train loss {value:.3f} nats, held-out "
                    f"{bpc:.3f} bits/char")
                save_checkpoint(run_dir, step, model, optimizer, None,
                                {"step": step, "pos": pos, "history": history,
                                 "rng": fovea.get_rng_state().tolist()})
                state = None  # a resumed run starts here with a fresh state too: exact resume
                write_info("running")
    except BaseException as exc:
        if bar is not None:
            bar.close()
        write_info("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                   error=f"{type(exc).__name__}: {exc}")
        raise
    if bar is not None:
        bar.close()
    metrics = _finish(cfg, model, vocab, train_ids, val_ids, history, run_dir, info, step)
    metrics["seconds"] = run_status.elapsed()
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    write_info("complete", val_bpc=metrics["val_bpc"])
    metrics["run_dir"] = str(run_dir)
    return metrics


def _finish(cfg, model, vocab, train_ids, val_ids, history, run_dir, info, step) -> dict:
    """Save the weights, score the n-gram baselines on the same held-out text, write the
    report (loss and bits-per-character curves, samples over training)."""
    from fovea.train.report import plot_loss

    save_weights(model.state_dict(), run_dir / "model.safetensors",
                 metadata={"model": f"char{cfg.cell}", "dataset": cfg.dataset})
    baselines = {}
    for n, name in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
        ng = NGramModel(n, len(vocab)).fit(train_ids)
        # every held-out character after the first n-1 (the model's targets, to a character)
        baselines[f"{name}_bpc"] = ng.bits_per_char(val_ids)
        baselines[f"{name}_k"] = ng.k
    metrics = {"val_bpc": history["val_bpc"][-1] if history["val_bpc"] else None,
               "best_val_bpc": min(history["val_bpc"]) if history["val_bpc"] else None,
               **baselines,
               "steps": step, "final_train_loss": history["loss"][-1] if history["loss"]
               else None, "parameters": model.num_parameters(), "vocab_size": len(vocab),
               "train_chars": int(len(train_ids)), "val_chars": int(len(val_ids)),
               "model": f"char{cfg.cell}", "dataset": cfg.dataset}
    if history["loss"]:
        plot_loss(history["loss"], run_dir / "loss.png")
    _plot_bpc(history, metrics, run_dir / "bpc.png")
    atomic_write_text(run_dir / "samples.txt", "".join(
        f"=== step {s} (held-out {b:.3f} bits/char) ===\n{t}\n\n"
        for s, b, t in zip(history["eval_steps"], history["val_bpc"], history["samples"])))
    return metrics


def _plot_bpc(history, metrics, path) -> None:
    from fovea.train.report import _figure, _save

    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history["eval_steps"], history["val_bpc"], "o-", label=f"char{metrics['model'][4:]}")
    for name, style in (("bigram", "--"), ("trigram", ":")):
        ax.axhline(metrics[f"{name}_bpc"], ls=style, color="gray", label=f"{name} baseline")
    ax.set_xlabel("step")
    ax.set_ylabel("held-out bits per character")
    ax.legend()
    ax.set_title("Held-out bits per character")
    _save(fig, path)


def load_lm(run_dir) -> tuple[CharLM, CharVocab, dict]:
    """The trained model, its vocabulary and run.json of an ``fovea lm train`` run."""
    run_dir = Path(run_dir)
    try:
        info = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(f"lm: {run_dir} is not an lm run directory ({exc})") from None
    if info.get("kind") != "lm":
        raise ValueError(f"lm: {run_dir} is not a run of `fovea lm train`")
    cfg = info["config"]
    vocab = CharVocab(info["vocab"])
    model = CharLM(len(vocab), cfg["hidden_size"], cfg["num_layers"], cfg["cell"],
                   cfg["embedding_dim"], cfg["dropout"])
    from fovea.train.checkpoint import load_model_weights

    weights = run_dir / "model.safetensors"
    if weights.is_file():
        load_model_weights(model, weights)
    else:
        latest = read_latest(run_dir)
        if latest is None:
            raise CheckpointError(f"lm: {run_dir} has no weights yet (no model.safetensors, no "
                                  "checkpoint)")
        load_model_weights(model, latest / "model.safetensors")
    model.eval()
    return model, vocab, info
