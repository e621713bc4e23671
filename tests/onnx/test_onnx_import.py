"""fovea.onnx.load / import_model: round trips (fovea -> ONNX -> fovea) give fovea's outputs
and gradients, and files written by PyTorch's exporter run with PyTorch's outputs."""

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from _onnx_util import assert_close, fovea_out, randomize  # noqa: I001

import fovea
from fovea import config, models, nn
from fovea.vision import ops as vo
from oracle import needs_torch

fo = pytest.importorskip("fovea.onnx")
onnx = pytest.importorskip("onnx")


@pytest.fixture(autouse=True)
def _numpy_kernels():
    with config.override(jit=False):
        yield


def _round_trip(model, xs, names, dyn=None, alt=None):
    proto = fo.export_to_model(model, xs, input_names=names, dynamic_axes=dyn)
    back = fo.import_model(proto)
    for inputs in (xs, alt) if alt is not None else (xs,):
        for got, want in zip(fovea_out(back, inputs), fovea_out(model, inputs)):
            assert_close(got, want)
    return back


@pytest.mark.parametrize("name", ["lenet5", "resnet20", "squeezenet1_1", "mobilenet_v1"])
def test_zoo_round_trip_gives_the_same_outputs_and_input_gradients(name):
    fovea.manual_seed(0)
    m = randomize(models.build_model(name, 3, (32, 32), 10)).eval()
    back = _round_trip(m, (fovea.randn(2, 3, 32, 32),), ["input"], {"input": [0]},
                       (fovea.randn(3, 3, 32, 32),))
    x = fovea.randn(3, 3, 32, 32)
    grads = []
    for net in (m, back):
        xi = x.detach().requires_grad_()
        (net(xi) ** 2).sum().backward()
        grads.append(xi.grad.numpy())
    assert_close(grads[1], grads[0], 1e-4)


def test_initializers_become_parameters_that_can_be_fine_tuned():
    fovea.manual_seed(0)
    m = randomize(models.build_model("resnet20", 3, (32, 32), 10)).eval()
    back = _round_trip(m, (fovea.randn(2, 3, 32, 32),), ["input"])
    params = list(back.parameters())
    # 19 convs (BN folded: weight + bias each) + the fc's weight and bias
    assert len(params) == 2 * 19 + 2
    names = {n for n, _ in back.named_parameters()} - {"fc_weight", "fc_bias"}
    assert len(names) == 2 * 19
    assert all(n.endswith(("weight_folded", "bias_folded")) for n in names)
    opt = fovea.optim.SGD(back.parameters(), lr=1e-3)
    x, y = fovea.randn(8, 3, 32, 32), fovea.tensor(np.arange(8) % 10)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(back(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("make", [lambda: nn.LSTM(4, 5, num_layers=2), lambda: nn.GRU(4, 5),
                                  lambda: nn.RNN(4, 5, bidirectional=True)])
def test_recurrent_round_trip(make):
    fovea.manual_seed(0)
    _round_trip(make(), (fovea.randn(3, 2, 4),), ["x"], {"x": [1]}, (fovea.randn(3, 5, 4),))


def test_nms_and_roi_align_round_trip():
    class Det(nn.Module):
        def forward(self, x, rois, boxes, scores):
            return vo.roi_align(x, rois, 2, 1.0, 2, True), vo.nms(boxes, scores, 0.4)

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10, (10, 2))
    boxes = fovea.tensor(np.concatenate([xy, xy + 3], 1).astype(np.float32))
    scores = fovea.tensor(rng.uniform(0, 1, 10).astype(np.float32))
    rois = fovea.tensor([[0, 1.0, 1, 6, 6], [1, 0, 2, 7, 5]])
    _round_trip(Det(), (fovea.randn(2, 3, 8, 8), rois, boxes, scores),
                ["x", "rois", "boxes", "scores"])


def test_load_reads_a_file_and_names_its_inputs(tmp_path):
    m = models.build_model("lenet5", 1, (32, 32), 10).eval()
    fo.export(m, fovea.randn(1, 1, 32, 32), tmp_path / "m.onnx", input_names=["img"])
    back = fo.load(tmp_path / "m.onnx")
    assert back.input_names == ["img"] and back.output_names == ["output"]
    with pytest.raises(FileNotFoundError, match="no such file"):
        fo.load(tmp_path / "missing.onnx")


def test_an_op_fovea_lacks_is_named():
    from onnx import TensorProto, helper
    g = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]),
         helper.make_node("Einsum", ["r", "r"], ["y"], equation="ij,ij->i"),
         helper.make_node("Det", ["r"], ["z"])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [])])
    with pytest.raises(NotImplementedError, match="no import for: Det, Einsum$"):
        fo.import_model(helper.make_model(g))


# --- files written by PyTorch's exporter -------------------------------------------------------

def _torch_export(tm, xs, names, dyn=None):
    import torch
    f = io.BytesIO()
    with pytest.warns(DeprecationWarning) if False else _no_warn():
        torch.onnx.export(tm, tuple(xs), f, dynamo=False, input_names=names,
                          dynamic_axes=dyn, opset_version=17)
    return onnx.load_from_string(f.getvalue())


