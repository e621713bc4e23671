"""The whole GPU check in one run: tests, timings against PyTorch, Fashion-MNIST.

Run by ``scripts/gpu_check.sh`` (which installs what is missing first); each phase runs in
a subprocess with its own time limit, and ``results.json`` / ``results.md`` in ``--out``
are rewritten after every phase, so a phase that fails or runs out of time leaves the
others' results. Phases:

1. ``env``: the GPU's name and driver (``nvidia-smi``), CuPy, CUDA and PyTorch versions.
2. ``gpu_tests``: ``pytest tests/cuda`` (the ``cuda``-marked tests run on the GPU).
3. ``op_suite``: ``pytest tests/ops tests/nn tests/engine``: with a GPU the harness runs
   every op and layer on ``"cuda"`` too and compares with the CPU (float64) and PyTorch.
4. ``bench``: training steps, fovea against PyTorch eager on the same device (MLP, the
   three-layer ConvNet, ResNet-20 batch 128, resnet18 batch 64 3×224×224) with memory.
5. ``train_default``: ``fovea train --device DEVICE`` with the default model and data set.
6. ``fashion_mnist``: ``fovea train --dataset fashion_mnist --model resnet18 --augment
   crop,flip --epochs 10 --batch-size 128`` on the device until the planned epochs end or
   the time cap stops it after an epoch; the test accuracy of the best epoch (goal:
   >= 0.94) and the wall time. (``--quick``: small_cnn on 20 examples, one epoch.)

``--device cpu`` runs the same phases on the CPU (a check of the script itself on a
machine without a GPU; the timings then mean nothing).

    python scripts/gpu_check.py --out OUT [--device cuda] [--data-dir DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env_for_children() -> dict:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_phase(name: str, cmd: list[str], limit_s: float, out: Path) -> dict:
    """Run ``cmd`` (from the repository root) for at most ``limit_s`` seconds; its output
    goes to ``OUT/<name>.log``. Returns the phase's record."""
    log = out / f"{name}.log"
    t0 = time.perf_counter()
    with open(log, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=_env_for_children(), stdout=f,
                                  stderr=subprocess.STDOUT, timeout=limit_s)
            rc, timed_out = proc.returncode, False
        except subprocess.TimeoutExpired:
            rc, timed_out = None, True
    text = log.read_text(errors="replace")
    return {"phase": name, "command": " ".join(cmd), "returncode": rc, "timed_out": timed_out,
            "limit_s": limit_s, "seconds": round(time.perf_counter() - t0, 1),
            "tail": text[-3000:]}


def pytest_summary(text: str) -> str | None:
    """The last 'N passed, M failed ...' line of a pytest run."""
    lines = [ln.strip("= ") for ln in text.splitlines()
             if re.search(r"\d+ (passed|failed|error|skipped)", ln)]
    return lines[-1] if lines else None


def environment(device: str) -> dict:
    env = {"device": device, "python": sys.version.split()[0], "date_utc":
           time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())}
    try:
        q = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                            "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
        env["nvidia_smi"] = q.stdout.strip() or q.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        env["nvidia_smi"] = f"not available ({e})"
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np

    import fovea
    from fovea.backends.cuda import runtime

    env["numpy"] = np.__version__
    env["cuda_available"] = fovea.cuda.is_available()
    env["cuda_reason"] = runtime.reason()
    if env["cuda_available"]:
        cp = fovea.backends.get("cuda").xp
        env.update(gpu=fovea.cuda.get_device_name(), cupy=cp.__version__,
                   cuda_runtime=int(cp.cuda.runtime.runtimeGetVersion()),
                   cuda_driver=int(cp.cuda.runtime.driverGetVersion()))
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_cuda"] = bool(torch.cuda.is_available())
    except ImportError:
        env["torch"] = None
    return env


def markdown(results: dict) -> str:
    env = results["environment"]
    lines = ["# fovea GPU check", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in env.items()]
    lines += ["", "| phase | result | seconds (limit) |", "|---|---|---|"]
    for p in results["phases"]:
        state = ("TIMED OUT" if p["timed_out"] else "ok" if p["returncode"] == 0
                 else f"exit {p['returncode']}")
        summary = p.get("summary") or ""
        lines.append(f"| {p['phase']} | {state} {summary} | {p['seconds']} ({p['limit_s']}) |")
    if results.get("bench"):
        lines += ["", results["bench"]]
    if results.get("fashion_mnist"):
        lines += ["", "Fashion-MNIST: " + json.dumps(results["fashion_mnist"])]
    return "\n".join(lines) + "\n"


def write(results: dict, out: Path) -> None:
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(markdown(results))


