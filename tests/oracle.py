"""The one harness every op test uses.

``check_op`` runs an op in fovea and, when PyTorch is installed, in PyTorch on the same
float64 inputs, then compares:

* the forward result (against PyTorch, or against a NumPy reference),
* the gradient for a random upstream gradient (not ``.sum()``) against PyTorch's autograd,
* the gradient against centered finite differences (``fovea.gradcheck``, relative error),
* the second derivative: the gradient of (grad · w) for a random w, computed through
  ``create_graph=True``, against PyTorch's double backward;
* on every extra registered device (``EXTRA_DEVICES``, the stand-in device of
  ``tests/backends/standin.py`` in the directories that ``tests/conftest.py`` lists): the
  result, the first and second order gradients and the accumulated ``.grad`` are on the
  input's device, of that device's array type (nothing silently turned into a NumPy array),
  and equal to the CPU's.

Layers use it as ops do: targets, class indices and constant weights are passed in
``arrays`` with ``grad_mask`` False (so they too go to each device), and a module is built
inside ``fv_fn`` from such arrays when it holds a constant tensor.
"""

from __future__ import annotations

import numpy as np
import pytest

import fovea
from fovea import backends

try:  # PyTorch is a test oracle only; the oracle parts skip without it.
    import torch
except ImportError:  # pragma: no cover - exercised on machines without torch
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch (the test oracle) is not installed")
"""Mark a test that compares with PyTorch directly (not through :func:`check_op`)."""

EXTRA_DEVICES: list[str] = []
"""Devices besides the CPU that :func:`check_op` also runs every op on (set per test by
``tests/conftest.py``)."""



def devices() -> list[str]:
    """Every registered device (the CPU first; the stand-in once ``tests/conftest.py`` has
    registered it): parametrize a test of something that is not an op (an initialiser,
    gradient clipping, a state dict) with it to run that on each device."""
    return [b.name for b in backends.registered()]


def to_device(a, device: str, requires_grad: bool = False):
    """A fovea tensor holding a copy of host array ``a`` on ``device``."""
    return fovea.tensor(backends.get(device).xp.asarray(np.asarray(a)), requires_grad=requires_grad)


FD_EPS = 1e-3  # with the fourth-order stencil: truncation O(h^4), rounding ~1e-13
FD_TOL = 1e-7  # the lectures' threshold for a correct gradient


def check_op(fv_fn, torch_fn, arrays, *, numpy_fn=None, grad_mask=None, rtol=1e-10,
             atol=1e-12, fd=True, second_order=True, seed=0, tol=None):
    """Compare ``fv_fn(*tensors)`` with ``torch_fn(*tensors)`` on float64 ``arrays``.

    Args:
        fv_fn / torch_fn: the op in fovea and in PyTorch, taking one tensor per array;
            ``torch_fn=None`` where PyTorch has no twin (a seeded random mask, a formula):
            then the forward is checked against ``numpy_fn`` and the gradients against
            finite differences only.
        arrays: float64 inputs (non-float arrays are passed without grad).
        numpy_fn: optional NumPy reference for the forward (used with or without torch).
        grad_mask: which inputs require grad (default: the floating ones).
        rtol / atol: the forward's tolerances (the gradients' are 100 times looser).
        fd: also check against finite differences.
        second_order: also check double backward against PyTorch.
        tol: tolerances per check, overriding those above: a dict with any of ``"forward"``,
            ``"grad"``, ``"second"`` (double backward), ``"device"`` (another device against
            the CPU), each ``(rtol, atol)``, and ``"fd"`` (the largest relative error
            against finite differences).
    """
    tols = _tolerances(rtol, atol, tol)
    rtol, atol = tols["forward"]
    rng = np.random.default_rng(seed)
    if grad_mask is None:
        grad_mask = [np.asarray(a).dtype.kind == "f" for a in arrays]
    fv_in = [fovea.tensor(a, requires_grad=m) for a, m in zip(arrays, grad_mask)]
    out = fv_fn(*fv_in)
    assert isinstance(out, fovea.Tensor)
    if numpy_fn is not None:
        expected = np.asarray(numpy_fn(*arrays))
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=rtol, atol=atol)
    for a, t in zip(arrays, fv_in):  # dtype is preserved (no silent upcast)
        if np.asarray(a).dtype.kind == "f":
            assert t.dtype == np.asarray(a).dtype
    has_grad = any(grad_mask) and out.requires_grad
    upstream = rng.standard_normal(out.shape)
    if torch is not None and torch_fn is not None:
        t_in = [torch.tensor(np.asarray(a), requires_grad=bool(m))
                for a, m in zip(arrays, grad_mask)]
        t_out = torch_fn(*t_in)
        np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), rtol=rtol,
                                   atol=atol)
        assert out.shape == tuple(t_out.shape)
        if has_grad and out.numel():
            _compare_grads(fv_in, out, t_in, t_out, upstream, grad_mask, rng, tols,
                           second_order)
    if fd and has_grad and out.numel():
        err = fovea.gradcheck(fv_fn, fv_in, eps=FD_EPS, seed=seed, stencil=4)
        assert err < tols["fd"], f"finite-difference relative error {err:.3g} >= {tols['fd']}"
    if EXTRA_DEVICES:
        on_cpu = _derivatives(fv_fn, arrays, grad_mask, upstream, seed, "cpu", second_order)
        for name in EXTRA_DEVICES:
            on_dev = _derivatives(fv_fn, arrays, grad_mask, upstream, seed, name, second_order)
            _compare_devices(on_cpu, on_dev, name, tols["device"])
    return out


