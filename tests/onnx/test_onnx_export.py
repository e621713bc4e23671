"""fovea.onnx.export: every zoo model, the recurrent layers, NMS and RoIAlign pass
onnx.checker (full_check) and give onnxruntime outputs equal to fovea's (float32, 1e-5 at the
outputs' scale), also at a batch size other than the traced one when dynamic_axes says so."""

import numpy as np
import pytest
from _onnx_util import assert_close, fovea_out, randomize, run_ort, session  # noqa: I001

import fovea
from fovea import config, models, nn
from fovea.vision import ops as vo

fo = pytest.importorskip("fovea.onnx")


@pytest.fixture(autouse=True)
def _numpy_kernels():
    with config.override(jit=False):
        yield


def _export_and_compare(model, xs, names, dyn=None, alt=None, opset=17):
    proto = fo.export_to_model(model, xs, opset_version=opset, input_names=names,
                               dynamic_axes=dyn)
    sess = session(proto)
    for inputs in (xs, alt) if alt is not None else (xs,):
        for got, want in zip(run_ort(sess, names, inputs), fovea_out(model, inputs)):
            assert_close(got, want)
    return proto


def _zoo(name, size=32):
    fovea.manual_seed(0)
    m = randomize(models.build_model(name, 3, (size, size), 10)).eval()
    return m


FAST = ["lenet5", "resnet20", "squeezenet1_1", "mobilenet_v1"]
SLOW = [n for n in models.list_models() if n not in FAST]


@pytest.mark.parametrize("name", FAST)
def test_small_zoo_models_match_onnxruntime_at_another_batch_size(name):
    m = _zoo(name)
    x, x5 = fovea.randn(2, 3, 32, 32), fovea.randn(5, 3, 32, 32)
    proto = _export_and_compare(m, (x,), ["input"], {"input": {0: "batch"}}, (x5,))
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_every_zoo_model_matches_onnxruntime_at_another_batch_size(name):
    m = _zoo(name)
    x, x3 = fovea.randn(2, 3, 32, 32), fovea.randn(3, 3, 32, 32)
    _export_and_compare(m, (x,), ["input"], {"input": [0]}, (x3,))


def test_batch_norm_is_folded_into_the_convolutions():
    m = _zoo("resnet20")
    proto = _export_and_compare(m, (fovea.randn(2, 3, 32, 32),), ["input"])
    ops = [n.op_type for n in proto.graph.node]
    assert "Conv" in ops and "BatchNormalization" not in ops
    # every conv's BN became its bias: no Mul/Add pair is left after a Conv
    assert ops.count("Mul") == 0
    assert ops.count("Add") == 9  # the nine residual additions only


def test_without_dynamic_axes_the_batch_is_fixed_and_with_them_flatten_uses_zero():
    m = _zoo("lenet5")
    x = fovea.randn(2, 3, 32, 32)
    fixed = fo.export_to_model(m, x)
    assert fixed.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    dyn = fo.export_to_model(m, x, dynamic_axes={"input": [0]})
    import onnx.numpy_helper as nh
    inits = {i.name: nh.to_array(i).tolist() for i in dyn.graph.initializer}
    shapes = [inits[n.input[1]] for n in dyn.graph.node if n.op_type == "Reshape"]
    assert shapes == [[0, 120]]  # flatten(x, 1) copies the batch size rather than baking 2
    fixed_inits = {i.name: nh.to_array(i).tolist() for i in fixed.graph.initializer}
    assert [fixed_inits[n.input[1]] for n in fixed.graph.node if n.op_type == "Reshape"] == [
        [2, 120]]


@pytest.mark.parametrize("opset", [13, 16, 20])
def test_the_opset_range_is_written(opset):
    m = _zoo("resnet20")
    proto = _export_and_compare(m, (fovea.randn(1, 3, 32, 32),), ["input"], opset=opset)
    assert proto.opset_import[0].version == opset


