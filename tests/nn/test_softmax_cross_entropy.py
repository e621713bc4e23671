"""softmax, log_softmax and cross_entropy against PyTorch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@given(dim=st.integers(-3, 2), seed=st.integers(0, 99))
def test_softmax_and_log_softmax_match_torch(fn, dim, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, 4)) * 3
    check_op(lambda t: getattr(F, fn)(t, dim=dim),
             lambda t: getattr(torch.nn.functional, fn)(t, dim=dim), [x])


def test_softmax_and_cross_entropy_are_stable_for_logits_of_1000():
    x = fovea.tensor(np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]]),
                     requires_grad=True)
    y = fovea.tensor(np.array([0, 1]))
    loss = F.cross_entropy(x, y)
    loss.backward()
    np.testing.assert_allclose(loss.item(), 1000.0)  # (0 + 2000) / 2
    assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(F.softmax(x, dim=1).detach().numpy()[0], [1, 0, 0])


CE_CASES = [
    dict(), dict(reduction="sum"), dict(reduction="none"), dict(label_smoothing=0.1),
    dict(weight=[1.0, 2.0, 0.5, 1.0]), dict(ignore_index=2),
    dict(weight=[1.0, 2.0, 0.5, 1.0], label_smoothing=0.2, ignore_index=1),
    dict(label_smoothing=0.3, reduction="none"),
]


@pytest.mark.parametrize("kwargs", CE_CASES, ids=range(len(CE_CASES)))
@pytest.mark.parametrize("spatial", [False, True])
def test_cross_entropy_with_class_indices_matches_torch(kwargs, spatial):
    rng = np.random.default_rng(1)
    shape = (5, 4, 2, 3) if spatial else (6, 4)
    x = rng.standard_normal(shape)
    y = rng.integers(0, 4, (shape[0],) + shape[2:])
    fkw = dict(kwargs)
    tkw = dict(kwargs)
    if "weight" in kwargs:
        fkw["weight"] = fovea.tensor(np.array(kwargs["weight"]))
        tkw["weight"] = torch.tensor(np.array(kwargs["weight"])) if torch else None
    check_op(lambda t: F.cross_entropy(t, fovea.tensor(y), **fkw),
             lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(y), **tkw), [x])


@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_with_probability_targets_matches_torch(smoothing):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3))
    p = rng.random((5, 3))
    p /= p.sum(1, keepdims=True)
    check_op(lambda t: F.cross_entropy(t, fovea.tensor(p), label_smoothing=smoothing),
             lambda t: torch.nn.functional.cross_entropy(t, torch.tensor(p),
                                                         label_smoothing=smoothing), [x])


def test_cross_entropy_bad_input_is_clear():
    x = fovea.zeros(4, 3)
    with pytest.raises(ValueError, match=r"needs a target of shape \(4,\), got \(3,\)"):
        F.cross_entropy(x, fovea.tensor([0, 1, 2]))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, fovea.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(x, fovea.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(TypeError, match="class indices"):
        F.nll_loss(x, fovea.tensor([0.0, 1.0, 2.0, 0.0]))
