"""Benchmark: kNN distances with two loops, one loop and no loops, against scikit-learn.

Lecture 2's comparison on CIFAR-sized data: 500 test × 5,000 training points of dimension
3,072 (float32, uniform in [0, 1), seeded). Reports the median of several runs (the
two-loop version runs once: it takes tens of seconds), checks that the routines agree,
prints a table and writes JSON.

Targets (issue 6): no loops ≥ 100× faster than two loops, and no slower than scikit-learn's
brute-force ``KNeighborsClassifier`` on the same data.

Usage:
    python benchmarks/bench_knn.py [--num-test 500] [--num-train 5000] [--dim 3072]
                                   [--repeats 5] [--k 1] [--threads N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fovea.classic import KNearestNeighbor  # noqa: E402


def _time(fn, repeats: int) -> tuple[float, list[float], object]:
    """Median seconds of ``repeats`` calls (after one warm-up when repeats > 1)."""
    result = fn() if repeats > 1 else None
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def run(args) -> dict:
    import sklearn
    from sklearn.metrics.pairwise import euclidean_distances
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(args.seed)
    X_train = rng.random((args.num_train, args.dim), dtype=np.float32)
    y_train = rng.integers(0, 10, args.num_train)
    X_test = rng.random((args.num_test, args.dim), dtype=np.float32)
    knn = KNearestNeighbor().train(X_train, y_train)

    rows = {}
    print(f"kNN distances: {args.num_test} test × {args.num_train} train × {args.dim} dims, "
          f"float32, k = {args.k}")
    t2, t2s, d_two = _time(lambda: knn.compute_distances_two_loops(X_test), 1)
    rows["two_loops_distances"] = t2s
    print(f"  two loops (1 run):      {t2:9.3f} s")
    t1, t1s, d_one = _time(lambda: knn.compute_distances_one_loop(X_test),
                           max(1, args.repeats // 2))
    rows["one_loop_distances"] = t1s
    print(f"  one loop:               {t1:9.3f} s")
    t0, t0s, d_none = _time(lambda: knn.compute_distances_no_loops(X_test), args.repeats)
    rows["no_loops_distances"] = t0s
    print(f"  no loops:               {t0:9.4f} s")
    tsd, tsds, d_sk = _time(lambda: euclidean_distances(X_test, X_train), args.repeats)
    rows["sklearn_euclidean_distances"] = tsds
    print(f"  sklearn distances:      {tsd:9.4f} s")
    tp, tps, pred = _time(lambda: KNearestNeighbor(k=args.k).train(X_train, y_train)
                          .predict(X_test), args.repeats)
    rows["fovea_fit_predict"] = tps
    print(f"  fovea fit + predict:    {tp:9.4f} s")
    sk = KNeighborsClassifier(n_neighbors=args.k, algorithm="brute")
    tsp, tsps, sk_pred = _time(lambda: sk.fit(X_train, y_train).predict(X_test), args.repeats)
    rows["sklearn_fit_predict"] = tsps
    print(f"  sklearn fit + predict:  {tsp:9.4f} s  (KNeighborsClassifier, brute)")

    d_ref = d_two.astype(np.float64)
    agree = {
        "one_loop_max_abs_diff": float(np.abs(d_one - d_ref).max()),
        "no_loops_max_abs_diff": float(np.abs(d_none - d_ref).max()),
        "sklearn_distances_max_abs_diff": float(np.abs(d_sk - d_ref).max()),
        "predictions_equal_fraction": float(np.mean(pred == sk_pred)),
    }
    speedups = {
        "no_loops_vs_two_loops": t2 / t0,
        "no_loops_vs_one_loop": t1 / t0,
        "fovea_vs_sklearn_predict": tsp / tp,
        "fovea_vs_sklearn_distances": tsd / t0,
    }
    print(f"  speed-up no loops / two loops: {speedups['no_loops_vs_two_loops']:8.1f}×  "
          f"(target ≥ 100×)")
    print(f"  speed-up no loops / one loop:  {speedups['no_loops_vs_one_loop']:8.1f}×")
    print(f"  fovea predict vs sklearn:      {speedups['fovea_vs_sklearn_predict']:8.2f}×  "
          f"(target ≥ 1×)")
    print(f"  fovea distances vs sklearn:    {speedups['fovea_vs_sklearn_distances']:8.2f}×")
    print(f"  agreement: {agree}")
    threads = None
    try:
        from threadpoolctl import threadpool_info

        threads = [{k: i.get(k) for k in ("user_api", "internal_api", "num_threads")}
                   for i in threadpool_info()]
    except ImportError:  # pragma: no cover
        pass
    return {
        "shape": {"num_test": args.num_test, "num_train": args.num_train, "dim": args.dim},
        "dtype": "float32", "k": args.k, "seed": args.seed, "repeats": args.repeats,
        "median_seconds": {"two_loops_distances": t2, "one_loop_distances": t1,
                           "no_loops_distances": t0, "sklearn_euclidean_distances": tsd,
                           "fovea_fit_predict": tp, "sklearn_fit_predict": tsp},
        "min_seconds": {k: min(v) for k, v in rows.items()},
        "all_seconds": rows, "speedups": speedups, "agreement": agree,
        "targets_met": {"no_loops_at_least_100x_two_loops": speedups["no_loops_vs_two_loops"]
                        >= 100,
                        "no_slower_than_sklearn_predict": speedups["fovea_vs_sklearn_predict"]
                        >= 1.0},
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "sklearn": sklearn.__version__, "machine": platform.machine(),
                        "cpu_count": os.cpu_count(), "threadpools": threads},
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-test", type=int, default=500)
    p.add_argument("--num-train", type=int, default=5000)
    p.add_argument("--dim", type=int, default=3072)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None,
                   help="limit BLAS / OpenMP threads (both libraries) to this many")
    p.add_argument("--json", default="runs/bench_knn.json", help="where to write the results")
    args = p.parse_args(argv)
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=args.threads):
            result = run(args)
        result["threads_limit"] = args.threads
    else:
        result = run(args)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, path)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
