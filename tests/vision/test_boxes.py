"""Box ops, NMS, anchors, coder, matcher, sampler and detection losses: hand-worked cases,
NumPy references, onnxruntime's NonMaxSuppression and finite differences."""

import time

import numpy as np
import pytest

import fovea
from fovea.vision import ops
from oracle import check_op


def _random_boxes(rng, n, size=100.0, max_wh=30.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(1, max_wh, (n, 2))
    return np.concatenate([xy, xy + wh], 1)


def np_iou(a, b):
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), -1)
    union = area(a)[:, None] + area(b)[None] - inter
    return inter / union, union


def np_giou(a, b):
    iou, union = np_iou(a, b)
    lt = np.minimum(a[:, None, :2], b[None, :, :2])
    rb = np.maximum(a[:, None, 2:], b[None, :, 2:])
    c = np.prod(rb - lt, -1)
    return iou - (c - union) / c


def test_box_iou_area_hand_worked():
    a = fovea.tensor([[0.0, 0.0, 2.0, 2.0]])
    b = fovea.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 4.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
    assert ops.box_area(b).tolist() == [4.0, 4.0, 4.0]
    np.testing.assert_allclose(ops.box_iou(a, b).numpy(), [[1 / 7, 0.0, 1.0]], rtol=1e-6)
    # GIoU of the touching pair: IoU 0, enclosing box 4x2 = 8, union 8 -> 0; of the diagonal
    # pair: 1/7 - (9 - 7)/9.
    np.testing.assert_allclose(ops.generalized_box_iou(a, b).numpy(),
                               [[1 / 7 - 2 / 9, 0.0, 1.0]], rtol=1e-6)


def test_box_iou_and_giou_gradients():
    rng = np.random.default_rng(0)
    a, b = _random_boxes(rng, 4, 10, 6), _random_boxes(rng, 3, 10, 6)
    check_op(ops.box_iou, None, [a, b], numpy_fn=lambda x, y: np_iou(x, y)[0])
    check_op(ops.generalized_box_iou, None, [a, b], numpy_fn=np_giou)


@pytest.mark.parametrize("fmt", ["xywh", "cxcywh"])
def test_box_convert_round_trips_and_matches_formulas(fmt):
    rng = np.random.default_rng(1)
    b = _random_boxes(rng, 5)
    c = ops.box_convert(fovea.tensor(b), "xyxy", fmt).numpy()
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    expected = (np.stack([b[:, 0], b[:, 1], w, h], 1) if fmt == "xywh" else
                np.stack([b[:, 0] + w / 2, b[:, 1] + h / 2, w, h], 1))
    np.testing.assert_allclose(c, expected, rtol=1e-12)
    np.testing.assert_allclose(ops.box_convert(fovea.tensor(c), fmt, "xyxy").numpy(), b,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="unknown box format 'xy'"):
        ops.box_convert(fovea.tensor(b), "xy", fmt)


def test_clip_and_remove_small_and_check_boxes():
    b = fovea.tensor([[-5.0, 2.0, 12.0, 30.0], [1.0, 1.0, 1.5, 9.0]])
    assert ops.clip_boxes_to_image(b, (20, 10)).tolist() == [[0.0, 2.0, 10.0, 20.0],
                                                             [1.0, 1.0, 1.5, 9.0]]
    assert ops.remove_small_boxes(b, 1.0).tolist() == [0]
    with pytest.raises(ValueError, match=r"box 1 has x2 < x1"):
        ops.check_boxes(fovea.tensor([[0.0, 0, 1, 1], [3.0, 0, 2, 1]]), "targets")
    with pytest.raises(ValueError, match="outside the image of height 20 and width 10"):
        ops.check_boxes(b, "targets", image_size=(20, 10))


def test_masks_to_boxes():
    m = np.zeros((2, 5, 6), bool)
    m[0, 1:3, 2:5] = True
    m[1, 4, 0] = True
    assert ops.masks_to_boxes(m).tolist() == [[2.0, 1.0, 4.0, 2.0], [0.0, 4.0, 0.0, 4.0]]


