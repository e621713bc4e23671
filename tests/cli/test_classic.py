"""``fovea classic``: accuracies printed, figures and results written, errors as one line."""

import json
import re

import pytest

from fovea.cli import main


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small matrix products run fastest on one thread; on a busy shared machine OpenBLAS's
    spinning worker threads make the SGD loops several times slower (as in tests/classic)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _run(capsys, *argv):
    rc = main(["classic", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _accuracy(out, which):
    return float(re.search(rf"{which} accuracy: ([0-9.]+)", out).group(1))


@pytest.mark.parametrize("model, target, figures", [
    ("knn", 0.97, ["accuracy_vs_k.png"]),
    ("svm", 0.93, ["loss.png", "templates.png"]),
    ("softmax", 0.93, ["loss.png", "templates.png"]),
    ("two-layer", 0.96, ["training.png"]),
])
def test_each_model_reaches_its_digits_target_with_the_default_settings(
        capsys, tmp_path, model, target, figures):
    rc, out, err = _run(capsys, model, "--out", str(tmp_path))
    assert rc == 0, err
    assert _accuracy(out, "test") >= target
    assert 0.85 <= _accuracy(out, "validation") <= 1.0
    for name in figures:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["model"] == model and report["dataset"] == "digits"
    assert report["test_accuracy"] == pytest.approx(_accuracy(out, "test"), abs=1e-4)
    assert report["sizes"]["test"] == 359


def test_knn_cross_validation_over_given_k_values(capsys, tmp_path):
    rc, out, err = _run(capsys, "knn", "--cross-validate", "--folds", "3", "--k", "1", "5",
                        "--metric", "l1", "--out", str(tmp_path))
    assert rc == 0, err
    report = json.loads((tmp_path / "results.json").read_text())
    assert [p["k"] for p in report["search"]["params"]] == [1, 5]
    assert len(report["search"]["scores"][0]) == 3
    assert report["hyperparameters"]["k"] in (1, 5)
    assert "metric = l1" in out and (tmp_path / "accuracy_vs_k.png").exists()


@pytest.mark.parametrize("search", ["grid", "random"])
def test_linear_cross_validation_writes_the_search_figure(capsys, tmp_path, search):
    rc, out, err = _run(capsys, "softmax", "--cross-validate", "--folds", "2", "--search",
                        search, "--num-samples", "3", "--num-iters", "60", "--out",
                        str(tmp_path))
    assert rc == 0, err
    report = json.loads((tmp_path / "results.json").read_text())
    assert len(report["search"]["params"]) == (12 if search == "grid" else 3)
    assert report["hyperparameters"]["learning_rate"] == report["search"]["best_params"][
        "learning_rate"]
    assert (tmp_path / "search.png").exists()


def test_two_layer_cross_validation_and_hog_features(capsys, tmp_path):
    rc, out, err = _run(capsys, "two-layer", "--cross-validate", "--folds", "2", "--search",
                        "random", "--num-samples", "2", "--num-iters", "50",
                        "--features", "hog", "--hidden-size", "20", "--out", str(tmp_path))
    assert rc == 0, err
    assert "(hog)" in out and (tmp_path / "search.png").exists()
    assert (tmp_path / "training.png").exists()


def test_max_train_subsamples_the_training_split(capsys, tmp_path):
    rc, out, _ = _run(capsys, "knn", "--max-train", "100", "--max-test", "50", "--k", "3",
                      "--out", str(tmp_path))
    assert rc == 0 and "100 train, 50 val, 50 test" in out


@pytest.mark.parametrize("argv, message", [
    (["knn", "--k", "5000"], "--k 5000 is larger than the training set"),
    (["knn", "--dataset", "no-such-set"], "unknown data set 'no-such-set'"),
    (["svm", "--features", "color"], "colour histograms need RGB images"),
    (["svm", "--learning-rate", "-1"], "learning_rate must be > 0"),
    (["knn", "--cross-validate", "--max-train", "20", "--k", "19"], "fold's training set (16"),
])
def test_bad_input_exits_2_with_one_line(capsys, tmp_path, argv, message):
    rc, _, err = _run(capsys, *argv, "--out", str(tmp_path))
    assert rc == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_folds_below_two_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["classic", "knn", "--cross-validate", "--folds", "1"])
    assert exc.value.code == 2
    assert "folds must be >= 2" in capsys.readouterr().err
