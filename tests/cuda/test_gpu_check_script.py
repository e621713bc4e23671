"""scripts/gpu_check.py's own logic (the phases themselves ran with ``--device cpu
--quick``, see docs/gpu.md): pytest summaries, phase records with time limits, the report."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.py"
spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


def test_pytest_summary_takes_the_last_count_line():
    text = "....F\nFAILED tests/x.py::t - boom\n===== 1 failed, 4 passed in 2.0s =====\n"
    assert gpu_check.pytest_summary(text) == "1 failed, 4 passed in 2.0s"
    assert gpu_check.pytest_summary("no tests ran") is None


def test_a_phase_is_recorded_and_stopped_at_its_limit(tmp_path):
    ok = gpu_check.run_phase("ok", [sys.executable, "-c", "print('hi')"], 30, tmp_path)
    assert ok["returncode"] == 0 and not ok["timed_out"] and "hi" in ok["tail"]
    assert (tmp_path / "ok.log").read_text().startswith("$ ")
    slow = gpu_check.run_phase("slow", [sys.executable, "-c", "import time; time.sleep(30)"],
                               1, tmp_path)
    assert slow["timed_out"] and slow["returncode"] is None and slow["seconds"] < 10


def test_the_report_lists_every_phase(tmp_path):
    results = {"environment": {"device": "cuda", "gpu": "NVIDIA H200"}, "phases": [
        {"phase": "gpu_tests", "returncode": 0, "timed_out": False, "seconds": 3.0,
         "limit_s": 60, "summary": "5 passed"},
        {"phase": "bench", "returncode": None, "timed_out": True, "seconds": 100.0,
         "limit_s": 100}], "fashion_mnist": {"test_accuracy": 0.95}}
    gpu_check.write(results, tmp_path)
    md = (tmp_path / "results.md").read_text()
    assert "| gpu | NVIDIA H200 |" in md and "| gpu_tests | ok 5 passed | 3.0 (60) |" in md
    assert "| bench | TIMED OUT" in md and '"test_accuracy": 0.95' in md
    budget = gpu_check.Budget(100)
    assert 5 <= budget.limit(60) <= 60 and budget.limit(1000) <= 100
