"""Batch transforms against hand-worked expectations, naive loops and PyTorch's grid_sample."""

import numpy as np
import pytest

from fovea.data import batch_transforms as T


def _batch(n=4, c=3, h=6, w=7, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


# --- API and validation ----------------------------------------------------------------------

def test_random_transform_without_generator_is_refused():
    with pytest.raises(TypeError, match="RandomHorizontalFlip.*Generator"):
        T.RandomHorizontalFlip()(_batch())


@pytest.mark.parametrize("bad, err", [(np.zeros((3, 4, 4), np.float32), ValueError),
                                      (np.zeros((2, 1, 4, 4), np.uint8), TypeError),
                                      ([[1.0]], TypeError)])
def test_bad_batches_are_refused_with_the_transform_name(bad, err):
    with pytest.raises(err, match="Normalize"):
        T.Normalize(0.5, 0.5)(bad)


def test_constructor_arguments_are_validated():
    with pytest.raises(ValueError, match="RandomHorizontalFlip: p"):
        T.RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match="Normalize: std"):
        T.Normalize([0.0], [0.0])
    with pytest.raises(ValueError, match="RandomCrop: padding_mode"):
        T.RandomCrop(4, padding_mode="wrap")
    with pytest.raises(ValueError, match="RandomAffine: scale"):
        T.RandomAffine(scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="ColorJitter: brightness"):
        T.ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError, match="Cutout: size"):
        T.Cutout(0)
    with pytest.raises(TypeError, match="Compose"):
        T.Compose([T.Normalize(0, 1), "flip"])


def test_transforms_never_modify_their_input():
    x = _batch()
    before = x.copy()
    t = T.Compose([T.RandomCrop((6, 7), padding=1), T.RandomHorizontalFlip(0.5),
                   T.RandomAffine(10, translate=(0.1, 0.1)), T.ColorJitter(0.2, 0.2, 0.2),
                   T.Cutout(2), T.Normalize([0.5] * 3, [0.2] * 3)])
    out = t(x, np.random.default_rng(0))
    np.testing.assert_array_equal(x, before)
    assert out.dtype == np.float32 and out.shape == (4, 3, 6, 7)


def test_compose_is_reproducible_from_the_seed():
    t = T.Compose([T.RandomCrop(5, padding=2), T.RandomHorizontalFlip(), T.Cutout(3)])
    x = _batch(n=16)
    a = t(x, np.random.default_rng(7))
    b = t(x, np.random.default_rng(7))
    c = t(x, np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# --- preprocessing ---------------------------------------------------------------------------

def test_normalize_applies_the_per_channel_formula():
    x = _batch(c=3)
    mean, std = [0.1, 0.5, 0.9], [0.2, 0.25, 4.0]
    out = T.Normalize(mean, std)(x)
    for c in range(3):
        np.testing.assert_allclose(out[:, c], (x[:, c] - mean[c]) / std[c], rtol=1e-6)


def test_normalize_fit_standardises_each_channel():
    x = _batch(n=50, c=3) * np.array([1, 3, 0.5], np.float32)[None, :, None, None]
    out = T.Normalize.fit(x)(x)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_normalize_rejects_a_channel_count_mismatch():
    with pytest.raises(ValueError, match="3 channels but mean/std have 2"):
        T.Normalize([0, 0], [1, 1])(_batch(c=3))


def test_subtract_mean_image_removes_the_training_mean():
    x_train, x_val = _batch(n=20, seed=1), _batch(n=5, seed=2)
    t = T.SubtractMeanImage().fit(x_train)
    np.testing.assert_allclose(t(x_train).mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(t(x_val), x_val - x_train.mean(axis=0), atol=1e-6)


def test_subtract_mean_image_errors():
    with pytest.raises(ValueError, match="not fitted"):
        T.SubtractMeanImage()(_batch())
    t = T.SubtractMeanImage().fit(_batch(h=6))
    with pytest.raises(ValueError, match="mean image has shape"):
        t(_batch(h=5))


# --- flip and crop ---------------------------------------------------------------------------

def test_flip_with_p_one_is_exact_reversal_and_p_zero_identity():
    x = _batch()
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x, rng), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x, rng), x)


def test_flip_follows_its_per_example_parameters():
    x = _batch(n=4)
    flip = np.array([True, False, False, True])
    out = T.RandomHorizontalFlip().apply(x, {"flip": flip})
    for n in range(4):
        np.testing.assert_array_equal(out[n], x[n, :, :, ::-1] if flip[n] else x[n])


def test_flip_probability_is_respected():
    p = T.RandomHorizontalFlip(0.3).sample((20000, 1, 1, 1), np.random.default_rng(0))
    assert abs(p["flip"].mean() - 0.3) < 0.02


