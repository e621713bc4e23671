"""``fovea detect`` and ``fovea segment``: train (and resume), evaluate, predict, on Shapes and
on a COCO file, in tiny runs."""

import json

import numpy as np
import pytest

from fovea.cli import main
from fovea.data.shapes import Shapes

TINY = ["--epochs", "1", "--train-images", "8", "--test-images", "4", "--batch-size", "4",
        "--width", "4"]


@pytest.mark.parametrize("task,model", [("detect", "ssd"), ("detect", "mask_rcnn"),
                                        ("segment", "fcn"), ("segment", "unet")])
def test_train_evaluate_predict(tmp_path, capsys, task, model):
    pytest.importorskip("pycocotools")
    run = tmp_path / "run"
    assert main([task, "train", "--model", model, *TINY, "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert ("mean_iou" in metrics) == (task == "segment")
    if model == "mask_rcnn":
        assert set(metrics) >= {"bbox", "segm"}
    assert main([task, "evaluate", str(run), "--test-images", "4"]) == 0
    out = capsys.readouterr().out
    assert ("mean IoU" in out) if task == "segment" else ("bbox: AP" in out)
    pred = tmp_path / "pred"
    assert main([task, "predict", str(run), "--shapes", "2", "--out-dir", str(pred),
                 "--score-thresh", "0.0"]) == 0
    assert sorted(p.name for p in pred.iterdir()) == ["shapes-000.png", "shapes-001.png"]


def test_resume_continues_from_the_last_checkpoint(tmp_path, capsys):
    pytest.importorskip("pycocotools")
    run = tmp_path / "run"
    assert main(["detect", "train", "--model", "ssd", *TINY, "--out", str(run)]) == 0
    info = json.loads((run / "run.json").read_text())
    info["config"]["epochs"] = 2   # as if the run had been stopped after its first epoch
    (run / "run.json").write_text(json.dumps(info))
    capsys.readouterr()
    assert main(["detect", "train", "--resume", str(run)]) == 0
    out = capsys.readouterr().out
    assert "resuming" in out and "epoch 2/2" in out and "epoch 1/2" not in out
    assert len(json.loads((run / "history.json").read_text())) == 2


def test_train_on_a_coco_file_and_refuse_unknown_categories(tmp_path, capsys):
    pytest.importorskip("pycocotools")
    from fovea.data.coco import write_coco

    d = Shapes("train", 6, seed=4)
    items = [d[i] for i in range(6)]
    write_coco(tmp_path / "train.json", [t for _, t in items], [(64, 64)] * 6,
               ["square", "circle", "triangle"], images=[im for im, _ in items])
    run = tmp_path / "run"
    assert main(["detect", "train", "--model", "ssd", *TINY, "--coco-train",
                 str(tmp_path / "train.json"), "--coco-val", str(tmp_path / "train.json"),
                 "--out", str(run)]) == 0
    cfg = json.loads((run / "run.json").read_text())["config"]
    assert cfg["classes"] == ["background", "square", "circle", "triangle"]
    data = json.loads((tmp_path / "train.json").read_text())
    data["categories"].append({"id": 9, "name": "star"})
    data["annotations"][0]["category_id"] = 9
    (tmp_path / "val.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["detect", "evaluate", str(run), "--coco-val", str(tmp_path / "val.json")]) == 2
    assert "unknown category id 9" in capsys.readouterr().err


def test_predict_on_image_files(tmp_path, capsys):
    from PIL import Image

    run = tmp_path / "run"
    assert main(["segment", "train", "--model", "unet", *TINY, "--out", str(run)]) == 0
    img = (Shapes("test", 1)[0][0].transpose(1, 2, 0) * 255).astype(np.uint8)
    Image.fromarray(img).resize((80, 80)).save(tmp_path / "a.png")
    assert main(["segment", "predict", str(run), str(tmp_path / "a.png"), "--out-dir",
                 str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "a.png").is_file()
