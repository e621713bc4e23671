"""Batch norm's hot loops, in one place: the training-mode forward and its backward on raw
arrays, through Numba kernels when they apply and NumPy otherwise.

Interface::

    y, state = batch_norm_train(x, weight, bias, eps)   # x (N, C, *); weight, bias (C,) or None
    state.mean, state.var, state.count                  # batch statistics (C,), values/channel
    gx, dweight, dbias = state.backward(g, weight, need_x)   # gx None unless need_x

The op (:mod:`fovea.nn.functional.normalization`) keeps ``state`` on its node, updates the
running statistics from ``state.mean``/``state.var`` and writes the recorded
(``create_graph``) backward with its array namespace.

Formulas, with n values per channel, μ and σ² the batch mean and biased variance::

    y = (x - μ)·γσ⁻¹ + β
    dx = γσ⁻¹ (g - Σg/n - x̂ Σ(g x̂)/n),  dγ = Σ g x̂,  dβ = Σ g,  x̂ = (x - μ)σ⁻¹

Two paths, chosen once in the forward from the input's layout (see :mod:`.channels`):

* Numba (channels-last "rows" and :func:`.numba.enabled`): three compiled passes forward
  (mean, squared deviations, the affine map) and two backward (Σg and Σg·(x - μ) in one,
  then dx); statistics accumulate in float64 per thread; x - μ is not kept;
* NumPy: per-channel sums through :func:`.channels.channel_sum` / :func:`.channels.channel_dot`
  in the input's own layout; the centred input is kept for backward.

The Numba kernels take rows (A, B, L): the last axis holds k tiles of the C channels
(L = k·C, contiguous); per-column parameters are (L,) vectors, float64 for the reductions
(summed per thread into a (T, L) array that is added up here, so results do not depend on
scheduling) and in the data's dtype for the elementwise maps (half the vector work in
float32, PyTorch's precision).
"""

from __future__ import annotations

import numpy as np

from fovea.backends.cpu import channels as ch
from fovea.backends.cpu.layout import as_rows, rows_base
from fovea.backends.cpu.numba import enabled, kernel
from fovea.backends.cpu.threads import num_threads
from fovea.backends.generic.norm import backward_from_centred

prange = range  # replaced by numba.prange when a kernel is compiled


class BatchNormState:
    """What a training-mode batch norm's backward needs, and its batch statistics.

    Attributes:
        view: the input as a :class:`.channels.ChannelView`.
        count: n, values per channel.
        mean, var: batch mean and biased variance (C,) (float64 on the Numba path).
        inv_std: σ⁻¹ (C,).
        compiled: whether the Numba kernels run (forward and backward).
    """

    __slots__ = ("view", "count", "mean", "var", "inv_std", "compiled", "_xc", "_mean_t")

    def backward(self, g: np.ndarray, weight: np.ndarray | None, need_x: bool):
        """(dx or None, dγ, dβ) for upstream ``g`` (x's shape, any layout); dγ, dβ (C,)."""
        if self.compiled:
            return self._backward_compiled(g, weight, need_x)
        # NumPy fallback: the generic formula with the CPU's layout-aware channel sums.
        return backward_from_centred(ch, self.view, self._xc, self.count, self.inv_std, g,
                                     weight, need_x)

    def _backward_compiled(self, g, weight, need_x):
        """One compiled pass for Σg and Σg·(x - μ), one for
        dx = a·g - a·Σg/n - a·σ⁻²·(x - μ)·Σg(x - μ)/n with a = γσ⁻¹."""
        view, mean_t, n, inv_std = self.view, self._mean_t, self.count, self.inv_std
        x3, dtype = as_rows(view.a), view.a.dtype
        g3 = as_rows(view.like(g))
        sum_g, sum_gxc = (view.fold(s) for s in _col_grad_sums(g3, x3, mean_t))
        sum_gx = sum_gxc * inv_std  # Σ g·x̂
        gx = None
        if need_x:
            a = inv_std if weight is None else inv_std * weight
            per = view.per_channel
            gx = _col_bn_grad(g3, x3, mean_t.astype(dtype), per(a).astype(dtype),
                              per(-a * sum_g / n).astype(dtype),
                              per(-a * inv_std * sum_gx / n).astype(dtype))
            gx = view.restore(gx.reshape(view.a.shape))
        return gx, sum_gx.astype(dtype), sum_g.astype(dtype)


def batch_norm_train(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                     eps: float):
    """y = (x - μ)·γσ⁻¹ + β with the batch statistics of ``x`` (N, C, *), in x's layout.

    Returns:
        (y, :class:`BatchNormState`).
    """
    view = ch.view(x)
    state = BatchNormState()
    state.view, state.count = view, view.count
    state.compiled = view.kind == "rows" and enabled(view.a)
    if state.compiled:
        return _forward_compiled(state, weight, bias, eps), state
    n = view.count
    mean = ch.channel_sum(view) / n
    xc = view.a - view.per_channel(mean)
    var = ch.channel_dot(view, xc, xc) / n
    inv_std = 1.0 / np.sqrt(var + eps)
    scale = inv_std * weight if weight is not None else inv_std
    out = xc * view.per_channel(scale)
    if bias is not None:
        out += view.per_channel(bias)
    state.mean, state.var, state.inv_std, state._xc, state._mean_t = mean, var, inv_std, xc, None
    return view.restore(out), state


