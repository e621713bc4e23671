"""fovea train's techniques (fovea.train.techniques): --ema, --mixup/--cutmix, --drop-path,
--max-norm, --snapshots; a run with them resumes exactly, and each does what it says."""

import json

import numpy as np
import pytest

import fovea
from fovea.cli import main
from fovea.models import CifarResNet
from fovea.train import run as run_module
from fovea.train.checkpoint import load_weights
from fovea.train.techniques import (
    EMA,
    MixingLoader,
    add_drop_path,
    build_mixing,
    residual_blocks,
    snapshot_lr,
)

FAST = ["--model", "two_layer", "--no-progress"]
ALL = ["--ema", "0.9", "--mixup", "0.2", "--cutmix", "1.0", "--max-norm", "2.0",
       "--snapshots", "2"]


def _weights(path):
    return load_weights(path)


def test_a_run_with_every_technique_resumes_exactly(tmp_path, monkeypatch, capsys):
    full = tmp_path / "full"
    assert main(["train", "--epochs", "2", "--out", str(full), *ALL, *FAST]) == 0
    real = run_module.RunStatus.on_epoch_end

    def stop_after_one(self, trainer):
        real(self, trainer)
        if trainer.epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(run_module.RunStatus, "on_epoch_end", stop_after_one)
    cut = tmp_path / "cut"
    assert main(["train", "--epochs", "2", "--out", str(cut), *ALL, *FAST]) == 130
    monkeypatch.setattr(run_module.RunStatus, "on_epoch_end", real)
    assert (cut / "checkpoints" / "epoch-0001" / "ema.safetensors").is_file()
    assert main(["train", "--resume", str(cut), "--no-progress"]) == 0
    for name in ("model.safetensors", "snapshots/cycle-1.safetensors",
                 "snapshots/cycle-2.safetensors"):
        a, b = _weights(full / name), _weights(cut / name)
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name}: {k}")
    m = json.loads((full / "metrics.json").read_text())
    assert m["ema_decay"] == 0.9 and "ema_val_accuracy" in m and "best_raw_test_accuracy" in m


def test_ema_weights_are_the_warmed_up_moving_average():
    model = fovea.nn.Linear(3, 2)
    ema = EMA(model, 0.5)

    class T:
        pass

    t = T()
    t.model = model
    expect = model.weight.detach().numpy().copy()
    for n in range(5):
        with fovea.no_grad():
            model.weight.add_(1.0)
        ema.on_step(t, 0.0)
        w = model.weight.detach().numpy()
        d = min(0.5, (1 + n) / (10 + n)) if n else 0.0  # the first update copies
        expect = d * expect + (1 - d) * w
        np.testing.assert_allclose(ema.model.weight.detach().numpy(), expect, rtol=1e-6)


def test_snapshot_lr_is_cosine_within_each_cycle_and_restarts():
    lrs = [snapshot_lr(0.1, s, 10) for s in range(30)]
    assert lrs[0] == lrs[10] == lrs[20] == 0.1
    assert all(a > b for a, b in zip(lrs[:9], lrs[1:10]))
    np.testing.assert_allclose(lrs[5], 0.05, rtol=1e-12)


def test_snapshots_need_epochs_divisible_by_k(tmp_path, capsys):
    assert main(["train", "--epochs", "3", "--snapshots", "2", "--out",
                 str(tmp_path / "r"), *FAST]) == 2
    assert "--snapshots" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_drop_path_hooks_every_residual_block_with_linearly_rising_rates():
    model = CifarResNet(14, num_classes=3, in_channels=1).eval()  # 6 blocks in all
    x = fovea.randn(64, 1, 8, 8)
    y0 = model(x).detach().numpy()
    keys = list(model.state_dict())
    add_drop_path(model, 0.6)
    assert list(model.state_dict()) == keys
    np.testing.assert_allclose(model(x).detach().numpy(), y0)  # evaluation is unchanged
    blocks = residual_blocks(model)
    assert [len(last._forward_hooks) for _, last in blocks] == [1] * 6
    # In training the last block's branch is dropped for ~60% of the examples (rate p·6/6).
    last = blocks[-1][1].train()
    out = last(fovea.randn(400, last.num_features, 2, 2)).detach().numpy().reshape(400, -1)
    assert 0.5 < (out == 0).all(axis=1).mean() < 0.7
    first = blocks[0][1].train()
    out = first(fovea.randn(400, first.num_features, 2, 2)).detach().numpy().reshape(400, -1)
    assert 0.03 < (out == 0).all(axis=1).mean() < 0.2  # rate 0.6·1/6 = 0.1


def test_drop_path_refuses_a_model_without_residual_blocks(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--drop-path", "0.1", "--out",
                 str(tmp_path / "r"), *FAST]) == 2
    assert "residual blocks" in capsys.readouterr().err


