"""The convolution kernels' plumbing: in-place accumulating gemm, thread splitting, layouts."""

from __future__ import annotations

import numpy as np
import pytest

from fovea.backends.conv_geometry import Geometry
from fovea.backends.cpu import blas as _blas
from fovea.backends.cpu import threads
from fovea.backends.cpu.conv import taps as _taps


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_accumulates_in_place_on_strided_views(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((40, 30)).astype(dtype)
    b = rng.standard_normal((12, 20)).astype(dtype)
    c = rng.standard_normal((40, 50)).astype(dtype)
    before = c.copy()
    view_a, view_c = a[:, 5:17], c[:, 10:30]  # strided rows, a column block
    _blas.gemm(view_a, b, view_c, accumulate=True)
    want = before.copy()
    want[:, 10:30] += a[:, 5:17] @ b
    np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    _blas.gemm(b.T, view_a.T, c[:20, :40], accumulate=False)  # transposed operands
    np.testing.assert_allclose(c[:20, :40], b.T @ a[:, 5:17].T,
                               rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert c.dtype == dtype


def test_gemm_falls_back_for_other_dtypes():
    a = np.arange(6, dtype=np.float16).reshape(2, 3)
    b = np.ones((3, 2), dtype=np.float16)
    c = np.ones((2, 2), dtype=np.float16)
    _blas.gemm(a, b, c, accumulate=True)
    np.testing.assert_array_equal(c, a @ b + 1)


def test_parallel_for_covers_the_range_in_order_and_restores_blas_threads():
    before = _blas.get_num_threads()
    seen = threads.parallel_for(lambda i, j: (i, j), 1000, 10)
    assert seen[0][0] == 0 and seen[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(seen, seen[1:]))
    assert _blas.get_num_threads() == before


def test_parallel_for_propagates_errors_and_runs_nested_calls_serially():
    def boom(i, j):
        raise ValueError("inside a worker")

    with pytest.raises(ValueError, match="inside a worker"):
        threads.parallel_for(boom, 1000, 10)

    def outer(i, j):
        return threads.parallel_for(lambda a, b: (a, b), 100, 1)

    for inner in threads.parallel_for(outer, 1000, 10):
        assert inner == [(0, 100)]  # nested: one serial chunk


@pytest.mark.parametrize("geo,hw", [
    (Geometry(3, 3, 1, 1, 1, 1, 1, 1, 1, 1), (5, 6)),
    (Geometry(3, 2, 2, 3, 1, 1, 1, 0, 2, 1), (7, 8)),
    (Geometry(3, 3, 1, 1, 2, 2, 2, 2, 2, 2), (6, 6)),
])
def test_flat_layout_reads_zeros_outside_the_image(geo, hw):
    """Every tap of every real output reads the padded input, never a neighbour's pixels."""
    rng = np.random.default_rng(1)
    n, c = 2, 3
    x = rng.standard_normal((n, *hw, c))
    ho, wo = geo.out_size(*hw)
    plan = _taps.Grid(geo, n, *hw, ho, wo)
    bufs = plan.buffers(x)
    xp = np.zeros((n, hw[0] + geo.pt + geo.pb + geo.sh, hw[1] + geo.pl + geo.pr + geo.sw, c))
    xp[:, geo.pt:geo.pt + hw[0], geo.pl:geo.pl + hw[1]] = x
    for t, (ph, off) in enumerate(plan.taps):
        r, s = divmod(t, geo.kw)
        got = plan.grid_view(bufs[ph, off:off + plan.length])
        want = xp[:, r * geo.dh:r * geo.dh + geo.sh * (ho - 1) + 1:geo.sh,
                  s * geo.dw:s * geo.dw + geo.sw * (wo - 1) + 1:geo.sw]
        np.testing.assert_array_equal(got, want)
