"""``fovea info``: what fovea runs on — versions, the active backend, kernels, threads, BLAS.

The facts come from :mod:`fovea.config` (flags, data directory), the backend registry
(devices) and :func:`fovea.backends.cpu.info.describe` (kernels, threads, BLAS); ``--json``
prints them as JSON for bug reports and scripts.
"""

from __future__ import annotations

import json
import platform


def register(sub) -> None:
    """Add ``fovea info`` to the ``fovea`` parser."""
    p = sub.add_parser("info", help="print the active backend, kernels, threads and BLAS")
    p.add_argument("--json", action="store_true", help="print the facts as one JSON object")
    p.set_defaults(func=run)


def facts() -> dict:
    """Versions, flags, devices and the CPU backend's facts as one JSON-serialisable dict."""
    import dataclasses

    import numpy

    import fovea
    from fovea import backends, config
    from fovea.backends.cpu import info

    return {"fovea": fovea.__version__, "python": platform.python_version(),
            "numpy": numpy.__version__, "backend": backends.default().name,
            "devices": [b.name for b in backends.registered()],
            "settings": dataclasses.asdict(config.settings()),
            "environment": config.environment(), "data_dir": config.data_dir(),
            **info.describe()}


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def format_facts(f: dict) -> str:
    """The facts as aligned ``name: value`` lines."""
    llvm, nb, blas, tuning = (f["llvm_conv_kernels"], f["numba_kernels"], f["blas"],
                              f["process_tuning"])
    blas_name = " ".join(str(v) for v in (blas.get("library"), blas.get("version")) if v)
    rows = [
        ("fovea", f["fovea"]),
        ("python", f["python"]),
        ("numpy", f["numpy"]),
        ("backend", f["backend"]),
        ("devices", ", ".join(f["devices"])),
        ("threads", f["threads"]),
        ("blas", f"{blas_name or 'unknown'} ({blas.get('threads')} threads)"),
        ("conv kernels", "generated LLVM kernels" if llvm["available"] and f["settings"]["jit"]
         else "BLAS (im2col / shifted products)"),
        ("numba kernels", f"{_on_off(nb['available'])}"
         + (f" (threading layer {nb['threading_layer']})" if nb["available"] else "")),
        ("malloc tuning", _on_off(tuning["malloc"])),
        ("OPENBLAS_THREAD_TIMEOUT", tuning["openblas_thread_timeout"] or "unset"),
        ("data dir", f["data_dir"]),
        ("FOVEA_* set", ", ".join(f"{k}={v}" for k, v in f["environment"].items()) or "none"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k + ':':<{width + 1}} {v}" for k, v in rows)


def run(args) -> int:
    f = facts()
    print(json.dumps(f, indent=2, sort_keys=True) if args.json else format_facts(f))
    return 0
