"""The CPU backend's plumbing: per-channel views, layout-following allocation, and the
process tuning done at import (malloc thresholds, OpenBLAS's idle threads)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import fovea
from fovea import config
from fovea.backends import CPU_NS
from fovea.backends.cpu import channels as ch
from fovea.backends.cpu import elementwise, process_tuning
from fovea.backends.cpu import layout as _layout


def _channels_last(a):
    """The same values as ``a`` (N, C, *) with channels-last memory."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1)).transpose(0, a.ndim - 1,
                                                                 *range(1, a.ndim - 1))


# --- per-channel views ---------------------------------------------------------------------

def test_channel_views_reduce_like_numpy_and_restore_the_shape():
    rng = np.random.default_rng(4)
    for x in (rng.standard_normal((4, 6)), rng.standard_normal((3, 5, 7)),
              _channels_last(rng.standard_normal((8, 16, 4, 4))),
              rng.standard_normal((3, 6, 5, 5)), rng.standard_normal((3, 12, 5, 5))[:, ::2]):
        axes = (0,) + tuple(range(2, x.ndim))
        v = ch.view(x)
        np.testing.assert_allclose(ch.channel_sum(v), x.sum(axis=axes), rtol=1e-12)
        np.testing.assert_allclose(ch.channel_dot(v, v.a, v.a), (x * x).sum(axis=axes),
                                   rtol=1e-12)
        np.testing.assert_array_equal(v.restore(v.a), x)
        other = np.ascontiguousarray(x) if not x.flags.c_contiguous else \
            (_channels_last(x) if x.ndim > 2 else x)
        np.testing.assert_array_equal(v.restore(v.like(other)), x)



# --- layouts -------------------------------------------------------------------------------

def test_layout_empty_follows_the_axis_order_of_its_model():
    like = _channels_last(np.zeros((2, 3, 4, 5)))
    e = _layout.empty((3, 4, 5, 6), like)
    assert e.shape == (3, 4, 5, 6) and _layout.axis_order(e) == (0, 2, 3, 1)
    assert _layout.empty((2, 2), like).flags.c_contiguous  # other rank: C order
    assert not _layout.zeros((3, 4, 5, 6), like).any()


# --- malloc tuning -------------------------------------------------------------------------

def test_malloc_tuning_is_on_by_default_on_linux_and_can_be_turned_off():
    code = ("import fovea; from fovea.backends.cpu import process_tuning as m; "
            "print(m.malloc_tuned())")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    on = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    env["FOVEA_MALLOC_TUNING"] = "0"
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert off.stdout.strip() == "False"
    if sys.platform.startswith("linux") and process_tuning.malloc_tuned():
        assert on.stdout.strip() == "True"


# --- OpenBLAS worker timeout ---------------------------------------------------------------

_TIMEOUT_CODE = """
import ctypes, os
{first}
import threadpoolctl
libs = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"]
seen = ctypes.CDLL(libs[0]["filepath"]).openblas_thread_timeout() if libs else "none"
print(os.environ.get("OPENBLAS_THREAD_TIMEOUT"), seen)
"""


@pytest.mark.parametrize("first, env, want_var, want_seen", [
    ("import fovea, numpy", {}, "20", "20"),        # fovea first: OpenBLAS reads 20
    ("import numpy, fovea", {}, "None", "0"),       # NumPy first: too late, left alone
    ("import fovea, numpy", {"FOVEA_BLAS_TUNING": "0"}, "None", "0"),
    ("import fovea, numpy", {"OPENBLAS_THREAD_TIMEOUT": "6"}, "6", "6"),  # user's value kept
])
def test_openblas_thread_timeout_is_set_before_numpy_loads(first, env, want_var, want_seen):
    pytest.importorskip("threadpoolctl")
    base = {k: v for k, v in os.environ.items()
            if k not in ("OPENBLAS_THREAD_TIMEOUT", "FOVEA_BLAS_TUNING")}
    base.update(env, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", _TIMEOUT_CODE.format(first=first)], env=base,
                         capture_output=True, text=True, check=True).stdout.split()
    if out[1] == "none":
        pytest.skip("NumPy is not linked against OpenBLAS here")
    assert out == [want_var, want_seen]


# --- ops keep the layout of their inputs (ReLU, pad, scatter, flatten) ----------------------

@pytest.mark.parametrize("case", ["same", "mixed", "broadcast", "small"])
def test_relu_grad_in_any_layout_equals_the_plain_product(case):
    """NumPy's pass (kernels off): the result takes g's layout, or the mask's for a broadcast g."""
    rng = np.random.default_rng(5)
    shape = (2, 3, 4, 5) if case == "small" else (8, 16, 16, 16)
    out = np.maximum(_channels_last(rng.standard_normal(shape)), 0)
    g = rng.standard_normal(shape)
    if case == "same":
        g = _channels_last(g)
    elif case == "broadcast":
        g = np.broadcast_to(rng.standard_normal(shape[:2] + (1, 1)), shape)
    with config.override(jit=False):
        got = elementwise.relu_grad(out, g)
    np.testing.assert_array_equal(got, g * (out > 0))
    expected_order = _layout.axis_order(out) if case == "broadcast" else _layout.axis_order(
        np.empty_like(g))
    assert _layout.axis_order(got) == expected_order


def test_pad_keeps_channels_last_layout_and_its_gradient():
    rng = np.random.default_rng(10)
    x = _channels_last(rng.standard_normal((2, 3, 4, 5)))
    out = fovea.pad(fovea.tensor(x), (1, 2, 0, 1, 2, 2))
    np.testing.assert_array_equal(out.numpy(), np.pad(x, ((0, 0), (2, 2), (0, 1), (1, 2))))
    assert _layout.axis_order(out.numpy()) == _layout.axis_order(x)
    t = fovea.tensor(x, requires_grad=True)
    g = rng.standard_normal(out.shape)
    fovea.pad(t, (1, 2, 0, 1, 2, 2)).backward(fovea.tensor(g))
    np.testing.assert_array_equal(t.grad.numpy(), g[:, 2:5, 0:4, 1:6])


def test_scatter_gradient_of_a_strided_index_follows_the_gradient_layout():
    rng = np.random.default_rng(11)
    values = _channels_last(rng.standard_normal((2, 3, 2, 2)))
    key = (slice(None), slice(None), slice(None, None, 2), slice(None, None, 2))
    out = CPU_NS.scatter_add_zeros((2, 3, 4, 4), key, values)
    expected = np.zeros((2, 3, 4, 4))
    expected[key] = values
    np.testing.assert_array_equal(out, expected)
    assert _layout.axis_order(out) == _layout.axis_order(values)


def test_flatten_of_a_channels_last_input_returns_its_gradient_in_that_layout():
    rng = np.random.default_rng(12)
    x = _channels_last(rng.standard_normal((4, 16, 32, 32)))
    t = fovea.tensor(x, requires_grad=True)
    g = rng.standard_normal((4, 16 * 32 * 32))
    t.flatten(1).backward(fovea.tensor(g))
    np.testing.assert_array_equal(t.grad.numpy(), g.reshape(x.shape))
    assert _layout.axis_order(t.grad.numpy()) == (0, 2, 3, 1)
