"""nn/functional/loss/classification.py: cross_entropy (the fused node, with class indices
or probabilities, weights, ignored targets, label smoothing, spatial inputs) and nll_loss
against PyTorch through the shared harness; stability for logits of ±1000; errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, to_device, torch

CE_CASES = [
    dict(), dict(reduction="sum"), dict(reduction="none"), dict(label_smoothing=0.1),
    dict(weight=[1.0, 2.0, 0.5, 1.0]), dict(ignore_index=2),
    dict(weight=[1.0, 2.0, 0.5, 1.0], label_smoothing=0.2, ignore_index=1),
    dict(label_smoothing=0.3, reduction="none"),
]


def _class_case(kwargs, spatial, seed=1):
    """(logits, class indices, weight or None, the other keyword arguments)."""
    rng = np.random.default_rng(seed)
    shape = (5, 4, 2, 3) if spatial else (6, 4)
    x = rng.standard_normal(shape)
    y = rng.integers(0, 4, (shape[0],) + shape[2:])
    kw = dict(kwargs)
    w = kw.pop("weight", None)
    return x, y, None if w is None else np.array(w), kw


def _with_weight(fn, w, kw):
    """fn(x, y, weight=w_tensor, **kw) as a function of the harness' tensors (x, y[, w])."""
    if w is None:
        return lambda x, y: fn(x, y, **kw)
    return lambda x, y, w: fn(x, y, weight=w, **kw)


@pytest.mark.parametrize("kwargs", CE_CASES, ids=range(len(CE_CASES)))
@pytest.mark.parametrize("spatial", [False, True])
def test_cross_entropy_with_class_indices_matches_torch(kwargs, spatial):
    x, y, w, kw = _class_case(kwargs, spatial)
    arrays = [x, y] if w is None else [x, y, w]
    check_op(_with_weight(F.cross_entropy, w, kw),
             _with_weight(lambda *a, **k: torch.nn.functional.cross_entropy(*a, **k), w, kw),
             arrays, grad_mask=[True] + [False] * (len(arrays) - 1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("spatial", [False, True])
def test_cross_entropy_under_a_nonlinearity_has_torchs_second_derivatives(reduction, spatial):
    # The upstream gradient of the loss then depends on x: the double backward also goes
    # through the gradient's dependence on it.
    x, y, _, _ = _class_case({}, spatial, seed=6)
    check_op(lambda x, y: (F.cross_entropy(x, y, reduction=reduction) ** 2).sum(),
             lambda x, y: (torch.nn.functional.cross_entropy(x, y, reduction=reduction) ** 2)
             .sum(), [x, y])


def test_cross_entropy_of_one_example_without_batch_matches_torch():
    x = np.random.default_rng(3).standard_normal(5)
    check_op(F.cross_entropy, lambda x, y: torch.nn.functional.cross_entropy(x, y),
             [x, np.array(2)])


@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_with_probability_targets_matches_torch(smoothing):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    p = rng.random((5, 3))
    p /= p.sum(1, keepdims=True)
    check_op(lambda x, p: F.cross_entropy(x, p, label_smoothing=smoothing),
             lambda x, p: torch.nn.functional.cross_entropy(x, p, label_smoothing=smoothing),
             [x, p], grad_mask=[True, False])


@pytest.mark.parametrize("kwargs", [dict(), dict(reduction="sum"), dict(reduction="none"),
                                    dict(weight=[1.0, 2.0, 0.5, 1.0]), dict(ignore_index=1)],
                         ids=range(5))
@pytest.mark.parametrize("spatial", [False, True])
def test_nll_loss_matches_torch(kwargs, spatial):
    x, y, w, kw = _class_case(kwargs, spatial, seed=4)
    arrays = [x, y] if w is None else [x, y, w]
    check_op(_with_weight(F.nll_loss, w, kw),
             _with_weight(lambda *a, **k: torch.nn.functional.nll_loss(*a, **k), w, kw),
             arrays, grad_mask=[True] + [False] * (len(arrays) - 1))


def test_cross_entropy_is_stable_for_logits_of_1000():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]])
    y = np.array([0, 1])
    # loss = (0 + 2000) / 2; the gradient is finite.
    out = check_op(F.cross_entropy, lambda x, y: torch.nn.functional.cross_entropy(x, y),
                   [x, y], fd=False, numpy_fn=lambda x, y: np.array(1000.0))
    x = fovea.tensor(x, requires_grad=True)
    F.cross_entropy(x, fovea.tensor(y)).backward()
    assert out.item() == 1000.0 and np.all(np.isfinite(x.grad.numpy()))


def test_cross_entropy_with_every_target_ignored_is_nan_like_torch():
    x = np.random.default_rng(5).standard_normal((3, 4))
    y = np.array([1, 1, 1])
    loss = F.cross_entropy(fovea.tensor(x), fovea.tensor(y), ignore_index=1)
    assert np.isnan(loss.item())
    if torch is not None:
        assert torch.isnan(torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(y),
                                                             ignore_index=1))


def test_class_targets_on_another_device_are_refused():
    x = to_device(np.zeros((4, 3)), "standin")
    for fn in (F.cross_entropy, F.nll_loss):
        with pytest.raises(RuntimeError, match="expected all tensors on one device, got "
                                               "standin and cpu"):
            fn(x, fovea.tensor([0, 1, 2, 0]))


def test_cross_entropy_bad_input_is_clear():
    x = fovea.zeros(4, 3)
    with pytest.raises(ValueError, match=r"needs a target of shape \(4,\), got \(3,\)"):
        F.cross_entropy(x, fovea.tensor([0, 1, 2]))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, fovea.tensor([0, 1, 2, 3]))
    with pytest.raises(IndexError, match="target -2 is out of bounds for 3 classes"):
        F.cross_entropy(x, fovea.tensor([0, 1, -2, 0]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(x, fovea.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(TypeError, match="class indices"):
        F.nll_loss(x, fovea.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.cross_entropy(x, fovea.tensor([0, 1, 2, 0]), weight=fovea.ones(4))
