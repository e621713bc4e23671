"""``fovea.utils.tensorboard.SummaryWriter`` and ``fovea train --tensorboard``: what is written
is read back by TensorBoard's own event reader (EventAccumulator)."""

import sys

import numpy as np
import pytest

import fovea

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

from fovea.utils.tensorboard import SummaryWriter, TensorBoardMissing  # noqa: E402


def read(log_dir):
    """TensorBoard's reader over ``log_dir``, every event kept."""
    acc = event_accumulator.EventAccumulator(str(log_dir), size_guidance={
        "scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    return acc.Reload()


def test_scalars_come_back_with_their_values_and_steps(tmp_path):
    with SummaryWriter(log_dir=tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss", 1.0 / (step + 1), step)
        w.add_scalar("from_tensor", fovea.tensor([2.5]), 7)  # a one-element Tensor
    acc = read(tmp_path)
    events = acc.Scalars("loss")
    assert [e.step for e in events] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([e.value for e in events], [1, 1 / 2, 1 / 3, 1 / 4, 1 / 5],
                               rtol=1e-6)
    (e,) = acc.Scalars("from_tensor")
    assert (e.step, e.value) == (7, 2.5)


def test_add_scalar_refuses_a_tensor_of_several_values(tmp_path):
    with SummaryWriter(tmp_path) as w, pytest.raises(ValueError, match=r"shape \(3,\)"):
        w.add_scalar("x", fovea.tensor([1.0, 2.0, 3.0]), 0)


def test_add_scalars_writes_one_run_per_key(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalars("acc", {"train": 0.9, "val": fovea.tensor(0.8)}, 3)
    for key, value in (("train", 0.9), ("val", 0.8)):
        (e,) = read(tmp_path / f"acc_{key}").Scalars("acc")
        assert e.step == 3 and e.value == pytest.approx(value)


def test_histograms_count_every_value(tmp_path):
    values = fovea.randn(1000)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("weights", values, 2)
        w.add_histogram("np", np.arange(10.0), 3)
    acc = read(tmp_path)
    (h,) = acc.Histograms("weights")
    a = values.numpy()
    assert h.step == 2 and h.histogram_value.num == 1000
    assert h.histogram_value.min == pytest.approx(a.min()) and \
        h.histogram_value.max == pytest.approx(a.max())
    assert h.histogram_value.sum == pytest.approx(a.sum(), rel=1e-4, abs=1e-3)
    assert sum(h.histogram_value.bucket) == 1000
    (h,) = acc.Histograms("np")
    assert h.histogram_value.num == 10 and h.histogram_value.sum == 45


@pytest.mark.parametrize("shape, dataformats", [((3, 6, 10), "CHW"), ((6, 10, 3), "HWC"),
                                                ((6, 10), "HW"), ((1, 6, 10), "CHW")])
def test_images_keep_their_size_in_every_layout(tmp_path, shape, dataformats):
    img = fovea.rand(*shape)
    with SummaryWriter(tmp_path) as w:
        w.add_image("img", img, 4, dataformats=dataformats)
    (e,) = read(tmp_path).Images("img")
    assert (e.step, e.width, e.height) == (4, 10, 6)
    import io

    from PIL import Image

    decoded = np.asarray(Image.open(io.BytesIO(e.encoded_image_string)))
    assert decoded.shape[:2] == (6, 10)
    if dataformats == "HW":
        np.testing.assert_allclose(decoded[..., 0] if decoded.ndim == 3 else decoded,
                                   np.round(img.numpy() * 255), atol=1)


def test_add_images_makes_one_grid(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_images("batch", np.zeros((4, 3, 5, 5), np.float32), 0)
    (e,) = read(tmp_path).Images("batch")
    assert e.width > 5 and e.height >= 5


def test_hparams_are_read_by_the_hparams_plugin(tmp_path):
    from tensorboard.plugins.hparams import plugin_data_pb2

    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.01, "optimizer": "adam", "bn": True, "bs": fovea.tensor(64)},
                      {"hparam/accuracy": 0.93}, hparam_domain_discrete={"optimizer":
                                                                         ["adam", "sgd"]},
                      run_name="trial1")
    acc = read(tmp_path / "trial1")
    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["lr"].number_value == pytest.approx(0.01)
    assert start.hparams["optimizer"].string_value == "adam"
    assert start.hparams["bn"].bool_value is True
    assert start.hparams["bs"].number_value == 64
    exp = plugin_data_pb2.HParamsPluginData.FromString(
        content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in exp.metric_infos] == ["hparam/accuracy"]
    opt = next(i for i in exp.hparam_infos if i.name == "optimizer")
    assert list(opt.domain_discrete.values) and \
        [v.string_value for v in opt.domain_discrete.values] == ["adam", "sgd"]
    (e,) = acc.Scalars("hparam/accuracy")
    assert e.value == pytest.approx(0.93)


def test_add_hparams_refuses_a_value_of_another_kind(tmp_path):
    with SummaryWriter(tmp_path) as w, pytest.raises(TypeError, match="'layers'"):
        w.add_hparams({"layers": [1, 2]}, {"acc": 1.0})


def test_text_and_embedding(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "lr too high", 1)
        w.add_embedding(fovea.randn(6, 3), metadata=list("abcdef"), tag="feats")
    acc = read(tmp_path)
    (t,) = acc.Tensors("notes/text_summary")
    assert t.step == 1 and t.tensor_proto.string_val[0] == b"lr too high"
    # The projector's files: the points as TSV and their labels.
    tsv = next(tmp_path.rglob("tensors.tsv")).read_text().splitlines()
    assert len(tsv) == 6 and len(tsv[0].split("\t")) == 3
    assert next(tmp_path.rglob("metadata.tsv")).read_text().split() == list("abcdef")
    assert "feats" in (tmp_path / "projector_config.pbtxt").read_text()


def test_writers_opened_in_the_same_second_do_not_clobber_each_other(tmp_path):
    with SummaryWriter(tmp_path) as a, SummaryWriter(tmp_path) as b:
        a.add_scalar("a", 1.0, 0)
        b.add_scalar("b", 2.0, 0)
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2
    tags = read(tmp_path).Tags()["scalars"]
    assert sorted(tags) == ["a", "b"]


def test_flush_writes_without_closing(tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=3600)
    w.add_scalar("x", 1.0, 0)
    w.flush()
    assert read(tmp_path).Scalars("x")[0].value == 1.0
    w.close()
    assert w.get_logdir() == str(tmp_path)


def test_comment_is_appended_to_the_default_log_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with SummaryWriter(comment="_lr0.1") as w:
        logdir = w.get_logdir()
    assert logdir.startswith("runs") and logdir.endswith("_lr0.1")


def test_a_missing_tensorboardx_is_one_clear_line(monkeypatch, tmp_path, capsys):
    from fovea.cli import main
    from fovea.errors import UserError

    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(TensorBoardMissing, match=r"pip install 'fovea\[tensorboard\]'") as e:
        SummaryWriter(tmp_path)
    assert isinstance(e.value, ImportError) and isinstance(e.value, UserError)
    out = tmp_path / "run"
    assert main(["train", "--tensorboard", "--epochs", "1", "--model", "two_layer",
                 "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tensorboardX" in err
    assert not out.exists()


def test_train_tensorboard_logs_what_the_lectures_watch(tmp_path, capsys):
    from fovea.cli import main

    out = tmp_path / "run"
    assert main(["train", "--tensorboard", "--epochs", "2", "--model", "two_layer",
                 "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    acc = read(out / "tensorboard")
    tags = acc.Tags()
    steps_per_epoch = len(acc.Scalars("loss/train")) // 2
    assert [e.step for e in acc.Scalars("loss/train")] == list(range(1, 2 * steps_per_epoch + 1))
    import json

    from fovea.train.checkpoint import load_checkpoint

    history = load_checkpoint(out)["state"]["history"]
    np.testing.assert_allclose([e.value for e in acc.Scalars("loss/train")], history["loss"],
                               rtol=1e-6)
    np.testing.assert_allclose([e.value for e in acc.Scalars("accuracy/val")],
                               history["val_acc"], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in acc.Scalars("learning_rate")], history["lr"],
                               rtol=1e-6)
    assert [e.step for e in acc.Scalars("accuracy/train")] == [steps_per_epoch,
                                                              2 * steps_per_epoch]
    for name in ("1.weight", "1.bias", "3.weight", "3.bias"):
        assert f"weights/{name}" in tags["histograms"] and f"gradients/{name}" in tags[
            "histograms"]
        ratios = [e.value for e in acc.Scalars(f"update_ratio/{name}")]
        assert len(ratios) >= 8 and all(0 < r < 1 for r in ratios)
    (h,) = acc.Histograms("weights/1.weight")[:1]
    assert h.histogram_value.num == load_checkpoint(out)["model"]["1.weight"].size
    images = acc.Images("predictions")
    assert len(images) == 2 and images[0].width > 100
    hp = read(out / "tensorboard" / "hparams").Scalars("hparam/test_accuracy")
    metrics = json.loads((out / "metrics.json").read_text())
    assert hp[0].value == pytest.approx(metrics["test_accuracy"])
