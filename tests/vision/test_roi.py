"""roi_align / roi_pool: against ONNX's reference operators (onnxruntime), a loop-by-loop
reimplementation of torchvision's C++ kernels, hand-worked cases and finite differences."""

import numpy as np
import pytest

import fovea
from fovea.vision.ops import RoIAlign, RoIPool, roi_align, roi_pool
from oracle import check_op


def _bilinear(img, y, x):
    """torchvision's bilinear_interpolate for one sample (img: (H, W))."""
    h, w = img.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    yl, xl = int(y), int(x)
    if yl >= h - 1:
        yh = yl = h - 1
        y = float(yl)
    else:
        yh = yl + 1
    if xl >= w - 1:
        xh = xl = w - 1
        x = float(xl)
    else:
        xh = xl + 1
    ly, lx = y - yl, x - xl
    hy, hx = 1 - ly, 1 - lx
    return hy * hx * img[yl, xl] + hy * lx * img[yl, xh] + ly * hx * img[yh, xl] \
        + ly * lx * img[yh, xh]


def naive_roi_align(x, rois, out, scale, sr, aligned):
    ph, pw = out
    res = np.zeros((len(rois), x.shape[1], ph, pw))
    off = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        sx, sy = x1 * scale - off, y1 * scale - off
        rw, rh = x2 * scale - off - sx, y2 * scale - off - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = sr if sr > 0 else int(np.ceil(rh / ph))
        gw = sr if sr > 0 else int(np.ceil(rw / pw))
        count = max(gh * gw, 1)
        for c in range(x.shape[1]):
            for i in range(ph):
                for j in range(pw):
                    acc = 0.0
                    for iy in range(gh):
                        yy = sy + i * bh + (iy + 0.5) * bh / gh
                        for ix in range(gw):
                            xx = sx + j * bw + (ix + 0.5) * bw / gw
                            acc += _bilinear(x[int(b), c], yy, xx)
                    res[k, c, i, j] = acc / count
    return res


def naive_roi_pool(x, rois, out, scale):
    ph, pw = out
    h, w = x.shape[2:]
    res = np.zeros((len(rois), x.shape[1], ph, pw))
    rnd = lambda v: float(np.sign(v) * np.floor(abs(v) + 0.5))  # noqa: E731
    for k, (b, x1, y1, x2, y2) in enumerate(rois):
        xs, ys, xe, ye = rnd(x1 * scale), rnd(y1 * scale), rnd(x2 * scale), rnd(y2 * scale)
        rw, rh = max(xe - xs + 1, 1), max(ye - ys + 1, 1)
        for i in range(ph):
            for j in range(pw):
                hs = int(min(max(np.floor(i * rh / ph) + ys, 0), h))
                he = int(min(max(np.ceil((i + 1) * rh / ph) + ys, 0), h))
                ws = int(min(max(np.floor(j * rw / pw) + xs, 0), w))
                we = int(min(max(np.ceil((j + 1) * rw / pw) + xs, 0), w))
                if he <= hs or we <= ws:
                    continue
                res[k, :, i, j] = x[int(b), :, hs:he, ws:we].max(axis=(1, 2))
    return res


def _rois(rng, k, n, size, spread=1.3):
    """Random boxes, some reaching outside the image and some tiny."""
    xy = rng.uniform(-0.2 * size, size * spread, (k, 2, 2))
    lo, hi = xy.min(1), xy.max(1)
    hi[::3] = lo[::3] + rng.uniform(0, 0.8, (len(lo[::3]), 2))  # sub-pixel boxes
    return np.concatenate([rng.integers(0, n, (k, 1)), lo, hi], 1)


CASES = [((4, 4), 1.0, -1, False), ((2, 3), 0.5, 2, True), ((3, 3), 0.25, 0, True),
         ((1, 5), 1.0, 3, False), ((7, 7), 0.5, -1, True)]


