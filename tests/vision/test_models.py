"""Segmentation and detection models: shapes, torchvision's train/eval interface, empty
images, bad targets, and that a few steps of training lower the loss."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea.data.shapes import Shapes
from fovea.vision.models.detection import (
    MaskRCNNLite,
    faster_rcnn_lite,
    mask_rcnn_lite,
    paste_masks_in_image,
    ssd_lite,
)
from fovea.vision.models.segmentation import FCN, UNet, bilinear_kernel
from fovea.vision.transforms import detection_collate


@pytest.fixture(scope="module")
def batch():
    d = Shapes("train", 30, seed=0)
    empty = next(i for i in range(30) if len(d[i][1]["boxes"]) == 0)
    return detection_collate([d[0], d[1], d[2], d[empty]])


@pytest.mark.parametrize("variant,up", [("32s", "bilinear"), ("16s", "transposed"),
                                        ("8s", "transposed"), ("8s", "bilinear")])
def test_fcn_shapes(variant, up):
    m = FCN(5, width=4, variant=variant, upsample=up)
    assert m(fovea.randn(2, 3, 64, 32))["out"].shape == (2, 5, 64, 32)
    with pytest.raises(ValueError, match="multiples of 32"):
        m(fovea.randn(1, 3, 40, 32))


def test_bilinear_kernel_transposed_conv_is_bilinear_upsampling():
    rng = np.random.default_rng(0)
    x = fovea.tensor(rng.standard_normal((1, 2, 5, 5)))
    w = fovea.tensor(bilinear_kernel(2, 4).astype(np.float64))
    up = F.conv_transpose2d(x, w, stride=2, padding=1)
    ref = F.interpolate(x, scale_factor=2, mode="bilinear")
    # Away from the border (where the transposed conv sees zero padding) they agree.
    np.testing.assert_allclose(up.numpy()[..., 1:-1, 1:-1], ref.numpy()[..., 1:-1, 1:-1],
                               rtol=1e-12, atol=1e-12)


def test_unet_shapes_and_a_few_steps_lower_the_loss(batch):
    images, targets = batch
    fovea.manual_seed(0)
    m = UNet(4, width=4, depth=2)
    assert m(images)["out"].shape == (4, 4, 64, 64)
    sem = fovea.stack([t["semantic"] for t in targets])
    opt = fovea.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        loss = F.cross_entropy(m(images)["out"], sem)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def _train_steps(model, images, targets, steps, lr=2e-3):
    opt = fovea.optim.Adam(model.parameters(), lr=lr)
    totals = []
    for _ in range(steps):
        losses = model(images, targets)
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(total.item())
    return losses, totals


@pytest.mark.parametrize("builder,keys", [
    (ssd_lite, {"classification", "bbox_regression"}),
    (faster_rcnn_lite, {"loss_objectness", "loss_rpn_box_reg", "loss_classifier",
                        "loss_box_reg"}),
    (mask_rcnn_lite, {"loss_objectness", "loss_rpn_box_reg", "loss_classifier",
                      "loss_box_reg", "loss_mask"})])
def test_detectors_train_and_eval_like_torchvision(batch, builder, keys):
    images, targets = batch
    fovea.manual_seed(0)
    m = builder(width=8)
    losses, totals = _train_steps(m, images, targets, 6)
    assert set(losses) == keys and all(np.isfinite(v.item()) for v in losses.values())
    assert totals[-1] < totals[0]
    m.eval()
    with fovea.no_grad():
        out = m(images)
    assert len(out) == 4
    for p in out:
        d = p["boxes"].shape[0]
        assert p["boxes"].shape == (d, 4) and p["scores"].shape == (d,)
        assert p["labels"].dtype == fovea.int64 and p["boxes"].dtype == fovea.float32
        if isinstance(m, MaskRCNNLite):
            assert p["masks"].shape == (d, 1, 64, 64)
        if d:
            b = p["boxes"].numpy()
            assert (b[:, 2] >= b[:, 0]).all() and b.min() >= 0 and b.max() <= 64
            assert set(p["labels"].tolist()) <= {1, 2, 3}
            assert (np.diff(p["scores"].numpy()) <= 0).all()   # by decreasing score


@pytest.mark.parametrize("builder", [ssd_lite, mask_rcnn_lite])
def test_images_without_boxes_train(builder):
    d = Shapes("train", 60, seed=0)
    empties = [d[i] for i in range(60) if len(d[i][1]["boxes"]) == 0][:2]
    images, targets = detection_collate(empties)
    m = builder(width=4)
    losses = m(images, targets)
    total = sum(losses.values())
    total.backward()
    assert np.isfinite(total.item())
    assert any(p.grad is not None for p in m.parameters())


def test_bad_targets_are_refused(batch):
    images, targets = batch
    m = ssd_lite(width=4)
    bad = [dict(t) for t in targets]
    bad[1] = dict(bad[1], boxes=fovea.tensor([[10.0, 10.0, 5.0, 20.0]]),
                  labels=fovea.tensor([1]))
    with pytest.raises(ValueError, match="target 1: box 0 has x2 < x1"):
        m(images, bad)
    bad[1] = dict(bad[1], boxes=fovea.tensor([[1.0, 1.0, 5.0, 5.0]]), labels=fovea.tensor([0]))
    with pytest.raises(ValueError, match="labels start at 1"):
        m(images, bad)
    with pytest.raises(ValueError, match="one target dict per image"):
        m(images)


def test_out_of_image_boxes_are_clipped_in_training(batch):
    images, targets = batch
    m = ssd_lite(width=4)
    t = [dict(x) for x in targets]
    t[0] = dict(t[0], boxes=fovea.tensor([[-10.0, 5.0, 30.0, 90.0]]), labels=fovea.tensor([2]))
    assert np.isfinite(sum(m(images, t).values()).item())


def test_paste_masks_hand_worked():
    masks = np.ones((1, 4, 4))
    out = paste_masks_in_image(masks, np.array([[2.0, 1.0, 5.0, 3.0]]), (6, 8))
    expected = np.zeros((6, 8))
    expected[1:3, 2:5] = 1.0
    np.testing.assert_allclose(out[0, 0], expected)
    ramp = np.tile(np.arange(4.0), (4, 1))[None]   # mask value = its column index
    out = paste_masks_in_image(ramp, np.array([[0.0, 0.0, 8.0, 4.0]]), (4, 8))
    # pixel centre x + 0.5 maps to mask column (x + 0.5) / 8 * 4 - 0.5, clamped to [0, 3]
    np.testing.assert_allclose(out[0, 0, 0], np.clip((np.arange(8) + 0.5) / 2 - 0.5, 0, 3))


def test_classifier_localizer_multitask_loss_learns():
    from fovea.vision.models.localization import ClassifierLocalizer

    d = Shapes("train", 8, seed=5, max_objects=1, p_empty=0.0, min_visible=0)
    images, targets = detection_collate([d[i] for i in range(8)])
    fovea.manual_seed(0)
    m = ClassifierLocalizer(3, width=8)
    losses, totals = _train_steps(m, images, targets, 25, lr=3e-3)
    assert set(losses) == {"loss_classifier", "loss_box_reg"}
    assert totals[-1] < 0.5 * totals[0]
    m.eval()
    with fovea.no_grad():
        out = m(images)
    assert out[0]["boxes"].shape == (1, 4) and out[0]["labels"].dtype == fovea.int64
    with pytest.raises(ValueError, match="exactly one box"):
        m.train()(images, [dict(t, labels=t["labels"][:0]) for t in targets])


def test_mask_targets_take_each_objects_own_mask():
    from fovea.vision.models.detection.rcnn import mask_targets

    m0 = np.zeros((2, 8, 8))
    m0[0, :4, :4] = 1                    # image 0: object 0 top-left (object 1 not sampled)
    m0[1, 6:, :] = 1
    m1 = np.zeros((2, 8, 8))
    m1[0, 4:, 4:] = 1                    # image 1: object 0 bottom-right
    m1[1, :, :4] = 1                     # image 1: object 1, left half
    box = np.array([[0.0, 0.0, 8.0, 8.0]])
    samples = [(box, np.array([1]), np.array([0])),
               (np.concatenate([box, box]), np.array([2, 3]), np.array([0, 1]))]
    out, labels = mask_targets(samples, [{"masks": m0}, {"masks": m1}], size=8)
    assert labels.tolist() == [1, 2, 3]
    np.testing.assert_allclose(out, np.concatenate([m0[:1], m1]))  # whole-image box: the mask
