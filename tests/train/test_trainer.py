"""The training loop: babysitting checks, exact resume, early stopping, the main job."""

import json
import warnings

import numpy as np
import pytest

import fovea
from fovea import nn
from fovea.train.run import TrainConfig, train
from fovea.train.trainer import Trainer, TrainingDiverged, expected_initial_loss


def tiny_problem(n=64, d=10, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)
    batches = [(fovea.tensor(x[i:i + 16]), fovea.tensor(y[i:i + 16])) for i in range(0, n, 16)]
    return batches, c


def make_trainer(model, lr, batches, c, **kw):
    from fovea import optim

    return Trainer(model, nn.functional.cross_entropy, optim.SGD(model.parameters(), lr=lr),
                   batches, num_classes=c, progress=False, log=lambda *a: None, **kw)


def test_expected_initial_loss_is_log_c_or_c_minus_one():
    assert expected_initial_loss("softmax", 10) == pytest.approx(2.302585)
    assert expected_initial_loss("svm", 10) == 9


def test_initial_loss_far_from_log_c_warns():
    batches, c = tiny_problem()
    model = nn.Linear(10, 3)
    with fovea.no_grad():
        model.weight.mul_(1000.0)
    with pytest.warns(UserWarning, match="initial loss .* far from the expected 1.099"):
        make_trainer(model, 0.01, batches, c).check_initial_loss()


def test_small_initialisation_gives_log_c_without_warning():
    batches, c = tiny_problem()
    model = nn.Linear(10, 3)
    with fovea.no_grad():
        model.weight.mul_(0.001)
        model.bias.zero_()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = make_trainer(model, 0.01, batches, c).check_initial_loss()
    assert loss == pytest.approx(np.log(3), abs=0.05)


def test_exploding_loss_stops_training_with_a_clear_message():
    batches, c = tiny_problem()
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        make_trainer(nn.Linear(10, 3), 1e4, batches, c).fit(5)


def test_update_to_weight_ratio_is_logged_and_small_for_a_sane_lr():
    batches, c = tiny_problem()
    h = make_trainer(nn.Linear(10, 3), 1e-2, batches, c).fit(2)
    assert len(h.update_ratio) == 2 and 1e-5 < h.update_ratio[0] < 1e-1
    assert len(h.loss) == 2 * len(batches)


def test_early_stopping_stops_after_patience_epochs_without_improvement():
    batches, c = tiny_problem()
    t = make_trainer(nn.Linear(10, 3), 0.0, batches, c, early_stopping=2, val_loader=batches)
    h = t.fit(10)
    assert t.epoch == 3 and h.best_epoch == 1  # lr 0: never improves after epoch 1


def quick(tmp_path, name, **kw):
    kw.setdefault("epochs", 2)
    return TrainConfig(out=str(tmp_path / name), progress=False, **kw)


def test_resume_gives_bit_identical_weights_to_an_uninterrupted_run(tmp_path):
    # small_cnn has batch norm (buffers) and dropout (RNG state): both must be restored.
    full = train(quick(tmp_path, "full"), log=lambda *a: None)
    train(quick(tmp_path, "part", epochs=1), log=lambda *a: None)
    resumed = train(quick(tmp_path, "ignored", epochs=2), resume_dir=tmp_path / "part",
                    log=lambda *a: None)
    assert resumed["epochs"] == 2
    for k, v in full["_final_state"].items():
        np.testing.assert_array_equal(resumed["_final_state"][k], v, err_msg=k)


def test_overfit_small_reaches_100_percent_on_20_examples(tmp_path):
    m = train(quick(tmp_path, "overfit", epochs=30, overfit_small=True, lr=3e-3,
                    batch_size=20), log=lambda *a: None)
    assert m["final_train_accuracy"] == 1.0


def test_run_directory_has_weights_metrics_report_and_checkpoint(tmp_path):
    m = train(quick(tmp_path, "run", epochs=1, model="two_layer"), log=lambda *a: None)
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("test_accuracy", "val_accuracy", "train_accuracy", "epochs", "seconds"):
        assert key in metrics
    assert metrics["test_accuracy"] == pytest.approx(m["test_accuracy"])
    for png in ("loss.png", "accuracy.png", "confusion.png", "filters.png",
                "misclassified.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    assert (run / "model.safetensors").is_file()
    assert (run / "checkpoints" / "LATEST").read_text() == "epoch-0001"


@pytest.mark.slow
def test_default_main_job_reaches_98_percent_on_digits(tmp_path):
    m = train(TrainConfig(out=str(tmp_path / "default"), progress=False), log=lambda *a: None)
    assert m["test_accuracy"] >= 0.98, m


def test_history_keeps_the_update_ratio_of_every_parameter_per_epoch():
    batches, c = tiny_problem()
    model = nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3))
    t = make_trainer(model, 1e-2, batches, c)
    before = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    h = t.fit(2)
    assert list(h.layer_ratio) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(len(v) == 2 and all(0 < r < 1 for r in v) for v in h.layer_ratio.values())
    # With one batch an epoch measured, the ratio of epoch 1 is that of the first update:
    # SGD's update is lr * grad, so recompute it by hand for the first layer's weight.
    one = make_trainer(nn.Sequential(nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 3)), 1e-2,
                       batches[:1], c)
    m = one.model
    with fovea.no_grad():
        for n, p in m.named_parameters():
            p.copy_(fovea.tensor(before[n]))
    m.zero_grad()
    nn.functional.cross_entropy(m(batches[0][0]), batches[0][1]).backward()
    g = m[0].weight.grad.numpy()
    expected = np.linalg.norm(1e-2 * g) / np.linalg.norm(before["0.weight"])
    h1 = one.fit(1)
    assert h1.layer_ratio["0.weight"][0] == pytest.approx(expected, rel=1e-5)


def test_report_adds_the_learning_rate_and_update_ratio_figures(tmp_path):
    train(quick(tmp_path, "run", epochs=2, model="two_layer", schedule="step"),
          log=lambda *a: None)
    run = tmp_path / "run"
    for png in ("lr.png", "update_ratio.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    from fovea.train.checkpoint import load_checkpoint

    h = load_checkpoint(run)["state"]["history"]
    assert len(h["lr"]) == 2 and set(h["layer_ratio"]) == {"1.weight", "1.bias", "3.weight",
                                                           "3.bias"}
    assert h["seconds"] > 0


def test_the_report_draws_the_history_it_is_given(tmp_path, monkeypatch):
    from fovea.train import report
    from fovea.train.trainer import History

    drawn = {}
    monkeypatch.setattr(report, "plot_lr", lambda lr, path: drawn.setdefault("lr", lr))
    monkeypatch.setattr(report, "plot_update_ratios",
                        lambda layers, total, path: drawn.setdefault("ratio", (layers, total)))
    h = History(loss=[2.0, 1.0], train_acc=[0.5, 0.6], val_acc=[0.5, 0.6], lr=[0.1, 0.01],
                update_ratio=[1e-3, 2e-3], layer_ratio={"w": [1e-3, 3e-3]})
    model = nn.Linear(4, 2)
    report.write_report(tmp_path, h, model, np.zeros((2, 1, 2, 2), np.float32), [0, 1], [0, 0],
                        ["a", "b"])
    assert drawn == {"lr": [0.1, 0.01], "ratio": ({"w": [1e-3, 3e-3]}, [1e-3, 2e-3])}
