"""The model zoo: torchvision's parameter counts, and PyTorch twins (tests/models/torch_zoo.py,
rebuilt from torchvision's architecture) whose state_dict loads strict into fovea's model and
gives the same outputs, gradients and running statistics, in float64."""

import numpy as np
import pytest

import fovea
from fovea import config, nn
from fovea.models import (
    MODELS,
    build_model,
    densenet121,
    densenet_bc_100,
    get_model,
    googlenet,
    list_models,
    mobilenet_v1,
    mobilenet_v2,
    resnet18,
    resnet50,
    squeezenet1_1,
)
from fovea.models.densenet import DenseNet
from fovea.models.resnet_imagenet import BasicBlock, Bottleneck, ResNet
from fovea.models.vgg import make_layers
from oracle import needs_torch


@pytest.fixture(autouse=True)
def _numpy_kernels():
    """The NumPy kernels: these tests check architectures, and the generated kernels (tested
    in tests/backends) would spend seconds compiling for each of the many small shapes."""
    with config.override(jit=False):
        yield

# torchvision's published counts (ImageNet, 1000 classes); mobilenet_v1: Howard et al.'s
# 4.2 M (Keras' 4,231,976 trainable); the CIFAR nets: the papers' 0.8 M and 0.97 M.
COUNTS = {
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "resnext50_32x4d": 25_028_904,
    "densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928,
    "mobilenet_v2": 3_504_872, "mobilenet_v1": 4_231_976, "squeezenet1_1": 1_235_496,
}
BIG_COUNTS = {
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840,
    "vgg13": 133_047_848, "vgg13_bn": 133_053_736, "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992, "vgg19": 143_667_240, "vgg19_bn": 143_678_248,
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_parameter_count_equals_torchvisions(name):
    assert get_model(name).num_parameters() == COUNTS[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BIG_COUNTS))
def test_parameter_count_of_the_big_models_equals_torchvisions(name):
    assert get_model(name).num_parameters() == BIG_COUNTS[name]


def test_googlenet_counts_with_and_without_the_auxiliary_classifiers():
    assert googlenet(aux_logits=False).num_parameters() == 6_624_904
    assert googlenet().num_parameters() == 13_004_888


def test_small_nets_have_the_papers_counts():
    # LeNet-5 by hand: C1 6·(25+1), C3 16·(6·25+1), C5 120·(16·25+1), F6 84·121, out 10·85
    assert get_model("lenet5").num_parameters() == 156 + 2416 + 48120 + 10164 + 850 == 61_706
    assert get_model("nin").num_parameters() == 966_986
    assert round(densenet_bc_100().num_parameters() / 1e6, 1) == 0.8


def test_width_multiplier_thins_mobilenets():
    assert mobilenet_v1(width_mult=0.5).num_parameters() < 0.4 * COUNTS["mobilenet_v1"]
    assert mobilenet_v2(width_mult=0.5).num_parameters() < mobilenet_v2().num_parameters()
    with pytest.raises(ValueError, match="width_mult must be positive"):
        mobilenet_v1(width_mult=0)


def test_zero_init_residual_zeroes_the_last_bn_of_every_block():
    for model, block, bn in ((resnet18(zero_init_residual=True), BasicBlock, "bn2"),
                             (ResNet(Bottleneck, [1, 1, 1, 1], zero_init_residual=True),
                              Bottleneck, "bn3")):
        blocks = [m for m in model.modules() if isinstance(m, block)]
        assert blocks and all(not getattr(b, bn).weight.detach().numpy().any() for b in blocks)
    assert resnet18().layer1[0].bn2.weight.detach().numpy().all()


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg11_bn", "googlenet", "resnet18",
                                  "resnext50_32x4d", "densenet121", "densenet_bc_100",
                                  "mobilenet_v1", "mobilenet_v2", "squeezenet1_1", "nin",
                                  "resnet20"])
def test_every_model_runs_on_28x28_grey_and_32x32_colour_through_the_registry(name):
    if name in ("alexnet", "vgg11_bn"):
        pytest.skip("the >60 M-parameter models run in the slow test")
    _runs_on_small_images(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["alexnet", "vgg11_bn"])
def test_big_models_run_on_28x28_grey_and_32x32_colour(name):
    _runs_on_small_images(name)


def _runs_on_small_images(name):
    fovea.manual_seed(0)
    for c, size in ((1, 28), (3, 32)):
        model = build_model(name, c, (size, size), 10).eval()
        with fovea.no_grad():
            assert model(fovea.randn(2, c, size, size)).shape == (2, 10)


def test_registry_lists_every_issue_model_and_refuses_unknown_names():
    wanted = {"lenet5", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg16_bn",
              "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
              "densenet121", "densenet169", "densenet201", "densenet_bc_100", "mobilenet_v1",
              "mobilenet_v2", "squeezenet1_1", "nin", "resnext50_32x4d", "resnet20", "resnet110"}
    assert wanted <= set(list_models()) and wanted <= set(MODELS)
    with pytest.raises(ValueError, match="unknown model 'resnet19'"):
        get_model("resnet19")
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        resnet18(num_classes=0)


