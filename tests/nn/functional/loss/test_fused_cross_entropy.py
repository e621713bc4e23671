"""nn/functional/loss/classification.py: the fused cross-entropy node against its composed
twin (log_softmax + nll_loss), PyTorch through the shared harness and finite differences;
float32, bad targets, an all-ignored mean. (Moved from tests/nn/test_speed_kernels.py; it
belongs with the other classification-loss tests.)"""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

CE = [dict(), dict(reduction="sum"), dict(reduction="none"), dict(ignore_index=1),
      dict(weight=np.array([0.5, 2.0, 1.0, 3.0])), dict(reduction="none", ignore_index=0),
      dict(weight=np.array([0.5, 2.0, 1.0, 3.0]), ignore_index=2, reduction="sum")]


@pytest.mark.parametrize("kw", CE, ids=range(len(CE)))
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3), (4,)])
def test_fused_cross_entropy_equals_its_composed_twin(kw, shape):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape) * 3
    tshape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = rng.integers(0, 4, tshape)
    fkw = {k: (fovea.tensor(v) if k == "weight" else v) for k, v in kw.items()}

    def composed(t):
        logp = F.log_softmax(t, dim=0 if t.ndim == 1 else 1)
        return F.nll_loss(logp, fovea.tensor(y), **fkw)

    xa, xb = fovea.tensor(x, requires_grad=True), fovea.tensor(x, requires_grad=True)
    fused, twin = F.cross_entropy(xa, fovea.tensor(y), **fkw), composed(xb)
    node = fused.grad_fn
    if node.name == "Reshape":  # (C,) input with reduction='none': squeezed after the node
        node = node.edges[0]
    assert node.name == "CrossEntropy"
    np.testing.assert_allclose(fused.detach().numpy(), twin.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(fused.shape)
    fused.backward(fovea.tensor(g))
    twin.backward(fovea.tensor(g))
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-10, atol=1e-14)
    # finite differences, and second order against PyTorch, through the shared harness.
    # The targets and the class weights go through the harness, so that they are on the
    # device of x on every device it runs on.
    w = kw.get("weight")
    rest = {k: v for k, v in kw.items() if k != "weight"}
    if w is None:
        check_op(lambda t, y: F.cross_entropy(t, y, **rest),
                 lambda t, y: torch.nn.functional.cross_entropy(t, y, **rest), [x, y])
    else:
        check_op(lambda t, y, w: F.cross_entropy(t, y, weight=w, **rest),
                 lambda t, y, w: torch.nn.functional.cross_entropy(t, y, weight=w, **rest),
                 [x, y, w], grad_mask=[True, False, False])


def test_fused_cross_entropy_keeps_float32_and_rejects_bad_targets():
    x = fovea.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32),
                     requires_grad=True)
    loss = F.cross_entropy(x, fovea.tensor(np.array([0, 2, 1, 1, 0])))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    with pytest.raises(IndexError, match="cross_entropy: target -1 is out of bounds"):
        F.cross_entropy(x, fovea.tensor(np.array([0, -1, 1, 1, 0])))
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.cross_entropy(x, fovea.tensor(np.array([0, 3, 1, 1, 0], dtype=np.int32)))


def test_fused_cross_entropy_mean_over_all_ignored_is_nan_like_torch():
    x = fovea.tensor(np.zeros((2, 3)))
    out = F.cross_entropy(x, fovea.tensor(np.array([1, 1])), ignore_index=1)
    assert np.isnan(out.item())
