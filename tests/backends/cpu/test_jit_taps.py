"""The run-time generated convolution kernels (backends.cpu.llvm, backends.cpu.conv.jit_taps).

Two levels:

* the raw kernels against the formula they implement, evaluated with NumPy on random
  buffers and tap offsets, over blockings that exercise every code path (vector widths of
  512/256/128 bits, 1-4 vectors per tile, a channel tail in the weight gradient, row
  counts that are not a multiple of the tile, bias or not, float32/float64);
* whole convolutions (forward, input/weight/bias gradients) through ``F.conv2d`` against
  PyTorch, once with the kernels and once with them off (``config.override(jit=False)``,
  as ``FOVEA_JIT=0``: BLAS), checking that the
  kernels were really used.
"""

from __future__ import annotations

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from fovea import config
from fovea.backends.cpu import llvm as _llvm
from fovea.backends.cpu.conv import jit_taps as J
from fovea.backends.cpu.threads import parallel_for
from oracle import needs_torch, torch

pytestmark = pytest.mark.skipif(not _llvm.available(), reason="llvmlite is not usable here")


def _reference_forward(x, offs, wt, bias, rows):
    c = x.shape[1]
    y = np.zeros((rows, wt.shape[2]), dtype=np.float64)
    for t, off in enumerate(offs):
        y += x[off // c:off // c + rows].astype(np.float64) @ wt[t]
    return y if bias is None else y + bias


def _reference_wgrad(x, offs, g, rows):
    c = x.shape[1]
    return np.stack([x[off // c:off // c + rows].T.astype(np.float64) @ g[:rows]
                     for off in offs])


def _case(rng, dtype, c, o, taps, rows):
    total = rows + 40 + J.SLACK
    x = rng.standard_normal((total, c)).astype(dtype)
    offs = np.sort(rng.integers(0, 40, taps)).astype(np.int64) * c
    wt = rng.standard_normal((taps, c, o)).astype(dtype)
    return x, offs, wt


# (C, O): O picks the vector width and vectors per tile; C > 16 with a tail in the weight
# gradient's channel blocks; C = 3 like an RGB layer.
SHAPES = [(16, 16), (3, 32), (20, 16), (32, 32), (64, 64), (8, 48), (5, 8), (7, 4), (9, 12)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c,o", SHAPES)
def test_kernels_match_the_formula(dtype, c, o):
    rng = np.random.default_rng(c * 100 + o)
    taps, rows = 5, 1000 + c  # rows not a multiple of any tile
    x, offs, wt = _case(rng, dtype, c, o, taps, rows)
    bias = rng.standard_normal(o).astype(dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    for b in (None, bias):
        y = J.forward(x, offs, wt, b, rows, parallel_for)
        assert y.dtype == dtype and y.shape == (rows + J.SLACK, o)
        np.testing.assert_allclose(y[:rows], _reference_forward(x, offs, wt, b, rows), **tol)
    g = rng.standard_normal((rows, o)).astype(dtype)
    dw = J.grad_weight(x, offs, g, taps, rows, parallel_for)
    assert dw.dtype == dtype and dw.shape == (taps, c, o)
    np.testing.assert_allclose(dw, _reference_wgrad(x, offs, g, rows),
                               **(tol if dtype == np.float64 else dict(rtol=1e-4, atol=1e-3)))


def test_kernels_are_deterministic():
    rng = np.random.default_rng(7)
    x, offs, wt = _case(rng, np.float32, 16, 32, 9, 5000)
    g = rng.standard_normal((5000, 32)).astype(np.float32)
    a = J.grad_weight(x, offs, g, 9, 5000, parallel_for)
    b = J.grad_weight(x, offs, g, 9, 5000, parallel_for)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(J.forward(x, offs, wt, None, 5000, parallel_for)[:5000],
                                  J.forward(x, offs, wt, None, 5000, parallel_for)[:5000])


def test_forward_refuses_buffers_without_slack():
    rng = np.random.default_rng(3)
    x, offs, wt = _case(rng, np.float32, 16, 16, 3, 100)
    with pytest.raises(ValueError, match="slack"):
        J.forward(x[:100], offs, wt, None, 100, parallel_for)


def test_which_products_are_supported():
    assert J.supports(np.float32, 3, 32)
    assert J.supports(np.float64, 16, 4)
    assert not J.supports(np.float32, 16, 6)   # no vector width divides 6 channels
    assert not J.supports(np.float32, 16, 10)
    assert not J.supports(np.int64, 16, 16)
    assert J.lanes_for(np.float32, 12) == 4 and J.lanes_for(np.float64, 6) == 2
    assert J.lanes_for(np.float64, 5) == 0 and J.lanes_for(np.float32, 2) == 0


def test_jit_off_turns_the_kernels_off():
    with config.override(jit=False):
        assert not _llvm.available()
        assert not J.supports(np.float32, 16, 16)
    assert J.supports(np.float32, 16, 16)


# --- whole convolutions against PyTorch ------------------------------------------------------

CONVS = [  # (N, C, O, H, W, k, stride, padding, dilation, bias)
    (3, 16, 16, 10, 9, 3, 1, 1, 1, False),
    (2, 3, 32, 12, 12, 7, 1, 3, 1, True),     # the lectures' ConvNet layer
    (2, 16, 32, 9, 11, 3, 2, 1, 1, False),     # ResNet's downsampling conv (phases)
    (2, 8, 16, 8, 8, 3, 1, 2, 2, True),        # dilation
    (2, 12, 8, 7, 6, (3, 5), 1, (1, 2), 1, True),
    (1, 4, 24, 9, 9, 3, 3, 0, 1, False),
]


@pytest.fixture(params=["jit", "blas"])
def path(request):
    with config.override(jit=request.param == "jit"):
        yield request.param


@needs_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spec", CONVS, ids=lambda s: "-".join(map(str, s)))
def test_conv2d_matches_pytorch(path, dtype, spec):
    n, c, o, h, w, k, stride, padding, dilation, has_bias = spec
    kh, kw = (k, k) if isinstance(k, int) else k
    rng = np.random.default_rng(sum(map(hash, map(str, spec))) % 2**32)
    xv = rng.standard_normal((n, c, h, w)).astype(dtype)
    wv = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    bv = rng.standard_normal(o).astype(dtype) if has_bias else None
    J._cache.clear()
    x = fovea.tensor(xv, requires_grad=True)
    wt = fovea.tensor(wv, requires_grad=True)
    b = fovea.tensor(bv, requires_grad=True) if has_bias else None
    y = F.conv2d(x, wt, b, stride=stride, padding=padding, dilation=dilation)
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(fovea.tensor(gy))
    assert bool(J._cache) == (path == "jit")  # the kernels did (not) run

    tx = torch.tensor(xv, requires_grad=True)
    tw = torch.tensor(wv, requires_grad=True)
    tb = torch.tensor(bv, requires_grad=True) if has_bias else None
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=padding,
                                    dilation=dilation)
    ty.backward(torch.tensor(gy))
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == np.float64 else dict(rtol=2e-4, atol=2e-4)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)
    np.testing.assert_allclose(wt.grad.numpy(), tw.grad.numpy(), **tol)
    if has_bias:
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), **tol)
    assert y.dtype == x.grad.dtype == wt.grad.dtype == dtype


