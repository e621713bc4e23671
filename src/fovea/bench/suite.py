"""The benchmark suite: fovea and PyTorch side by side on the cases of :mod:`.cases`."""

from __future__ import annotations

import datetime
import gc
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fovea.bench import cases as C
from fovea.bench import memory, timing


@dataclass
class Config:
    """What to run. ``repeats`` is the number of interleaved rounds per case."""

    quick: bool = False
    repeats: int = 15
    threads: int = 0                 # 0: every CPU this process may use
    only: str | None = None
    models_only: bool = False
    layers_only: bool = False
    use_torch: bool = True
    memory: bool = True
    budget_s: float = 60.0           # per case: stop adding rounds after this long
    command: str = "fovea bench"

    def validate(self) -> None:
        if self.repeats < 3:
            raise ValueError(f"bench: --repeats must be >= 3 (medians of fewer runs are "
                             f"meaningless), got {self.repeats}")
        if self.threads < 0:
            raise ValueError(f"bench: --threads must be >= 1 (or 0 for all CPUs), got "
                             f"{self.threads}")
        if self.models_only and self.layers_only:
            raise ValueError("bench: --models-only and --layers-only exclude each other")


def import_torch():
    """PyTorch if installed, else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def environment(cfg: Config, torch) -> dict:
    blas = [b for b in timing.blas_info() if b["internal_api"] in ("openblas", "mkl", "blis")]
    blas_s = ", ".join(f"{b['internal_api']} {b['version']}" for b in blas) or "unknown BLAS"
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": timing.cpu_model(),
        "cpus": timing.default_threads(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_s,
        "torch": None if torch is None else torch.__version__,
        "load_before": timing.load_average(),
    }


def _summary(times: list[float], flops: float, peak: float) -> dict:
    s = timing.summarize(times)
    out = {"median_ms": s["median"] * 1e3, "q1_ms": s["q1"] * 1e3, "q3_ms": s["q3"] * 1e3,
           "min_ms": s["min"] * 1e3, "samples": s["n"]}
    if flops:
        out["gflops"] = flops / s["median"] / 1e9
        out["pct_peak"] = 100.0 * out["gflops"] / peak
    return out


def _loss_value(v) -> float | None:
    try:
        return float(v.item())
    except (AttributeError, ValueError, RuntimeError):
        return None


def run_case(case: C.Case, cfg: Config, torch, peak: float) -> dict:
    """Build, check and time one case for fovea (and PyTorch); returns its result record."""
    frameworks = ["fovea"] + (["torch"] if torch is not None else [])
    fns, flops = {}, 0.0
    for fw in frameworks:
        fns[fw], flops = case.make(fw, cfg.quick)
    record = {"name": case.name, "group": case.group, "mode": case.mode,
              "description": case.describe(cfg.quick), "flops": flops}
    # First calls: warm-up, and for training steps the losses, which must agree.
    first = {fw: fn() for fw, fn in fns.items()}
    if case.group == "model" and torch is not None:
        lf, lt = _loss_value(first["fovea"]), _loss_value(first["torch"])
        record["loss"] = {"fovea": lf, "torch": lt}
        record["loss_abs_diff"] = None if lf is None or lt is None else abs(lf - lt)
    inner = 1
    if case.group == "layer":
        inner = min(timing.calibrate_inner(fn) for fn in fns.values())
    repeats = max(3, cfg.repeats // 3) if cfg.quick else cfg.repeats
    times = timing.run_interleaved(fns, repeats=repeats, warmup=1, inner=inner,
                                   budget_s=cfg.budget_s)
    record["inner"] = inner
    record["rounds"] = times.pop("_rounds")
    for fw in frameworks:
        record[fw] = _summary(times[fw], flops, peak)
    if "torch" in record:
        record["ratio"] = record["fovea"]["median_ms"] / record["torch"]["median_ms"]
    if cfg.memory and case.memory:
        for fw in frameworks:
            record[fw].update(memory.measure(case.name, fw, cfg.threads, cfg.quick))
    fns.clear()
    gc.collect()
    return record


def run_suite(cfg: Config, log: Callable[[str], None] = print) -> dict:
    """Run the selected cases and return the full result (see :mod:`.report` for output)."""
    cfg.validate()
    if cfg.threads == 0:
        cfg.threads = timing.default_threads()
    torch = import_torch() if cfg.use_torch else None
    if torch is None:
        log("bench: PyTorch is not installed (or --no-torch): timing fovea alone"
            if cfg.use_torch else "bench: --no-torch: timing fovea alone")
    cases = C.select(C.all_cases(), cfg.only, cfg.models_only, cfg.layers_only)
    if not cases:
        raise ValueError(f"bench: no case matches --only={cfg.only!r}; cases are: "
                         + ", ".join(c.name for c in C.all_cases()))
    env = environment(cfg, torch)
    results = []
    with timing.ThreadLimit(cfg.threads, torch):
        env["matmul"] = timing.matmul_rate(1024 if cfg.quick else 2048)
        env["blas_threads"] = [b["num_threads"] for b in timing.blas_info()]
        log(f"bench: {len(cases)} case(s), {cfg.threads} thread(s), matmul rate "
            f"{env['matmul']['gflops']:.0f} GFLOP/s, load {env['load_before']}")
        for case in cases:
            rec = run_case(case, cfg, torch, env["matmul"]["gflops"])
            results.append(rec)
            msg = f"  {case.name:<28} fovea {rec['fovea']['median_ms']:9.3f} ms"
            if "torch" in rec:
                msg += f"   torch {rec['torch']['median_ms']:9.3f} ms   ratio {rec['ratio']:.2f}"
            log(msg)
    env["load_after"] = timing.load_average()
    return {"environment": env, "config": dict(vars(cfg)), "cases": results,
            "argv": sys.argv[:]}
