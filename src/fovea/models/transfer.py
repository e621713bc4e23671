"""Transfer learning (Lecture 7): start from trained weights, give the network a new
classifier, train the new head alone or fine-tune everything with a smaller learning rate.

    model = resnet18(num_classes=1000)
    load_pretrained(model, "resnet18.pth")          # a run dir, .safetensors or PyTorch .pth
    replace_head(model, 10)                         # fc: 512 → 10, freshly initialised
    freeze_backbone(model)                          # only the head learns; BN stays in eval
    opt = optim.SGD(param_groups(model, head_lr=1e-2, backbone_lr=1e-3), lr=1e-2)

The *head* is the model's last parametrised layer, found by :func:`head_name` (``fc`` of
the ResNets and GoogLeNet, ``classifier.6`` of VGG, ``classifier.1`` of MobileNet v2 and
SqueezeNet, the last layer of a ``Sequential``); everything else is the *backbone*.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from fovea import nn
from fovea.nn.modules.batchnorm import _BatchNorm
from fovea.serialization import load

__all__ = ["read_state_dict", "head_name", "load_pretrained", "replace_head", "freeze_backbone",
           "unfreeze", "param_groups", "setup_transfer", "FREEZE_CHOICES"]

FREEZE_CHOICES = ("none", "backbone")


def read_state_dict(source) -> dict[str, np.ndarray]:
    """The weights of ``source`` as ``{name: array}``.

    ``source`` is a fovea run directory (its ``model.safetensors``), a safetensors file, a
    file of ``fovea.save`` or a PyTorch ``torch.save`` file (``.pth``: read without running
    its code). A checkpoint dict holding the weights under ``"state_dict"``, ``"model"`` or
    ``"model_state_dict"`` is unwrapped, and the ``module.`` prefix of
    ``nn.DataParallel`` is dropped.
    """
    path = Path(os.path.expanduser(os.fspath(source)))
    if path.is_dir():
        if not (path / "model.safetensors").is_file():
            raise FileNotFoundError(f"{path}: not a fovea run directory (no model.safetensors)")
        path = path / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file or run directory")
    obj = load(path, map_location="cpu")
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping):
        raise ValueError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    out = {}
    for k, v in obj.items():
        arr = v.detach().numpy() if hasattr(v, "detach") else np.asarray(v)
        if arr.dtype.kind not in "fiub":
            continue
        out[k[len("module."):] if k.startswith("module.") else k] = arr
    if not out:
        raise ValueError(f"{path}: holds no tensors")
    return out


def head_name(model: nn.Module) -> str:
    """The qualified name of the classifier: the last Linear or Conv2d module registered."""
    name = None
    for n, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            name = n
    if name is None:
        raise ValueError(f"head_name: {type(model).__name__} has no Linear or Conv2d layer")
    return name


def _in_head(key: str, head: str) -> bool:
    return key == head or key.startswith(head + ".")


def load_pretrained(model: nn.Module, source, skip_head: bool = False) -> dict[str, list[str]]:
    """Copy the weights of ``source`` (see :func:`read_state_dict`) into ``model``.

    The head's weights are loaded only when ``skip_head`` is False and their shapes fit (a
    model for another number of classes keeps its own head). Every other weight must be
    present with its shape: a mismatch there is an error naming the keys.

    Returns ``{"loaded": [...], "skipped": [...]}`` (skipped: the head's keys not loaded).
    """
    state = read_state_dict(source)
    head = head_name(model)
    own = model.state_dict()
    take, skipped, problems = {}, [], []
    for k, v in own.items():
        fits = k in state and tuple(state[k].shape) == tuple(v.shape)
        if _in_head(k, head) and (skip_head or not fits):
            skipped.append(k)
        elif fits:
            take[k] = state[k]
        else:
            got = tuple(state[k].shape) if k in state else "missing"
            problems.append(f"{k} (model {tuple(v.shape)}, file {got})")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; ... ({len(problems)} in all)"
                                            if len(problems) > 5 else "")
        raise ValueError(f"load_pretrained: {source} does not fit {type(model).__name__} "
                         f"outside its head {head!r}: {shown}")
    model.load_state_dict(take, strict=False)
    return {"loaded": list(take), "skipped": skipped}


def _parent(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    parent, _, child = name.rpartition(".")
    return (model.get_submodule(parent) if parent else model), child


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Give ``model`` a new, freshly initialised classifier with ``num_classes`` outputs (a
    Linear for a Linear head, a 1×1 Conv2d for a convolutional one); returns the new layer."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be a positive integer, got "
                         f"{num_classes!r}")
    name = head_name(model)
    old = model.get_submodule(name)
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    else:
        new = nn.Conv2d(old.in_channels, num_classes, old.kernel_size, old.stride, old.padding,
                        bias=old.bias is not None)
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    parent, child = _parent(model, name)
    setattr(parent, child, new)
    if hasattr(model, "num_classes"):
        model.num_classes = num_classes
    return new


def _keep_eval(module, inputs):
    # NOTE: Module.train() sets every module's flag; resetting it before each forward keeps
    # a frozen BN on its running statistics whatever the training loop calls.
    object.__setattr__(module, "training", False)


def freeze_backbone(model: nn.Module, head: str | None = None) -> list[str]:
    """Train only the head: ``requires_grad_(False)`` on every other parameter, and the
    backbone's batch norms kept in eval mode (running statistics used and not updated),
    even after ``model.train()``. Returns the names of the frozen parameters."""
    head = head or head_name(model)
    frozen = []
    for n, p in model.named_parameters():
        if not _in_head(n, head):
            p.requires_grad_(False)
            frozen.append(n)
    hooks = list(getattr(model, "_frozen_bn_hooks", ()))
    for n, m in model.named_modules():
        if isinstance(m, _BatchNorm) and not _in_head(n, head):
            hooks.append(m.register_forward_pre_hook(_keep_eval))
            object.__setattr__(m, "training", False)
    object.__setattr__(model, "_frozen_bn_hooks", hooks)
    return frozen


def unfreeze(model: nn.Module) -> None:
    """Undo :func:`freeze_backbone`: every parameter trains, BN follows ``model.train()``."""
    model.requires_grad_(True)
    for h in getattr(model, "_frozen_bn_hooks", ()):
        h.remove()
    object.__setattr__(model, "_frozen_bn_hooks", [])


def param_groups(model: nn.Module, head_lr: float, backbone_lr: float | None = None,
                 head: str | None = None) -> list[dict]:
    """Optimizer parameter groups: the head at ``head_lr``, the backbone at ``backbone_lr``
    (frozen parameters left out; no backbone group when none trains)."""
    head = head or head_name(model)
    heads, backbone = [], []
    for n, p in model.named_parameters():
        if p.requires_grad:
            (heads if _in_head(n, head) else backbone).append(p)
    groups = [{"params": heads, "lr": head_lr}]
    if backbone:
        groups.append({"params": backbone, "lr": head_lr if backbone_lr is None
                       else backbone_lr})
    return groups


def setup_transfer(model: nn.Module, init=None, freeze: str = "none", lr: float = 1e-3,
                   head_lr: float | None = None, backbone_lr: float | None = None, log=None):
    """What ``fovea train --init/--freeze/--head-lr/--backbone-lr`` does to a new model:
    load the backbone from ``init`` (the head stays new: another task's classes), freeze the
    backbone if ``freeze == "backbone"``, and return the optimizer's parameter groups (head
    at ``head_lr`` or ``lr``, backbone at ``backbone_lr`` or ``lr``)."""
    if freeze not in FREEZE_CHOICES:
        raise ValueError(f"train: invalid --freeze {freeze!r}: expected one of "
                         f"{', '.join(FREEZE_CHOICES)}")
    if init is not None:
        report = load_pretrained(model, init, skip_head=True)
        if log is not None:
            log(f"initialised {len(report['loaded'])} tensors from {init} (new head: "
                f"{', '.join(report['skipped'])})")
    if freeze == "backbone":
        freeze_backbone(model)
    return param_groups(model, lr if head_lr is None else head_lr,
                        lr if backbone_lr is None else backbone_lr)
