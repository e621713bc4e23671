"""``fovea predict`` on image files, and on an image of the wrong size."""

import numpy as np

from fovea.cli import main


def test_predict_ranks_the_true_class_first(run_dir, tmp_path, capsys):
    from PIL import Image

    from fovea.data import load_dataset

    d = load_dataset("digits")
    paths = []
    for i in range(3):
        p = tmp_path / f"digit{i}.png"
        Image.fromarray((d.x_test[i, 0] * 255).round().astype(np.uint8)).save(p)
        paths.append(str(p))
    assert main(["predict", str(run_dir), *paths]) == 0
    out = capsys.readouterr().out.splitlines()
    firsts = [out[i * 6 + 1].split()[0] for i in range(3)]
    assert sum(f == str(d.y_test[i]) for i, f in enumerate(firsts)) >= 2


def test_predict_refuses_an_image_of_the_wrong_size(run_dir, tmp_path, capsys):
    from PIL import Image

    p = tmp_path / "big.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(p)
    assert main(["predict", str(run_dir), str(p)]) == 2
    err = capsys.readouterr().err
    assert "big.png" in err and "8" in err and "32" in err