def naive_nms(b, s, t):
    order, keep = list(np.argsort(-s, kind="stable")), []
    iou = np_iou(b, b)[0]
    while order:
        i = order.pop(0)
        keep.append(i)
        order = [j for j in order if not iou[i, j] > t]
    return keep


@pytest.mark.parametrize("t", [0.3, 0.5, 0.7])
def test_nms_matches_the_greedy_definition(t):
    rng = np.random.default_rng(2)
    b, s = _random_boxes(rng, 200, 60), rng.random(200)
    assert ops.nms(fovea.tensor(b), fovea.tensor(s), t).tolist() == naive_nms(b, s, t)


def test_batched_nms_never_suppresses_across_categories():
    rng = np.random.default_rng(3)
    b, s, c = _random_boxes(rng, 120, 40), rng.random(120), rng.integers(0, 3, 120)
    got = ops.batched_nms(fovea.tensor(b), fovea.tensor(s), fovea.tensor(c), 0.5).tolist()
    expected = []
    for k in range(3):
        idx = np.flatnonzero(c == k)
        expected += idx[naive_nms(b[idx], s[idx], 0.5)].tolist()
    assert got == sorted(expected, key=lambda i: -s[i])
    assert ops.batched_nms(fovea.zeros(0, 4), fovea.zeros(0), fovea.zeros(0), 0.5).tolist() == []


