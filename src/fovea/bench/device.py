"""Training steps on a device, fovea against PyTorch on the same device (``fovea bench
--device cuda``).

For each model, one SGD step (momentum 0.9, cross-entropy) on a fixed random batch, with
the same initial weights in both libraries (the PyTorch twin is loaded from fovea's
``state_dict``), timed in interleaved rounds: each round times ``steps`` consecutive steps
of one library and then of the other, each followed by a device synchronisation, and keeps
the mean per step; the result is the median over rounds. Memory: fovea's is the high-water
mark of CuPy's memory pool over the timed steps (``fovea.cuda.memory_reserved()`` after
emptying the pool first: the pool keeps every block it has handed out, so its size is the
peak of what was allocated at once, rounded to the pool's block sizes), PyTorch's is
``torch.cuda.max_memory_allocated()``. Both include the weights, the gradients and the
optimizer state. On the CPU the same code times the CPU (no memory figures).

Models (:data:`DEVICE_MODELS`): the three of ``fovea bench`` (MLP, the three-layer ConvNet,
ResNet-20 at batch 128) and torchvision's resnet18 at batch 64 on 3×224×224 images (its
PyTorch twin needs torchvision).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

DEVICE_MODELS = {
    # name: (batch, quick batch, image (C, H, W), classes, description)
    "mlp": (128, 32, (3, 32, 32), 10, "MLP 3072-100-10, batch {n}"),
    "three_layer_convnet": (64, 16, (3, 32, 32), 10,
                            "conv 32×7×7 – ReLU – pool – affine 100 – ReLU – affine 10, batch {n}"),
    "resnet20": (128, 16, (3, 32, 32), 10, "ResNet-20 (option A), 3×32×32, batch {n}"),
    "resnet18": (64, 4, (3, 224, 224), 1000, "resnet18 (torchvision's), 3×224×224, batch {n}"),
}


def build_models(name: str, use_torch: bool):
    """(fovea model, PyTorch twin or None, why there is no twin or None) on the CPU."""
    from fovea.bench import cases

    if name == "resnet18":
        import fovea
        from fovea.models.resnet_imagenet import resnet18

        fovea.manual_seed(0)
        fm = resnet18()
        if not use_torch:
            return fm, None, None
        try:
            import torchvision
        except ImportError:
            return fm, None, "torchvision is not installed"
        from fovea.bench.torch_models import load_from_fovea

        return fm, load_from_fovea(torchvision.models.resnet18(num_classes=1000), fm), None
    fm = cases.build_fovea_model(name)
    return fm, (cases.build_torch_twin(name, fm) if use_torch else None), None


def batch(name: str, quick: bool):
    """The fixed random batch (x float32 (N, C, H, W), y int64 (N,)) of ``name``."""
    n_full, n_quick, (c, h, w), classes, _ = DEVICE_MODELS[name]
    n = n_quick if quick else n_full
    rng = np.random.default_rng(sum(map(ord, name)))
    return (rng.standard_normal((n, c, h, w)).astype(np.float32),
            rng.integers(0, classes, n).astype(np.int64))


def fovea_step(model, x, y, device: str):
    """A closure: one SGD step of fovea ``model`` on (x, y), everything on ``device``."""
    from fovea.bench.cases import fovea_train_step

    return fovea_train_step(model, x, y, device=device)


def torch_step(twin, x, y, device: str):
    """The same step in PyTorch on ``device``."""
    from fovea.bench.cases import torch_train_step

    return torch_train_step(twin, x, y, device=device)


def _timed(step, sync, steps: int) -> float:
    """Seconds per step of ``steps`` consecutive steps, the device drained before and after."""
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - t0) / steps


def measure(name: str, device: str = "cuda", rounds: int = 5, steps: int = 5,
            quick: bool = False, use_torch: bool = True, warmup: int = 2) -> dict:
    """Time ``name``'s training step on ``device`` in fovea (and PyTorch): a result row."""
    import fovea

    on_gpu = device.startswith("cuda")
    fm, twin, no_twin = build_models(name, use_torch)
    x, y = batch(name, quick)
    row = {"model": name, "device": device, "batch": len(y),
           "description": DEVICE_MODELS[name][4].format(n=len(y))}
    fsync = fovea.cuda.synchronize if on_gpu else (lambda: None)
    if on_gpu:
        fovea.cuda.empty_cache()
    f_step = fovea_step(fm, x, y, device)
    first = float(f_step().item())
    for _ in range(warmup - 1):
        f_step()
    fns = {"fovea": (f_step, fsync)}
    if twin is not None:
        import torch

        # PyTorch on its own GPU when fovea is on one (else on the CPU: a code-path check)
        torch_gpu = on_gpu and torch.cuda.is_available()
        row["torch_device"] = "cuda" if torch_gpu else "cpu"
        tsync = torch.cuda.synchronize if torch_gpu else (lambda: None)
        if torch_gpu:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        t_step = torch_step(twin, x, y, row["torch_device"])
        row["torch_first_loss"] = float(t_step().item())
        for _ in range(warmup - 1):
            t_step()
        fns["torch"] = (t_step, tsync)
    elif no_twin:
        row["torch_missing"] = no_twin
    times: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(rounds):
        order = list(fns) if r % 2 == 0 else list(fns)[::-1]
        for k in order:
            times[k].append(_timed(*fns[k], steps))
    row["fovea_first_loss"] = first
    for k, ts in times.items():
        row[f"{k}_ms"] = 1000 * statistics.median(ts)
        row[f"{k}_ms_all"] = [round(1000 * t, 3) for t in ts]
    if "torch_ms" in row:
        row["ratio"] = row["fovea_ms"] / row["torch_ms"]
    if on_gpu and fovea.cuda.memory_reserved() > 0:  # CuPy's pool (not a stand-in device)
        row["fovea_peak_bytes"] = fovea.cuda.memory_reserved()
    if row.get("torch_device") == "cuda":
        import torch

        row["torch_peak_bytes"] = int(torch.cuda.max_memory_allocated())
    return row


