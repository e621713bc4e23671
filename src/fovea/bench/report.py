"""Writing benchmark results: JSON (everything) and a Markdown table (the summary)."""

from __future__ import annotations

import json
import os
import tempfile

# fovea/PyTorch ratios the project aims for (issue 5): training steps only.
TARGETS = {"mlp": 1.2, "three_layer_convnet": 1.5, "resnet20": 1.5}


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder + rename."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _ms(r: dict | None) -> str:
    if not r:
        return "–"
    return f"{r['median_ms']:.3g}" if r["median_ms"] < 100 else f"{r['median_ms']:.0f}"


def _rate(r: dict | None) -> str:
    if not r or not r.get("gflops"):
        return "–"
    return f"{r['gflops']:.0f} ({r['pct_peak']:.0f}%)"


def _mem(r: dict | None) -> str:
    if not r or r.get("peak_mib") is None:
        return "–"
    return f"{r['peak_mib']:.0f}"


def _span(values) -> str:
    v = sorted(set(values))
    if not v:
        return "0"
    return str(v[0]) if len(v) == 1 else f"{v[0]}–{v[-1]}"


def markdown(result: dict) -> str:
    """The results as a Markdown document: context lines, then one table row per case."""
    env = result["environment"]
    cfg = result["config"]
    peak = env["matmul"]["gflops"]
    has_torch = env.get("torch") is not None
    lines = [
        f"fovea benchmark, {env['date']} — {env['cpu']}, {cfg['threads']} thread(s) "
        f"({env['cpus']} CPUs visible), NumPy {env['numpy']} ({env['blas']}), "
        + (f"PyTorch {env['torch']}" if has_torch else "PyTorch not installed: fovea alone"),
        "",
        f"Machine matmul rate (NumPy float32 {env['matmul']['size']}³): {peak:.0f} GFLOP/s. "
        f"Load average before / after: {env['load_before']} / {env['load_after']}. "
        f"{'Quick mode (small batches), ' if cfg['quick'] else ''}"
        f"Each time is the median of {_span(c['fovea']['samples'] for c in result['cases'])} "
        f"samples taken in {_span(c['rounds'] for c in result['cases'])} interleaved rounds "
        "(blocks of consecutive calls, alternating between the libraries, with a pause "
        "before each block).",
        "",
    ]
    head = "| case | work | fovea ms | PyTorch ms | fovea / PyTorch | target | " \
           "fovea GFLOP/s (% peak) | PyTorch GFLOP/s (% peak) | peak MiB fovea / PyTorch |"
    lines += [head, "|" + "---|" * 9]
    for c in result["cases"]:
        f, t = c["fovea"], c.get("torch")
        ratio = f"{c['ratio']:.2f}×" if c.get("ratio") else "–"
        target = TARGETS.get(c["name"])
        tgt = "–"
        if target is not None:
            tgt = f"≤ {target}×"
            if c.get("ratio"):
                tgt += " ✓" if c["ratio"] <= target else " ✗"
        mem = "–"
        if c["group"] == "model":
            mem = f"{_mem(f)} / {_mem(t)}"
        lines.append(f"| {c['name']} | {c['description']} | {_ms(f)} | {_ms(t)} | {ratio} | "
                     f"{tgt} | {_rate(f)} | {_rate(t)} | {mem} |")
    lines.append("")
    lines.append(f"Command: `{cfg['command']}`")
    return "\n".join(lines) + "\n"


def write(result: dict, out_dir: str, stem: str = "bench") -> tuple[str, str]:
    """Write ``<stem>.json`` and ``<stem>.md`` into ``out_dir``; returns both paths."""
    jpath = os.path.join(out_dir, f"{stem}.json")
    mpath = os.path.join(out_dir, f"{stem}.md")
    write_atomic(jpath, json.dumps(result, indent=2) + "\n")
    write_atomic(mpath, markdown(result))
    return jpath, mpath