class _no_warn:
    def __enter__(self):
        import warnings
        self.w = warnings.catch_warnings()
        self.w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self.w.__exit__(*exc)


def _flat_torch(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat_torch(o)]
    return [out.numpy()]


def _compare_with_torch(tm, shapes, names, dyn=None, alt_shapes=None, tol=1e-5):
    import torch
    torch.manual_seed(0)
    xs = [torch.randn(*s) for s in shapes]
    back = fo.import_model(_torch_export(tm, xs, names, dyn))
    for ss in (shapes, alt_shapes) if alt_shapes else (shapes,):
        xs = [torch.randn(*s) for s in ss]
        with torch.no_grad():
            want = tm(*xs)
        want = _flat_torch(want)
        got = fovea_out(back, [fovea.tensor(x.numpy()) for x in xs])
        for g, w in zip(got, want):
            assert_close(g, w, tol)
    return back


@needs_torch
def test_a_torch_cnn_with_batch_norm_and_view_imports_at_any_batch_size():
    import torch
    from torch import nn as tnn

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.f = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8),
                                    tnn.ReLU(), tnn.MaxPool2d(2, ceil_mode=True),
                                    tnn.Conv2d(8, 8, 3, stride=2, padding=(1, 0), groups=2),
                                    tnn.LeakyReLU(0.1), tnn.AvgPool2d(2), tnn.Hardswish())
            self.fc = tnn.Linear(8, 4)

        def forward(self, x):
            y = self.f(x)
            return torch.softmax(self.fc(y.view(y.size(0), -1)), dim=1), y.mean((2, 3))

    torch.manual_seed(0)
    tm = Net().eval()
    with torch.no_grad():
        tm.f[1].running_mean.uniform_(-0.2, 0.2)
        tm.f[1].running_var.uniform_(0.5, 1.5)
    _compare_with_torch(tm, [(2, 3, 9, 9)], ["x"], {"x": {0: "b"}}, [(5, 3, 9, 9)])


@needs_torch
def test_a_torch_resnet18_twin_imports_with_its_outputs():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
    import torch
    import torch_zoo
    torch.manual_seed(0)
    tm = torch_zoo.ResNet(torch_zoo.BasicBlock, [1, 1, 1, 1], num_classes=10).eval()
    back = _compare_with_torch(tm, [(1, 3, 64, 64)], ["x"], tol=1e-4)
    assert len(list(back.parameters())) >= 2 * 6 + 2  # convs (BN folded) and fc


@needs_torch
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_torch_recurrent_layers_import(kind):
    import torch
    tm = getattr(torch.nn, kind)(4, 6, num_layers=2, bidirectional=(kind == "GRU"))
    torch.manual_seed(0)
    _compare_with_torch(tm.eval(), [(5, 3, 4)], ["x"])


def test_conv_transpose_embedding_and_upsampling_round_trip():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4)
            self.up = nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1)

        def forward(self, tokens, x):
            e = self.emb(tokens).mean(dim=1).reshape(-1, 4, 1, 1)
            y = self.up(x + e)
            return nn.functional.interpolate(y, scale_factor=2, mode="bilinear")

    fovea.manual_seed(0)
    tokens = fovea.tensor(np.array([[1, 2], [3, 9]]))
    _round_trip(Mixed(), (tokens, fovea.randn(2, 4, 3, 3)), ["tokens", "x"])


def test_normalisation_and_activation_layers_round_trip():
    fovea.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.GroupNorm(2, 4), nn.PReLU(4), nn.ELU(0.5),
                      nn.Flatten(), nn.Linear(4 * 4 * 4, 6), nn.LayerNorm(6), nn.SELU(),
                      nn.PReLU(), nn.CELU(0.7), nn.Softplus(), nn.Softplus(beta=2.0))
    _round_trip(m, (fovea.randn(2, 3, 6, 6),), ["input"])


@needs_torch
def test_torch_layer_norm_prelu_elu_selu_celu_softplus_import():
    from torch import nn as tnn
    tm = tnn.Sequential(tnn.Linear(5, 6), tnn.LayerNorm(6), tnn.PReLU(), tnn.ELU(0.5),
                        tnn.SELU(), tnn.CELU(0.7), tnn.Softplus(), tnn.Linear(6, 3),
                        tnn.PReLU(3), tnn.Dropout(0.3)).eval()
    _compare_with_torch(tm, [(4, 5)], ["x"], {"x": {0: "b"}}, [(7, 5)])


def test_batched_nms_round_trip():
    class PerClass(nn.Module):
        def forward(self, boxes, scores, labels):
            return vo.batched_nms(boxes, scores, labels, 0.3)

    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 10, (16, 2))
    boxes = fovea.tensor(np.concatenate([xy, xy + rng.uniform(1, 6, (16, 2))], 1)
                         .astype(np.float32))
    scores = fovea.tensor(rng.uniform(0, 1, 16).astype(np.float32))
    _round_trip(PerClass(), (boxes, scores, fovea.tensor(rng.integers(0, 3, 16))),
                ["boxes", "scores", "labels"])