def test_googlenet_returns_aux_outputs_only_in_training():
    fovea.manual_seed(0)
    model = googlenet(num_classes=5)
    out = model(fovea.randn(2, 3, 32, 32))
    assert out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert all(o.shape == (2, 5) for o in out)
    with fovea.no_grad():
        assert model.eval()(fovea.randn(1, 3, 32, 32)).shape == (1, 5)


def test_densenet_concatenates_growth_rate_maps_per_layer():
    model = DenseNet(8, (2, 3), 16, num_classes=3, stem="cifar")
    # 16 + 2·8 = 32 → transition halves to 16 → + 3·8 = 40 features before the classifier
    assert model.classifier.in_features == 40
    with pytest.raises(ValueError, match="depth must be 6n"):
        fovea.models.cifar_densenet(depth=50)


# --- PyTorch twins ----------------------------------------------------------------------


def _no_dropout(model, torch_model):
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    for m in torch_model.modules():
        if type(m).__name__ == "Dropout":
            m.p = 0.0


def _perturb_bn(twin, rng):
    """Non-trivial BN affine parameters and running statistics, so the keys must match."""
    import torch

    with torch.no_grad():
        for m in twin.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.tensor(1 + 0.2 * rng.standard_normal(m.num_features)))
                m.bias.copy_(torch.tensor(0.2 * rng.standard_normal(m.num_features)))
                m.running_mean.copy_(torch.tensor(0.1 * rng.standard_normal(m.num_features)))
                m.running_var.copy_(torch.tensor(1 + 0.3 * rng.random(m.num_features)))


# Batch 2 in training mode puts BatchNorm over two values per channel where the map is 1×1: its
# backward divides by a tiny spread, so gradients reach ~1e3 while their neighbours stay ~1e-2,
# and float64 rounding that differs with the CPU's BLAS kernels (summation order) leaves absolute
# errors near 1e-9 of the largest element. The absolute tolerance therefore scales with it; a
# wrong gradient is off by O(1) of that scale, seven orders of magnitude above this tolerance.
GRAD_SCALE_TOL = 1e-7


def _assert_grad_close(actual, desired, *, rtol, atol, err_msg=""):
    """assert_allclose with ``atol`` raised to GRAD_SCALE_TOL · max|desired|."""
    scale = float(np.abs(desired).max()) if desired.size else 0.0
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=max(atol, GRAD_SCALE_TOL * scale),
                               err_msg=err_msg)


def check_twin(model, twin, shape, *, rtol=1e-7, atol=1e-9, seed=0):
    """Load the twin's state_dict strict into ``model`` (float64); compare outputs, input and
    parameter gradients and updated running statistics in training mode, then outputs in
    eval mode."""
    import torch

    rng = np.random.default_rng(seed)
    twin = twin.double()
    _perturb_bn(twin, rng)
    model = model.double()
    model.load_state_dict(twin.state_dict(), strict=True)
    _no_dropout(model, twin)
    model.train()
    twin.train()
    x = rng.standard_normal(shape)
    xf = fovea.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    outs_f, outs_t = model(xf), twin(xt)
    outs_f = outs_f if isinstance(outs_f, tuple) else (outs_f,)
    outs_t = outs_t if isinstance(outs_t, tuple) else (outs_t,)
    loss_f = loss_t = 0
    for of, ot in zip(outs_f, outs_t, strict=True):
        np.testing.assert_allclose(of.detach().numpy(), ot.detach().numpy(), rtol=rtol,
                                   atol=atol)
        w = rng.standard_normal(ot.shape)
        loss_f = loss_f + (of * fovea.tensor(w)).sum()
        loss_t = loss_t + (ot * torch.tensor(w)).sum()
    loss_f.backward()
    loss_t.backward()
    _assert_grad_close(xf.grad.numpy(), xt.grad.numpy(), rtol=100 * rtol, atol=atol)
    tparams = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        _assert_grad_close(p.grad.numpy(), tparams[name].grad.numpy(), rtol=100 * rtol,
                           atol=100 * atol, err_msg=name)
    tbufs = dict(twin.named_buffers())
    for name, b in model.named_buffers():
        np.testing.assert_allclose(b.numpy(), tbufs[name].numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)
    model.eval()
    twin.eval()
    with fovea.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(fovea.tensor(x)).numpy(), twin(torch.tensor(x)).numpy(),
                                   rtol=rtol, atol=atol)


@needs_torch
@pytest.mark.parametrize("c,size", [(1, 28), (3, 32)])
def test_lenet5_matches_its_twin(c, size):
    import torch_zoo

    check_twin(get_model("lenet5", in_channels=c), torch_zoo.LeNet5(10, c), (2, c, size, size))


