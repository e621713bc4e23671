"""Peak memory of a benchmark case, measured in a fresh process.

The child process builds the case (model, data, optimizer), then records its resident set
size, resets the kernel's high-water mark (``/proc/self/clear_refs``), runs the step a few
times and reads the high-water mark (``VmHWM``). The difference is the memory the training
steps add: activations, gradients, optimizer state and workspaces. A fresh process per
(case, framework) keeps one library's allocations from hiding the other's. Linux only; on
other systems the measurement is skipped (None).

Run as ``python -m fovea.bench.memory CASE FRAMEWORK THREADS [--quick]``; prints JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _trim() -> None:
    """Give freed heap memory back to the OS (glibc), so the baseline is honest."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure_here(case_name: str, framework: str, threads: int, quick: bool,
                 steps: int = 3) -> dict:
    """Build ``case_name`` for ``framework`` in this process and measure its step's peak."""
    import gc

    from fovea.bench.cases import all_cases
    from fovea.bench.timing import ThreadLimit

    cases = {c.name: c for c in all_cases()}
    if case_name not in cases:
        raise ValueError(f"memory: unknown case {case_name!r}")
    torch = None
    if framework == "torch":
        import torch
    with ThreadLimit(threads, torch):
        fn, _ = cases[case_name].make(framework, quick)
        gc.collect()
        _trim()
        base = _status_kib("VmRSS")
        if base is None or not _reset_peak():
            return {"peak_mib": None, "baseline_mib": None}
        for _ in range(steps):
            fn()
        peak = _status_kib("VmHWM")
    return {"peak_mib": (peak - base) / 1024.0, "baseline_mib": base / 1024.0}


def measure(case_name: str, framework: str, threads: int, quick: bool,
            timeout: float = 600.0) -> dict:
    """Run :func:`measure_here` in a fresh Python process (the same fovea on its path)."""
    if not sys.platform.startswith("linux"):
        return {"peak_mib": None, "baseline_mib": None, "error": "not Linux"}
    import fovea

    src = os.path.dirname(os.path.dirname(os.path.abspath(fovea.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, "-m", "fovea.bench.memory", case_name, framework, str(threads)]
    if quick:
        cmd.append("--quick")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"peak_mib": None, "baseline_mib": None, "error": "timeout"}
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["failed"]
        return {"peak_mib": None, "baseline_mib": None, "error": tail[0][:200]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    quick = "--quick" in args
    args = [a for a in args if a != "--quick"]
    if len(args) != 3:
        print("usage: python -m fovea.bench.memory CASE FRAMEWORK THREADS [--quick]",
              file=sys.stderr)
        return 2
    result = measure_here(args[0], args[1], int(args[2]), quick)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
