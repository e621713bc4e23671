"""The convolution weight in the layouts the shifted-product kernels use, and back.

The kernels of :mod:`.taps` multiply by one (C, O) matrix per kernel tap, so a weight
(O, C, kh, kw) is copied to (T, C, O) with T = kh·kw taps before a forward pass, to
(T, O, C) (the product with O and C swapped) before an input gradient, and a weight gradient
comes back from (T, C, O) to (O, C, kh, kw). NumPy's strided copies of these permutations
run far below memory speed on large weights (ResNet-18's 512×512×3×3: about a sixth of a
training step went to them); on large weights the compiled loops below are faster and use
every core.

Interface (each returns a new C-contiguous array)::

    to_taps(weight, flip=False)             # (O, C, kh, kw) -> (T, C, O)
    to_taps_transposed(weight, flip=False)  # (O, C, kh, kw) -> (T, O, C)
    from_taps(dw, kh, kw)                   # (T, C, O) -> (O, C, kh, kw)

``flip``: the kernel rotated by 180° (``weight[:, :, ::-1, ::-1]``, whose flattened tap
order is the reverse of the weight's), as the input gradient of a stride-1 convolution
uses. NumPy does the copy when the compiled kernels are off or the weight is small.
"""

from __future__ import annotations

import numpy as np

from fovea.backends.cpu.numba import enabled, kernel

__all__ = ["to_taps", "to_taps_transposed", "from_taps"]

prange = range  # replaced by numba.prange when a kernel is compiled

# Loop orders measured fastest among several (ResNet-18's 512×512×3×3, one thread, a quiet
# core): the innermost loop runs over 16 output channels, contiguous in the (T, C, O)
# layout, and the tap loop sits just outside it. to_taps: 3.1-4.6 ms (NumPy's one strided
# copy 4.5-5.0 ms, its two copies 7.5); from_taps: 2.8-3.6 ms (NumPy 9.5-10.4). The
# transposed layout keeps NumPy's copy (1.1 ms: a short-stride read, contiguous writes).

@kernel
def _to_taps(w, flip, out):
    o_n, c_n, t_n = w.shape
    for c in prange(c_n):
        for o0 in range(0, o_n, 16):
            o1 = min(o0 + 16, o_n)
            for t in range(t_n):
                d = t_n - 1 - t if flip else t
                for o in range(o0, o1):
                    out[d, c, o] = w[o, c, t]


@kernel
def _from_taps(dw, out):
    t_n, c_n, o_n = dw.shape
    for c in prange(c_n):
        for o0 in range(0, o_n, 16):
            o1 = min(o0 + 16, o_n)
            for t in range(t_n):
                for o in range(o0, o1):
                    out[o, c, t] = dw[t, c, o]


# The compiled copies win on large weights only (launch and thread start-up cost more than
# NumPy's copy below this size), and from_taps's loop order suits kernels of up to 3×3.
LARGE = 1 << 18


def to_taps(weight: np.ndarray, flip: bool = False) -> np.ndarray:
    """(O, C, kh, kw) -> (kh·kw, C, O): the matrix each tap multiplies by."""
    o, c, kh, kw = weight.shape
    if weight.size >= LARGE and enabled(weight) and weight.flags.c_contiguous:
        out = np.empty((kh * kw, c, o), dtype=weight.dtype)
        _to_taps(weight.reshape(o, c, kh * kw), flip, out)
        return out
    w = weight[:, :, ::-1, ::-1] if flip else weight
    if kh * kw <= 9:
        return np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(kh * kw, c, o)
    # larger kernels: two copies (taps first, then a transpose per tap) measured faster
    # (DCGAN's 128x64x4x4: 0.13 vs 0.36 ms)
    per_tap = np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(kh * kw, o, c)
    return np.ascontiguousarray(per_tap.transpose(0, 2, 1))


def to_taps_transposed(weight: np.ndarray, flip: bool = False) -> np.ndarray:
    """(O, C, kh, kw) -> (kh·kw, O, C): the tap matrices of the weight with O and C swapped."""
    o, c, kh, kw = weight.shape
    w = weight[:, :, ::-1, ::-1] if flip else weight
    return np.ascontiguousarray(w.transpose(2, 3, 0, 1)).reshape(kh * kw, o, c)


def from_taps(dw: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """(kh·kw, C, O) -> (O, C, kh, kw): a weight gradient in the weight's layout."""
    t, c, o = dw.shape
    if t <= 9 and dw.size >= LARGE and enabled(dw) and dw.flags.c_contiguous:
        out = np.empty((o, c, kh, kw), dtype=dw.dtype)
        _from_taps(dw, out.reshape(o, c, t))
        return out
    return np.ascontiguousarray(dw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1))