def test_crop_with_padding_shifts_the_image():
    x = _batch(h=6, w=6)
    crop = T.RandomCrop(6, padding=2)
    n = len(x)
    corner = crop.apply(x, {"top": np.zeros(n, int), "left": np.zeros(n, int)})
    # window starts 2 pixels before the image: content moves down-right by 2, zeros enter
    np.testing.assert_array_equal(corner[..., 2:, 2:], x[..., :-2, :-2])
    assert np.all(corner[..., :2, :] == 0) and np.all(corner[..., :, :2] == 0)
    centre = crop.apply(x, {"top": np.full(n, 2), "left": np.full(n, 2)})
    np.testing.assert_array_equal(centre, x)
    shifted = crop.apply(x, {"top": np.full(n, 3), "left": np.full(n, 1)})
    np.testing.assert_array_equal(shifted[..., :-1, 1:], x[..., 1:, :-1])


def test_crop_matches_a_per_example_loop():
    x = _batch(n=8, h=7, w=9)
    crop = T.RandomCrop((5, 6), padding=(1, 2, 3, 0), fill=0.5)
    p = crop.sample(x.shape, np.random.default_rng(3))
    out = crop.apply(x, p)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 0), (1, 3)), constant_values=0.5)
    for n in range(len(x)):
        t, le = p["top"][n], p["left"][n]
        np.testing.assert_array_equal(out[n], padded[n, :, t:t + 5, le:le + 6])


def test_crop_too_large_is_an_error():
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(9, padding=1)(_batch(h=6, w=6), np.random.default_rng(0))


# --- affine ----------------------------------------------------------------------------------

def _affine_params(n, **kw):
    base = {"angle": 0.0, "tx": 0.0, "ty": 0.0, "scale": 1.0, "shear_x": 0.0, "shear_y": 0.0}
    base.update(kw)
    return {k: np.full(n, v, dtype=np.float64) for k, v in base.items()}


def test_affine_with_identity_parameters_is_identity():
    x = _batch()
    np.testing.assert_array_equal(T.RandomAffine().apply(x, _affine_params(len(x))), x)
    np.testing.assert_array_equal(T.RandomAffine()(x, np.random.default_rng(0)), x)


def test_affine_rotation_by_90_degrees_matches_rot90():
    pattern = np.zeros((1, 1, 7, 7), np.float32)
    pattern[0, 0, 1, 1:6] = 1.0     # a horizontal bar near the top ...
    pattern[0, 0, 1:4, 5] = 0.5     # ... with a hook going down on the right
    x = np.concatenate([pattern, _batch(n=2, c=1, h=7, w=7)])
    out = T.RandomAffine(degrees=(90, 90))(x, np.random.default_rng(0))
    np.testing.assert_allclose(out, np.rot90(x, 1, axes=(2, 3)), atol=1e-5)
    out = T.RandomAffine().apply(x, _affine_params(3, angle=-90.0))
    np.testing.assert_allclose(out, np.rot90(x, -1, axes=(2, 3)), atol=1e-5)


def test_affine_integer_translation_shifts_and_fills():
    x = _batch(h=5, w=6)
    out = T.RandomAffine(fill=-1.0).apply(x, _affine_params(len(x), tx=2.0, ty=-1.0))
    np.testing.assert_allclose(out[:, :, :-1, 2:], x[:, :, 1:, :-2], atol=1e-6)
    np.testing.assert_allclose(out[:, :, :, :2], -1.0, atol=1e-6)
    np.testing.assert_allclose(out[:, :, -1, :], -1.0, atol=1e-6)


def test_affine_half_pixel_translation_averages_neighbours():
    x = _batch(h=4, w=5)
    out = T.RandomAffine().apply(x, _affine_params(len(x), tx=0.5))
    np.testing.assert_allclose(out[..., 1:], 0.5 * (x[..., :-1] + x[..., 1:]), atol=1e-6)
    np.testing.assert_allclose(out[..., 0], 0.5 * x[..., 0], atol=1e-6)


def test_affine_matches_torch_grid_sample():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.random((6, 3, 7, 10))
    aff = T.RandomAffine(degrees=40, translate=(0.2, 0.3), scale=(0.7, 1.3),
                         shear=(-20, 20, -10, 10))
    p = aff.sample(x.shape, rng)
    out = aff.apply(x, p)
    # torch's theta maps normalised output coords to normalised input coords
    n, c, h, w = x.shape
    half = np.diag([(w - 1) / 2, (h - 1) / 2])
    inv = np.linalg.inv(aff.matrices(p))
    theta = np.zeros((n, 2, 3))
    theta[:, :, :2] = np.linalg.inv(half) @ inv @ half
    t = np.stack([p["tx"], p["ty"]], -1)[:, :, None]
    theta[:, :, 2] = -(np.linalg.inv(half) @ inv @ t)[:, :, 0]
    grid = torch.nn.functional.affine_grid(torch.tensor(theta), (n, c, h, w),
                                           align_corners=True)
    ref = torch.nn.functional.grid_sample(torch.tensor(x), grid, mode="bilinear",
                                          padding_mode="zeros", align_corners=True).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-10)


