"""Per-image transforms against torchvision's documented behaviour, worked by hand.

Deterministic transforms are checked pixel for pixel on small arrays (and PIL images against
the same numbers); random ones for fixed-seed reproducibility through ``fovea.manual_seed``,
parameter ranges and invariants. torchvision itself is not a dependency (and is not used).
"""

import math

import numpy as np
import pytest
from PIL import Image

import fovea
from fovea.data import batch_transforms as B
from fovea.data import transforms as T
from fovea.data.transforms import functional as F
from oracle import needs_torch, torch


def _rgb(h=5, w=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _np(t):
    return t.numpy() if isinstance(t, fovea.Tensor) else np.asarray(t)


# --- conversions ------------------------------------------------------------------------------

def test_to_tensor_scales_uint8_hwc_to_chw_float_in_unit_range():
    a = _rgb()
    for src in (a, Image.fromarray(a)):
        t = T.ToTensor()(src)
        assert isinstance(t, fovea.Tensor) and t.dtype == np.float32 and t.shape == (3, 5, 6)
        np.testing.assert_allclose(t.numpy(), a.transpose(2, 0, 1) / 255.0, rtol=1e-6)


def test_to_tensor_of_grayscale_adds_a_channel_and_keeps_other_dtypes():
    g = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    for src in (g, Image.fromarray(g)):
        np.testing.assert_allclose(T.ToTensor()(src).numpy(), [[[0, 1], [0.2, 0.4]]],
                                   rtol=1e-6)
    f = np.full((2, 2, 1), 3.5, np.float64)         # not uint8: values and dtype kept
    t = T.ToTensor()(f)
    assert t.dtype == np.float64 and t.shape == (1, 2, 2) and float(t.numpy()[0, 0, 0]) == 3.5


def test_pil_to_tensor_keeps_uint8_values_and_to_pil_image_truncates_floats():
    a = _rgb()
    t = T.PILToTensor()(Image.fromarray(a))
    assert t.dtype == np.uint8
    np.testing.assert_array_equal(t.numpy(), a.transpose(2, 0, 1))
    back = T.ToPILImage()(t)
    assert back.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(back), a)
    half = fovea.from_numpy(np.full((1, 2, 2), 0.5, np.float32))
    img = T.ToPILImage()(half)                       # 0.5 * 255 = 127.5 -> 127 (mul(255).byte())
    assert img.mode == "L" and np.asarray(img)[0, 0] == 127


# --- Normalize --------------------------------------------------------------------------------

def test_normalize_is_per_channel_and_inplace_writes_into_the_input():
    x = np.arange(2 * 2 * 3, dtype=np.float32).reshape(2, 2, 3) / 10
    mean, std = (0.1, 0.5), (0.5, 2.0)
    want = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None,
                                                                                       None]
    out = T.Normalize(mean, std)(fovea.from_numpy(x.copy()))
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    t = fovea.from_numpy(x.copy())
    assert T.Normalize(mean, std, inplace=True)(t) is t
    np.testing.assert_allclose(t.numpy(), want, rtol=1e-6)


def test_normalize_refuses_integer_images_zero_std_and_pil():
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0,), (1,))(np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0,), (0,))(np.zeros((1, 2, 2), np.float32))
    with pytest.raises(TypeError, match="Tensor image"):
        T.Normalize((0,), (1,))(Image.new("L", (2, 2)))


# --- geometry ---------------------------------------------------------------------------------

def test_center_crop_uses_rounded_offsets_and_pads_small_images():
    a = np.arange(5 * 6, dtype=np.float32).reshape(1, 5, 6)
    out = T.CenterCrop((2, 3))(a)
    # top = round(3 / 2) = 2 (round half to even), left = round(3 / 2) = 2
    np.testing.assert_array_equal(out, a[:, 2:4, 2:5])
    pil = T.CenterCrop((2, 3))(Image.fromarray(a[0].astype(np.uint8)))
    np.testing.assert_array_equal(np.asarray(pil), a[0, 2:4, 2:5])
    small = np.ones((1, 2, 2), np.float32)
    padded = T.CenterCrop(4)(small)          # (4 - 2) // 2 = 1 on each side
    np.testing.assert_array_equal(padded[0], np.pad(np.ones((2, 2)), 1))


