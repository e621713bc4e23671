"""Losses (functional and modules) against PyTorch across reductions and options, with
gradients to input and target; the lectures' SVM loss against multi_margin_loss · C."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
import fovea.nn.functional as F

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
TF = torch.nn.functional
REDUCTIONS = ["mean", "sum", "none"]


def _pair(a, requires_grad=True):
    return (fovea.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _compare(y, ty, pairs, rng, rtol=1e-11):
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=rtol, atol=1e-13)
    g = rng.standard_normal(ty.shape) if ty.ndim else np.array(rng.standard_normal())
    y.backward(fovea.tensor(g))
    ty.backward(torch.tensor(g))
    for a, ta in pairs:
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=rtol, atol=1e-13)


REGRESSION = [
    ("mse", lambda a, b, r: F.mse_loss(a, b, r), lambda a, b, r: TF.mse_loss(a, b, reduction=r)),
    ("l1", lambda a, b, r: F.l1_loss(a, b, r), lambda a, b, r: TF.l1_loss(a, b, reduction=r)),
    ("smooth_l1", lambda a, b, r: F.smooth_l1_loss(a, b, r),
     lambda a, b, r: TF.smooth_l1_loss(a, b, reduction=r)),
    ("smooth_l1_b0.3", lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.3),
     lambda a, b, r: TF.smooth_l1_loss(a, b, reduction=r, beta=0.3)),
    ("smooth_l1_b0", lambda a, b, r: F.smooth_l1_loss(a, b, r, beta=0.0),
     lambda a, b, r: TF.smooth_l1_loss(a, b, reduction=r, beta=0.0)),
    ("huber", lambda a, b, r: F.huber_loss(a, b, r), lambda a, b, r: TF.huber_loss(a, b, r)),
    ("huber_d2", lambda a, b, r: F.huber_loss(a, b, r, delta=2.0),
     lambda a, b, r: TF.huber_loss(a, b, r, delta=2.0)),
]


@pytest.mark.parametrize("name,fn,tfn", REGRESSION, ids=[r[0] for r in REGRESSION])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_torch(name, fn, tfn, reduction):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5))
    a[0, 0] = b[0, 0]  # a tie: the subgradient of |d| at 0
    x, tx = _pair(a)
    t, tt = _pair(b)
    _compare(fn(x, t, reduction), tfn(tx, tt, reduction), [(x, tx), (t, tt)], rng)


@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_svm_loss_matches_multi_margin_loss_times_classes(squared, reduction):
    rng = np.random.default_rng(1)
    n, c, delta = 6, 5, 1.5
    s, ts = _pair(rng.standard_normal((n, c)))
    y = rng.integers(0, c, n)
    loss = F.svm_loss(s, fovea.tensor(y), delta=delta, squared=squared, reduction=reduction)
    tloss = TF.multi_margin_loss(ts, torch.tensor(y), p=2 if squared else 1, margin=delta,
                                 reduction=reduction) * c
    _compare(loss, tloss, [(s, ts)], rng)


def test_svm_loss_hand_worked_example_from_the_lecture():
    # CS231n lecture 3: scores of cat/car/frog images, Δ = 1: losses 2.9, 0, 12.9 (mean 5.27).
    scores = fovea.tensor(np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]))
    y = fovea.tensor([0, 1, 2])
    per_example = F.svm_loss(scores, y, reduction="none").numpy()
    np.testing.assert_allclose(per_example, [2.9, 0.0, 12.9], atol=1e-12)
    assert abs(nn.SVMLoss()(scores, y).item() - 15.8 / 3) < 1e-12
    # At initialisation (all scores equal) the loss is (C - 1) Δ.
    assert F.svm_loss(fovea.zeros(4, 10), fovea.tensor([1, 2, 3, 4])).item() == pytest.approx(9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(weighted, reduction):
    rng = np.random.default_rng(2)
    p, tp = _pair(rng.uniform(0.02, 0.98, (4, 3)))
    t, tt = _pair(rng.uniform(0, 1, (4, 3)))
    w = rng.uniform(0.5, 2, (3,)) if weighted else None
    loss = F.binary_cross_entropy(p, t, None if w is None else fovea.tensor(w), reduction)
    tloss = TF.binary_cross_entropy(tp, tt, None if w is None else torch.tensor(w),
                                    reduction=reduction)
    _compare(loss, tloss, [(p, tp), (t, tt)], rng)


def test_binary_cross_entropy_clamps_logs_at_minus_100_like_torch():
    a = np.array([0.0, 1.0, 0.0, 1.0, 1e-50])
    b = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    p, tp = _pair(a)
    t, tt = _pair(b, requires_grad=False)
    loss = F.binary_cross_entropy(p, t, reduction="none")
    tloss = TF.binary_cross_entropy(tp, tt, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy())
    assert loss.detach().numpy()[0] == 100
    loss.sum().backward()
    tloss.sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy())


@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(pos_weight, weighted, reduction):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 3)) * 4
    a[0] = [0.0, 800.0, -800.0]  # the kink of |x| and extreme logits
    x, tx = _pair(a)
    t, tt = _pair(rng.uniform(0, 1, (5, 3)))
    w = rng.uniform(0.5, 2, (5, 1)) if weighted else None
    pw = rng.uniform(0.5, 3, 3) if pos_weight else None
    loss = F.binary_cross_entropy_with_logits(
        x, t, None if w is None else fovea.tensor(w), reduction,
        None if pw is None else fovea.tensor(pw))
    tloss = TF.binary_cross_entropy_with_logits(
        tx, tt, None if w is None else torch.tensor(w), reduction=reduction,
        pos_weight=None if pw is None else torch.tensor(pw))
    _compare(loss, tloss, [(x, tx), (t, tt)], rng)


def test_bce_with_logits_gradcheck():
    rng = np.random.default_rng(4)
    x = fovea.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    t = fovea.tensor(rng.uniform(0, 1, (3, 4)), requires_grad=True)
    pw = fovea.tensor(np.array([0.5, 1.0, 2.0, 3.0]))

    def fn(x, t):
        return F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="none")

    assert fovea.gradcheck(fn, [x, t]) < 1e-7


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
def test_kl_div_matches_torch(log_target, reduction):
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((4, 6))
    logq = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    p = rng.dirichlet(np.ones(6), 4)
    p[0, 2] = 0.0  # a zero-probability target contributes 0
    tgt = np.log(p + 1e-3) if log_target else p
    x, tx = _pair(logq)
    t, tt = _pair(tgt)
    loss = F.kl_div(x, t, reduction, log_target)
    tloss = TF.kl_div(tx, tt, reduction=reduction, log_target=log_target)
    pairs = [(x, tx)] + ([(t, tt)] if log_target else [])
    _compare(loss, tloss, pairs, rng)


LOSS_MODULES = [
    (lambda: nn.MSELoss(), lambda: torch.nn.MSELoss(), "float"),
    (lambda: nn.L1Loss(reduction="sum"), lambda: torch.nn.L1Loss(reduction="sum"), "float"),
    (lambda: nn.SmoothL1Loss(beta=0.5), lambda: torch.nn.SmoothL1Loss(beta=0.5), "float"),
    (lambda: nn.HuberLoss(delta=0.5), lambda: torch.nn.HuberLoss(delta=0.5), "float"),
    (lambda: nn.BCELoss(), lambda: torch.nn.BCELoss(), "prob"),
    (lambda: nn.BCEWithLogitsLoss(pos_weight=fovea.tensor(np.array([2.0, 1.0, 0.5]))),
     lambda: torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 0.5],
                                                                dtype=torch.float64)), "float"),
    (lambda: nn.KLDivLoss(reduction="batchmean"),
     lambda: torch.nn.KLDivLoss(reduction="batchmean"), "prob"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
     lambda: torch.nn.CrossEntropyLoss(label_smoothing=0.1), "class"),
    (lambda: nn.CrossEntropyLoss(weight=fovea.tensor(np.array([1.0, 2.0, 0.5]))),
     lambda: torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 0.5],
                                                           dtype=torch.float64)), "class"),
    (lambda: nn.NLLLoss(ignore_index=1), lambda: torch.nn.NLLLoss(ignore_index=1), "class"),
]


@pytest.mark.parametrize("make,tmake,kind", LOSS_MODULES,
                         ids=[f"{i}" for i in range(len(LOSS_MODULES))])
def test_loss_modules_match_torch(make, tmake, kind):
    rng = np.random.default_rng(6)
    m, tm = make(), tmake()
    a = rng.uniform(0.05, 0.95, (4, 3)) if kind == "prob" else rng.standard_normal((4, 3))
    x, tx = _pair(a)
    if kind == "class":
        b = rng.integers(0, 3, 4)
        t, tt = fovea.tensor(b), torch.tensor(b)
    else:
        b = rng.uniform(0.05, 0.95, (4, 3))
        t, tt = fovea.tensor(b), torch.tensor(b)
    _compare(m(x, t), tm(tx, tt), [(x, tx)], rng)
    assert list(m.state_dict()) == list(tm.state_dict())


def test_loss_errors():
    x = fovea.randn(4, 3)
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.L1Loss(reduction="batchmean")
    with pytest.raises(ValueError, match=r"mse_loss: input and target must have the same shape, "
                                         r"got \(4, 3\) and \(4, 1\)"):
        F.mse_loss(x, fovea.randn(4, 1))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(x, x)
    with pytest.raises(IndexError, match=r"labels must be in \[0, 3\)"):
        F.svm_loss(x, fovea.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"need labels of shape \(4,\)"):
        F.svm_loss(x, fovea.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer class labels"):
        F.svm_loss(x, fovea.randn(4))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.kl_div(x, x, reduction="avg")
