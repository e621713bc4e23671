"""ImageFolder on generated PNG and JPEG files."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fovea.data import DataLoader, DatasetError, ImageFolder, image_folder_splits
from fovea.data.image_folder import load_images
from fovea.data.splits import load_dataset


def _save(path, array, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)


def _tree(root, classes=("cat", "dog"), n=3, size=(6, 5), rgb=True, seed=0):
    """PNG images (exact pixels) in root/<class>/; returns {path: (C, H, W) array}."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in classes:
        for i in range(n):
            shape = size + (3,) if rgb else size
            arr = rng.integers(0, 256, shape, dtype=np.uint8)
            path = root / name / f"{i}.png"
            _save(path, arr)
            out[path] = arr.transpose(2, 0, 1) if rgb else arr[None]
    return out


def test_image_folder_reads_png_classes_in_sorted_order(tmp_path):
    files = _tree(tmp_path, classes=("zebra", "ant"), n=2)
    (tmp_path / "ant" / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["ant", "zebra"] and ds.class_to_idx == {"ant": 0, "zebra": 1}
    assert len(ds) == 4 and list(ds.labels) == [0, 0, 1, 1]
    x, y = ds.get_batch(np.arange(4))
    assert x.shape == (4, 3, 6, 5) and x.dtype == np.float32
    for k, path in enumerate(ds.files):
        np.testing.assert_allclose(x[k], files[path] / 255.0, rtol=1e-6)


def test_image_folder_reads_jpeg_and_grayscale(tmp_path):
    rng = np.random.default_rng(1)
    smooth = np.tile(np.linspace(0, 255, 8, dtype=np.uint8), (8, 1))
    _save(tmp_path / "a" / "x.jpg", smooth, "JPEG")
    _save(tmp_path / "b" / "y.JPEG", np.full((8, 8), 100, np.uint8), "JPEG")
    ds = ImageFolder(tmp_path)
    assert ds.images.shape == (2, 1, 8, 8)
    np.testing.assert_allclose(ds.images[0, 0].astype(float), smooth, atol=6)
    np.testing.assert_allclose(ds.images[1, 0].astype(float), 100, atol=2)
    del rng


def test_a_wrong_image_size_is_an_error_naming_the_file(tmp_path):
    _tree(tmp_path, size=(6, 5))
    _save(tmp_path / "dog" / "big.png", np.zeros((7, 5, 3), np.uint8))
    with pytest.raises(DatasetError, match="big.png: image has size 7x5 but expected 6x5"):
        ImageFolder(tmp_path)
    ds = ImageFolder(tmp_path, image_size=(4, 4))
    assert ds.images.shape == (7, 3, 4, 4)


def test_a_wrong_channel_count_is_an_error_naming_the_file(tmp_path):
    _tree(tmp_path, rgb=True)
    _save(tmp_path / "dog" / "gray.png", np.zeros((6, 5), np.uint8))
    with pytest.raises(DatasetError, match="gray.png: image has 1 channels but expected 3"):
        ImageFolder(tmp_path)
    assert ImageFolder(tmp_path, channels=3).images.shape == (7, 3, 6, 5)
    assert ImageFolder(tmp_path, channels=1).images.shape == (7, 1, 6, 5)


def test_unsupported_modes_and_corrupt_files_are_errors_naming_the_file(tmp_path):
    _tree(tmp_path)
    Image.new("RGBA", (5, 6)).save(tmp_path / "cat" / "alpha.png")
    with pytest.raises(DatasetError, match="alpha.png: unsupported image mode 'RGBA'"):
        ImageFolder(tmp_path)
    (tmp_path / "cat" / "alpha.png").unlink()
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DatasetError, match="broken.png: cannot decode image"):
        ImageFolder(tmp_path)


def test_bad_folder_layouts_are_errors(tmp_path):
    with pytest.raises(DatasetError, match="image folder not found"):
        ImageFolder(tmp_path / "nope")
    (tmp_path / "empty_root").mkdir()
    with pytest.raises(DatasetError, match="no class subfolders"):
        ImageFolder(tmp_path / "empty_root")
    _tree(tmp_path / "r")
    (tmp_path / "r" / "bird").mkdir()
    with pytest.raises(DatasetError, match="bird: class folder has no"):
        ImageFolder(tmp_path / "r")