def test_flips_mirror_arrays_tensors_and_pil_images():
    a = _rgb()
    chw = a.transpose(2, 0, 1)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(chw), chw[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(chw), chw[:, ::-1])
    np.testing.assert_array_equal(_np(T.RandomHorizontalFlip(1.0)(fovea.from_numpy(chw))),
                                  chw[:, :, ::-1])
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(1.0)(Image.fromarray(a))),
                                  a[:, ::-1])
    np.testing.assert_array_equal(np.asarray(T.RandomVerticalFlip(1.0)(Image.fromarray(a))),
                                  a[::-1])
    assert T.RandomHorizontalFlip(0.0)(chw) is chw


def test_resize_nearest_on_a_small_array_reads_floor_of_i_times_scale():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    near = T.InterpolationMode.NEAREST
    np.testing.assert_array_equal(T.Resize((2, 2), near)(a)[0], [[0, 2], [8, 10]])
    up = T.Resize((4, 4), near)(np.array([[[1, 2], [3, 4]]], np.float32))[0]
    np.testing.assert_array_equal(up, [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    exact = T.Resize((2, 2), T.InterpolationMode.NEAREST_EXACT)(a)[0]   # pixel under the centre
    np.testing.assert_array_equal(exact, [[5, 7], [13, 15]])
    pil = T.Resize((2, 2), near)(Image.fromarray(a[0].astype(np.uint8)))  # Pillow = exact
    np.testing.assert_array_equal(np.asarray(pil), exact)


def test_resize_int_matches_the_shorter_side_and_max_size_caps_the_longer():
    a = np.zeros((3, 4, 8), np.float32)
    assert T.Resize(2)(a).shape == (3, 2, 4)
    assert T.Resize(2, max_size=3)(a).shape == (3, 1, 3)   # long 4 > 3: short = int(3*2/4) = 1
    assert T.Resize([6])(a).shape == (3, 6, 12)
    assert T.Resize(4)(a) is a                              # already the right size
    assert T.Resize(2)(Image.new("RGB", (8, 4))).size == (4, 2)


def test_resize_bilinear_follows_the_half_pixel_formula():
    row = np.array([[[0.0, 1.0]]], np.float32)
    up = T.Resize((1, 4))(row)[0, 0]
    # source x = (i + 0.5) / 2 - 0.5, clamped: -0.25, 0.25, 0.75, 1.25 -> 0, .25, .75, 1
    np.testing.assert_allclose(up, [0, 0.25, 0.75, 1], atol=1e-7)
    x = np.array([[[1.0, 2.0, 4.0, 8.0]]], np.float32)
    plain = T.Resize((1, 2), antialias=False)(x)[0, 0]
    np.testing.assert_allclose(plain, [1.5, 6.0])               # midpoints of the pairs
    aa = T.Resize((1, 2), antialias=True)(x)[0, 0]
    # triangle filter of half-width 2 at centres 1 and 3: weights .75 .75 .25 / 1.75
    np.testing.assert_allclose(aa, [(0.75 * 1 + 0.75 * 2 + 0.25 * 4) / 1.75,
                                    (0.25 * 2 + 0.75 * 4 + 0.75 * 8) / 1.75], rtol=1e-6)


def test_resize_bilinear_of_uint8_images_is_close_to_pillow():
    a = _rgb(12, 16, seed=3)
    ours = T.Resize((5, 7))(a.transpose(2, 0, 1))
    pil = np.asarray(T.Resize((5, 7))(Image.fromarray(a))).transpose(2, 0, 1)
    assert ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - pil.astype(int)).max() <= 1


def test_rotation_by_90_degrees_is_rot90_on_arrays_and_pil():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    np.testing.assert_array_equal(F.rotate(a, 90), np.rot90(a, 1, axes=(1, 2)))
    pil = F.rotate(Image.fromarray(a[0].astype(np.uint8)), 90)
    np.testing.assert_array_equal(np.asarray(pil), np.rot90(a[0]))
    wide = np.arange(8, dtype=np.float32).reshape(1, 2, 4)
    np.testing.assert_array_equal(F.rotate(wide, 90, expand=True), np.rot90(wide, 1, axes=(1, 2)))
    # affine's angle turns clockwise (torchvision's convention): 90 is rot90 by -1
    np.testing.assert_array_equal(F.affine(a, 90, [0, 0], 1.0, [0, 0]),
                                  np.rot90(a, -1, axes=(1, 2)))


def test_affine_translation_shifts_and_fills():
    a = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)
    out = F.affine(a, 0, [1, 0], 1.0, [0, 0], fill=-1.0)
    np.testing.assert_array_equal(out[0], [[-1, 1, 2], [-1, 4, 5], [-1, 7, 8]])
    pil = F.affine(Image.fromarray(a[0].astype(np.uint8)), 0, [1, 0], 1.0, [0, 0], fill=0)
    np.testing.assert_array_equal(np.asarray(pil), [[0, 1, 2], [0, 4, 5], [0, 7, 8]])


