"""Where a fovea training step spends its time: per op (Function) and per layer (Module).

:class:`Profiler` instruments the engine while it is active, and only then:

* ``Function.apply`` is wrapped, so each op's forward is timed (exclusive of nested ops) and
  the node it records is tagged with the innermost module running at the time;
* ``autograd._node_backward`` is wrapped, so each node's backward is timed;
* forward pre/post hooks on the model's modules maintain the stack of running modules.

Forward time of an op includes the engine's recording work in ``apply``; backward time of a
node includes the engine's shape checks and casts around the op's ``backward``. What the
step spends outside all ops (module ``__call__``, argument checks, the backward walk, the
optimizer) shows up as the difference between the phase totals and the op sums.

:func:`profile_model` runs a benchmark model's training step under the profiler and times
its phases (zero_grad, forward + loss, backward, optimizer step).
"""

from __future__ import annotations

import time
from collections import defaultdict

from fovea import autograd
from fovea.autograd import Function


class Profiler:
    """Context manager that aggregates per-op and per-module forward/backward times.

    Args:
        model: a ``fovea.nn.Module`` whose submodules name the layers (optional: without
            it every op is attributed to ``"(no module)"``).

    After the ``with`` block, :attr:`ops` maps op name -> ``{"fwd_s", "fwd_calls",
    "bwd_s", "bwd_calls"}`` and :attr:`layers` maps module path -> the same plus
    ``"type"``.
    """

    def __init__(self, model=None):
        self.model = model
        self.ops: dict[str, dict] = defaultdict(_zero)
        self.layers: dict[str, dict] = defaultdict(_zero)
        self._stack: list[str] = []
        self._child = [0.0]
        self._handles = []
        self._types: dict[str, str] = {}
        self._orig_apply = None
        self._orig_node_backward = None

    # --- instrumentation ---------------------------------------------------------------------
    def __enter__(self):
        if self._orig_apply is not None:
            raise RuntimeError("Profiler: already active")
        self._orig_apply = Function.__dict__["apply"]
        self._orig_node_backward = autograd._node_backward
        orig_apply = self._orig_apply.__func__
        orig_nb = self._orig_node_backward
        prof = self

        def apply(cls, *inputs, **params):
            saved_child = prof._child[0]
            prof._child[0] = 0.0
            t0 = time.perf_counter()
            out = orig_apply(cls, *inputs, **params)
            dt = time.perf_counter() - t0
            exclusive = dt - prof._child[0]
            prof._child[0] = saved_child + dt
            layer = prof._stack[-1] if prof._stack else "(no module)"
            rec = prof.ops[cls.__name__]
            rec["fwd_s"] += exclusive
            rec["fwd_calls"] += 1
            lrec = prof.layers[layer]
            lrec["fwd_s"] += exclusive
            lrec["fwd_calls"] += 1
            node = getattr(out, "grad_fn", None)
            if node is not None and node.__class__ is cls:
                node._profile_layer = layer
            return out

        def node_backward(node, g, *args, **kwargs):
            t0 = time.perf_counter()
            result = orig_nb(node, g, *args, **kwargs)
            dt = time.perf_counter() - t0
            rec = prof.ops[type(node).__name__]
            rec["bwd_s"] += dt
            rec["bwd_calls"] += 1
            lrec = prof.layers[getattr(node, "_profile_layer", "(no module)")]
            lrec["bwd_s"] += dt
            lrec["bwd_calls"] += 1
            return result

        Function.apply = classmethod(apply)
        autograd._node_backward = node_backward
        if self.model is not None:
            for name, m in self.model.named_modules():
                label = name or "(model)"
                self._types[label] = type(m).__name__
                self._handles.append(m.register_forward_pre_hook(self._push(label)))
                self._handles.append(m.register_forward_hook(self._pop()))
        return self

    def __exit__(self, *exc):
        Function.apply = self._orig_apply
        autograd._node_backward = self._orig_node_backward
        self._orig_apply = self._orig_node_backward = None
        for h in self._handles:
            h.remove()
        self._handles.clear()
        for name, rec in self.layers.items():
            rec["type"] = self._types.get(name, "")
        return False

    def _push(self, label):
        def hook(module, inputs):
            self._stack.append(label)
        return hook

    def _pop(self):
        def hook(module, inputs, output):
            self._stack.pop()
        return hook

    # --- results -----------------------------------------------------------------------------
    def op_table(self, steps: int = 1) -> list[dict]:
        """Per-op rows (times per step, ms), largest total first."""
        return _rows(self.ops, steps, "op")

    def layer_table(self, steps: int = 1) -> list[dict]:
        """Per-module rows (times per step, ms), largest total first."""
        rows = _rows(self.layers, steps, "layer")
        for r in rows:
            r["type"] = self.layers[r["layer"]].get("type", "")
        return rows


def _zero():
    return {"fwd_s": 0.0, "fwd_calls": 0, "bwd_s": 0.0, "bwd_calls": 0}


def _rows(table: dict, steps: int, key: str) -> list[dict]:
    rows = []
    for name, rec in table.items():
        f, b = rec["fwd_s"] / steps * 1e3, rec["bwd_s"] / steps * 1e3
        rows.append({key: name, "fwd_ms": f, "bwd_ms": b, "total_ms": f + b,
                     "calls": rec["fwd_calls"] / steps})
    rows.sort(key=lambda r: -r["total_ms"])
    return rows


