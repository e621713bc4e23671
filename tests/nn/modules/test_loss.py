"""nn/modules/loss.py: the loss layers against PyTorch's through the shared harness (values
and input gradients), their buffers in the state dict (PyTorch's keys), reduction errors."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import check_op, needs_torch, torch

# (fovea layer from its constant tensor (or None), PyTorch's, input kind, the constant)
W3 = np.array([1.0, 2.0, 0.5])
LOSS_MODULES = [
    (lambda w: nn.MSELoss(), lambda w: torch.nn.MSELoss(), "float", None),
    (lambda w: nn.L1Loss(reduction="sum"), lambda w: torch.nn.L1Loss(reduction="sum"), "float",
     None),
    (lambda w: nn.SmoothL1Loss(beta=0.5), lambda w: torch.nn.SmoothL1Loss(beta=0.5), "float",
     None),
    (lambda w: nn.HuberLoss(delta=0.5), lambda w: torch.nn.HuberLoss(delta=0.5), "float", None),
    (lambda w: nn.BCELoss(), lambda w: torch.nn.BCELoss(), "prob", None),
    (lambda w: nn.BCEWithLogitsLoss(pos_weight=w),
     lambda w: torch.nn.BCEWithLogitsLoss(pos_weight=w), "float", np.array([2.0, 1.0, 0.5])),
    (lambda w: nn.KLDivLoss(reduction="batchmean"),
     lambda w: torch.nn.KLDivLoss(reduction="batchmean"), "prob", None),
    (lambda w: nn.CrossEntropyLoss(label_smoothing=0.1),
     lambda w: torch.nn.CrossEntropyLoss(label_smoothing=0.1), "class", None),
    (lambda w: nn.CrossEntropyLoss(weight=w), lambda w: torch.nn.CrossEntropyLoss(weight=w),
     "class", W3),
    (lambda w: nn.NLLLoss(ignore_index=1), lambda w: torch.nn.NLLLoss(ignore_index=1), "class",
     None),
    (lambda w: nn.SVMLoss(), None, "class", None),
]


def _arrays(kind, const):
    rng = np.random.default_rng(6)
    # Probabilities away from 0 and 1, where log p is steep for finite differences.
    a = rng.uniform(0.2, 0.8, (4, 3)) if kind == "prob" else rng.standard_normal((4, 3))
    b = rng.integers(0, 3, 4) if kind == "class" else rng.uniform(0.05, 0.95, (4, 3))
    return [a, b] if const is None else [a, b, const]


@pytest.mark.parametrize("make,tmake,kind,const", LOSS_MODULES,
                         ids=[f"{i}" for i in range(len(LOSS_MODULES))])
def test_loss_modules_match_torch(make, tmake, kind, const):
    # The layer is built from the harness' tensors, so its buffer is on each device in turn.
    def fv(x, t, w=None):
        return make(w)(x, t)

    def tv(x, t, w=None):
        return tmake(w)(x, t)

    n = 2 if const is None else 3
    check_op(fv, None if tmake is None else tv, _arrays(kind, const),
             grad_mask=[True] + [False] * (n - 1))


@needs_torch
@pytest.mark.parametrize("make,tmake,kind,const", LOSS_MODULES[:-1],
                         ids=[f"{i}" for i in range(len(LOSS_MODULES) - 1)])
def test_loss_modules_have_torchs_state_dict_keys(make, tmake, kind, const):
    m = make(None if const is None else fovea.tensor(const))
    tm = tmake(None if const is None else torch.tensor(const))
    assert list(m.state_dict()) == list(tm.state_dict())


def test_loss_modules_refuse_unknown_reductions():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.L1Loss(reduction="batchmean")
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        nn.CrossEntropyLoss(label_smoothing=2.0)


def test_triplet_margin_loss_layers_match_torch():
    rng = np.random.default_rng(61)
    a, p, n = (rng.standard_normal((5, 3)) for _ in range(3))
    check_op(nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True),
             lambda x, y, z: torch.nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True)(x, y, z),
             [a, p, n])
    check_op(nn.TripletMarginWithDistanceLoss(reduction="sum"),
             lambda x, y, z: torch.nn.TripletMarginWithDistanceLoss(reduction="sum")(x, y, z),
             [a, p, n])


def test_poisson_and_gaussian_nll_loss_layers_match_torch():
    rng = np.random.default_rng(62)
    x, t = rng.standard_normal((4, 3)), rng.poisson(2.0, (4, 3)).astype(np.float64)
    check_op(nn.PoissonNLLLoss(full=True, reduction="sum"),
             lambda a, b: torch.nn.PoissonNLLLoss(full=True, reduction="sum")(a, b), [x, t],
             grad_mask=[True, False])
    v = rng.uniform(0.2, 2.0, (4, 1))
    check_op(nn.GaussianNLLLoss(full=True),
             lambda a, b, c: torch.nn.GaussianNLLLoss(full=True)(a, b, c), [x, t, v])


@needs_torch
@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")
def test_new_loss_layers_have_torch_state_dicts_and_legacy_flags():
    for ours, theirs in ((nn.TripletMarginLoss(), torch.nn.TripletMarginLoss()),
                         (nn.PoissonNLLLoss(), torch.nn.PoissonNLLLoss()),
                         (nn.GaussianNLLLoss(), torch.nn.GaussianNLLLoss())):
        assert list(ours.state_dict()) == list(theirs.state_dict()) == []
    assert nn.PoissonNLLLoss(reduce=False).reduction == \
        torch.nn.PoissonNLLLoss(reduce=False).reduction == "none"
    assert nn.TripletMarginLoss(size_average=False).reduction == "sum"