def _forward_compiled(state: BatchNormState, weight, bias, eps) -> np.ndarray:
    """Three compiled passes over a channels-last input: the mean, the squared deviations,
    y = (x - μ)·γσ⁻¹ + β. Statistics in float64; the centred input is not kept (backward
    recomputes x - μ in its passes)."""
    view, n = state.view, state.count
    x3 = as_rows(view.a)
    mean = view.fold(_col_sums(x3)) / n
    mean_t = view.per_channel(mean)
    var = view.fold(_col_sq_devs(x3, mean_t)) / n
    inv_std = 1.0 / np.sqrt(var + eps)
    scale = inv_std * weight if weight is not None else inv_std
    shift = bias if bias is not None else np.zeros_like(mean)
    # The elementwise pass runs in the input's precision (as PyTorch's does): float32
    # parameters halve its vector work; the statistics above stay float64.
    dt = view.a.dtype
    out = _col_affine(x3, mean_t.astype(dt), view.per_channel(scale.astype(dt)),
                      view.per_channel(np.asarray(shift, dtype=dt)))
    state.mean, state.var, state.inv_std, state._xc, state._mean_t = mean, var, inv_std, None, \
        mean_t
    return view.restore(out.reshape(view.a.shape))


# --- per-channel reductions and affine maps on rows (A, B, L) -------------------------------

@kernel
def _k_col_sums(x, b, l, shift, part):
    """part[t] = Σ over thread t's rows of (x - shift); part (T, L) zeros."""
    rows = x.shape[0] * b
    nt = part.shape[0]
    for t in prange(nt):
        for r in range(t * rows // nt, (t + 1) * rows // nt):
            i, j = r // b, r % b
            for k in range(l):
                part[t, k] += x[i, j, k] - shift[k]


@kernel
def _k_col_sq_devs(x, b, l, mean, part):
    """part[t] = Σ over thread t's rows of (x - mean)²."""
    rows = x.shape[0] * b
    nt = part.shape[0]
    for t in prange(nt):
        for r in range(t * rows // nt, (t + 1) * rows // nt):
            i, j = r // b, r % b
            for k in range(l):
                d = x[i, j, k] - mean[k]
                part[t, k] += d * d


@kernel
def _k_col_grad_sums(g, x, b, l, mean, part_g, part_gx):
    """part_g[t] = Σ g and part_gx[t] = Σ g·(x - mean) over thread t's rows."""
    rows = x.shape[0] * b
    nt = part_g.shape[0]
    for t in prange(nt):
        for r in range(t * rows // nt, (t + 1) * rows // nt):
            i, j = r // b, r % b
            for k in range(l):
                gv = g[i, j, k]
                part_g[t, k] += gv
                part_gx[t, k] += gv * (x[i, j, k] - mean[k])


@kernel
def _k_col_affine(x, b, l, mean, scale, shift, out):
    """out = (x - mean)·scale + shift, per column."""
    for r in prange(x.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            out[i, j, k] = (x[i, j, k] - mean[k]) * scale[k] + shift[k]


@kernel
def _k_col_bn_grad(g, x, b, l, mean, c_g, c_0, c_x, out):
    """out = c_g·g + c_0 + c_x·(x - mean), per column (batch norm's input gradient)."""
    for r in prange(x.shape[0] * b):
        i, j = r // b, r % b
        for k in range(l):
            out[i, j, k] = c_g[k] * g[i, j, k] + c_0[k] + c_x[k] * (x[i, j, k] - mean[k])


def _partials(width: int, n: int = 1) -> list[np.ndarray]:
    t = max(1, num_threads()) * 4
    return [np.zeros((t, width)) for _ in range(n)]


def _col_sums(x3: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
    """Σ over rows of (x - shift), float64 (L,)."""
    (part,) = _partials(x3.shape[-1])
    shift = np.zeros(x3.shape[-1]) if shift is None else shift
    _k_col_sums(rows_base(x3), x3.shape[1], x3.shape[2], shift, part)
    return part.sum(0)


def _col_sq_devs(x3: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Σ over rows of (x - mean)², float64 (L,)."""
    (part,) = _partials(x3.shape[-1])
    _k_col_sq_devs(rows_base(x3), x3.shape[1], x3.shape[2], mean, part)
    return part.sum(0)


def _col_grad_sums(g3: np.ndarray, x3: np.ndarray, mean: np.ndarray):
    """(Σ g, Σ g·(x - mean)) over rows, float64 (L,) each; g3 and x3 of one shape."""
    pg, pgx = _partials(x3.shape[-1], 2)
    _k_col_grad_sums(rows_base(g3), rows_base(x3), x3.shape[1], x3.shape[2], mean, pg, pgx)
    return pg.sum(0), pgx.sum(0)


def _col_affine(x3: np.ndarray, mean, scale, shift) -> np.ndarray:
    """(x - mean)·scale + shift as a new C-contiguous array of x3's shape and dtype."""
    out = np.empty(x3.shape, dtype=x3.dtype)
    _k_col_affine(rows_base(x3), x3.shape[1], x3.shape[2], mean, scale, shift, out)
    return out


def _col_bn_grad(g3, x3, mean, c_g, c_0, c_x) -> np.ndarray:
    """c_g·g + c_0 + c_x·(x - mean) as a new C-contiguous array of x3's shape."""
    out = np.empty(x3.shape, dtype=x3.dtype)
    _k_col_bn_grad(rows_base(g3), rows_base(x3), x3.shape[1], x3.shape[2], mean, c_g, c_0, c_x,
                   out)
    return out