def test_mixing_loader_repeats_its_batches_for_an_epoch_and_differs_between_epochs():
    x = np.random.default_rng(0).standard_normal((8, 1, 4, 4)).astype(np.float32)
    y = np.arange(8) % 3
    loader = [(x[:4], y[:4]), (x[4:], y[4:])]
    ml = MixingLoader(loader, build_mixing(0.4, None, 3), seed=1)
    a = [b[0] for b in ml]
    b = [b[0] for b in ml]
    ml.set_epoch(1)
    c = [b[0] for b in ml]
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])
    assert ml.__len__() == 2


@pytest.mark.parametrize("flag,value", [("--ema", "1.5"), ("--mixup", "0"),
                                        ("--drop-path", "1"), ("--max-norm", "-1"),
                                        ("--snapshots", "0"), ("--label-smoothing", "1"),
                                        ("--label-smoothing", "-0.1")])
def test_bad_technique_options_are_refused_naming_the_option(tmp_path, capsys, flag, value):
    assert main(["train", flag, value, "--out", str(tmp_path / "r"), *FAST]) == 2
    assert flag in capsys.readouterr().err


def test_label_smoothing_loss_is_the_smoothed_cross_entropy_worked_in_numpy():
    """Oracle: (1 - eps)·(-log p_y) + eps/C·Σ_c(-log p_c), averaged over the batch."""
    from fovea.train.techniques import loss_function

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4))
    y = rng.integers(0, 4, 6)
    logp = logits - logits.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    want = np.mean(0.8 * -logp[np.arange(6), y] + 0.2 / 4 * -logp.sum(1))
    cfg = run_module.TrainConfig(label_smoothing=0.2).validate()
    got = loss_function(cfg)(fovea.tensor(logits), fovea.tensor(y)).item()
    assert got == pytest.approx(want, rel=1e-12)
    plain = loss_function(run_module.TrainConfig())(fovea.tensor(logits), fovea.tensor(y)).item()
    assert plain == pytest.approx(np.mean(-logp[np.arange(6), y]), rel=1e-12)
    assert abs(plain - got) > 1e-3  # the smoothing changes the loss: the test can fail


def test_a_label_smoothed_run_records_its_option(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "--epochs", "1", "--out", str(out), "--label-smoothing", "0.1",
                 *FAST]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["label_smoothing"] == 0.1


def test_no_validation_trains_on_the_validation_images_too(tmp_path):
    from fovea.data import load_dataset

    data = load_dataset("digits")
    merged = data.without_validation()
    assert len(merged.y_val) == 0 and len(merged.y_train) == len(data.y_train) + len(data.y_val)
    np.testing.assert_array_equal(merged.x_train[len(data.y_train):], data.x_val)
    np.testing.assert_array_equal(merged.x_test, data.x_test)
    out = tmp_path / "r"
    assert main(["train", "--epochs", "1", "--out", str(out), "--no-validation",
                 "--train-eval-size", "1437", *FAST]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["val_accuracy"] is None and 0 < m["test_accuracy"] <= 1
    # every labelled image is in the training accuracy's count: 1,257 + 180 = 1,437
    assert round(m["final_train_accuracy"] * 1437, 6) == round(m["final_train_accuracy"] * 1437)
    with pytest.raises(ValueError, match="--early-stopping"):
        run_module.TrainConfig(validation=False, early_stopping=2).validate()


def test_flip_tta_averages_the_softmax_of_the_image_and_its_mirror():
    """Oracle: the softmax of the model on x and on x[..., ::-1], averaged by hand in NumPy."""
    from fovea.data import ArrayDataset, DataLoader
    from fovea.train.trainer import accuracy

    fovea.manual_seed(0)
    model = fovea.nn.Sequential(fovea.nn.Flatten(), fovea.nn.Linear(12, 3))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 1, 3, 4)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    w, b = model[1].weight.detach().numpy(), model[1].bias.detach().numpy()

    def softmax(s):
        e = np.exp(s - s.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    p = softmax(x.reshape(40, -1) @ w.T + b) + softmax(x[..., ::-1].reshape(40, -1) @ w.T + b)
    loader = DataLoader(ArrayDataset(x, y), batch_size=16)
    acc, pred, _ = accuracy(model, loader, tta="flip")
    np.testing.assert_array_equal(pred, p.argmax(1))
    assert acc == pytest.approx((p.argmax(1) == y).mean())
    plain = (x.reshape(40, -1) @ w.T + b).argmax(1)
    assert (pred != plain).any()  # the mirror changes some predictions: the test can fail
    with pytest.raises(ValueError, match="tta"):
        accuracy(model, loader, tta="crop")


def test_train_eval_size_samples_the_training_accuracy_and_tta_is_reported(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "--epochs", "1", "--out", str(out), "--train-eval-size", "37",
                 "--tta", "flip", *FAST]) == 0
    m = json.loads((out / "metrics.json").read_text())
    # the training accuracy is a count over 37 images
    assert round(m["final_train_accuracy"] * 37, 6) == round(m["final_train_accuracy"] * 37)
    assert 0 <= m["test_accuracy_tta"] <= 1
    cfg = run_module.TrainConfig(train_eval_size=0)
    with pytest.raises(ValueError, match="--train-eval-size"):
        cfg.validate()
    with pytest.raises(ValueError, match="--tta"):
        run_module.TrainConfig(tta="crops").validate()
