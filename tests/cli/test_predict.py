"""``fovea predict`` on image files, and on an image of the wrong size."""

import numpy as np
import pytest

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


def _digit(tmp_path, name, i=0):
    from PIL import Image

    from fovea.data import load_dataset

    d = load_dataset("digits")
    p = tmp_path / name
    Image.fromarray((d.x_test[i, 0] * 255).round().astype(np.uint8)).save(p)
    return str(p)


def test_each_bad_file_is_one_line_and_the_good_ones_are_still_classified(run_dir, tmp_path,
                                                                           capsys):
    import zlib

    good = [_digit(tmp_path, "a.png", 0), _digit(tmp_path, "b.png", 1)]
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    # A 30,000 x 30,000 grayscale PNG of ~1 MB: the decompression-bomb shape, never decoded.
    bomb = tmp_path / "bomb.png"
    row = b"\x00" + bytes(30000)
    data = zlib.compress(row * 30000, 9)

    def chunk(kind, body):
        return (len(body).to_bytes(4, "big") + kind + body
                + zlib.crc32(kind + body).to_bytes(4, "big"))

    ihdr = (30000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data)
                     + chunk(b"IEND", b""))
    missing = str(tmp_path / "missing.png")
    rc = main(["predict", str(run_dir), good[0], str(text), missing, str(bomb), good[1]])
    assert rc == 2
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert [ln for ln in out if not ln.startswith(" ")] == good
    assert len(out) == 2 * 6
    err = captured.err.splitlines()
    assert len(err) == 3 and all(ln.startswith("fovea predict: error: ") for ln in err)
    assert "notes.png" in err[0] and "not a readable image" in err[0]
    assert "missing.png" in err[1] and "no such image file" in err[1]
    assert "bomb.png" in err[2] and "image too large to decode" in err[2]


def test_a_size_mismatch_names_the_resize_flag(run_dir, tmp_path, capsys):
    from PIL import Image

    p = tmp_path / "big.png"
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(p)
    assert main(["predict", str(run_dir), str(p)]) == 2
    err = capsys.readouterr().err
    assert "--resize" in err and "image_size=" not in err
    assert main(["predict", str(run_dir), str(p), "--resize"]) == 0


def test_a_colour_image_names_the_resize_flag(run_dir, tmp_path, capsys):
    from PIL import Image

    p = tmp_path / "rgb.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(p)
    assert main(["predict", str(run_dir), str(p)]) == 2
    err = capsys.readouterr().err
    assert "3 channels" in err and "--resize" in err and "channels=" not in err


@pytest.mark.parametrize("top", ["0", "-2"])
def test_a_bad_top_is_refused_by_its_name(run_dir, tmp_path, capsys, top):
    assert main(["predict", str(run_dir), _digit(tmp_path, "a.png"), "--top", top]) == 2
    assert f"invalid --top {top}" in capsys.readouterr().err


def test_predict_refuses_non_finite_weights_naming_the_parameter(run_dir, tmp_path, capsys):
    from cli.test_evaluate import poisoned_copy

    copy = poisoned_copy(run_dir, tmp_path)
    assert main(["predict", str(copy), _digit(tmp_path, "a.png")]) == 2
    captured = capsys.readouterr()
    assert "non-finite" in captured.err and "'0.weight'" in captured.err
    assert captured.out == "" and captured.err.count("\n") == 1