@pytest.mark.parametrize("out,scale,sr,aligned", CASES)
def test_roi_align_matches_torchvision_kernel_loop_by_loop(out, scale, sr, aligned):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 11))
    rois = _rois(rng, 9, 2, 11 / scale)
    got = roi_align(fovea.tensor(x), fovea.tensor(rois), out, scale, sr, aligned).numpy()
    np.testing.assert_allclose(got, naive_roi_align(x, rois, out, scale, sr, aligned),
                               rtol=1e-12, atol=1e-12)


def test_roi_align_hand_worked():
    # 4x4 image of x[r, c] = 4r + c; the box [0, 0, 2, 2] aligned=True starts at -0.5 and is
    # 2 wide: one bin (1x1 output), 2x2 samples at -0.5 + {0.5, 1.5} = {0, 1}: the mean of
    # pixels (0,0), (0,1), (1,0), (1,1) = (0 + 1 + 4 + 5) / 4.
    x = fovea.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    assert roi_align(x, [fovea.tensor([[0.0, 0.0, 2.0, 2.0]])], 1, aligned=True).item() == 2.5
    # aligned=False: samples at {0.5, 1.5} -> bilinear mean of the same quad's centres = 5.0
    assert roi_align(x, [fovea.tensor([[0.0, 0.0, 2.0, 2.0]])], 1).item() == 5.0


def test_roi_pool_hand_worked():
    x = fovea.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    # The box [0, 0, 1, 1] covers cells 0..1 x 0..1 (corners included): one bin, max = 5.
    assert roi_pool(x, fovea.tensor([[0.0, 0.0, 0.0, 1.0, 1.0]]), 1).item() == 5.0
    # 2x2 bins over the whole image: the max of each quadrant.
    got = roi_pool(x, fovea.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]]), 2).numpy()
    assert got.tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]


@pytest.mark.parametrize("out,scale", [((2, 2), 1.0), ((3, 4), 0.5), ((1, 1), 0.25)])
def test_roi_pool_matches_torchvision_kernel_loop_by_loop(out, scale):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 8, 10))
    rois = _rois(rng, 10, 2, 10 / scale)
    got = roi_pool(fovea.tensor(x), fovea.tensor(rois), out, scale).numpy()
    np.testing.assert_allclose(got, naive_roi_pool(x, rois, out, scale), rtol=0, atol=0)


@pytest.mark.parametrize("out,scale,sr,aligned", CASES[:3])
def test_roi_align_gradients_match_finite_differences(out, scale, sr, aligned):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 6, 7))
    rois = _rois(rng, 5, 2, 7 / scale)
    check_op(lambda t: roi_align(t, fovea.tensor(rois), out, scale, sr, aligned), None, [x],
             numpy_fn=lambda a: naive_roi_align(a, rois, out, scale, sr, aligned))


def test_roi_align_double_backward_is_the_forward_again():
    rng = np.random.default_rng(4)
    x = fovea.tensor(rng.standard_normal((1, 2, 5, 5)), requires_grad=True)
    rois = fovea.tensor([[0.0, 0.3, 0.2, 4.1, 3.7]])
    g = fovea.tensor(rng.standard_normal((1, 2, 2, 2)), requires_grad=True)
    (dx,) = fovea.grad(roi_align(x, rois, 2, sampling_ratio=2), x, g, create_graph=True)
    w = rng.standard_normal(dx.shape)
    (dg,) = fovea.grad((dx * fovea.tensor(w)).sum(), g)
    # <A^T g, w> = <g, A w>: the gradient with respect to g is the forward applied to w.
    expected = roi_align(fovea.tensor(w), rois, 2, sampling_ratio=2).numpy()
    np.testing.assert_allclose(dg.numpy(), expected, rtol=1e-12)


def test_roi_pool_gradient_goes_to_the_argmax_and_matches_finite_differences():
    rng = np.random.default_rng(5)
    x = rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) / 7.0  # distinct values: no ties
    rois = _rois(rng, 6, 2, 6)
    check_op(lambda t: roi_pool(t, fovea.tensor(rois), (2, 3), 1.0), None, [x],
             numpy_fn=lambda a: naive_roi_pool(a, rois, (2, 3), 1.0), second_order=False)