def test_pad_modes_match_numpy_pad():
    a = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    for mode in ("edge", "reflect", "symmetric"):
        out = F.pad(a, [2, 1], padding_mode=mode)             # left/right 2, top/bottom 1
        np.testing.assert_array_equal(out, np.pad(a, ((0, 0), (1, 1), (2, 2)), mode=mode))
    out = F.pad(a, [1, 0, 0, 2], fill=7)
    assert out.shape == (1, 4, 4) and out[0, 3, 3] == 7 and out[0, 0, 1] == 0


# --- colour -----------------------------------------------------------------------------------

def test_grayscale_uses_the_601_luma_weights():
    x = np.eye(3, dtype=np.float32).reshape(3, 1, 3)     # pixel k is pure channel k
    g = T.Grayscale()(x)
    np.testing.assert_allclose(g[0, 0], [0.299, 0.587, 0.114], rtol=1e-6)
    g3 = T.Grayscale(num_output_channels=3)(x)
    assert g3.shape == (3, 1, 3) and np.array_equal(g3[0], g3[2])
    pil = T.Grayscale()(Image.fromarray((x.transpose(1, 2, 0) * 255).astype(np.uint8)))
    assert pil.mode == "L"
    np.testing.assert_allclose(np.asarray(pil)[0], np.array([0.299, 0.587, 0.114]) * 255,
                               atol=1)
    assert T.RandomGrayscale(p=1.0)(x).shape == (3, 1, 3)