def _tolerances(rtol, atol, tol):
    """The (rtol, atol) of each check, and the finite-difference bound: defaults, then ``tol``."""
    tols = {"forward": (rtol, atol), "grad": (rtol * 100, atol * 100), "second": (1e-8, 1e-10),
            "device": (1e-12, 1e-14), "fd": FD_TOL}
    unknown = set(tol or ()) - set(tols)
    if unknown:
        raise ValueError(f"check_op: unknown tolerance keys {sorted(unknown)}; known: "
                         f"{sorted(tols)}")
    tols.update(tol or {})
    return tols


def _derivatives(fv_fn, arrays, grad_mask, upstream, seed, device, second):
    """[out, first-order grads..., second-order grads..., accumulated .grad...] on ``device``
    (None where there is no gradient), computed from ``arrays`` copied to that device."""
    xp = backends.get(device).xp
    ins = [fovea.tensor(xp.asarray(np.asarray(a)), requires_grad=m)
           for a, m in zip(arrays, grad_mask)]
    assert all(t.device == device for t in ins)
    out = fv_fn(*ins)
    _check_on_device(out, device, "output")  # before anything else computes with it
    results = [("output", out)]
    req = [t for t, m in zip(ins, grad_mask) if m]
    if not (req and out.requires_grad and out.numel()):
        return results
    g_up = fovea.tensor(xp.asarray(upstream))
    grads = fovea.grad(out, req, g_up, create_graph=second, retain_graph=True,
                       allow_unused=True)
    results += [(f"gradient {i}", g) for i, g in enumerate(grads)]
    pairs = [g for g in grads if g is not None and g.requires_grad]
    if second and pairs:
        rng = np.random.default_rng(seed + 1)
        s = sum((g * fovea.tensor(xp.asarray(rng.standard_normal(g.shape)))).sum() for g in pairs)
        hess = fovea.grad(s, req, retain_graph=True, allow_unused=True)
        results += [(f"second-order gradient {i}", h) for i, h in enumerate(hess)]
    out.backward(g_up)
    results += [(f".grad of input {i}", t.grad) for i, t in enumerate(req)]
    return results


def _check_on_device(t, device, what):
    b = backends.get(device)
    assert backends.for_array(t._data) is b and isinstance(t._data, b.array_types), \
        f"{device}: {what} is a {type(t._data).__name__}, not a {device} array"
    assert t.device == device, f"{what} moved from {device} to {t.device}"


DEVICE_TOLERANCE_FLOOR = {"cuda": (1e-9, 1e-11)}
"""The loosest (rtol, atol) a device's float64 results are held to against the CPU's:
a GPU sums in another order (cuBLAS, parallel reductions)."""


def _compare_devices(on_cpu, on_dev, device, tols=(1e-12, 1e-14)):
    assert len(on_cpu) == len(on_dev)
    floor = DEVICE_TOLERANCE_FLOOR.get(device, (0.0, 0.0))
    tols = (max(tols[0], floor[0]), max(tols[1], floor[1]))
    to_host = backends.get(device).to_host
    for (what, ref), (_, t) in zip(on_cpu, on_dev):
        if ref is None or t is None:
            assert ref is None and t is None, f"{device}: {what} is None on one device only"
            continue
        _check_on_device(t, device, what)
        assert t.shape == ref.shape and t.dtype == ref.dtype, what
        np.testing.assert_allclose(to_host(t._data), np.asarray(ref._data), rtol=tols[0],
                                   atol=tols[1], err_msg=f"{device}: {what} differs from cpu")


def _compare_grads(fv_in, out, t_in, t_out, upstream, grad_mask, rng, tols, second):
    fv_req = [t for t, m in zip(fv_in, grad_mask) if m]
    t_req = [t for t, m in zip(t_in, grad_mask) if m]
    g_fv = fovea.grad(out, fv_req, fovea.tensor(upstream), create_graph=second,
                      allow_unused=True)
    g_t = torch.autograd.grad(t_out, t_req, torch.tensor(upstream), create_graph=second,
                              allow_unused=True)
    for a, b in zip(g_fv, g_t):
        if b is None:
            assert a is None or np.allclose(a.detach().numpy(), 0)
            continue
        assert a is not None, "fovea gave no gradient where PyTorch gave one"
        assert a.shape == tuple(b.shape)
        assert a.dtype == np.float64
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tols["grad"][0],
                                   atol=tols["grad"][1])
    if not second:
        return
    # Second order: d/dx of Σ w ⊙ grad(x), for a random w.
    pairs = [(a, b) for a, b in zip(g_fv, g_t) if a is not None and b is not None
             and a.requires_grad and b.requires_grad]
    if not pairs:
        return
    ws = [rng.standard_normal(a.shape) for a, _ in pairs]
    s_fv = sum((a * fovea.tensor(w)).sum() for (a, _), w in zip(pairs, ws))
    s_t = sum((b * torch.tensor(w)).sum() for (_, b), w in zip(pairs, ws))
    h_fv = fovea.grad(s_fv, fv_req, allow_unused=True)
    h_t = torch.autograd.grad(s_t, t_req, allow_unused=True)
    for a, b in zip(h_fv, h_t):
        if b is None:
            assert a is None or np.allclose(a.numpy(), 0, atol=1e-12)
            continue
        if a is None:
            np.testing.assert_allclose(b.numpy(), 0, atol=1e-10)
            continue
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tols["second"][0],
                                   atol=tols["second"][1])