def test_affine_parameters_stay_in_their_ranges():
    aff = T.RandomAffine(degrees=(10, 20), translate=(0.1, 0.2), scale=(0.9, 1.1),
                         shear=5)
    p = aff.sample((1000, 1, 10, 20), np.random.default_rng(0))
    assert p["angle"].min() >= 10 and p["angle"].max() <= 20
    assert np.abs(p["tx"]).max() <= 2.0 and np.abs(p["ty"]).max() <= 2.0
    assert p["scale"].min() >= 0.9 and p["scale"].max() <= 1.1
    assert np.abs(p["shear_x"]).max() <= 5 and np.all(p["shear_y"] == 0)


def test_affine_scale_two_magnifies_about_the_centre():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1.0
    x[0, 0, 2, 3] = 0.5
    out = T.RandomAffine().apply(x, _affine_params(1, scale=2.0))
    # output column 4 reads input column 2 + (4 - 2) / 2 = 3; column 3 reads 2.5
    np.testing.assert_allclose(out[0, 0, 2], [0.0, 0.5, 1.0, 0.75, 0.5], atol=1e-6)


# --- photometric -----------------------------------------------------------------------------

def _gray(x):
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


def test_color_jitter_follows_the_formulas():
    x = _batch(n=3, c=3).astype(np.float64)
    cj = T.ColorJitter(0.5, 0.5, 0.5)
    b = np.array([0.5, 1.0, 1.4])
    out = cj.apply(x, {"brightness": b, "contrast": None, "saturation": None})
    np.testing.assert_allclose(out, np.clip(x * b[:, None, None, None], 0, 1))
    c = np.array([0.3, 1.0, 1.8])[:, None, None, None]
    out = cj.apply(x, {"brightness": None, "contrast": c.ravel(), "saturation": None})
    m = _gray(x).mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, np.clip(c * x + (1 - c) * m, 0, 1))
    s = np.array([0.0, 1.0, 2.0])[:, None, None, None]
    out = cj.apply(x, {"brightness": None, "contrast": None, "saturation": s.ravel()})
    np.testing.assert_allclose(out, np.clip(s * x + (1 - s) * _gray(x), 0, 1))
    np.testing.assert_allclose(out[0], np.repeat(_gray(x)[0], 3, axis=0))  # s = 0: grayscale


def test_color_jitter_on_grayscale_uses_the_image_mean_and_refuses_saturation():
    x = _batch(n=2, c=1)
    out = T.ColorJitter(contrast=(0.5, 0.5))(x, np.random.default_rng(0))
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(out, 0.5 * x + 0.5 * m, rtol=1e-6)
    with pytest.raises(ValueError, match="saturation needs 3-channel"):
        T.ColorJitter(saturation=0.3)(x, np.random.default_rng(0))


def test_color_jitter_factors_are_drawn_per_example_in_range():
    p = T.ColorJitter(brightness=0.4, contrast=(0.8, 0.9)).sample((500, 3, 2, 2),
                                                                   np.random.default_rng(0))
    assert 0.6 <= p["brightness"].min() and p["brightness"].max() <= 1.4
    assert 0.8 <= p["contrast"].min() and p["contrast"].max() <= 0.9
    assert p["saturation"] is None and len(np.unique(p["brightness"])) == 500


def test_cutout_zeroes_a_square_clipped_at_borders():
    x = np.ones((3, 2, 8, 8), np.float32)
    out = T.Cutout(4).apply(x, {"cy": np.array([4, 0, 7]), "cx": np.array([4, 0, 3])})
    # centre (4, 4): rows/cols 2..5; corner (0, 0): rows/cols 0..1; (7, 3): rows 5..7 cols 1..4
    expect = np.ones_like(x)
    expect[0, :, 2:6, 2:6] = 0
    expect[1, :, 0:2, 0:2] = 0
    expect[2, :, 5:8, 1:5] = 0
    np.testing.assert_array_equal(out, expect)


def test_cutout_random_centres_cut_at_most_size_squared_pixels():
    x = np.ones((200, 1, 10, 10), np.float32)
    out = T.Cutout(3, fill=0.0)(x, np.random.default_rng(0))
    cut = (out == 0).sum(axis=(1, 2, 3))
    assert cut.max() == 9 and cut.min() >= 4 and np.all(out[out != 0] == 1)