def test_color_adjustments_follow_their_formulas():
    x = np.random.default_rng(0).random((3, 4, 5)).astype(np.float32)
    gray = 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    np.testing.assert_allclose(F.adjust_brightness(x, 1.5), np.clip(1.5 * x, 0, 1), rtol=1e-6)
    np.testing.assert_allclose(F.adjust_contrast(x, 0.5),
                               np.clip(0.5 * x + 0.5 * gray.mean(), 0, 1), rtol=1e-5)
    np.testing.assert_allclose(F.adjust_saturation(x, 0.0), np.broadcast_to(gray, x.shape),
                               rtol=1e-5)
    red = np.array([1.0, 0, 0], np.float32).reshape(3, 1, 1)
    np.testing.assert_allclose(F.adjust_hue(red, 1 / 3)[:, 0, 0], [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(F.adjust_hue(red, 0.5)[:, 0, 0], [0, 1, 1], atol=1e-6)
    with pytest.raises(ValueError, match=r"not in \[-0.5, 0.5\]"):
        F.adjust_hue(red, 0.6)


def test_color_jitter_with_fixed_factors_matches_the_functions_in_any_order():
    x = np.random.default_rng(1).random((3, 4, 5)).astype(np.float32)
    out = T.ColorJitter(brightness=(1.2, 1.2))(x)
    np.testing.assert_allclose(out, F.adjust_brightness(x, 1.2), rtol=1e-6)
    t = T.ColorJitter(0.5, 0.5, 0.5, 0.2)
    for _ in range(5):
        order, b, c, s, h = t.get_params(t.brightness, t.contrast, t.saturation, t.hue)
        assert sorted(order.tolist()) == [0, 1, 2, 3]
        assert 0.5 <= b <= 1.5 and 0.5 <= c <= 1.5 and 0.5 <= s <= 1.5 and -0.2 <= h <= 0.2
    pil = t(Image.fromarray(_rgb()))
    assert pil.size == (6, 5) and pil.mode == "RGB"


# --- random transforms ------------------------------------------------------------------------

def _pipeline():
    return T.Compose([T.RandomResizedCrop(8), T.RandomHorizontalFlip(),
                      T.ColorJitter(0.4, 0.4, 0.4, 0.1), T.RandomRotation(15),
                      T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5),
                      T.ToTensor(), T.Normalize((0.5,) * 3, (0.25,) * 3),
                      T.RandomErasing(0.5)])


def test_manual_seed_makes_a_random_pipeline_repeat():
    img = Image.fromarray(_rgb(16, 16))
    fovea.manual_seed(0)
    a = [_pipeline()(img).numpy() for _ in range(4)]
    fovea.manual_seed(0)
    b = [_pipeline()(img).numpy() for _ in range(4)]
    fovea.manual_seed(1)
    c = [_pipeline()(img).numpy() for _ in range(4)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c))
    assert not np.array_equal(a[0], a[1])


def test_random_resized_crop_windows_respect_scale_and_ratio():
    fovea.manual_seed(0)
    img = np.zeros((3, 40, 50), np.float32)
    scale, ratio = (0.2, 0.6), (0.5, 2.0)
    for _ in range(200):
        i, j, h, w = T.RandomResizedCrop.get_params(img, scale, ratio)
        assert 0 <= i <= 40 - h and 0 <= j <= 50 - w
        # rounding h and w to pixels moves the area and ratio a little
        assert scale[0] * 0.85 <= h * w / 2000 <= scale[1] * 1.15
        assert ratio[0] * 0.85 <= w / h <= ratio[1] * 1.15
    assert T.RandomResizedCrop((7, 9))(img).shape == (3, 7, 9)
    assert T.RandomResizedCrop(6)(Image.fromarray(_rgb(20, 30))).size == (6, 6)
    # impossible scale: the fallback is the centre crop clamped to the ratio range
    wide = np.zeros((1, 10, 100), np.float32)
    assert T.RandomResizedCrop.get_params(wide, (0.9, 1.0), (1.0, 1.0)) == (0, 45, 10, 10)


def test_random_crop_pads_then_draws_a_window_in_range():
    a = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    fovea.manual_seed(0)
    seen = set()
    for _ in range(100):
        out = T.RandomCrop(4, padding=1)(a)
        padded = np.pad(a, ((0, 0), (1, 1), (1, 1)))
        windows = {(i, j) for i in range(3) for j in range(3)
                   if np.array_equal(padded[:, i:i + 4, j:j + 4], out)}
        assert windows
        seen |= windows
    assert len(seen) == 9
    assert T.RandomCrop(6, pad_if_needed=True)(a).shape == (1, 6, 6)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(5)(a)


def test_random_rotation_and_affine_draw_parameters_in_range():
    fovea.manual_seed(0)
    for _ in range(100):
        assert -30 <= T.RandomRotation.get_params((-30, 30)) <= 30
        angle, (tx, ty), s, (shx, shy) = T.RandomAffine.get_params(
            (-10, 10), (0.2, 0.1), (0.8, 1.2), (-5, 5, -3, 3), [20, 10])
        assert -10 <= angle <= 10 and abs(tx) <= 4 and abs(ty) <= 1
        assert isinstance(tx, int) and 0.8 <= s <= 1.2 and abs(shx) <= 5 and abs(shy) <= 3
    x = np.ones((3, 9, 9), np.float32)
    assert T.RandomRotation(45, expand=True)(x).shape[0] == 3
    assert T.RandomAffine(20, fill=0.5)(x).shape == (3, 9, 9)


