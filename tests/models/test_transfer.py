"""Transfer learning: weights from runs and files, new heads, frozen backbones with BN in
eval mode, per-group learning rates, and `fovea train --init/--freeze/--head-lr`."""

import json

import numpy as np
import pytest

import fovea
from fovea import config, nn, optim
from fovea.cli import main
from fovea.models import get_model, mobilenet_v2, resnet18, squeezenet1_1, vgg11
from fovea.models.transfer import (
    freeze_backbone,
    head_name,
    load_pretrained,
    param_groups,
    read_state_dict,
    replace_head,
    unfreeze,
)
from oracle import needs_torch


@pytest.fixture(autouse=True)
def _numpy_kernels():
    with config.override(jit=False):
        yield


def _small():
    """A small net with BN in the backbone: conv – BN – ReLU – pool – flatten – fc."""
    fovea.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def _arrays(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_head_name_finds_torchvisions_classifiers():
    assert head_name(resnet18()) == "fc"
    assert head_name(mobilenet_v2()) == "classifier.1"
    assert head_name(squeezenet1_1()) == "classifier.1"
    assert head_name(_small()) == "5"
    assert head_name(get_model("googlenet")) == "fc"


def test_replace_head_makes_a_new_layer_of_the_same_kind():
    model = resnet18()
    new = replace_head(model, 7)
    assert model.fc is new and (new.in_features, new.out_features) == (512, 7)
    model.eval()
    with fovea.no_grad():
        assert model(fovea.randn(2, 3, 32, 32)).shape == (2, 7)
    sq = squeezenet1_1()
    conv = replace_head(sq, 4)
    assert isinstance(conv, nn.Conv2d) and conv.out_channels == 4 and sq.num_classes == 4
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        replace_head(sq, 0)


@pytest.mark.slow
def test_replace_head_of_vgg_is_classifier_6():
    model = vgg11()
    replace_head(model, 10)
    assert model.classifier[6].out_features == 10


def test_load_pretrained_from_a_safetensors_file_keeps_a_new_head(tmp_path):
    from safetensors.numpy import save_file

    source = _small()
    weights = _arrays(source)
    save_file(weights, str(tmp_path / "w.safetensors"))
    target = _small()
    replace_head(target, 5)  # another task: 5 classes
    report = load_pretrained(target, tmp_path / "w.safetensors")
    assert report["skipped"] == ["5.weight", "5.bias"]
    got = _arrays(target)
    for k in weights:
        if not k.startswith("5."):
            np.testing.assert_array_equal(got[k], weights[k], err_msg=k)
    assert got["5.weight"].shape == (5, 4)


def test_load_pretrained_refuses_weights_that_do_not_fit_the_backbone(tmp_path):
    from safetensors.numpy import save_file

    weights = _arrays(_small())
    weights["0.weight"] = np.zeros((4, 3, 3, 3), np.float32)  # a 3-channel stem
    del weights["1.running_mean"]
    save_file(weights, str(tmp_path / "w.safetensors"))
    with pytest.raises(ValueError, match=r"outside its head '5': 0.weight \(model \(4, 1, 3, 3\)"
                                         r", file \(4, 3, 3, 3\)\); 1.running_mean"):
        load_pretrained(_small(), tmp_path / "w.safetensors")
    with pytest.raises(FileNotFoundError, match="no such weights file"):
        load_pretrained(_small(), tmp_path / "nothing.pth")
    with pytest.raises(FileNotFoundError, match="not a fovea run directory"):
        read_state_dict(tmp_path)


@needs_torch
def test_load_pretrained_from_a_pytorch_pth_checkpoint(tmp_path):
    import torch
    import torch_zoo

    twin = torch_zoo.ResNet(torch_zoo.BasicBlock, [2, 2, 2, 2], 1000)
    # a training checkpoint of nn.DataParallel: {"state_dict": {"module.conv1.weight": ...}}
    torch.save({"epoch": 3, "state_dict": {"module." + k: v for k, v in
                                           twin.state_dict().items()}}, tmp_path / "r18.pth")
    model = resnet18(num_classes=10)
    report = load_pretrained(model, tmp_path / "r18.pth")
    assert report["skipped"] == ["fc.weight", "fc.bias"]
    np.testing.assert_array_equal(model.layer3[1].conv2.weight.detach().numpy(),
                                  twin.layer3[1].conv2.weight.detach().numpy())
    same = resnet18()
    load_pretrained(same, tmp_path / "r18.pth")  # 1000 classes: the head loads too
    np.testing.assert_array_equal(same.fc.weight.detach().numpy(),
                                  twin.fc.weight.detach().numpy())


def test_frozen_backbone_gets_no_gradient_and_its_bn_stays_in_eval_mode():
    model = _small()
    before = _arrays(model)
    frozen = freeze_backbone(model)
    assert frozen == ["0.weight", "0.bias", "1.weight", "1.bias"]
    model.train()  # what a training loop calls every epoch
    x = fovea.randn(8, 1, 5, 5) * 3 + 1
    loss = model(x).pow(2).sum()
    loss.backward()
    assert model[0].weight.grad is None and model[1].weight.grad is None
    assert model[5].weight.grad is not None
    after = _arrays(model)
    for k in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)  # BN did not update
    # in eval mode the output is the same: the BN used its running statistics
    model.eval()
    with fovea.no_grad():
        eval_out = model(x).numpy()
    model.train()
    with fovea.no_grad():
        np.testing.assert_allclose(model(x).numpy(), eval_out, rtol=1e-6)
    unfreeze(model)
    model.train()
    model(x)
    assert model[0].weight.requires_grad
    assert not np.array_equal(_arrays(model)["1.running_mean"], before["1.running_mean"])