def test_image_folder_works_with_the_loader_and_transforms(tmp_path):
    _tree(tmp_path, n=5)
    ds = ImageFolder(tmp_path, transform=lambda x, rng: 1.0 - x)
    (x, y), = DataLoader(ds, batch_size=10, as_tensor=False)
    np.testing.assert_allclose(x, 1.0 - ds.images / 255.0, rtol=1e-6)


def test_single_pool_folder_is_split_without_overlap(tmp_path):
    _tree(tmp_path, n=10)
    s = load_dataset(f"folder:{tmp_path}", seed=0)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (14, 2, 4)
    rows = [r.tobytes() for r in np.concatenate([s.x_train, s.x_val, s.x_test])]
    assert len(set(rows)) == 20
    assert s.classes == ["cat", "dog"] and s.x_train.dtype == np.float32


def test_train_test_layout_uses_the_given_test_folder(tmp_path):
    _tree(tmp_path / "train", n=10, seed=0)
    test_files = _tree(tmp_path / "test", n=2, seed=1)
    s = image_folder_splits(tmp_path, seed=0)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (18, 2, 4)
    np.testing.assert_allclose(s.x_test[0], test_files[tmp_path / "test" / "cat" / "0.png"]
                               / 255.0, rtol=1e-6)
    _tree(tmp_path / "val", classes=("cat", "cow"), n=1)
    with pytest.raises(DatasetError, match="val: classes \\['cat', 'cow'\\] differ"):
        image_folder_splits(tmp_path)


def test_folder_prefix_needs_a_path():
    with pytest.raises(ValueError, match="'folder:' needs a path"):
        load_dataset("folder:")


def _png_header_only(path, width, height):
    """A valid PNG that declares width x height pixels of 1-bit grey: a few dozen bytes that
    would decode to width * height pixels (a decompression bomb, as Pillow calls it)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + (width + 7) // 8))  # one row; the rest is missing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
                     + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_a_one_line_error_naming_the_file(tmp_path):
    _tree(tmp_path)
    _png_header_only(tmp_path / "dog" / "bomb.png", 30000, 30000)
    with pytest.raises(DatasetError, match="bomb.png: image too large to decode safely") as e:
        ImageFolder(tmp_path)
    assert "\n" not in str(e.value)


def test_images_between_pillows_warning_and_error_sizes_are_refused_too(tmp_path, monkeypatch):
    # Pillow only warns from MAX_IMAGE_PIXELS to twice that; those are refused as well
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    _save(tmp_path / "a" / "ok.png", np.zeros((10, 10), np.uint8))
    assert ImageFolder(tmp_path).images.shape == (1, 1, 10, 10)
    _save(tmp_path / "a" / "big.png", np.zeros((12, 12), np.uint8))  # 144 > 100 pixels
    with pytest.raises(DatasetError, match="big.png: image too large to decode safely"):
        ImageFolder(tmp_path)


def test_mismatch_messages_name_the_command_line_options(tmp_path):
    _tree(tmp_path, size=(6, 5))
    _save(tmp_path / "dog" / "big.png", np.zeros((7, 5, 3), np.uint8))
    with pytest.raises(DatasetError, match="pass --image-size / image_size= to resize"):
        ImageFolder(tmp_path)
    with pytest.raises(DatasetError, match="\\(pass --resize\\)"):
        load_images(sorted((tmp_path / "dog").iterdir()), hint="pass --resize")
    with pytest.raises(ValueError, match="image_size \\(--image-size\\) must be a positive"):
        ImageFolder(tmp_path, image_size=0)


def test_load_dataset_passes_size_and_channels_to_folders_only(tmp_path):
    _tree(tmp_path, n=10, size=(6, 5), rgb=True)
    _save(tmp_path / "dog" / "odd.png", np.zeros((9, 9), np.uint8))
    s = load_dataset(f"folder:{tmp_path}", image_size=8, channels=1)
    assert s.image_shape == (1, 8, 8) and len(s.y_train) + len(s.y_val) + len(s.y_test) == 21
    with pytest.raises(ValueError, match="--image-size applies to folder:PATH data sets only"):
        load_dataset("digits", image_size=8)
    with pytest.raises(ValueError, match="--channels applies to folder:PATH data sets only"):
        load_dataset("digits", channels=3)