def test_nms_matches_onnxruntime_nonmaxsuppression():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    rng = np.random.default_rng(4)
    n = 300
    b, s = _random_boxes(rng, n, 80).astype(np.float32), rng.random(n).astype(np.float32)
    node = helper.make_node("NonMaxSuppression", ["boxes", "scores", "max", "iou", "score"],
                            ["sel"], center_point_box=0)
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(
        [node], "g",
        [vi("boxes", TensorProto.FLOAT, [1, n, 4]), vi("scores", TensorProto.FLOAT, [1, 1, n]),
         vi("max", TensorProto.INT64, [1]), vi("iou", TensorProto.FLOAT, [1]),
         vi("score", TensorProto.FLOAT, [1])],
        [vi("sel", TensorProto.INT64, ["k", 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for t in (0.3, 0.6):
        # ONNX takes [y1, x1, y2, x2] corners.
        sel = sess.run(None, {"boxes": b[None][:, :, [1, 0, 3, 2]], "scores": s[None, None],
                              "max": np.array([n]), "iou": np.array([t], np.float32),
                              "score": np.array([0.0], np.float32)})[0]
        assert ops.nms(fovea.tensor(b), fovea.tensor(s), t).tolist() == sel[:, 2].tolist()


def test_nms_on_10000_boxes_is_fast():
    rng = np.random.default_rng(5)
    b, s = _random_boxes(rng, 10_000, 1000, 60), rng.random(10_000)
    t0 = time.process_time()  # CPU time: the shared test machine's waits do not count
    keep = ops.nms(fovea.tensor(b), fovea.tensor(s), 0.5)
    elapsed = time.process_time() - t0
    assert 0 < len(keep) < 10_000
    # A Python loop over the 50 million pairs would take minutes.
    assert elapsed < 5.0, f"nms over 10,000 boxes took {elapsed:.1f} s of CPU time"
    # the matrix path (small inputs) and the shrinking path (large ones) agree
    small_b, small_s = b[:1500], s[:1500]
    assert ops.nms(fovea.tensor(small_b), fovea.tensor(small_s), 0.5).tolist() == \
        naive_nms(small_b, small_s, 0.5)


def test_anchor_generator_hand_worked():
    gen = ops.AnchorGenerator(sizes=((32,),), aspect_ratios=((0.5, 1.0, 2.0),))
    a = gen.grid_anchors((64, 64), [(2, 2)])
    # h = 32 sqrt(r), w = 32 / sqrt(r): r = 0.5 -> w 45.25, h 22.63 -> round(+-w/2, +-h/2)
    np.testing.assert_array_equal(a[:3], [[-23, -11, 23, 11], [-16, -16, 16, 16],
                                          [-11, -23, 11, 23]])
    assert a.shape == (12, 4) and gen.num_anchors_per_location() == [3]
    np.testing.assert_array_equal(a[3:6] - a[:3], [[32, 0, 32, 0]] * 3)   # next column
    np.testing.assert_array_equal(a[6:9] - a[:3], [[0, 32, 0, 32]] * 3)   # next row


def test_box_coder_round_trip_hand_case_and_gradient():
    coder = ops.BoxCoder((10.0, 10.0, 5.0, 5.0))
    ref = fovea.tensor([[0.0, 0.0, 10.0, 10.0]])
    box = fovea.tensor([[5.0, 0.0, 15.0, 20.0]])
    d = coder.encode_single(box, ref)
    np.testing.assert_allclose(d.numpy(), [[5.0, 5.0, 0.0, 5 * np.log(2)]], rtol=1e-6)
    np.testing.assert_allclose(coder.decode_single(d, ref).numpy(), box.numpy(), rtol=1e-6)
    rng = np.random.default_rng(6)
    r = _random_boxes(rng, 5, 20, 10)
    check_op(lambda t: coder.decode_single(t, fovea.tensor(r)), None,
             [rng.standard_normal((5, 4)) * 0.3], second_order=False)


def test_matcher_thresholds_and_low_quality_matches():
    q = np.array([[0.9, 0.45, 0.2, 0.1],
                  [0.1, 0.5, 0.35, 0.05]])
    m = ops.Matcher(0.7, 0.3)(q)
    assert m.tolist() == [0, -2, -2, -1]
    m = ops.Matcher(0.7, 0.3, allow_low_quality_matches=True)(q)
    assert m.tolist() == [0, 1, -2, -1]  # ground truth 1's best (0.5) is kept
    assert ops.Matcher(0.7, 0.3)(np.zeros((0, 4))).tolist() == [-1] * 4  # no objects


def test_sampler_respects_fraction_and_budget():
    m = np.array([1] * 10 + [0] * 100 + [-1] * 5)
    pos, neg = ops.BalancedPositiveNegativeSampler(32, 0.25)([m], np.random.default_rng(0))
    assert pos[0].sum() == 8 and neg[0].sum() == 24
    assert (m[pos[0]] == 1).all() and (m[neg[0]] == 0).all()
    pos, neg = ops.BalancedPositiveNegativeSampler(32, 0.5)([np.array([1, 0, 0])])
    assert pos[0].sum() == 1 and neg[0].sum() == 2


def test_sigmoid_focal_loss_formula_and_gradient():
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((6, 3)), (rng.random((6, 3)) > 0.5).astype(np.float64)

    def ref(x, t, alpha=0.25, gamma=2.0):
        p = 1 / (1 + np.exp(-x))
        ce = -(t * np.log(p) + (1 - t) * np.log(1 - p))
        pt = p * t + (1 - p) * (1 - t)
        return (alpha * t + (1 - alpha) * (1 - t)) * ce * (1 - pt) ** gamma

    check_op(lambda a, b: ops.sigmoid_focal_loss(a, b), None, [x, t], numpy_fn=ref,
             grad_mask=[True, False], second_order=False)
    got = ops.sigmoid_focal_loss(fovea.tensor(x), fovea.tensor(t), reduction="mean").item()
    assert got == pytest.approx(ref(x, t).mean())


def test_generalized_box_iou_loss_is_one_minus_diagonal_giou():
    rng = np.random.default_rng(8)
    a, b = _random_boxes(rng, 5, 10, 6), _random_boxes(rng, 5, 10, 6)
    check_op(lambda x, y: ops.generalized_box_iou_loss(x, y, eps=0.0), None, [a, b],
             numpy_fn=lambda x, y: 1 - np.diag(np_giou(x, y)), second_order=False)


def test_nms_linear_memory_path_matches_the_matrix_path(monkeypatch):
    from fovea.vision.ops import boxes as box_module

    rng = np.random.default_rng(9)
    b, s = _random_boxes(rng, 400, 60), rng.random(400)
    b[::50, 2:] = b[::50, :2]  # empty boxes: NaN IoU with each other never suppresses
    matrix = ops.nms(fovea.tensor(b), fovea.tensor(s), 0.4).tolist()
    monkeypatch.setattr(box_module, "_MATRIX_NMS", 0)
    assert ops.nms(fovea.tensor(b), fovea.tensor(s), 0.4).tolist() == matrix