def test_list_of_boxes_form_equals_the_k5_form_and_modules():
    rng = np.random.default_rng(6)
    x = fovea.tensor(rng.standard_normal((2, 1, 6, 6)))
    b0, b1 = np.array([[0.0, 1, 3, 4]]), np.array([[1.0, 1, 5, 5], [0, 0, 2, 2]])
    k5 = np.array([[0, 0, 1, 3, 4], [1, 1, 1, 5, 5], [1, 0, 0, 2, 2.0]])
    a = roi_align(x, [fovea.tensor(b0), fovea.tensor(b1)], 2, 1.0, 2)
    np.testing.assert_array_equal(a.numpy(), RoIAlign(2, 1.0, 2)(x, fovea.tensor(k5)).numpy())
    p = roi_pool(x, [fovea.tensor(b0), fovea.tensor(b1)], 2)
    np.testing.assert_array_equal(p.numpy(), RoIPool(2, 1.0)(x, fovea.tensor(k5)).numpy())


def test_bad_roi_arguments_are_refused():
    x = fovea.zeros(1, 1, 4, 4)
    with pytest.raises(IndexError, match="roi_align: box batch indices"):
        roi_align(x, fovea.tensor([[1.0, 0, 0, 2, 2]]), 2)
    with pytest.raises(ValueError, match="roi_pool: boxes must be a"):
        roi_pool(x, fovea.tensor([[0.0, 0, 2, 2]]), 2)
    with pytest.raises(ValueError, match="output_size"):
        roi_align(x, fovea.tensor([[0.0, 0, 0, 2, 2]]), 0)


# --- ONNX's reference operators, run through onnxruntime -----------------------------------

def _run_onnx(node, feeds, out_rank, opset):
    """Run one ONNX node on ``feeds`` (name -> array) in onnxruntime; returns its output."""
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    kinds = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64}
    inputs = [helper.make_tensor_value_info(k, kinds[v.dtype], list(v.shape))
              for k, v in feeds.items()]
    outputs = [helper.make_tensor_value_info(node.output[0], kinds[np.dtype(out_rank[1])],
                                             [f"d{i}" for i in range(out_rank[0])])]
    graph = helper.make_graph([node], "g", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


@pytest.mark.parametrize("out,scale,sr,aligned", CASES)
def test_roi_align_matches_onnxruntime_roialign(out, scale, sr, aligned):
    pytest.importorskip("onnxruntime")
    from onnx import helper

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 9, 11)).astype(np.float32)
    rois = _rois(rng, 9, 2, 11 / scale)

    node = helper.make_node(
        "RoiAlign", ["X", "rois", "batch_indices"], ["Y"], mode="avg",
        output_height=out[0], output_width=out[1], sampling_ratio=max(sr, 0),
        spatial_scale=scale,
        coordinate_transformation_mode="half_pixel" if aligned else "output_half_pixel")
    ref = _run_onnx(node, {"X": x, "rois": rois[:, 1:].astype(np.float32),
                           "batch_indices": rois[:, 0].astype(np.int64)}, (4, np.float32), 16)
    got = roi_align(fovea.tensor(x), fovea.tensor(rois.astype(np.float32)), out, scale, sr,
                    aligned).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("out,scale", [((2, 2), 1.0), ((3, 4), 0.5), ((1, 1), 0.25)])
def test_roi_pool_matches_onnxruntime_maxroipool(out, scale):
    pytest.importorskip("onnxruntime")
    from onnx import helper

    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 8, 10)).astype(np.float32)
    rois = _rois(rng, 10, 2, 10 / scale).astype(np.float32)
    node = helper.make_node("MaxRoiPool", ["X", "rois"], ["Y"], pooled_shape=list(out),
                            spatial_scale=scale)
    ref = _run_onnx(node, {"X": x, "rois": rois}, (4, np.float32), 1)
    got = roi_pool(fovea.tensor(x), fovea.tensor(rois), out, scale).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=0)
