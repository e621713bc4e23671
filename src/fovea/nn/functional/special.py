"""The error function ``erf`` and its complement ``erfc``, with the NumPy API only (no SciPy).

The arrays are evaluated on their own device, with their array module, by W. J. Cody's
rational Chebyshev approximations (Math. Comp. 23, 1969), the method behind most C
libraries' ``erf``: three ranges of ``|x|`` (≤ 0.46875, ≤ 4, > 4), each a ratio of two
polynomials, and ``exp(-x²)`` split in two factors so that it keeps full precision. The
relative error is a few units in the last place of float64 (tested against
:func:`math.erf` / :func:`math.erfc`).
"""

from __future__ import annotations

import math

from fovea import backends
from fovea.autograd import Function
from fovea.ops._util import as_tensor, require_float

# erf(x) = x · A(x²) / B(x²) for |x| ≤ 0.46875.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)
# erfc(y) = exp(-y²) · C(y) / D(y) for 0.46875 < y ≤ 4.
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)
# erfc(y) = exp(-y²) / y · (1/√π + z · P(z) / Q(z)), z = 1/y², for y > 4.
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)
_INV_SQRT_PI = 5.6418958354775628695e-1
_SMALL, _MID = 0.46875, 4.0
# erfc(y) underflows to 0 in float64 beyond y ≈ 27.3; clipping there keeps inf finite-safe.
_HUGE = 30.0


def _erf_small(x):
    """erf on |x| ≤ 0.46875."""
    z = x * x
    num, den = _A[4] * z, z
    for i in range(3):
        num = (num + _A[i]) * z
        den = (den + _B[i]) * z
    return x * (num + _A[3]) / (den + _B[3])


def _exp_neg_sq(xp, y):
    """exp(-y²) computed as exp(-t²) · exp(-(y - t)(y + t)), t = y rounded down to 1/16."""
    t = xp.trunc(y * 16.0) / 16.0
    return xp.exp(-t * t) * xp.exp(-(y - t) * (y + t))


def _erfc_mid(xp, y):
    """erfc on 0.46875 < y ≤ 4."""
    num, den = _C[8] * y, y
    for i in range(7):
        num = (num + _C[i]) * y
        den = (den + _D[i]) * y
    return _exp_neg_sq(xp, y) * (num + _C[7]) / (den + _D[7])


def _erfc_large(xp, y):
    """erfc on y > 4."""
    y = xp.minimum(y, _HUGE)
    z = 1.0 / (y * y)
    num, den = _P[5] * z, z
    for i in range(4):
        num = (num + _P[i]) * z
        den = (den + _Q[i]) * z
    r = z * (num + _P[4]) / (den + _Q[4])
    return _exp_neg_sq(xp, y) * (_INV_SQRT_PI - r) / y


def _erfc_abs(xp, y, out):
    """Write erfc(y) for y = |x| > 0.46875 into ``out`` (entries where y ≤ 0.46875 untouched)."""
    mid = (y > _SMALL) & (y <= _MID)
    if mid.any():
        out[mid] = _erfc_mid(xp, y[mid])
    big = y > _MID
    if big.any():
        out[big] = _erfc_large(xp, y[big])
    return mid | big


def _float64(x):
    """(array module, x in float64, the result dtype: x's floating dtype, else float64)."""
    xp = backends.for_array(x).xp
    dtype = x.dtype if x.dtype.kind == "f" else xp.dtype(xp.float64)
    return xp, x.astype(xp.float64, copy=False), dtype


def erf_array(x):
    """erf(x) on a raw array of any device (computed in float64, returned in ``x``'s
    floating dtype, on ``x``'s device)."""
    xp, x64, dtype = _float64(x)
    y = xp.abs(x64)
    out = xp.full(x64.shape, xp.nan)
    small = y <= _SMALL
    out[small] = _erf_small(x64[small])
    tail = xp.empty_like(out)
    far = _erfc_abs(xp, y, tail)
    out[far] = xp.copysign(1.0 - tail[far], x64[far])
    return out.astype(dtype, copy=False)


def erfc_array(x):
    """erfc(x) = 1 - erf(x) on a raw array of any device, accurate also where erf(x) is
    close to 1."""
    xp, x64, dtype = _float64(x)
    y = xp.abs(x64)
    out = xp.full(x64.shape, xp.nan)
    small = y <= _SMALL
    out[small] = 1.0 - _erf_small(x64[small])
    tail = xp.empty_like(out)
    far = _erfc_abs(xp, y, tail)
    out[far] = xp.where(x64[far] < 0, 2.0 - tail[far], tail[far])
    return out.astype(dtype, copy=False)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Function):
    """erf(x); d/dx erf(x) = 2/√π · exp(-x²) (written with ``ctx.xp``: twice differentiable)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erf_array(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (_TWO_OVER_SQRT_PI * ctx.xp.exp(-(x * x)))


class Erfc(Function):
    """erfc(x) = 1 - erf(x); d/dx erfc(x) = -2/√π · exp(-x²)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return erfc_array(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (-_TWO_OVER_SQRT_PI * ctx.xp.exp(-(x * x)))


def erf(x):
    """The error function erf(x) = 2/√π ∫₀ˣ e^(-t²) dt, elementwise: (*) -> (*).

    Args:
        x: a floating tensor of any shape.
    """
    x = as_tensor(x, op="erf")
    require_float(x, "erf")
    return Erf.apply(x)


def erfc(x):
    """The complementary error function 1 - erf(x), elementwise and accurate for large x.

    Args:
        x: a floating tensor of any shape.
    """
    x = as_tensor(x, op="erfc")
    require_float(x, "erfc")
    return Erfc.apply(x)
