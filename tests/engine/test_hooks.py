"""Tensor.register_hook and retain_grad against PyTorch."""

import numpy as np
import pytest

import fovea
from oracle import needs_torch, torch


def run_both(build):
    """Run ``build(lib, x)`` with a fovea and a torch leaf x; return both results."""
    fx = fovea.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    tx = torch.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    return build(fovea, fx), build(torch, tx), fx, tx


def close(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


@needs_torch
def test_a_leaf_hook_sees_and_may_replace_the_gradient_before_accumulation():
    seen = {"fovea": [], "torch": []}

    def build(lib, x):
        key = "fovea" if lib is fovea else "torch"
        x.register_hook(lambda g: seen[key].append(g.detach().clone()))
        x.register_hook(lambda g: g * 10)
        x.register_hook(lambda g: g + 1)  # hooks chain in registration order
        (x * x).sum().backward()
        return x.grad

    f, t, _, _ = run_both(build)
    close(f, t)
    close(seen["fovea"][0], seen["torch"][0])


@needs_torch
def test_a_non_leaf_hook_changes_what_flows_upstream_and_what_retain_grad_keeps():
    def build(lib, x):
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 10)  # registered after retain_grad, still runs first
        (y * 3).sum().backward()
        return y.grad, x.grad

    (fy, fx), (ty, tx), _, _ = run_both(build)
    close(fy, ty)
    close(fx, tx)


@needs_torch
@pytest.mark.parametrize("wrt", ["leaf", "non-leaf"])
def test_hooks_apply_to_what_fovea_grad_returns_as_torch_autograd_grad(wrt):
    # (Asked for y and x together, PyTorch returns y's gradient before y's hooks but sends
    # the hooked one upstream; fovea returns the hooked one in both cases.)
    def build(lib, x):
        y = x * 2
        y.register_hook(lambda g: g * 10)
        x.register_hook(lambda g: g - 1)
        grad = fovea.grad if lib is fovea else torch.autograd.grad
        return grad((y * 3).sum(), x if wrt == "leaf" else y)[0]

    f, t, _, _ = run_both(build)
    close(f, t)


@needs_torch
def test_removed_hooks_no_longer_run():
    def build(lib, x):
        h = x.register_hook(lambda g: g * 100)
        h.remove()
        h.remove()  # twice is fine
        (x * 2).sum().backward()
        return x.grad

    f, t, _, _ = run_both(build)
    close(f, t)


@needs_torch
def test_hooks_work_through_a_recorded_backward():
    def build(lib, x):
        y = x * x
        y.register_hook(lambda g: g * 3)
        grad = fovea.grad if lib is fovea else torch.autograd.grad
        (g,) = grad(y.sum(), x, create_graph=True)  # 3 * 2x
        (h,) = grad(g.sum(), x)  # 6
        return g, h

    (fg, fh), (tg, th), _, _ = run_both(build)
    close(fg, tg)
    close(fh, th)


def test_a_hook_on_a_tensor_without_grad_is_refused():
    with pytest.raises(RuntimeError, match="register_hook: cannot register a hook on a tensor "
                                           "that doesn't require gradient"):
        fovea.zeros(2).register_hook(lambda g: g)


def test_retain_grad_on_a_leaf_is_a_no_op_and_non_leaves_keep_their_grad():
    x = fovea.tensor([1.0, 2.0], requires_grad=True)
    x.retain_grad()
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0] and x.grad.tolist() == [18.0, 36.0]