@pytest.mark.parametrize("make,batch_axis", [
    (lambda: nn.LSTM(4, 5, num_layers=2, batch_first=True), 0),
    (lambda: nn.GRU(4, 5, bidirectional=True), 1),
    (lambda: nn.RNN(4, 5), 1),
    (lambda: nn.RNN(4, 5, nonlinearity="relu", bias=False), 1),
])
def test_recurrent_layers_export_as_onnx_recurrent_ops(make, batch_axis):
    fovea.manual_seed(0)
    m = make()
    x = fovea.randn(3, 2, 4)
    alt = fovea.randn(3, 6, 4) if batch_axis == 1 else fovea.randn(6, 2, 4)
    proto = _export_and_compare(m, (x,), ["x"], {"x": [batch_axis]}, (alt,))
    ops = {n.op_type for n in proto.graph.node}
    assert ops & {"LSTM", "GRU", "RNN"}


def test_an_lstm_with_a_given_state_exports_the_state_as_inputs():
    fovea.manual_seed(0)
    lstm = nn.LSTM(3, 4)

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = lstm

        def forward(self, x, h, c):
            return self.lstm(x, (h, c))[0]

    xs = (fovea.randn(5, 2, 3), fovea.randn(1, 2, 4), fovea.randn(1, 2, 4))
    _export_and_compare(WithState(), xs, ["x", "h", "c"])


class _NMS(nn.Module):
    def forward(self, boxes, scores):
        return vo.nms(boxes, scores, 0.5)


def _boxes(n, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10, (n, 2))
    return (fovea.tensor(np.concatenate([xy, xy + rng.uniform(1, 6, (n, 2))], 1)
                         .astype(np.float32)),
            fovea.tensor(rng.uniform(0, 1, n).astype(np.float32)))


def test_nms_exports_as_non_max_suppression_and_takes_any_number_of_boxes():
    b, s = _boxes(12, 0)
    proto = _export_and_compare(_NMS(), (b, s), ["boxes", "scores"],
                                {"boxes": [0], "scores": [0]}, _boxes(30, 1))
    assert "NonMaxSuppression" in {n.op_type for n in proto.graph.node}


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("ratio", [2, -1])
def test_roi_align_exports_as_roialign(aligned, ratio):
    class Head(nn.Module):
        def forward(self, x, rois):
            return vo.roi_align(x, rois, (3, 3), 0.5, ratio, aligned)

    rois = fovea.tensor([[0, 1.0, 1, 9, 9], [1, 2, 3, 14, 10], [0, 0, 0, 3, 2]])
    x = fovea.randn(2, 3, 8, 8)
    proto = _export_and_compare(Head(), (x, rois), ["x", "rois"])
    assert "RoiAlign" in {n.op_type for n in proto.graph.node}


def test_roi_align_with_per_image_box_lists():
    class Head(nn.Module):
        def forward(self, x, b0, b1):
            return vo.roi_align(x, [b0, b1], 2, 1.0, 2, True)

    xs = (fovea.randn(2, 3, 8, 8), fovea.tensor([[1.0, 1, 5, 6]]),
          fovea.tensor([[0.0, 2, 4, 7], [2.0, 2, 7, 7]]))
    _export_and_compare(Head(), xs, ["x", "b0", "b1"])


def test_elementwise_activations_softmax_and_reductions():
    class Mix(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(6, 6)

        def forward(self, x):
            y = self.fc(x)
            y = nn.functional.gelu(y) + nn.functional.silu(y) * nn.functional.hardswish(y)
            y = nn.functional.leaky_relu(y, 0.2) - nn.functional.hardsigmoid(y)
            y = y.clamp(-2, 2) + nn.functional.relu6(y).exp() / 10
            z = nn.functional.softmax(y, dim=1) + nn.functional.log_softmax(y, dim=-1)
            return z.sum(dim=1, keepdim=True) * y.mean(dim=0) + y.permute(1, 0)[:, :1].t()

    fovea.manual_seed(0)
    x = fovea.randn(4, 6)
    _export_and_compare(Mix(), (x,), ["x"])


def test_a_linear_on_3d_input_and_a_matmul():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x) @ self.fc.weight

    fovea.manual_seed(0)
    _export_and_compare(M(), (fovea.randn(2, 5, 4),), ["x"], {"x": [0]},
                        (fovea.randn(3, 5, 4),))


