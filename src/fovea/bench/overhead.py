"""Engine overhead: the Python cost of one op, forward and backward, on tiny tensors.

On 4×4 tensors the arithmetic is free, so the time per call is the framework's own cost:
argument checks, recording the node, walking the graph. ``fovea bench --overhead`` prints
it next to PyTorch's (whose dispatcher is C++) and a raw NumPy call for scale.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def _per_call_us(fn: Callable[[], object], seconds: float = 0.2, rounds: int = 5) -> float:
    """Median over ``rounds`` of the mean time per call (µs), each round ~``seconds`` long."""
    for _ in range(50):
        fn()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds / 10:
        fn()
        n += 1
    n = max(10, n * 10)
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - t0) / n * 1e6)
    samples.sort()
    return samples[len(samples) // 2]


def _programs(lib: str, mod, F):
    """name -> callable, the same program in fovea (lib='fovea') or PyTorch."""
    import numpy as np

    rng = np.random.default_rng(0)
    arr = {k: rng.standard_normal(s, dtype=np.float32)
           for k, s in (("a", (4, 4)), ("b", (4, 4)), ("w", (3, 4)), ("bias", (3,)))}
    labels = np.array([0, 2, 1, 3], dtype=np.int64)
    labels3 = np.array([0, 2, 1, 2], dtype=np.int64)
    if lib == "fovea":
        t = {k: mod.tensor(v, requires_grad=True) for k, v in arr.items()}
        y, y3 = mod.tensor(labels), mod.tensor(labels3)
    else:
        t = {k: mod.from_numpy(v).requires_grad_(True) for k, v in arr.items()}
        y, y3 = mod.from_numpy(labels), mod.from_numpy(labels3)
    a, b, w, bias = t["a"], t["b"], t["w"], t["bias"]

    def chain_backward():
        out = a
        for _ in range(10):
            out = out * b + a
        out.sum().backward()
        a.grad = b.grad = None

    def mlp_like():
        h = F.relu(F.linear(a, w, bias))
        loss = F.cross_entropy(h, y3)
        loss.backward()
        a.grad = w.grad = bias.grad = None

    return {
        "add (a + b)": lambda: a + b,
        "mul by scalar (a * 2.0)": lambda: a * 2.0,
        "relu": lambda: F.relu(a),
        "linear": lambda: F.linear(a, w, bias),
        "reshape": lambda: a.reshape(16),
        "cross_entropy": lambda: F.cross_entropy(a, y),
        "20 ops + backward": chain_backward,
        "linear-relu-CE + backward": mlp_like,
    }


def measure(use_torch: bool = True, seconds: float = 0.2, rounds: int = 5) -> list[dict]:
    """One row per program: µs per call in fovea, PyTorch (or None) and NumPy's a + b.

    Each number is the median over ``rounds`` rounds of about ``seconds`` each.
    """
    import numpy as np

    import fovea
    import fovea.nn.functional as F

    fov = _programs("fovea", fovea, F)
    tor = None
    if use_torch:
        try:
            import torch

            torch.set_num_threads(1)
            tor = _programs("torch", torch, torch.nn.functional)
        except ImportError:
            tor = None
    x = np.ones((4, 4), dtype=np.float32)
    def us(fn):
        return _per_call_us(fn, seconds, rounds)

    rows = [{"program": "numpy a + b (for scale)", "fovea_us": us(lambda: x + x),
             "torch_us": None}]
    for name, fn in fov.items():
        rows.append({"program": name, "fovea_us": us(fn),
                     "torch_us": us(tor[name]) if tor else None})
    return rows


def format_rows(rows: list[dict]) -> str:
    out = ["| program (4×4 tensors) | fovea µs | PyTorch µs | fovea / PyTorch |",
           "|---|---|---|---|"]
    for r in rows:
        t = r["torch_us"]
        ratio = f"{r['fovea_us'] / t:.2f}×" if t else "–"
        out.append(f"| {r['program']} | {r['fovea_us']:.1f} | "
                   f"{'–' if t is None else f'{t:.1f}'} | {ratio} |")
    return "\n".join(out) + "\n"