def environment(device: str) -> dict:
    """What the numbers were measured on (GPU name and driver, library versions)."""
    import platform

    import fovea

    env = {"device": device, "python": platform.python_version(), "numpy": np.__version__}
    if device.startswith("cuda") and fovea.cuda.is_available():
        cp = fovea.backends.get("cuda").xp
        env["gpu"] = fovea.cuda.get_device_name()
    if device.startswith("cuda") and hasattr(getattr(cp := fovea.backends.get(device).xp,
                                                     "cuda", None), "runtime"):
        env["cupy"] = cp.__version__
        env["cuda_runtime"] = int(cp.cuda.runtime.runtimeGetVersion())
        env["cuda_driver"] = int(cp.cuda.runtime.driverGetVersion())
    try:
        import torch

        env["torch"] = torch.__version__
    except ImportError:
        env["torch"] = None
    return env


def markdown(rows: list[dict], env: dict) -> str:
    """The rows as a Markdown table, the environment above it."""
    lines = [", ".join(f"{k}: {v}" for k, v in env.items()), "",
             "| model | fovea ms/step | PyTorch ms/step | fovea / PyTorch | fovea peak MiB "
             "| PyTorch peak MiB |", "|---|---|---|---|---|---|"]
    for r in rows:
        def mib(key, r=r):
            return f"{r[key] / 2**20:.0f}" if key in r else "—"

        torch_ms = f"{r['torch_ms']:.2f}" if "torch_ms" in r else r.get("torch_missing", "—")
        ratio = f"{r['ratio']:.2f}×" if "ratio" in r else "—"
        lines.append(f"| {r['description']} | {r['fovea_ms']:.2f} | {torch_ms} | {ratio} | "
                     f"{mib('fovea_peak_bytes')} | {mib('torch_peak_bytes')} |")
    return "\n".join(lines) + "\n"