def test_export_writes_the_file_atomically_and_returns_the_proto(tmp_path):
    m = _zoo("lenet5")
    path = tmp_path / "m.onnx"
    proto = fo.export(m, fovea.randn(1, 3, 32, 32), path, input_names=["img"],
                      output_names=["logits"])
    import onnx
    back = onnx.load(str(path))
    assert back == proto
    assert [i.name for i in back.graph.input] == ["img"]
    assert [o.name for o in back.graph.output] == ["logits"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporary left
    assert m.training is False or m.training is True  # the mode is restored below
    m.train()
    fo.export(m, fovea.randn(1, 3, 32, 32), path)
    assert m.training


# --- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("opset", [12, 21, "17", 17.0])
def test_an_unsupported_opset_is_refused_with_the_range(opset):
    with pytest.raises(ValueError, match=r"opset_version must be an integer in 13\.\.20"):
        fo.export_to_model(_zoo("lenet5"), fovea.randn(1, 3, 32, 32), opset_version=opset)


def test_an_op_without_onnx_counterpart_names_the_op_and_the_layer():
    class Odd(nn.Module):
        def forward(self, x):
            return fovea.cumsum(x, dim=1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 3), Odd())

        def forward(self, x):
            return self.body(x)

    with pytest.raises(fo.UnsupportedOpError) as e:
        fo.export_to_model(Net(), fovea.randn(2, 3))
    msg = str(e.value)
    assert "\n" not in msg and "'body.1'" in msg and "no ONNX counterpart" in msg


def test_advanced_indexing_is_refused_naming_the_layer():
    class Pick(nn.Module):
        def forward(self, x):
            return x[:, np.array([0, 2])]

    with pytest.raises(fo.UnsupportedOpError, match="Index .*advanced indexing"):
        fo.export_to_model(Pick(), fovea.randn(2, 3))


def test_dynamic_axes_must_name_an_input_or_output():
    with pytest.raises(ValueError, match="dynamic_axes names 'x'"):
        fo.export_to_model(_zoo("lenet5"), fovea.randn(1, 3, 32, 32), dynamic_axes={"x": [0]})


def test_a_constant_output_is_refused():
    class Const(nn.Module):
        def forward(self, x):
            return fovea.ones(3)

    with pytest.raises(ValueError, match="does not depend on its inputs"):
        fo.export_to_model(Const(), fovea.randn(2))


def test_a_batch_sized_constant_is_refused_under_dynamic_axes():
    class Bias(nn.Module):
        def forward(self, x):
            return x + fovea.arange(float(x.shape[0])).reshape(-1, 1)

    with pytest.raises(ValueError, match="Add .*traced size of a dynamic axis"):
        fo.export_to_model(Bias(), fovea.randn(2, 3), dynamic_axes={"input": [0]})


def test_a_batch_first_lstm_classifier_runs_at_other_batch_sizes_and_sequence_lengths():
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 6, batch_first=True)
            self.fc = nn.Linear(6, 3)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            return self.fc(h[-1]) + out.mean(dim=1)[:, :3]

    fovea.manual_seed(0)
    proto = _export_and_compare(Classifier(), (fovea.randn(2, 5, 4),), ["x"],
                                {"x": {0: "batch", 1: "time"}}, (fovea.randn(3, 9, 4),))
    assert "LSTM" in {n.op_type for n in proto.graph.node}


