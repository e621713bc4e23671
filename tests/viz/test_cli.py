"""``fovea viz METHOD RUN_DIR``: every method writes its pictures and says where."""

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

import fovea
from fovea.cli import main


def _viz(*argv):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rc = main(["viz", *map(str, argv)])
    return rc, printed.getvalue()


@pytest.mark.parametrize("method,args,files", [
    ("filters", [], ["filters.png"]),
    ("activations", ["--layer", "2", "--channel", "0"], ["activations_2.png", "patches_2_0.png"]),
    ("saliency", ["--count", "3"], ["saliency_vanilla.png", "saliency_smoothgrad.png",
                                    "saliency_integrated_gradients.png",
                                    "saliency_guided_backprop.png"]),
    ("gradcam", ["--count", "3"], ["gradcam.png", "guided_gradcam.png"]),
    ("occlusion", ["--count", "2", "--patch", "3", "--stride", "1"], ["occlusion.png"]),
    ("classvis", ["--steps", "5"], ["classvis.png"]),
    ("invert", ["--layer", "2", "--steps", "5"], ["invert.png"]),
    ("dream", ["--steps", "10"], ["dream.png"]),
])
def test_each_method_writes_its_pictures(digits_run, tmp_path, method, args, files):
    rc, out = _viz(method, digits_run, "--out", tmp_path, *args)
    assert rc == 0
    printed = [Path(line) for line in out.splitlines() if line.endswith(".png")]
    assert printed == [tmp_path / f for f in files]
    from PIL import Image

    for p in printed:
        assert Image.open(p).size[0] > 8


def test_an_image_file_argument_is_used(digits_run, tmp_path):
    from PIL import Image

    Image.fromarray((np.eye(16) * 255).astype(np.uint8)).save(tmp_path / "in.png")
    rc, out = _viz("saliency", digits_run, tmp_path / "in.png", "--out", tmp_path / "o")
    assert rc == 0 and (tmp_path / "o" / "saliency_vanilla.png").is_file()


def test_tsne_reports_trustworthiness(digits_run, tmp_path):
    pytest.importorskip("sklearn")
    rc, out = _viz("tsne", digits_run, "--count", "120", "--out", tmp_path)
    assert rc == 0 and "trustworthiness (k=5): features" in out
    assert {p.name for p in tmp_path.iterdir()} == {"tsne.png", "pca.png", "tsne_pixels.png",
                                                    "tsne_grid.png"}


def test_adversarial_reports_accuracy_per_eps_and_trains(digits_run, tmp_path):
    rc, out = _viz("adversarial", digits_run, "--count", "60", "--eps", "0", "0.3",
                   "--out", tmp_path)
    assert rc == 0
    acc = [float(line.split("accuracy ")[1].split()[0]) for line in out.splitlines()
           if "accuracy" in line]
    assert len(acc) == 2 and acc[1] < acc[0]
    rc, out = _viz("adversarial", digits_run, "--count", "60", "--eps", "0.1", "--attack",
                   "pgd", "--steps", "3", "--train", tmp_path / "adv", "--train-count", "128",
                   "--out", tmp_path / "o")
    assert rc == 0 and (tmp_path / "adv" / "model.safetensors").is_file()
    assert (tmp_path / "o" / "adversarial_pgd.png").is_file()


def test_fooling_images_are_predicted_as_the_target(digits_run, tmp_path, capsys):
    from PIL import Image

    from fovea import viz

    rc, out = _viz("adversarial", digits_run, "--count", "30", "--eps", "0", "--fool", "3",
                   "--out", tmp_path)
    assert rc == 0 and out.count("fooled to class 3 in") == 8
    grid = np.asarray(Image.open(tmp_path / "fooling_3.png"))
    assert grid.shape[0] > 3 * 16  # three rows of tiles: originals, fooling images, changes
    # The same fooling images, remade through the API, are predicted as 3 by the model.
    model, info = viz.load_pixel_model(digits_run)
    x, y = viz.run_images(info, "test", 30)
    pick = [i for i in range(30) if int(y[i]) != 3][:8]
    for i in pick:
        f, steps = viz.fooling_image(model, x[i][None], 3)
        assert steps > 0 and int(model(fovea.tensor(f)).argmax(1).item()) == 3
    assert _viz("adversarial", digits_run, "--count", "30", "--eps", "0", "--fool", "99",
                "--out", tmp_path)[0] == 2
    assert "--fool 99 is not a class" in capsys.readouterr().err


def test_style_needs_no_run(tmp_path):
    pytest.importorskip("skimage")
    rc, out = _viz("style", "chelsea", "brick", "--size", "24", "--steps", "5", "--out",
                   tmp_path)
    assert rc == 0 and (tmp_path / "style.png").is_file() and "style loss" in out


def test_a_layer_that_does_not_exist_is_one_error_line(digits_run, tmp_path, capsys):
    rc, _ = _viz("gradcam", digits_run, "--layer", "nope", "--out", tmp_path)
    assert rc == 2
    assert "not a submodule" in capsys.readouterr().err
