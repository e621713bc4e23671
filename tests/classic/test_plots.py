"""Figures: written atomically as valid images, inputs checked."""

import numpy as np
import pytest

from fovea.classic.model_selection import CVResult
from fovea.classic.plots import (
    plot_accuracy_vs_k,
    plot_hyperparameter_search,
    plot_templates,
    plot_training_history,
    save_figure,
)

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    return path.read_bytes()[:8] == PNG


def _no_temporaries(folder):
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_every_plot_writes_a_png_and_leaves_no_temporary_file(tmp_path):
    ks = CVResult([{"k": k} for k in (1, 3, 5)], np.random.default_rng(0).random((3, 4)))
    grid = CVResult([{"learning_rate": lr, "reg": r} for lr in (1e-3, 1e-2) for r in (0.1, 1)],
                    np.random.default_rng(1).random((4, 2)))
    paths = [
        plot_accuracy_vs_k(ks, tmp_path / "sub" / "k.png"),
        plot_hyperparameter_search(grid, tmp_path / "search.png"),
        plot_templates(np.random.default_rng(2).random((10, 4, 4, 3)), tmp_path / "t.png",
                       class_names=[str(i) for i in range(10)]),
        plot_templates(np.random.default_rng(2).random((3, 4, 4)), tmp_path / "g.png"),
        plot_training_history([3.0, 2.0, 1.5], tmp_path / "loss.png"),
        plot_training_history({"loss_history": [3.0, 2.0], "train_acc_history": [0.5, 0.7],
                               "val_acc_history": [0.4, 0.6]}, tmp_path / "curves.png"),
    ]
    for p in paths:
        assert p.exists() and _is_png(p), p
    assert _no_temporaries(tmp_path) and _no_temporaries(tmp_path / "sub")


def test_a_failed_save_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    from matplotlib.figure import Figure

    target = tmp_path / "fig.xyz"
    target.write_bytes(b"previous")
    with pytest.raises(ValueError):
        save_figure(Figure(), target)          # unknown format: savefig raises
    assert target.read_bytes() == b"previous"
    assert _no_temporaries(tmp_path)
    save_figure(Figure(), tmp_path / "fig.png")
    assert _is_png(tmp_path / "fig.png")


def test_bad_plot_inputs_are_refused(tmp_path):
    with pytest.raises(TypeError, match="CVResult"):
        plot_accuracy_vs_k({"k": [1]}, tmp_path / "a.png")
    with pytest.raises(ValueError, match="'k'"):
        plot_accuracy_vs_k(CVResult([{"j": 1}], [[0.5]]), tmp_path / "a.png")
    with pytest.raises(ValueError, match="'reg'"):
        plot_hyperparameter_search(CVResult([{"learning_rate": 1}], [[0.5]]), tmp_path / "b.png")
    with pytest.raises(ValueError, match="3 templates but 2 class names"):
        plot_templates(np.zeros((3, 2, 2)), tmp_path / "c.png", class_names=["a", "b"])
    with pytest.raises(ValueError, match="templates must be"):
        plot_templates(np.zeros((3, 2)), tmp_path / "c.png")
    with pytest.raises(ValueError, match="loss_history"):
        plot_training_history({"val_acc_history": [1]}, tmp_path / "d.png")