def profile_model(name: str, steps: int = 5, quick: bool = False, threads: int | None = None,
                  warmup: int = 1) -> dict:
    """Profile ``steps`` training steps of benchmark model ``name`` (see :mod:`.cases`).

    Returns ``{"model", "batch", "steps", "phases": {phase: ms per step}, "ops": [...],
    "layers": [...]}``; the phases are timed without the profiler's wrappers running
    inside them being subtracted (the wrappers cost about a microsecond per op).
    """
    import fovea
    import fovea.nn.functional as F
    from fovea.bench import cases as C
    from fovea.bench.timing import ThreadLimit, default_threads

    if name not in C.MODEL_SPECS:
        raise ValueError(f"profile: unknown model {name!r}; choose from "
                         f"{', '.join(C.MODEL_SPECS)}")
    if steps < 1:
        raise ValueError(f"profile: steps must be >= 1, got {steps}")
    batch, quick_batch, (c, h, w), _ = C.MODEL_SPECS[name]
    n = quick_batch if quick else batch
    x, y = C._images(name, n, c, h, w)
    model = C.build_fovea_model(name)
    model.train()
    opt = fovea.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xt, yt = fovea.tensor(x), fovea.tensor(y)
    phases = dict.fromkeys(("zero_grad", "forward+loss", "backward", "optimizer"), 0.0)

    def step(record: bool):
        t0 = time.perf_counter()
        opt.zero_grad()
        t1 = time.perf_counter()
        loss = F.cross_entropy(model(xt), yt)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        opt.step()
        t4 = time.perf_counter()
        if record:
            for k, a, b in (("zero_grad", t0, t1), ("forward+loss", t1, t2),
                            ("backward", t2, t3), ("optimizer", t3, t4)):
                phases[k] += b - a

    with ThreadLimit(threads or default_threads()):
        for _ in range(warmup):
            step(False)
        prof = Profiler(model)
        with prof:
            for _ in range(steps):
                step(True)
    per_step = {k: v / steps * 1e3 for k, v in phases.items()}
    per_step["total"] = sum(per_step.values())
    return {"model": name, "batch": n, "steps": steps, "phases": per_step,
            "ops": prof.op_table(steps), "layers": prof.layer_table(steps)}


def profile_torch(name: str, steps: int = 5, quick: bool = False, threads: int | None = None,
                  limit: int = 15) -> list[dict] | None:
    """PyTorch's own per-op profile (self CPU time per step, ms) of the twin model, or None."""
    try:
        import torch
    except ImportError:
        return None
    from fovea.bench import cases as C
    from fovea.bench.timing import ThreadLimit, default_threads

    batch, quick_batch, (c, h, w), _ = C.MODEL_SPECS[name]
    x, y = C._images(name, quick_batch if quick else batch, c, h, w)
    fm = C.build_fovea_model(name)
    step = C.torch_train_step(C.build_torch_twin(name, fm), x, y)
    with ThreadLimit(threads or default_threads(), torch):
        time.sleep(0.2)  # let fovea's BLAS threads stop spinning (see timing.run_interleaved)
        step()
        with _quiet_stderr(), torch.autograd.profiler.profile() as prof:
            for _ in range(steps):
                step()
    rows = []
    for e in prof.key_averages():
        rows.append({"op": e.key, "self_ms": e.self_cpu_time_total / 1e3 / steps,
                     "calls": e.count / steps})
    rows.sort(key=lambda r: -r["self_ms"])
    return rows[:limit]


class _quiet_stderr:
    """Silence file descriptor 2 (PyTorch's profiler logs start/stop lines from C++)."""

    def __enter__(self):
        import os
        import sys

        sys.stderr.flush()
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        return self

    def __exit__(self, *exc):
        import os

        os.dup2(self._saved, 2)
        os.close(self._saved)
        return False


def format_profile(p: dict, torch_rows: list[dict] | None = None, top: int = 15) -> str:
    """The profile as Markdown tables: phases, ops, layers (and PyTorch's ops if given)."""
    ph = p["phases"]
    total = ph["total"] or 1.0
    out = [f"Profile of one training step of {p['model']} (batch {p['batch']}, mean of "
           f"{p['steps']} steps)", "", "| phase | ms | % |", "|---|---|---|"]
    for k in ("zero_grad", "forward+loss", "backward", "optimizer", "total"):
        out.append(f"| {k} | {ph[k]:.2f} | {100 * ph[k] / total:.0f} |")
    fwd_ops = sum(r["fwd_ms"] for r in p["ops"])
    bwd_ops = sum(r["bwd_ms"] for r in p["ops"])
    out += ["", f"Inside ops: forward {fwd_ops:.2f} ms, backward {bwd_ops:.2f} ms; outside ops "
            f"(module calls, checks, graph walk): forward {ph['forward+loss'] - fwd_ops:.2f} "
            f"ms, backward {ph['backward'] - bwd_ops:.2f} ms.", ""]
    out += ["| op | calls | forward ms | backward ms | total ms | % of step |",
            "|---|---|---|---|---|---|"]
    for r in p["ops"][:top]:
        out.append(f"| {r['op']} | {r['calls']:.0f} | {r['fwd_ms']:.2f} | {r['bwd_ms']:.2f} | "
                   f"{r['total_ms']:.2f} | {100 * r['total_ms'] / total:.1f} |")
    out += ["", "| layer | type | forward ms | backward ms | total ms | % of step |",
            "|---|---|---|---|---|---|"]
    for r in p["layers"][:top]:
        out.append(f"| {r['layer']} | {r['type']} | {r['fwd_ms']:.2f} | {r['bwd_ms']:.2f} | "
                   f"{r['total_ms']:.2f} | {100 * r['total_ms'] / total:.1f} |")
    if torch_rows:
        out += ["", "PyTorch, same model and batch (self CPU time per step):", "",
                "| PyTorch op | calls | self ms |", "|---|---|---|"]
        for r in torch_rows:
            out.append(f"| {r['op']} | {r['calls']:.0f} | {r['self_ms']:.2f} |")
    return "\n".join(out) + "\n"