def test_random_erasing_erases_one_rectangle_within_the_scale_range():
    x = np.ones((3, 20, 20), np.float32)
    fovea.manual_seed(0)
    for _ in range(30):
        out = T.RandomErasing(p=1.0, scale=(0.1, 0.2), ratio=(0.5, 2.0))(x)
        zero = out[0] == 0
        rows, cols = np.nonzero(zero)
        h, w = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert zero.sum() == h * w and np.array_equal(out[1] == 0, zero)
        assert 0.1 * 0.8 <= h * w / 400 <= 0.2 * 1.2
    assert x.min() == 1                                   # the input is untouched
    with pytest.raises(TypeError, match="Tensor image"):
        T.RandomErasing(p=1.0)(Image.new("L", (4, 4)))
    with pytest.raises(ValueError, match="'random'"):
        T.RandomErasing(value="noise")


def test_containers_apply_choose_and_order():
    add1, dbl = T.Lambda(lambda v: v + 1), T.Lambda(lambda v: v * 2)
    assert T.RandomApply([add1], p=0.0)(1) == 1 and T.RandomApply([add1], p=1.0)(1) == 2
    assert T.RandomChoice([add1, dbl], p=[0, 1])(3) == 6
    fovea.manual_seed(0)
    results = {T.RandomOrder([add1, dbl])(3) for _ in range(30)}   # (3+1)*2 or 3*2+1
    assert results == {8, 7}
    with pytest.raises(TypeError, match="callable"):
        T.Lambda(3)


def test_arguments_are_checked_with_torchvision_messages():
    with pytest.raises(ValueError, match="must be positive"):
        T.RandomRotation(-1)
    with pytest.raises(ValueError, match="translation values should be between 0 and 1"):
        T.RandomAffine(0, translate=(0.5, 2))
    with pytest.raises(ValueError, match="shear should be a sequence of length 2 or 4"):
        T.RandomAffine(0, shear=(1, 2, 3))
    with pytest.raises(ValueError, match="non negative"):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match="hue values should be between"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="1 or 2 values"):
        T.Resize([1, 2, 3])
    with pytest.raises(ValueError, match="either 1 or 3"):
        T.Grayscale(2)


# --- the batch form ---------------------------------------------------------------------------

def test_two_argument_calls_run_the_batch_transforms():
    x = np.random.default_rng(0).random((5, 3, 6, 6)).astype(np.float32)
    per_image = T.Compose([T.RandomCrop(6, padding=1), T.RandomHorizontalFlip(),
                           T.RandomAffine(10, translate=(0.1, 0.1)), T.ColorJitter(0.2, 0.2),
                           T.Normalize((0.5,) * 3, (0.2,) * 3), T.Cutout(2)])
    batch = B.Compose([B.RandomCrop(6, padding=1), B.RandomHorizontalFlip(),
                       B.RandomAffine(10, translate=(0.1, 0.1)), B.ColorJitter(0.2, 0.2),
                       B.Normalize((0.5,) * 3, (0.2,) * 3), B.Cutout(2)])
    np.testing.assert_array_equal(per_image(x, np.random.default_rng(4)),
                                  batch(x, np.random.default_rng(4)))
    with pytest.raises(TypeError, match="per-image transform"):
        T.ToTensor()(x, np.random.default_rng(0))
    fitted = T.Normalize.fit(x)
    np.testing.assert_allclose(fitted.mean, x.mean(axis=(0, 2, 3)), rtol=1e-5)


def test_angles_in_degrees_are_not_radians():
    # a 360-degree rotation is the identity (a radians bug would not be)
    a = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    np.testing.assert_array_equal(F.rotate(a, 360.0), a)
    assert math.isclose(F._array.inverse_affine_matrix([0, 0], 90, [0, 0], 1.0, [0, 0])[1], 1.0,
                        abs_tol=1e-12)


