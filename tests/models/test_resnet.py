"""CIFAR ResNets (He et al. 2016 §4.2): sizes from the paper, shapes, and a twin in PyTorch."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea.models import MODELS, CifarResNet, build_model, cifar_resnet, resnet20
from fovea.models.resnet import PadShortcut


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _paper_count(n: int, option: str = "A") -> int:
    """Parameters of the 6n+2 network worked out by hand: 3×3 convolutions (no bias), two
    BN parameters per channel, the 64→10 classifier, and option B's 1×1 projections."""
    convs = 3 * 16 * 9 + 16 * 2  # stem conv + BN
    for c_in, c in ((16, 16), (16, 32), (32, 64)):
        convs += c_in * c * 9 + c * c * 9 + 4 * c  # first block of the stage
        convs += (n - 1) * (2 * c * c * 9 + 4 * c)  # the other n - 1 blocks
        if option == "B" and c_in != c:
            convs += c_in * c + 2 * c  # 1×1 projection + BN
    return convs + 64 * 10 + 10


@pytest.mark.parametrize("depth,paper_millions", [(20, 0.27), (32, 0.46), (44, 0.66),
                                                  (56, 0.85), (110, 1.7)])
def test_parameter_counts_match_the_paper_table(depth, paper_millions):
    model = cifar_resnet(depth)
    n = (depth - 2) // 6
    assert _count(model) == _paper_count(n)
    assert round(_count(model) / 1e6, 2 if depth < 110 else 1) == paper_millions


def test_resnet20_has_269722_parameters_with_option_a_and_more_with_option_b():
    assert _count(resnet20()) == 269_722
    assert _count(resnet20(shortcut="B")) == _paper_count(3, "B") == 272_474


def test_output_shape_and_any_image_size():
    fovea.manual_seed(0)
    model = resnet20(num_classes=7)
    x = fovea.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 7)
    assert model(fovea.randn(3, 3, 12, 12)).shape == (3, 7)  # global pooling: any size


def test_registered_builders_take_in_channels_image_size_num_classes():
    for name in ("resnet20", "resnet32", "resnet44", "resnet56"):
        assert name in MODELS
    model = build_model("resnet20", 1, (28, 28), 10)
    assert isinstance(model, CifarResNet) and model.depth == 20
    assert model(fovea.randn(2, 1, 28, 28)).shape == (2, 10)


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match=r"depth must be 6n \+ 2"):
        cifar_resnet(21)
    with pytest.raises(ValueError, match="shortcut must be 'A' or 'B'"):
        cifar_resnet(20, shortcut="C")
    with pytest.raises(ValueError, match="stride >= 1"):
        PadShortcut(0, 4)


def test_option_a_shortcut_subsamples_and_zero_pads_channels_by_hand():
    x = np.arange(2 * 2 * 4 * 4, dtype=np.float64).reshape(2, 2, 4, 4)
    y = PadShortcut(2, 4)(fovea.tensor(x)).numpy()
    assert y.shape == (2, 6, 2, 2)
    np.testing.assert_array_equal(y[:, 2:4], x[:, :, ::2, ::2])
    assert not y[:, :2].any() and not y[:, 4:].any()


def test_float32_training_step_keeps_float32_everywhere():
    fovea.manual_seed(0)
    model = resnet20()
    x = fovea.randn(4, 3, 8, 8)
    loss = F.cross_entropy(model(x), fovea.tensor(np.array([0, 1, 2, 3])))
    loss.backward()
    assert loss.dtype == np.float32
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.dtype == np.float32, name


@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_forward_and_backward_match_a_torch_twin_in_float64(shortcut):
    torch = pytest.importorskip("torch")
    from fovea.bench.torch_models import cifar_resnet as torch_resnet
    from fovea.bench.torch_models import load_from_fovea

    fovea.manual_seed(1)
    model = cifar_resnet(20, shortcut=shortcut)
    for p in model.parameters():  # float64 copies of the weights, perturbed BN affine
        p.data = p.detach().numpy().astype(np.float64)
    for m in model.modules():
        if isinstance(m, fovea.nn.BatchNorm2d):
            for name in ("running_mean", "running_var"):
                buf = getattr(m, name)
                buf.data = buf.numpy().astype(np.float64)
    rng = np.random.default_rng(0)
    for m in model.modules():
        if isinstance(m, fovea.nn.BatchNorm2d):
            m.weight.data = 1 + 0.1 * rng.standard_normal(m.weight.shape)
            m.bias.data = 0.1 * rng.standard_normal(m.bias.shape)
    twin = load_from_fovea(torch_resnet(20, shortcut=shortcut), model, dtype=np.float64)
    x = rng.standard_normal((3, 3, 8, 8))
    y = np.array([1, 7, 3])
    xf = fovea.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out_f, out_t = model(xf), twin(xt)
    np.testing.assert_allclose(out_f.detach().numpy(), out_t.detach().numpy(), rtol=1e-9,
                               atol=1e-10)
    F.cross_entropy(out_f, fovea.tensor(y)).backward()
    torch.nn.functional.cross_entropy(out_t, torch.tensor(y)).backward()
    np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    tparams = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-8,
                                   atol=1e-10, err_msg=name)
    tbufs = dict(twin.named_buffers())
    for name, b in model.named_buffers():  # running statistics updated alike
        np.testing.assert_allclose(b.numpy(), tbufs[name].numpy(), rtol=1e-10, err_msg=name)


def test_fovea_train_accepts_model_resnet20():
    from fovea.cli import build_parser

    args = build_parser().parse_args(["train", "--model", "resnet20"])
    assert args.model == "resnet20"
