"""The weight layouts of the shifted-product convolution (backends/cpu/conv/weights.py):
the compiled copies equal NumPy's transposes, flipped or not, large and small."""

import numpy as np
import pytest

from fovea import config
from fovea.backends.cpu.conv import weights as W


@pytest.mark.parametrize("jit", [True, False])
# (192, 160, 3, 3) and (128, 128, 4, 4) reach the compiled copies (W.LARGE values)
@pytest.mark.parametrize("shape", [(192, 160, 3, 3), (128, 128, 4, 4), (70, 33, 3, 3), (2, 3, 2, 2),
                                   (64, 1, 4, 4), (40, 24, 1, 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tap_layouts_equal_numpy_transposes(jit, shape, dtype):
    assert np.prod((192, 160, 3, 3)) >= W.LARGE  # the kernels' path is among the cases
    rng = np.random.default_rng(0)
    w = rng.standard_normal(shape).astype(dtype)
    o, c, kh, kw = shape
    with config.override(jit=jit):
        for flip in (False, True):
            src = w[:, :, ::-1, ::-1] if flip else w
            taps = src.transpose(2, 3, 1, 0).reshape(kh * kw, c, o)  # [t, c, o] = w[o, c, t]
            got = W.to_taps(w, flip)
            np.testing.assert_array_equal(got, taps)
            assert got.flags.c_contiguous and got.dtype == dtype
            got_t = W.to_taps_transposed(w, flip)
            np.testing.assert_array_equal(got_t, taps.transpose(0, 2, 1))
            assert got_t.flags.c_contiguous
        back = W.from_taps(np.ascontiguousarray(taps_of(w)), kh, kw)
        np.testing.assert_array_equal(back, w)
        assert back.flags.c_contiguous


def taps_of(w):
    o, c, kh, kw = w.shape
    return w.transpose(2, 3, 1, 0).reshape(kh * kw, c, o)
