"""Hyperparameter search: ``fovea tune`` (docs/tune.md). Optuna (the ``tune`` extra) runs the
study — samplers, pruners, storage; fovea provides the search-space file format, the
objective (a training run reporting validation accuracy per epoch) and the reports."""

from fovea.tune.space import Distribution, SearchSpace, load_space, parse_distribution

__all__ = ["Distribution", "SearchSpace", "load_space", "parse_distribution", "run_tune",
           "show", "refine"]


def run_tune(*args, **kwargs):
    """See :func:`fovea.tune.study.run_tune` (imported lazily: Optuna is optional)."""
    from fovea.tune.study import run_tune as _run

    return _run(*args, **kwargs)


def show(out, storage: str | None = None, study_name: str = "fovea") -> dict:
    """Rewrite and return the report of the study of ``out`` (``fovea tune --show DIR``)."""
    from pathlib import Path

    from fovea.tune.report import write_report
    from fovea.tune.study import default_storage, load_study

    out = Path(out)
    if storage is None and not (out / "study.db").is_file():
        raise FileNotFoundError(f"tune: {out} holds no study.db (pass --storage URL for a "
                                f"study stored elsewhere)")
    return write_report(load_study(storage or default_storage(out), study_name), out)


def refine(out, top: int = 5, storage: str | None = None, study_name: str = "fovea",
           margin: float = 0.5) -> str:
    """Coarse to fine (Lecture 6): a search-space TOML around the ``top`` best complete
    trials of a study. Each searched number gets the range its top trials span, widened by
    ``margin`` of that span (a log span for log-scale options); choices keep the values the
    top trials used; the fixed options of the first trial's run are kept."""
    import json
    import math

    from optuna.distributions import CategoricalDistribution, IntDistribution

    from fovea.tune.study import default_storage, load_study

    study = load_study(storage or default_storage(out), study_name)
    done = sorted((t for t in study.trials if t.state.name == "COMPLETE"),
                  key=lambda t: -t.value)[:top]
    if not done:
        raise ValueError(f"tune: the study in {out} has no complete trial to refine around")
    lines = [f"# refined around the {len(done)} best trials of {out}"]
    for k, v in study.user_attrs.get("fixed", {}).items():  # the space's fixed options
        lines.append(f"{k} = {json.dumps(v)}")
    for name, dist in done[0].distributions.items():
        vals = [t.params[name] for t in done if name in t.params]
        if isinstance(dist, CategoricalDistribution):
            items = ", ".join(str(v) for v in dict.fromkeys(vals))
            lines.append(f'{name} = "choice({items})"')
            continue
        log = bool(getattr(dist, "log", False))
        f = (lambda v: math.log10(v)) if log else (lambda v: v)
        g = (lambda v: 10 ** v) if log else (lambda v: v)
        lo, hi = f(min(vals)), f(max(vals))
        span = (hi - lo) or (abs(hi) * 0.5 if not log else 0.5) or 0.5
        lo = max(g(lo - margin * span), dist.low)
        hi = min(g(hi + margin * span), dist.high)
        if isinstance(dist, IntDistribution):
            lo, hi = int(math.floor(lo)), int(math.ceil(hi))
            hi = hi if hi > lo else lo + 1
            lines.append(f'{name} = "{"logint" if log else "int"}({lo}, {hi})"')
        else:
            lines.append(f'{name} = "{"loguniform" if log else "uniform"}({lo:.4g}, {hi:.4g})"')
    return "\n".join(lines) + "\n"
