"""The benchmark suite's plumbing: timing, cases, JSON/Markdown output, the profiler and
``python -m benchmarks``.

No test asserts a speed; they check that the machinery measures what it says it does.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea import autograd, nn
from fovea.autograd import Function
from fovea.bench import (
    Config,
    Profiler,
    format_profile,
    markdown,
    overhead,
    profile_model,
    report,
    run_suite,
    timing,
)
from fovea.bench import cases as C

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_summarize_gives_median_quartiles_min():
    s = timing.summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert s == {"median": 3.0, "q1": 2.0, "q3": 4.0, "min": 1.0, "n": 5}
    with pytest.raises(ValueError, match="no timings"):
        timing.summarize([])


def test_run_interleaved_alternates_the_order_and_counts_rounds():
    calls = []
    fns = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    times = timing.run_interleaved(fns, repeats=4, warmup=1, settle_s=0.0, max_block=1)
    assert times.pop("_rounds") == 4
    assert {k: len(v) for k, v in times.items()} == {"a": 4, "b": 4}
    timed = calls[2:]  # after one warm-up call each
    assert timed == ["a", "b", "b", "a", "a", "b", "b", "a"]
    with pytest.raises(ValueError, match="repeats and inner must be >= 1"):
        timing.run_interleaved(fns, repeats=0)


def test_run_interleaved_takes_blocks_of_fast_calls():
    times = timing.run_interleaved({"x": lambda: None}, repeats=2, settle_s=0.0, block_s=0.01,
                                   max_block=7)
    assert times.pop("_rounds") == 2 and len(times["x"]) == 14


def test_model_flops_worked_by_hand_for_the_mlp():
    model = C.build_fovea_model("mlp")
    x = np.zeros((4, 3, 32, 32), dtype=np.float32)
    fwd1, fwd2 = 2 * 4 * 3072 * 100, 2 * 4 * 100 * 10
    # the first layer's input needs no gradient: forward + weight gradient only
    assert C.model_flops(model, x) == 2 * fwd1 + 3 * fwd2


def test_cases_have_unique_names_and_select_filters():
    cases = C.all_cases()
    names = [c.name for c in cases]
    assert len(names) == len(set(names))
    assert [c.name for c in C.select(cases, models_only=True)] == list(C.MODEL_SPECS) + [
        f"{n}_traced" for n in C.TRACED_MODELS] + ["lstm_lm", "gru_lm", "resnet20_saliency"]
    assert all(c.group == "layer" for c in C.select(cases, layers_only=True))
    picked = [c.name for c in C.select(cases, "relu:fwd, maxpool2x2:fwd+")]
    assert picked == ["maxpool2x2:fwd+bwd", "relu:fwd"]  # exact name, or substring
    assert [c.name for c in C.select(cases, "relu")] == ["relu:fwd", "relu:fwd+bwd"]
    with pytest.raises(ValueError, match="framework must be one of"):
        cases[0].make("jax")


def test_layer_cases_run_in_fovea_and_compute_the_same_as_torch():
    torch = pytest.importorskip("torch")
    for case in C.select(C.all_cases(), layers_only=True):
        if case.mode != "forward":
            continue
        f, flops_f = case.make("fovea", quick=True)
        t, flops_t = case.make("torch", quick=True)
        assert flops_f == flops_t
        with torch.no_grad():
            expected = t().detach().numpy()
        np.testing.assert_allclose(f().detach().numpy(), expected, rtol=2e-4, atol=2e-4,
                                   err_msg=case.name)


def test_model_steps_start_from_identical_weights_in_both_libraries():
    pytest.importorskip("torch")
    for name in C.MODEL_SPECS:
        f, _ = C.Case.make(C._model_case(name), "fovea", quick=True)
        t, _ = C.Case.make(C._model_case(name), "torch", quick=True)
        assert abs(f().item() - t().item()) < 1e-4, name


def test_traced_model_steps_compute_the_eager_steps():
    for name in C.TRACED_MODELS[:2]:
        eager, _ = C._model_case(name).make("fovea", quick=True)
        traced, _ = C._traced_model_case(name).make("fovea", quick=True)
        for _ in range(2):  # the second step sees the first update
            assert abs(eager().item() - traced().item()) < 1e-5, name


def _check_result(result, with_torch):
    assert result["environment"]["matmul"]["gflops"] > 0
    names = [c["name"] for c in result["cases"]]
    assert names == ["mlp", "relu:fwd"]
    for c in result["cases"]:
        assert c["fovea"]["median_ms"] > 0 and c["fovea"]["samples"] >= 3
        assert ("torch" in c) == with_torch and ("ratio" in c) == with_torch
    mlp = result["cases"][0]
    assert mlp["fovea"]["gflops"] > 0
    peak = mlp["fovea"].get("peak_mib")
    assert peak is None or peak >= 0
    json.dumps(result)  # serialisable


@pytest.mark.parametrize("with_torch", [False, True])
def test_a_tiny_quick_run_produces_valid_json_and_markdown(tmp_path, with_torch):
    if with_torch:
        pytest.importorskip("torch")
    cfg = Config(quick=True, repeats=3, threads=1, only="mlp,relu:fwd", use_torch=with_torch,
                 memory=with_torch, budget_s=1.0, command="test")
    result = run_suite(cfg, log=lambda s: None)
    _check_result(result, with_torch)
    jpath, mpath = report.write(result, str(tmp_path))
    assert json.loads(open(jpath).read())["cases"][0]["name"] == "mlp"
    md = open(mpath).read()
    assert "| mlp |" in md and "| relu:fwd |" in md
    assert ("fovea alone" in md) != with_torch
    if with_torch:
        assert "≤ 1.2×" in md


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="--repeats must be >= 3"):
        run_suite(Config(repeats=2))
    with pytest.raises(ValueError, match="no case matches"):
        run_suite(Config(only="nothing-like-this", use_torch=False), log=lambda s: None)


def test_python_m_benchmarks_runs_the_suite_of_this_checkout(tmp_path):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--only", "relu:fwd",
                        "--no-torch", "--no-memory", "--repeats", "3", "--out", str(tmp_path)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    md = (tmp_path / "bench.md").read_text()
    assert "python -m benchmarks" in md and "| relu:fwd |" in md


def test_memory_is_measured_in_a_fresh_process():
    from fovea.bench import memory

    r = memory.measure("mlp", "fovea", 1, quick=True)
    if sys.platform.startswith("linux"):
        assert r["peak_mib"] is not None and r["peak_mib"] >= 0, r
    assert memory.main(["only-two", "args"]) == 2


# --- the profiler ----------------------------------------------------------------------------

def _tiny_model():
    fovea.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))


def test_profiler_aggregates_per_op_and_per_layer_and_restores_the_engine():
    model = _tiny_model()
    x = fovea.randn(4, 6)
    y = fovea.tensor(np.array([0, 1, 2, 0]))
    apply_before, nb_before = Function.__dict__["apply"], autograd._node_backward
    with Profiler(model) as prof:
        for _ in range(3):
            F.cross_entropy(model(x), y).backward()
    assert Function.__dict__["apply"] is apply_before
    assert autograd._node_backward is nb_before
    ops = {r["op"]: r for r in prof.op_table(steps=3)}
    assert ops["Linear"]["calls"] == 2 and ops["Relu"]["calls"] == 1
    assert ops["CrossEntropy"]["calls"] == 1
    assert prof.ops["Linear"]["bwd_calls"] == 6
    layers = {r["layer"]: r for r in prof.layer_table(steps=3)}
    assert layers["0"]["type"] == "Linear" and layers["1"]["type"] == "ReLU"
    assert layers["(no module)"]["calls"] == 1  # the loss, outside the model
    assert all(r["fwd_ms"] >= 0 and r["bwd_ms"] >= 0 for r in layers.values())


def test_profiler_restores_the_engine_after_an_error_and_refuses_nesting():
    apply_before = Function.__dict__["apply"]
    prof = Profiler()
    with pytest.raises(ZeroDivisionError), prof:
        raise ZeroDivisionError("inside the profiled block")
    assert Function.__dict__["apply"] is apply_before
    with Profiler() as p, pytest.raises(RuntimeError, match="already active"):
        p.__enter__()
    assert Function.__dict__["apply"] is apply_before


def test_profile_model_reports_phases_ops_and_layers():
    p = profile_model("mlp", steps=1, quick=True, threads=1)
    assert set(p["phases"]) == {"zero_grad", "forward+loss", "backward", "optimizer", "total"}
    assert p["batch"] == C.MODEL_SPECS["mlp"][1]
    assert {r["op"] for r in p["ops"]} >= {"Linear", "Relu", "CrossEntropy"}
    text = format_profile(p, [{"op": "aten::mm", "self_ms": 1.0, "calls": 3}])
    assert "| Linear |" in text and "| aten::mm | 3 | 1.00 |" in text


def test_overhead_rows_and_table():
    rows = overhead.measure(use_torch=False, seconds=0.005, rounds=1)
    assert rows[0]["program"].startswith("numpy") and all(r["fovea_us"] > 0 for r in rows)
    assert "| add (a + b) |" in overhead.format_rows(rows)


def test_markdown_marks_targets_met_or_missed():
    case = {"name": "mlp", "group": "model", "description": "d", "rounds": 3,
            "fovea": {"median_ms": 3.0, "samples": 3, "gflops": 1.0, "pct_peak": 1.0,
                      "peak_mib": 1.0},
            "torch": {"median_ms": 2.0, "samples": 3, "peak_mib": 2.0}, "ratio": 1.5}
    env = {"date": "d", "cpu": "c", "cpus": 2, "numpy": "n", "blas": "b", "torch": "t",
           "matmul": {"size": 8, "gflops": 100.0}, "load_before": [0], "load_after": [0]}
    md = markdown({"environment": env, "config": {"threads": 2, "quick": False,
                                                  "command": "x"}, "cases": [case]})
    assert "| 1.50× | ≤ 1.2× ✗ |" in md and "| 1 / 2 |" in md


def test_lecture_cases_compute_the_same_in_both_libraries():
    """The LM steps start from the same weights (same loss) and the saliency maps agree;
    the LM FLOP count is worked by hand for one layer."""
    pytest.importorskip("torch")
    from fovea.bench import lecture_cases as L

    for case in L.lecture_cases():
        f, flops_f = case.make("fovea", quick=True)
        t, flops_t = case.make("torch", quick=True)
        assert flops_f == flops_t > 0, case.name
        a, b = f(), t()
        if case.name.endswith("_lm"):
            assert abs(a.item() - b.item()) < 1e-4, case.name
        else:
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-3, atol=1e-5)
    s = {"batch": 2, "seq": 3, "vocab": 5, "embed": 4, "hidden": 6, "layers": 1}
    # 4 gates x 6 units x (4 + 6) inputs + the 6 x 5 head, 2 FLOPs each, x3, x 2 x 3 steps
    assert L.rnn_lm_flops("LSTM", s) == 3 * 2 * (4 * 6 * 10 + 6 * 5) * 2 * 3


def test_partial_suite_runs_do_not_replace_the_recorded_results():
    """python -m benchmarks: a full run writes benchmarks/results/, a run of some cases
    benchmarks/results/partial/, and --out wins over both."""
    import argparse
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "__main__.py"
    spec = importlib.util.spec_from_file_location("benchmarks_main", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    parser = argparse.ArgumentParser()
    mod.bench_cli.add_arguments(parser, default_out="R")

    def folder(*argv):
        return mod.output_folder(parser.parse_args(list(argv)), "R")

    assert folder() == "R"
    assert folder("--repeats", "3") == "R"
    for argv in (["--only", "mlp"], ["--models-only"], ["--layers-only"], ["--quick"]):
        assert folder(*argv) == str(Path("R") / "partial"), argv
    assert folder("--only", "mlp", "--out", "X") == "X"