def test_an_index_bound_that_follows_a_dynamic_axis_is_refused():
    class Head(nn.Module):
        def forward(self, x):
            return x[:, : x.shape[1] - 1]

    with pytest.raises(fo.UnsupportedOpError, match="Index .*follow a dynamic axis"):
        fo.export_to_model(Head(), fovea.randn(2, 4), dynamic_axes={"input": [1]})


def test_adaptive_pooling_to_a_fixed_size_refuses_dynamic_spatial_axes():
    class Pool(nn.Module):
        def forward(self, x):
            return nn.functional.adaptive_avg_pool2d(x, (2, 2))

    x = fovea.randn(1, 2, 6, 6)
    _export_and_compare(Pool(), (x,), ["input"])  # fixed sizes: two MatMuls
    with pytest.raises(fo.UnsupportedOpError, match="dynamic spatial axes"):
        fo.export_to_model(Pool(), x, dynamic_axes={"input": [2, 3]})


@pytest.mark.parametrize("kw", [dict(stride=2), dict(stride=2, padding=1, output_padding=1),
                                dict(stride=1, padding=1, groups=2, dilation=2)])
def test_conv_transpose_exports_as_convtranspose(kw):
    fovea.manual_seed(0)
    m = nn.ConvTranspose2d(4, 6, 3, **kw)
    _export_and_compare(m, (fovea.randn(2, 4, 5, 5),), ["input"], {"input": [0]},
                        (fovea.randn(3, 4, 5, 5),))


def test_an_embedding_gathers_the_input_indices():
    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.fc = nn.Linear(4, 2)

        def forward(self, tokens):
            return self.fc(self.emb(tokens).mean(dim=1))

    fovea.manual_seed(0)
    t = fovea.tensor(np.array([[1, 2, 3], [4, 5, 9]]))
    t3 = fovea.tensor(np.array([[0, 0, 7], [8, 2, 3], [6, 6, 6]]))
    proto = _export_and_compare(Bag(), (t,), ["tokens"], {"tokens": [0]}, (t3,))
    assert "Gather" in {n.op_type for n in proto.graph.node}


def test_a_constant_written_after_its_use_keeps_the_value_it_had_when_used():
    class Late(nn.Module):
        def forward(self, x):
            c = fovea.ones(3)
            y = x * c
            with fovea.no_grad():
                c.mul_(5.0)  # changes c after y used it
            return y + 1

    x = fovea.randn(2, 3)
    _export_and_compare(Late(), (x,), ["x"])


@pytest.mark.parametrize("opset", [13, 18])
def test_layer_norm_group_norm_prelu_and_the_elu_family(opset):
    fovea.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.GroupNorm(2, 4), nn.PReLU(4), nn.ELU(0.5),
                      nn.Flatten(), nn.Linear(4 * 4 * 4, 6), nn.LayerNorm(6), nn.SELU(),
                      nn.PReLU(), nn.CELU(0.7), nn.Softplus(), nn.Softplus(beta=2.0))
    _export_and_compare(m, (fovea.randn(2, 3, 6, 6),), ["input"], {"input": [0]},
                        (fovea.randn(4, 3, 6, 6),), opset=opset)


def test_batched_nms_exports_as_one_non_max_suppression_over_shifted_boxes():
    class PerClass(nn.Module):
        def forward(self, boxes, scores, labels):
            return vo.batched_nms(boxes, scores, labels, 0.3)

    rng = np.random.default_rng(3)
    b, s = _boxes(16, 3)
    labels = fovea.tensor(rng.integers(0, 3, 16))
    b2, s2 = _boxes(25, 4)
    labels2 = fovea.tensor(rng.integers(0, 3, 25))
    proto = _export_and_compare(PerClass(), (b, s, labels), ["boxes", "scores", "labels"],
                                {"boxes": [0], "scores": [0], "labels": [0]},
                                (b2, s2, labels2))
    assert [n.op_type for n in proto.graph.node].count("NonMaxSuppression") == 1
    with fovea.no_grad():  # and the classes really are kept apart
        assert len(PerClass()(b, s, labels)) > len(vo.nms(b, s, 0.3))
