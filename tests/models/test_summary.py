"""fovea.models.summary and `fovea summary`: the lectures' formulas, and torchvision's
published multiply-add counts (GFLOPS column of its model table)."""

import pytest

import fovea
from fovea import config, nn
from fovea.cli import main
from fovea.models import get_model
from fovea.models.summary import summary


@pytest.fixture(autouse=True)
def _numpy_kernels():
    with config.override(jit=False):  # one pass per shape: no kernel compilation
        yield


def test_one_conv_by_the_lectures_formulas():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 2 * 2, 5))
    s = summary(model, (3, 9, 9))
    conv, relu, pool, flat, fc = s.layers
    assert conv.output_shape == (8, (9 - 3 + 2 * 1) // 2 + 1, 5)    # (W − F + 2P)/S + 1 = 5
    assert conv.params == 3 * 3 * 3 * 8 + 8                          # F·F·C_in·C_out + C_out
    assert conv.macs == 8 * 5 * 5 * (3 * 3 * 3)
    assert (relu.macs, pool.output_shape, pool.params) == (0, (8, 2, 2), 0)
    assert fc.params == 32 * 5 + 5 and fc.macs == 32 * 5
    assert s.total_params == model.num_parameters() == conv.params + fc.params
    assert s.activations == 3 * 81 + 200 + 32 + 5                  # input, conv, pool, fc
    stored = 3 * 81 + 200 + 200 + 32 + 32 + 5                         # every layer's output
    assert s.stored_activations == stored and s.training_bytes == 2 * stored * 4


def test_depthwise_convolution_counts_one_input_channel_per_output():
    s = summary(nn.Conv2d(6, 6, 3, padding=1, groups=6), (6, 4, 4))
    assert s.layers[0].macs == 6 * 16 * 9 and s.layers[0].params == 6 * 9 + 6


@pytest.mark.parametrize("name,gmacs", [("resnet18", 1.81), ("mobilenet_v2", 0.30),
                                        ("squeezenet1_1", 0.35), ("googlenet", 1.50)])
def test_imagenet_multiply_adds_equal_torchvisions_table(name, gmacs):
    s = summary(get_model(name), (3, 224, 224))
    assert round(s.total_macs / 1e9, 2) == gmacs
    assert s.layers[-1].output_shape[0] == 1000


def test_googlenet_counts_the_auxiliary_classifiers_it_does_not_run_in_eval_mode():
    s = summary(get_model("googlenet"), (3, 64, 64))
    assert s.total_params == 13_004_888
    assert sum(r.params for r in s.layers) == 6_624_904
    assert "in layers this forward pass does not run" in s.table()


@pytest.mark.slow
def test_vgg16_numbers_of_the_lecture():
    s = summary(get_model("vgg16"), (3, 224, 224))
    assert s.total_params == 138_357_544
    # the lecture's table: 224²·64 ×2, 112²·128 ×2, 56²·256 ×3, 28²·512 ×3, 14²·512 ×3 conv
    # outputs, the five pools, three FC layers and the input: 15.2 M
    convs = 2 * 224**2 * 64 + 2 * 112**2 * 128 + 3 * 56**2 * 256 + 3 * 28**2 * 512 + \
        3 * 14**2 * 512
    pools = 112**2 * 64 + 56**2 * 128 + 28**2 * 256 + 14**2 * 512 + 7**2 * 512
    assert s.activations == 3 * 224**2 + convs + pools + 7**2 * 512 + 4096 + 4096 + 1000
    assert round(s.total_macs / 1e9, 2) == 15.47


def test_summary_restores_training_mode_and_refuses_bad_shapes():
    model = get_model("lenet5")
    summary(model, (1, 28, 28))
    assert model.training
    with pytest.raises(ValueError, match="input shape must be positive"):
        summary(model, (1, 0, 28))


def test_fovea_summary_prints_the_table(capsys):
    assert main(["summary", "resnet18", "--input", "1x28x28", "--num-classes", "10",
                 "--small-input"]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "64x28x28" in out and "layer4.1.conv2" in out
    count = get_model("resnet18", num_classes=10, in_channels=1).num_parameters()
    assert f"parameters: {count:,}" in out


def test_fovea_summary_explains_bad_input(capsys):
    assert main(["summary", "resnet18", "--input", "3x224"]) == 2
    assert "invalid --input '3x224'" in capsys.readouterr().err
    assert main(["summary", "alexnet", "--input", "1x28x28"]) == 2
    assert "try --small-input" in capsys.readouterr().err
    assert main(["summary", "nosuchnet"]) == 2
    assert main(["summary", "--list"]) == 0
    assert "mobilenet_v2" in capsys.readouterr().out


def test_fovea_summary_builds_the_small_models_of_fovea_train(capsys):
    assert main(["summary", "small_cnn", "--input", "1x28x28"]) == 0
    assert "parameters" in capsys.readouterr().out
    fovea.manual_seed(0)