def test_without_llvmlite_fovea_falls_back_to_blas(tmp_path):
    """A machine where llvmlite (and so Numba) cannot be imported still trains: the
    convolution runs its BLAS path and gives the same numbers."""
    import subprocess
    import sys

    script = tmp_path / "no_llvm.py"
    script.write_text(
        "import sys\n"
        "sys.modules['llvmlite'] = None\n"  # makes `import llvmlite` raise ImportError
        "sys.modules['numba'] = None\n"
        "import numpy as np, fovea, fovea.nn.functional as F\n"
        "from fovea.backends.cpu import llvm as _llvm\n"
        "from fovea.backends.cpu.conv import jit_taps as J\n"
        "rng = np.random.default_rng(0)\n"
        "x = fovea.tensor(rng.standard_normal((2, 16, 8, 8)), requires_grad=True)\n"
        "w = fovea.tensor(rng.standard_normal((16, 16, 3, 3)), requires_grad=True)\n"
        "(F.conv2d(x, w, padding=1) ** 2).sum().backward()\n"
        "assert not _llvm.available() and not J._cache\n"
        "np.save(sys.argv[1], np.concatenate([x.grad.numpy().ravel(), w.grad.numpy().ravel()]))\n")
    out = tmp_path / "grads.npy"
    subprocess.run([sys.executable, str(script), str(out)], check=True)
    rng = np.random.default_rng(0)
    x = fovea.tensor(rng.standard_normal((2, 16, 8, 8)), requires_grad=True)
    w = fovea.tensor(rng.standard_normal((16, 16, 3, 3)), requires_grad=True)
    (F.conv2d(x, w, padding=1) ** 2).sum().backward()
    np.testing.assert_allclose(np.load(out), np.concatenate([x.grad.numpy().ravel(),
                                                             w.grad.numpy().ravel()]),
                               rtol=1e-10, atol=1e-10)