@needs_torch
def test_nin_matches_its_twin():
    import torch_zoo

    check_twin(get_model("nin", num_classes=7), torch_zoo.NiN(7), (2, 3, 12, 12))


@needs_torch
@pytest.mark.parametrize("bn", [False, True])
def test_vgg_features_match_their_twin(bn):
    import torch_zoo

    check_twin(make_layers(fovea.models.vgg.CFGS["A"], bn), torch_zoo.vgg_features("A", bn),
               (2, 3, 32, 32))


@needs_torch
@pytest.mark.parametrize("cfg", ["B", "D", "E"])
def test_vgg_features_have_torchvisions_keys_and_shapes(cfg):
    import torch_zoo

    for bn in (False, True):
        own = make_layers(fovea.models.vgg.CFGS[cfg], bn).state_dict()
        theirs = torch_zoo.vgg_features(cfg, bn).state_dict()
        assert {k: tuple(v.shape) for k, v in own.items()} == \
            {k: tuple(v.shape) for k, v in theirs.items()}


@needs_torch
@pytest.mark.slow
def test_vgg11_bn_and_alexnet_whole_models_match_their_twins():
    import torch_zoo

    check_twin(get_model("vgg11_bn", num_classes=10),
               torch_zoo.VGG(torch_zoo.vgg_features("A", True), 10), (1, 3, 32, 32))
    check_twin(get_model("alexnet", num_classes=10), torch_zoo.AlexNet(10), (1, 3, 64, 64))


@needs_torch
def test_googlenet_with_aux_classifiers_matches_its_twin():
    import torch_zoo

    check_twin(googlenet(num_classes=5), torch_zoo.GoogLeNet(5), (2, 3, 32, 32), rtol=1e-6)


@needs_torch
def test_resnet18_matches_its_twin():
    import torch_zoo

    check_twin(resnet18(num_classes=10), torch_zoo.ResNet(torch_zoo.BasicBlock, [2, 2, 2, 2], 10),
               (2, 3, 32, 32))


@needs_torch
@pytest.mark.parametrize("groups,width", [(1, 64), (4, 8)])
def test_bottleneck_resnet_and_resnext_match_their_twins(groups, width):
    import torch_zoo

    model = ResNet(Bottleneck, [1, 2, 1, 1], num_classes=6, groups=groups,
                   width_per_group=width, in_channels=1)
    twin = torch_zoo.ResNet(torch_zoo.Bottleneck, [1, 2, 1, 1], 6, groups, width, 1)
    check_twin(model, twin, (2, 1, 28, 28))


@needs_torch
def test_resnet50_state_dict_has_torchvisions_keys_and_shapes():
    import torch_zoo

    twin = torch_zoo.ResNet(torch_zoo.Bottleneck, [3, 4, 6, 3])
    own = resnet50().state_dict()
    assert {k: tuple(v.shape) for k, v in own.items()} == \
        {k: tuple(v.shape) for k, v in twin.state_dict().items()}


@needs_torch
def test_densenet121_state_dict_loads_strict_and_a_small_densenet_matches_its_twin():
    import torch_zoo

    own = densenet121()
    own.load_state_dict(torch_zoo.DenseNet().state_dict(), strict=True)
    check_twin(DenseNet(8, (2, 3), 16, num_classes=4), torch_zoo.DenseNet(8, (2, 3), 16,
                                                                          num_classes=4),
               (2, 3, 32, 32))


@needs_torch
def test_cifar_densenet_bc_matches_its_twin():
    import torch_zoo

    check_twin(densenet_bc_100(), torch_zoo.DenseNet(12, (16, 16, 16), 24, num_classes=10,
                                                     cifar=True), (2, 3, 8, 8))


@needs_torch
def test_mobilenet_v2_matches_its_twin():
    import torch_zoo

    # 48×48: the last BN then normalises 8 values per channel, not 2 (ill-conditioned)
    check_twin(mobilenet_v2(num_classes=10), torch_zoo.MobileNetV2(10), (2, 3, 48, 48))


@needs_torch
def test_mobilenet_v1_with_width_multiplier_matches_its_twin():
    import torch_zoo

    check_twin(mobilenet_v1(num_classes=10, width_mult=0.25),
               torch_zoo.MobileNetV1(10, 0.25), (2, 3, 32, 32))


@needs_torch
def test_squeezenet1_1_matches_its_twin():
    import torch_zoo

    check_twin(squeezenet1_1(num_classes=10), torch_zoo.SqueezeNet11(10), (2, 3, 48, 48))


@needs_torch
def test_small_input_stems_keep_the_state_dict_and_match_a_restrided_twin():
    import torch
    import torch_zoo

    twin = torch_zoo.ResNet(torch_zoo.BasicBlock, [2, 2, 2, 2], 10, in_channels=1)
    twin.conv1.stride = (1, 1)
    twin.maxpool = torch.nn.Identity()
    check_twin(resnet18(num_classes=10, in_channels=1, small_input=True), twin, (2, 1, 6, 6))
