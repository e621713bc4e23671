"""The runs on this machine: find run directories, summarise each, plot their curves together.

Used by ``fovea runs``. A run directory is one holding ``run.json``; its summary comes from
``run.json`` (configuration, status, progress, wall time), ``metrics.json`` (written when the
run completes) and, for the curves, the history saved in its latest checkpoint.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from fovea.train.checkpoint import atomic_write_bytes, read_latest

STATUSES = ("complete", "running", "interrupted", "failed")


def find_runs(root) -> list[Path]:
    """Every run directory under ``root`` (``root`` itself if it is one), hidden folders and
    checkpoints skipped."""
    root = Path(root)
    if (root / "run.json").is_file():
        return [root]
    found = []
    for here, dirs, files in os.walk(root):
        if "run.json" in files:
            found.append(Path(here))
            dirs[:] = []  # a run's own subfolders hold no runs
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "checkpoints")
    return found


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, TypeError, ValueError):
        return True  # exists but is not ours, or unknown: do not claim it died
    return True


def status_of(info: dict, metrics: dict | None) -> str:
    """complete / running / interrupted / failed; a "running" run whose process is gone
    (killed, machine restarted) is interrupted."""
    status = info.get("status")
    if status is None:  # a run written before statuses were recorded
        return "complete" if metrics is not None else "interrupted"
    if status == "running" and info.get("host") == socket.gethostname() \
            and not _alive(info.get("pid")):
        return "interrupted"
    return status


def summarize(run_dir) -> dict:
    """One run as a flat dict (the row of ``fovea runs`` and its ``--json``)."""
    run_dir = Path(run_dir)
    info = _read_json(run_dir / "run.json") or {}
    metrics = _read_json(run_dir / "metrics.json")
    if metrics is not None and info.get("status") not in (None, "complete"):
        metrics = None  # left by an earlier session; this one did not finish
    cfg = info.get("config", {})
    latest = read_latest(run_dir)
    done = (metrics or {}).get("epochs", info.get("epochs_done"))
    if done is None:
        done = int(latest.name.split("-")[1]) if latest is not None else 0
    best = (metrics or {}).get("val_accuracy", info.get("best_val_accuracy"))
    return {
        "run": str(run_dir),
        "status": status_of(info, metrics),
        "dataset": cfg.get("dataset"),
        "model": cfg.get("model"),
        "optimizer": cfg.get("optimizer"),
        "lr": cfg.get("lr"),
        "batch_size": cfg.get("batch_size"),
        "schedule": cfg.get("schedule"),
        "augment": cfg.get("augment"),
        "seed": cfg.get("seed"),
        "epochs_done": done,
        "epochs_planned": cfg.get("epochs"),
        "val_accuracy": None if best is None or best < 0 else best,
        "test_accuracy": (metrics or {}).get("test_accuracy"),
        "seconds": info.get("seconds", (metrics or {}).get("seconds")),
        "started": info.get("started"),
        "error": info.get("error"),
    }


# Sort keys of ``fovea runs --sort``: (the field, best first = descending).
SORT_KEYS = {"acc": ("test_accuracy", True), "val": ("val_accuracy", True),
             "time": ("seconds", False), "date": ("started", False), "name": ("run", False),
             "epochs": ("epochs_done", True), "status": ("status", False),
             "model": ("model", False), "dataset": ("dataset", False), "lr": ("lr", False)}


def sort_runs(rows: list[dict], key: str = "date", reverse: bool = False) -> list[dict]:
    """Rows ordered by ``key`` (see :data:`SORT_KEYS`); rows without the value come last."""
    if key not in SORT_KEYS:
        raise ValueError(f"runs: invalid --sort {key!r}: expected one of "
                         f"{', '.join(SORT_KEYS)}")
    field, descending = SORT_KEYS[key]
    have = [r for r in rows if r.get(field) is not None]
    missing = [r for r in rows if r.get(field) is None]
    have.sort(key=lambda r: (r[field], r["run"]), reverse=descending != reverse)
    return have + missing


def _fmt_seconds(s) -> str:
    if s is None:
        return "-"
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _fmt_acc(a) -> str:
    return "-" if a is None else f"{a:.4f}"


def format_table(rows: list[dict]) -> str:
    """The rows as an aligned text table."""
    head = ("RUN", "STATUS", "DATASET", "MODEL", "OPTIONS", "EPOCHS", "VAL", "TEST", "TIME",
            "STARTED")
    lines = [head]
    for r in rows:
        opts = f"{r['optimizer']} lr={r['lr']:g} bs={r['batch_size']} {r['schedule']}" \
            if r["lr"] is not None else "-"
        if r["augment"] not in (None, "none", ""):
            opts += f" aug={r['augment']}"
        lines.append((r["run"], r["status"], str(r["dataset"]), str(r["model"]), opts,
                      f"{r['epochs_done']}/{r['epochs_planned']}", _fmt_acc(r["val_accuracy"]),
                      _fmt_acc(r["test_accuracy"]), _fmt_seconds(r["seconds"]),
                      (r["started"] or "-")[:16].replace("T", " ")))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
                     for line in lines)


def load_history(run_dir) -> dict:
    """The per-epoch history of a run (from its latest checkpoint)."""
    run_dir = Path(run_dir)
    latest = read_latest(run_dir)
    if not (run_dir / "run.json").is_file():
        raise FileNotFoundError(f"{run_dir}: not a fovea run directory (no run.json)")
    if latest is None:
        raise FileNotFoundError(f"{run_dir}: no checkpoint yet, so no curves to compare")
    state = _read_json(latest / "state.json")
    if state is None or "history" not in state:
        raise ValueError(f"{latest / 'state.json'}: unreadable training state")
    return state["history"]


def plot_compare(run_dirs, path) -> Path:
    """Loss and accuracy per epoch of several runs in one figure (PNG at ``path``)."""
    import io

    import numpy as np

    from fovea.train.report import _figure, _integer_epochs

    histories = [(Path(d), load_history(d)) for d in run_dirs]
    names = _short_names([d for d, _ in histories])
    plt = _figure()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for k, (name, (_, h)) in enumerate(zip(names, histories)):
        color = f"C{k % 10}"
        ep = np.arange(1, len(h["epoch_loss"]) + 1)
        ax_loss.plot(ep, h["epoch_loss"], "o-", color=color, label=name, ms=3)
        ax_acc.plot(ep, h["val_acc"], "o-", color=color, label=f"{name} val", ms=3)
        ax_acc.plot(ep, h["train_acc"], "--", color=color, label=f"{name} train", lw=1)
    ax_loss.set(xlabel="epoch", ylabel="training loss (epoch mean)", yscale="log",
                title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy (solid: val, dashed: train)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        _integer_epochs(ax)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def _short_names(paths: list[Path]) -> list[str]:
    """The shortest trailing parts of the paths that tell them apart."""
    for depth in range(1, max(len(p.parts) for p in paths) + 1):
        names = ["/".join(p.parts[-depth:]) for p in paths]
        if len(set(names)) == len(names):
            return names
    return [str(p) for p in paths]