class Budget:
    """Seconds left of the whole check; each phase gets min(its share, what is left)."""

    def __init__(self, total: float):
        self.end = time.perf_counter() + total

    def limit(self, share: float) -> float:
        return max(5.0, min(share, self.end - time.perf_counter()))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.environ.get("OUT", "gpu_check_out"))
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--data-dir", default=None, help="where the Fashion-MNIST .gz files are "
                    "(DIR or DIR/fashion_mnist; default: fovea's search path)")
    ap.add_argument("--budget", type=float, default=450.0, help="seconds for all phases")
    ap.add_argument("--workers", default="auto", help="pytest-xdist workers for the op suite")
    ap.add_argument("--quick", action="store_true", help="small batches, few epochs (a "
                    "check of the script, not a measurement)")
    ap.add_argument("--skip", default="", help="comma-separated phases to skip")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))
    py = sys.executable
    budget = Budget(args.budget)
    results = {"environment": environment(args.device), "phases": []}
    write(results, out)
    if args.device == "cuda" and not results["environment"]["cuda_available"]:
        print("gpu_check: no GPU backend:", results["environment"]["cuda_reason"])
        return 2
    pytest = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rf"]

    def phase(name, cmd, share, post=None):
        if name in skip:
            return None
        rec = run_phase(name, cmd, round(budget.limit(share)), out)
        if post is not None:
            post(rec)
        results["phases"].append(rec)
        write(results, out)
        print(f"{name}: {'timed out' if rec['timed_out'] else rec['returncode']} in "
              f"{rec['seconds']} s", flush=True)
        return rec

    def tests_summary(rec):
        rec["summary"] = pytest_summary(rec["tail"])

    phase("gpu_tests", pytest + ["-m", "not slow", "tests/cuda"], 60, tests_summary)
    if args.device == "cuda":  # on the CPU the op suite has no GPU to add: nothing new
        import importlib.util

        xdist = ["-n", args.workers] if importlib.util.find_spec("xdist") else []
        phase("op_suite", pytest + xdist + ["tests/ops", "tests/nn", "tests/engine"], 170,
              tests_summary)

    bench_out = out / "bench"

    def bench_post(rec):
        md = bench_out / "bench_device.md"
        if md.exists():
            results["bench"] = md.read_text()
            results["bench_rows"] = json.loads((bench_out / "bench_device.json").read_text())

    bench = [py, "-m", "fovea", "bench", "--device", args.device, "--repeats", "5",
             "--out", str(bench_out)] + (["--quick"] if args.quick else [])
    if args.device == "cpu":  # `fovea bench --device cpu` is the CPU suite: call the module
        bench = [py, "-c", _CPU_BENCH, str(bench_out), "1" if args.quick else "0"]
    phase("bench", bench, 100, bench_post)

    runs = out / "runs"
    epochs_default = ["--epochs", "1"] if args.quick else []
    phase("train_default", [py, "-m", "fovea", "train", "--device", args.device,
                            "--no-progress", "--out", str(runs / "default"),
                            "--overwrite"] + epochs_default, 60)

    fashion_dir = runs / "fashion_mnist"
    cap = round(budget.limit(240))

    def fashion_post(rec):
        metrics = fashion_dir / "metrics.json"
        info = {"time_cap_s": round(cap), "command": rec["command"]}
        if metrics.exists():
            m = json.loads(metrics.read_text())
            info.update({k: m.get(k) for k in ("test_accuracy", "val_accuracy", "epochs",
                                                "seconds", "model")})
            info["goal_0.94_reached"] = bool(m.get("test_accuracy", 0) >= 0.94)
        else:
            info["note"] = "no metrics.json: the run did not finish within the cap"
        info["epoch_lines"] = [ln for ln in rec["tail"].splitlines() if ln.startswith("epoch")]
        results["fashion_mnist"] = info

    fashion = [py, "-X", "utf8", str(ROOT / "scripts" / "gpu_check.py"), "--fashion-run",
               args.device, str(fashion_dir), str(cap - 30), args.data_dir or "",
               "1" if args.quick else "0"]
    phase("fashion_mnist", fashion, cap, fashion_post)
    write(results, out)
    print(markdown(results))
    return 0


# The device bench on the CPU (a check of the script): fovea.bench.device on "cpu".
_CPU_BENCH = """
import json, sys
from pathlib import Path
from fovea.bench import device as dev
out, quick = Path(sys.argv[1]), sys.argv[2] == "1"
out.mkdir(parents=True, exist_ok=True)
rows = [dev.measure(n, "cpu", rounds=2, steps=1, quick=quick) for n in dev.DEVICE_MODELS]
env = dev.environment("cpu")
(out / "bench_device.md").write_text(dev.markdown(rows, env))
(out / "bench_device.json").write_text(json.dumps({"environment": env, "rows": rows}))
print(dev.markdown(rows, env))
"""


def fashion_run(device: str, run_dir: str, cap_s: float, data_dir: str, quick: bool) -> int:
    """``fovea train`` on Fashion-MNIST with a time cap: after the epoch that passes the cap,
    training stops (the best epoch's weights are then evaluated on the test split)."""
    sys.path.insert(0, str(ROOT / "src"))
    from fovea.train.run import TrainConfig, train

    t0 = time.perf_counter()

    class TimeCap:
        def on_epoch_end(self, trainer):
            if time.perf_counter() - t0 > cap_s:
                print(f"time cap: {cap_s:.0f} s passed after epoch {trainer.epoch}; stopping",
                      flush=True)
                trainer.early_stopping = 0  # the Trainer's own stop after this epoch

    cfg = TrainConfig(dataset="fashion_mnist", data_dir=data_dir or None,
                      model="small_cnn" if quick else "resnet18",
                      epochs=1 if quick else 10, batch_size=128, augment="crop,flip",
                      device=device, out=run_dir, progress=False, num_workers=2, seed=0)
    if quick:
        cfg.overfit_small = True
    m = train(cfg, overwrite=True, callbacks=[TimeCap()])
    print(f"fashion_mnist: test accuracy {m['test_accuracy']:.4f} after {m['epochs']} epochs "
          f"in {m['seconds']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--fashion-run":
        d, run_dir, cap, data_dir, quick = sys.argv[2:7]
        sys.exit(fashion_run(d, run_dir, float(cap), data_dir, quick == "1"))
    sys.exit(main())