def test_param_groups_give_head_and_backbone_their_own_learning_rates():
    model = _small()
    groups = param_groups(model, head_lr=0.5, backbone_lr=0.01)
    assert [g["lr"] for g in groups] == [0.5, 0.01]
    assert [len(g["params"]) for g in groups] == [2, 4]
    before = _arrays(model)
    opt = optim.SGD(groups, lr=0.1)
    model(fovea.randn(4, 1, 5, 5)).sum().backward()
    grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    opt.step()
    after = _arrays(model)
    for name, lr in (("5.weight", 0.5), ("0.weight", 0.01)):  # p ← p − lr·g
        np.testing.assert_allclose(after[name], before[name] - lr * grads[name], rtol=1e-6)
    freeze_backbone(model)
    assert len(param_groups(model, 0.5, 0.01)) == 1  # nothing of the backbone trains


@pytest.mark.filterwarnings("ignore:initial loss")  # a pretrained net starts low
def test_fovea_train_init_freeze_and_head_lr(tmp_path, capsys):
    base = ["--dataset", "digits", "--model", "small_cnn", "--epochs", "1", "--no-progress"]
    assert main(["train", *base, "--out", str(tmp_path / "pre")]) == 0
    pre = read_state_dict(tmp_path / "pre")
    assert main(["train", *base, "--out", str(tmp_path / "ft"), "--init", str(tmp_path / "pre"),
                 "--freeze", "backbone", "--head-lr", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "initialised" in out and "new head: 13.weight, 13.bias" in out
    ft = read_state_dict(tmp_path / "ft")
    for k, v in pre.items():  # the frozen backbone, BN statistics included, is unchanged
        if not k.startswith("13."):
            np.testing.assert_array_equal(ft[k], v, err_msg=k)
    assert not np.array_equal(ft["13.weight"], pre["13.weight"])
    cfg = json.loads((tmp_path / "ft" / "run.json").read_text())["config"]
    assert (cfg["init"], cfg["freeze"], cfg["head_lr"]) == (str(tmp_path / "pre"), "backbone",
                                                             0.01)


def test_fovea_train_refuses_bad_transfer_options(tmp_path, capsys):
    assert main(["train", "--head-lr", "-1", "--no-progress"]) == 2
    assert "invalid --head-lr -1.0" in capsys.readouterr().err
    assert main(["train", "--init", str(tmp_path / "none.pth"), "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 2
    assert "no such weights file" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    with pytest.raises(SystemExit):
        main(["train", "--freeze", "all"])
