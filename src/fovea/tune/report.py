"""Reports of a ``fovea tune`` study: the best trials as a table (``best_trials.md``), the
lecture's figure — learning rate × regularisation strength, each trial a point coloured by
its validation accuracy (``lr_vs_reg.png``) — and a parallel-coordinates plot of every
searched option against the accuracy (``parallel.png``)."""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["best_table", "parallel_plot", "scatter_plot", "summary", "write_report"]

# The regularisation axis of the lecture's figure: the first of these the study searched.
REG_NAMES = ("weight_decay", "mixup", "cutmix", "drop_path", "max_norm", "ema")


def _finished(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def _score(t) -> float:
    """A trial's validation accuracy: its value, or for a pruned one its last report."""
    if t.value is not None:
        return float(t.value)
    return float(max(t.intermediate_values.values())) if t.intermediate_values else math.nan


def summary(study) -> dict:
    """Counts by state and the finished trials, best first, as plain dicts."""
    from optuna.trial import TrialState

    counts = {s.name.lower(): 0 for s in TrialState}
    for t in study.get_trials(deepcopy=False):
        counts[t.state.name.lower()] += 1
    rows = []
    for t in _finished(study):
        rows.append({"number": t.number, "state": t.state.name.lower(), "val_accuracy": _score(t),
                     "test_accuracy": t.user_attrs.get("test_accuracy"),
                     "epochs": max(t.intermediate_values) if t.intermediate_values else 0,
                     "params": dict(t.params), "run_dir": t.user_attrs.get("run_dir")})
    rows.sort(key=lambda r: (r["state"] != "complete", -_nan0(r["val_accuracy"])))
    return {"counts": counts, "trials": rows,
            "best": rows[0] if rows and rows[0]["state"] == "complete" else None}


def _nan0(v) -> float:
    return -1.0 if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def best_table(s: dict, top: int = 10) -> str:
    """A Markdown table of the ``top`` finished trials, completed ones first."""
    names = sorted({k for r in s["trials"] for k in r["params"]})
    head = ["trial", "state", "val acc", "test acc", "epochs", *names, "run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in s["trials"][:top]:
        test = "" if r["test_accuracy"] is None else f"{r['test_accuracy']:.4f}"
        cells = [str(r["number"]), r["state"], f"{r['val_accuracy']:.4f}", test,
                 str(r["epochs"]), *(_fmt(r["params"].get(n, "")) for n in names),
                 str(r["run_dir"] or "")]
        lines.append("| " + " | ".join(cells) + " |")
    c = s["counts"]
    lines.append("")
    lines.append(f"{c['complete']} complete, {c['pruned']} pruned, {c['running']} running, "
                 f"{c['fail']} failed")
    return "\n".join(lines)


def _numeric_axis(study, name: str):
    """(values per finished trial or None, log scale?, tick labels for a categorical)."""
    from optuna.distributions import CategoricalDistribution

    trials = [t for t in _finished(study) if name in t.params]
    dist = trials[0].distributions[name] if trials else None
    if isinstance(dist, CategoricalDistribution):
        choices = list(dist.choices)
        return [choices.index(t.params[name]) for t in trials], False, [str(c) for c in choices]
    return [t.params[name] for t in trials], bool(getattr(dist, "log", False)), None


def scatter_plot(study, path, x: str = "lr", y: str | None = None):
    """The lecture's figure: ``x`` (lr) against ``y`` (the regularisation searched), each
    trial coloured by validation accuracy; pruned trials hollow. Returns the path, or None
    when the study did not search both."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = _finished(study)
    searched = {k for t in trials for k in t.params}
    y = y or next((n for n in REG_NAMES if n in searched), None)
    if x not in searched or y is None or y not in searched:
        return None
    pts = [t for t in trials if x in t.params and y in t.params]
    xs, xlog, _ = _numeric_axis(study, x)
    ys, ylog, _ = _numeric_axis(study, y)
    xs = [t.params[x] for t in pts]
    ys = [t.params[y] for t in pts]
    acc = [_score(t) for t in pts]
    done = [t.state.name == "COMPLETE" for t in pts]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    lo, hi = min(acc), max(acc)
    norm = matplotlib.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1e-9)
    full = [i for i, d in enumerate(done) if d]
    cut = [i for i, d in enumerate(done) if not d]
    sc = ax.scatter([xs[i] for i in full], [ys[i] for i in full], c=[acc[i] for i in full],
                    cmap="viridis", norm=norm, s=50, edgecolors="k", label="complete")
    if cut:
        cmap = matplotlib.colormaps["viridis"]
        ax.scatter([xs[i] for i in cut], [ys[i] for i in cut], facecolors="none", s=50,
                   edgecolors=[cmap(norm(acc[i])) for i in cut], label="pruned")
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    fig.colorbar(sc, ax=ax, label="validation accuracy")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{len(pts)} trials: {x} × {y}")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def parallel_plot(study, path):
    """Parallel coordinates: one vertical axis per searched option (log where searched on a
    log scale, categories spread evenly) and one for the validation accuracy; each finished
    trial a line coloured by its accuracy. Returns the path, or None without trials."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = _finished(study)
    names = sorted({k for t in trials for k in t.params})
    if not trials or not names:
        return None
    cols, labels, names_of = [], [], []  # names_of: a categorical's choices, by index
    for n in names:
        from optuna.distributions import CategoricalDistribution

        dist = next(t.distributions[n] for t in trials if n in t.params)
        vals = []
        for t in trials:
            v = t.params.get(n)
            if v is None:
                vals.append(math.nan)
            elif isinstance(dist, CategoricalDistribution):
                vals.append(float(list(dist.choices).index(v)))
            else:
                vals.append(math.log10(v) if getattr(dist, "log", False) else float(v))
        cols.append(vals)
        labels.append(f"log10 {n}" if getattr(dist, "log", False) else n)
        names_of.append(list(dist.choices) if isinstance(dist, CategoricalDistribution)
                        else None)
    acc = [_score(t) for t in trials]
    cols.append(acc)
    labels.append("val accuracy")
    names_of.append(None)
    scaled = []
    for c in cols:
        finite = [v for v in c if not math.isnan(v)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        scaled.append([(v - lo) / (hi - lo) if hi > lo else 0.5 for v in c])
    fig, ax = plt.subplots(figsize=(1.6 * len(cols) + 2, 4.5))
    lo, hi = min(acc), max(acc)
    norm = matplotlib.colors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1e-9)
    cmap = matplotlib.colormaps["viridis"]
    for i in sorted(range(len(trials)), key=lambda i: acc[i]):  # best drawn last, on top
        ax.plot(range(len(cols)), [c[i] for c in scaled], color=cmap(norm(acc[i])), alpha=0.8,
                lw=1.5 if trials[i].state.name == "COMPLETE" else 0.8,
                ls="-" if trials[i].state.name == "COMPLETE" else ":")
    for j, c in enumerate(cols):
        finite = [v for v in c if not math.isnan(v)]
        ax.axvline(j, color="0.6", lw=0.8)
        if finite:
            lo_v, hi_v = min(finite), max(finite)
            show = (lambda v, j=j: str(names_of[j][int(v)])) if names_of[j] else \
                (lambda v: f"{v:.3g}")
            ax.text(j, -0.06, show(lo_v), ha="center", va="top", fontsize=7)
            ax.text(j, 1.06, show(hi_v), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(cols)), labels, rotation=20, fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.15, 1.15)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax,
                 label="validation accuracy")
    ax.set_title(f"{len(trials)} trials (dotted: pruned)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def write_report(study, out) -> dict:
    """Write ``best_trials.md``, ``lr_vs_reg.png`` and ``parallel.png`` into ``out``; returns
    :func:`summary` with the paths written under ``files``."""
    from fovea.train.checkpoint import atomic_write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = summary(study)
    table = best_table(s)
    atomic_write_text(out / "best_trials.md", table + "\n")
    files = [out / "best_trials.md"]
    for p in (scatter_plot(study, out / "lr_vs_reg.png"),
              parallel_plot(study, out / "parallel.png")):
        if p is not None:
            files.append(p)
    s["table"], s["files"] = table, [str(f) for f in files]
    return s