@needs_torch
@pytest.mark.parametrize("size", [(3, 5), (7, 4), (12, 20), (5, 9)])
@pytest.mark.parametrize("mode, antialias", [("bilinear", True), ("bilinear", False),
                                             ("nearest", False), ("nearest-exact", False)])
def test_resize_of_tensors_matches_torch_interpolate(size, mode, antialias):
    # torchvision's tensor Resize is F.interpolate(align_corners=False) with these modes
    x = np.random.default_rng(0).random((2, 3, 8, 10))
    interp = T.InterpolationMode(mode)
    ours = T.Resize(size, interp, antialias=antialias)(x)
    kw = {"align_corners": False, "antialias": antialias} if mode == "bilinear" else {}
    theirs = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode=mode, **kw)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-12)


def _torch_warp(x, matrix, out_hw, mode):
    """torchvision's tensor affine: an affine_grid on pixel centres + grid_sample (zeros)."""
    h, w = x.shape[-2:]
    oh, ow = out_hw
    theta = torch.tensor(matrix, dtype=torch.float64).reshape(1, 2, 3)
    xs = torch.linspace(-ow * 0.5 + 0.5, ow * 0.5 - 0.5, ow, dtype=torch.float64)
    ys = torch.linspace(-oh * 0.5 + 0.5, oh * 0.5 - 0.5, oh, dtype=torch.float64)
    base = torch.stack([xs.expand(oh, ow), ys[:, None].expand(oh, ow),
                        torch.ones(oh, ow, dtype=torch.float64)], -1).reshape(1, -1, 3)
    scaled = theta.transpose(1, 2) / torch.tensor([0.5 * w, 0.5 * h], dtype=torch.float64)
    grid = base.bmm(scaled).reshape(1, oh, ow, 2)
    return torch.nn.functional.grid_sample(torch.from_numpy(x)[None], grid, mode=mode,
                                           padding_mode="zeros", align_corners=False)[0]


@needs_torch
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("angle, translate, scale, shear", [
    (33.0, [0, 0], 1.0, [0, 0]), (-71.0, [2, -1], 0.8, [10, 0]), (12.0, [1, 3], 1.3, [5, -7])])
def test_affine_of_tensors_matches_torch_grid_sample(mode, angle, translate, scale, shear):
    x = np.random.default_rng(1).random((3, 9, 11))
    interp = T.InterpolationMode(mode)
    ours = F.affine(x, angle, translate, scale, shear, interpolation=interp)
    matrix = F._array.inverse_affine_matrix([0.0, 0.0], angle, translate, scale, shear)
    theirs = _torch_warp(x, matrix, (9, 11), mode).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-10)
    rot = F.rotate(x, angle, interpolation=interp, expand=True)
    matrix = F._array.inverse_affine_matrix([0.0, 0.0], -angle, [0, 0], 1.0, [0, 0])
    np.testing.assert_allclose(rot, _torch_warp(x, matrix, rot.shape[-2:], mode).numpy(),
                               atol=1e-10)


@needs_torch
def test_fill_blends_like_torchvision():
    # torchvision: sample [img, ones] together, then img * m + (1 - m) * fill (bilinear) or
    # fill where m < 0.5 (nearest)
    x = np.random.default_rng(2).random((2, 7, 8))
    matrix = F._array.inverse_affine_matrix([0.0, 0.0], -25.0, [0, 0], 1.0, [0, 0])
    both = np.concatenate([x, np.ones((1, 7, 8))])
    for mode in ("bilinear", "nearest"):
        s = _torch_warp(both, matrix, (7, 8), mode).numpy()
        img, m = s[:2], s[2:]
        want = img * m + (1 - m) * 0.7 if mode == "bilinear" else np.where(m < 0.5, 0.7, img)
        ours = F.rotate(x, 25.0, interpolation=T.InterpolationMode(mode), fill=0.7)
        np.testing.assert_allclose(ours, want, atol=1e-10)
