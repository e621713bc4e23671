"""Timing primitives: interleaved repeated runs, medians, thread control, machine facts.

Timings on a shared machine are noisy, so every comparison here is made *in one process and
interleaved*: a round runs each competitor once (the order alternating between rounds), so
a burst of load from another process lands on both, and the summary is the median of the
rounds (with the quartiles to show the spread).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np


def summarize(times: Sequence[float]) -> dict:
    """Median, quartiles, min and count of ``times`` (seconds)."""
    if not times:
        raise ValueError("summarize: no timings")
    ts = sorted(float(t) for t in times)
    if len(ts) >= 2:
        q1, _, q3 = statistics.quantiles(ts, n=4, method="inclusive")
    else:
        q1 = q3 = ts[0]
    return {"median": statistics.median(ts), "q1": q1, "q3": q3, "min": ts[0], "n": len(ts)}


def run_interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1,
                    inner: int = 1, budget_s: float | None = None, settle_s: float = 0.15,
                    block_s: float = 0.25, max_block: int = 10) -> dict[str, list[float]]:
    """Time the functions in ``fns`` in alternating blocks, ``repeats`` rounds.

    A round gives each function, in turn (the order alternating between rounds), a block:
    a pause of ``settle_s`` seconds, one untimed call (when a call takes less than 0.1 s),
    then timed samples for about
    ``block_s`` seconds (1 to ``max_block`` samples). The pause lets the other library's
    worker threads stop spinning: OpenBLAS and OpenMP threads busy-wait for a while after
    each parallel call, and on a small machine a spinning pool would steal the cores of the
    one being timed (measured here: both libraries' MLP steps 2-3× slower when alternated
    call by call without it).

    Args:
        fns: name -> zero-argument callable (one training step, one layer call...).
        repeats: number of rounds.
        warmup: untimed calls of each function before the first round.
        inner: calls per timed sample (the sample is their mean), for very fast functions.
        budget_s: stop starting rounds after this many seconds (at least 3 rounds run).
        settle_s: pause before each block.
        block_s: target duration of a block's timed samples.
        max_block: most samples per block.

    Returns:
        name -> list of per-call times in seconds (one per sample), and under the key
        ``"_rounds"`` the number of rounds run.
    """
    if repeats < 1 or inner < 1:
        raise ValueError(f"run_interleaved: repeats and inner must be >= 1, got {repeats}, "
                         f"{inner}")
    names = list(fns)
    per_call = {}
    for name in names:
        t0 = time.perf_counter()
        for _ in range(max(warmup, 1)):
            fns[name]()
        per_call[name] = (time.perf_counter() - t0) / max(warmup, 1)
    block = {n: int(max(1, min(max_block, block_s // max(per_call[n] * inner, 1e-9))))
             for n in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    start = time.perf_counter()
    for r in range(repeats):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            fn = fns[name]
            if settle_s and len(names) > 1:
                time.sleep(settle_s)
                if per_call[name] < 0.1:  # re-warm caches (not worth it for slow calls)
                    fn()
            for _ in range(block[name]):
                t0 = time.perf_counter()
                for _ in range(inner):
                    fn()
                times[name].append((time.perf_counter() - t0) / inner)
        if budget_s is not None and r >= 2 and time.perf_counter() - start > budget_s:
            break
    times["_rounds"] = r + 1
    return times


def calibrate_inner(fn: Callable[[], object], target_s: float = 0.02, cap: int = 100) -> int:
    """How many calls of ``fn`` make one sample of about ``target_s`` seconds (>= 1)."""
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    if dt <= 0:
        return cap
    return int(max(1, min(cap, target_s // dt)))


# --- threads ------------------------------------------------------------------------------

def blas_info() -> list[dict]:
    """The BLAS/OpenMP libraries loaded in this process (via threadpoolctl, if installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return []
    return [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "prefix")}
            for d in threadpool_info()]


class ThreadLimit:
    """Context manager: NumPy's BLAS (and torch, when given) use ``n`` threads inside it."""

    def __init__(self, n: int, torch_module=None):
        if n < 1:
            raise ValueError(f"threads must be >= 1, got {n}")
        self.n, self.torch = int(n), torch_module
        self._ctl = None
        self._torch_prev = None

    def __enter__(self):
        try:
            from threadpoolctl import threadpool_limits
            self._ctl = threadpool_limits(limits=self.n, user_api="blas")
        except ImportError:  # pragma: no cover
            self._ctl = None
        if self.torch is not None:
            self._torch_prev = self.torch.get_num_threads()
            self.torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if self._ctl is not None:
            self._ctl.restore_original_limits()
        if self.torch is not None and self._torch_prev is not None:
            self.torch.set_num_threads(self._torch_prev)
        return False


def default_threads() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or platform.machine()


def matmul_rate(size: int = 2048, repeats: int = 5, dtype=np.float32) -> dict:
    """The machine's float32 matrix-product rate through NumPy's BLAS: GFLOP/s of the best of
    ``repeats`` (size × size) @ (size × size) products (2·size³ FLOPs each)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=dtype)
    b = rng.standard_normal((size, size), dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return {"size": size, "seconds": best, "gflops": 2.0 * size ** 3 / best / 1e9}
