"""Benchmarks: fovea against PyTorch on the CPU, and a profiler of fovea's training step.

``fovea bench`` (or ``python -m benchmarks`` in a checkout) runs :func:`run_suite` and writes
JSON and Markdown with :mod:`fovea.bench.report`; ``fovea bench --profile`` runs
:func:`profile_model`. PyTorch is optional: without it fovea is timed alone. It is
imported only here, lazily, as the reference to compare with (never by the library).
"""

from fovea.bench.cases import Case, all_cases, select
from fovea.bench.profiler import Profiler, format_profile, profile_model, profile_torch
from fovea.bench.report import markdown, write
from fovea.bench.suite import Config, run_suite
