"""Convolution as a sum of shifted matrix products over a flat, padded image batch.

The idea (for stride 1): lay the zero-padded NHWC batch out as one long (L, C) matrix, rows
ordered (image, row, column). Moving a window by one kernel tap (r, s) is then a constant
shift of the row index, ``r·D·P + s·D`` for a row pitch P, so the whole convolution is::

    Y[q] = Σ_taps X[q + offset_tap] @ W_tap          (L, C) @ (C, O), one product per tap

computed for every q of an output grid with the same pitch, of which the positions that are
not real outputs (the padding columns and rows) are simply not read. No patch matrix is
built: each tap is a contiguous slice of X, and BLAS accumulates the kh·kw products into one
buffer (``beta = 1``). Padding columns are shared between neighbouring rows (and padding
rows between neighbouring images), which keeps the wasted part of the grid small.

A stride S > 1 is reduced to stride 1 by splitting the padded input into its S_h·S_w
*phases* (rows ≡ a mod S_h, columns ≡ b mod S_w): tap (r, s) reads phase
((r·D_h) mod S_h, (s·D_w) mod S_w) shifted by ((r·D_h) div S_h, (s·D_w) div S_w).

The weight gradient is one (C × L)·(L × O) product per tap over the same slices; the input
gradient of a stride-1 convolution is a stride-1 convolution of the gradient with the
flipped kernel, and for a stride S it is computed phase by phase of the input.

All arrays are channels-last: x (N, H, W, C), y and g (N, Ho, Wo, O); weight (O, C, kh, kw).
Each product is a BLAS call per tap, or with ``jit=True`` (decided by the caller's plan,
:mod:`.plan`) one call of the generated kernels of :mod:`.jit_taps` over all taps.
"""

from __future__ import annotations

import numpy as np

from fovea.backends.conv_geometry import Geometry
from fovea.backends.cpu.blas import gemm
from fovea.backends.cpu.conv import jit_taps as J
from fovea.backends.cpu.conv import weights as W
from fovea.backends.cpu.conv.im2col import fill_rows
from fovea.backends.cpu.threads import parallel_for

# Rows of the grid per block in the weight gradient: the block's slices of X and G stay in
# cache across all kh·kw taps instead of streaming from memory once per tap (measured: 1 MiB
# blocks beat both 256 KiB and no blocking), and blocks are shared among threads, because
# BLAS parallelises these (C × rows)·(rows × O) products poorly. The forward products run
# unblocked per thread chunk (larger calls measured faster). All products run in row chunks
# on our threads with single-threaded BLAS (see threads.py: robust when cores are shared).
BLOCK_BYTES = 2**20


def _block_rows(*channels: int) -> int:
    """Rows per block: about BLOCK_BYTES of float32, a multiple of 1024 when large."""
    rows = max(256, BLOCK_BYTES // (4 * sum(channels)))
    return rows - rows % 1024 if rows > 1024 else rows


def _per_image(n: int, fn) -> None:
    """Run fn(first_image, stop_image) for the batch split across threads."""
    parallel_for(fn, n, 1)


class Grid:
    """Where each tap reads in the flat buffers, and the output grid, for one convolution.

    Attributes:
        phases: number of flat input buffers (S_h·S_w).
        pitch, rows: row pitch P and rows per image R of the output grid (and the buffers).
        length: L = N·R·P, the number of grid positions (rows of Y).
        taps: per kernel tap (r, s), row-major: (buffer index, row offset).
        total: rows of each input buffer (with :data:`.jit_taps.SLACK` rows to spare, which
            the compiled kernels' whole tiles may read).
    """

    def __init__(self, g: Geometry, n: int, h: int, w: int, ho: int, wo: int):
        self.g, self.n, self.h, self.w, self.ho, self.wo = g, n, h, w, ho, wo
        if g.sh == 1 and g.sw == 1:
            # One buffer; padding shared between neighbours: gap = max(before, after).
            self.phases = 1
            self.pitch = w + max(g.pl, g.pr, wo - w, 0)
            self.rows = h + max(g.pt, g.pb, ho - h, 0)
            self.origin = g.pt * self.pitch + g.pl
            self.taps = [(0, r * g.dh * self.pitch + s * g.dw)
                         for r in range(g.kh) for s in range(g.kw)]
        else:
            # Explicitly padded phases; each phase image is rows x pitch.
            qh, qw = (g.kh - 1) * g.dh // g.sh, (g.kw - 1) * g.dw // g.sw
            hp, wp = h + g.pt + g.pb, w + g.pl + g.pr
            self.phases = g.sh * g.sw
            self.pitch = max(-(-wp // g.sw), wo + qw)
            self.rows = max(-(-hp // g.sh), ho + qh)
            self.origin = 0
            self.taps = []
            for r in range(g.kh):
                for s in range(g.kw):
                    (qr, a), (qs, b) = divmod(r * g.dh, g.sh), divmod(s * g.dw, g.sw)
                    self.taps.append((a * g.sw + b, qr * self.pitch + qs))
        self.length = n * self.rows * self.pitch
        reach = max(off for _, off in self.taps)
        self.total = max(self.length + reach, self.origin + self.length) + J.SLACK

    # --- layouts -------------------------------------------------------------------------
    def buffers(self, x: np.ndarray) -> np.ndarray:
        """x (N, H, W, C) -> (phases, total, C) zero-padded flat buffers."""
        g, n, h, w = self.g, self.n, self.h, self.w
        c = x.shape[-1]
        buf = np.zeros((self.phases, self.total, c), dtype=x.dtype)
        used = {ph for ph, _ in self.taps}
        if self.phases == 1:
            grid = buf[0, self.origin:self.origin + self.length]
            grid = grid.reshape(n, self.rows, self.pitch, c)

            def fill(i, j):
                grid[i:j, :h, :w] = x[i:j]
        else:
            def fill(i, j):
                for a in range(g.sh):
                    for b in range(g.sw):
                        u0, v0 = (a - g.pt) % g.sh, (b - g.pl) % g.sw
                        if u0 >= h or v0 >= w or a * g.sw + b not in used:
                            continue
                        k0, l0 = (u0 + g.pt) // g.sh, (v0 + g.pl) // g.sw
                        src = x[i:j, u0::g.sh, v0::g.sw]
                        grid = buf[a * g.sw + b, :self.length]
                        grid = grid.reshape(n, self.rows, self.pitch, c)
                        grid[i:j, k0:k0 + src.shape[1], l0:l0 + src.shape[2]] = src
        _per_image(n, fill)
        return buf

    def grid_view(self, flat: np.ndarray) -> np.ndarray:
        """(L, K) on the output grid -> the real outputs (N, Ho, Wo, K), a view."""
        k = flat.shape[-1]
        return flat.reshape(self.n, self.rows, self.pitch, k)[:, :self.ho, :self.wo]

    def grid_of(self, gy: np.ndarray) -> np.ndarray:
        """gy (N, Ho, Wo, O) placed on the output grid, zeros elsewhere -> (L, O)."""
        o = gy.shape[-1]
        out = np.zeros((self.length, o), dtype=gy.dtype)
        view = self.grid_view(out)

        def fill(i, j):
            view[i:j] = gy[i:j]

        _per_image(self.n, fill)
        return out


# --- the per-tap product: a matrix product, or per-channel for depthwise ---------------------

class _Dense:
    """Y[rows] (+)= X[rows] @ W_tap; weight (O, C, kh, kw)."""

    def __init__(self, weight: np.ndarray, transposed: bool = False, flip: bool = False):
        # transposed: the product of the weight with O and C swapped (input gradients);
        # flip: of the kernel rotated by 180° (stride-1 input gradients)
        self.wt = (W.to_taps_transposed(weight, flip) if transposed
                   else W.to_taps(weight, flip))
        self.c_in, self.c_out = self.wt.shape[1], self.wt.shape[2]

    def acc(self, a, t: int, out, accumulate: bool, tmp=None) -> None:
        gemm(a, self.wt[t], out, accumulate)

    @staticmethod
    def wgrad(a, g, dw_t, tmp=None) -> None:
        gemm(a.T, g, dw_t, True)


class _Depthwise:
    """Per-channel products for a depthwise weight (C·m, 1, kh, kw), channel multiplier m.

    ``transposed`` is the adjoint (used for the input gradient): inputs C·m, outputs C,
    summing over the m outputs of each channel.

    With m = 1 a block of rows is viewed as (rows/k, k·C) and the weights are tiled k
    times, so NumPy's inner loops run over k·C numbers instead of C (a per-channel vector
    broadcast over (rows, C) would give inner loops of only C elements).
    """

    def __init__(self, weight: np.ndarray, channels: int, transposed: bool = False):
        kh, kw = weight.shape[2:]
        self.m = weight.shape[0] // channels
        self.wt = np.ascontiguousarray(
            weight.reshape(channels, self.m, kh * kw).transpose(2, 0, 1))  # (taps, C, m)
        self.transposed = transposed
        c_all = channels * self.m
        self.c_in, self.c_out = (c_all, channels) if transposed else (channels, c_all)
        self.k = max(1, 1024 // channels)
        self.tiled = np.tile(self.wt[:, :, 0], (1, self.k)) if self.m == 1 else None

    def _rows(self, a):
        """(rows, C) -> (rows/k, k·C) when the row count allows, else None."""
        rows = a.shape[0]
        if self.m != 1 or rows % self.k:
            return None
        return a.reshape(rows // self.k, -1)

    def acc(self, a, t: int, out, accumulate: bool, tmp=None) -> None:
        """out (+)= a ⊙ w_t; ``tmp``, a scratch buffer of out's size, saves an allocation."""
        w = self.wt[t]
        rows = a.shape[0]
        a2, o2 = self._rows(a), self._rows(out)
        if a2 is not None and o2 is not None:
            a, out, w = a2, o2, self.tiled[t]
        elif self.m == 1:
            w = w[:, 0]
        if self.m == 1 or a2 is not None:
            dst = out if not accumulate else (None if tmp is None else tmp.reshape(out.shape))
            prod = np.multiply(a, w, out=dst)
        elif self.transposed:
            prod = np.einsum("lcm,cm->lc", a.reshape(rows, -1, self.m), w)
            if not accumulate:
                out[...] = prod
        else:
            prod = np.multiply(a[:, :, None], w, out=None if accumulate else
                               out.reshape(rows, -1, self.m))
        if accumulate:
            out += prod.reshape(out.shape)

    def wgrad(self, a, g, dw_t, tmp=None) -> None:
        if self.m == 1:
            a2, g2 = self._rows(a), self._rows(g)
            if a2 is not None and g2 is not None:
                dst = None if tmp is None else tmp.reshape(a2.shape)
                dw_t[:, 0] += np.multiply(a2, g2, out=dst).sum(0).reshape(self.k, -1).sum(0)
            else:
                dw_t[:, 0] += np.multiply(a, g).sum(0)
        else:
            dw_t += np.einsum("lc,lcm->cm", a, g.reshape(g.shape[0], -1, self.m))


def _product(weight: np.ndarray, groups: int):
    if groups > 1:
        return _Depthwise(weight, groups)
    return _Dense(weight)


def _blocked(fn, total: int, rows: int, threaded: bool, width: int = 0, dtype=None):
    """Run fn(i, j[, scratch]) over blocks of ``rows`` rows of range(total), optionally on
    threads; with ``width`` each thread passes a (rows, width) scratch buffer."""
    def work(a, b):
        tmp = np.empty((rows, width), dtype=dtype) if width else None
        for i in range(a, b, rows):
            if width:
                fn(i, min(i + rows, b), tmp)
            else:
                fn(i, min(i + rows, b))

    if threaded:
        parallel_for(work, total, rows)
    else:
        work(0, total)


def forward(bufs: np.ndarray, weight: np.ndarray, bias, grid: Grid, jit: bool) -> np.ndarray:
    """y (N, Ho, Wo, O) view from the flat buffers: Σ_taps X[shifted] @ W_tap (+ bias).

    ``jit``: run the generated kernels (ungrouped products that :func:`.jit_taps.supports`).
    """
    return _forward(bufs, _product(weight, grid.g.groups), bias, grid, jit)


def _tap_offsets(taps, total: int, c: int) -> np.ndarray:
    """Element offsets into a (phases·total, C) flat buffer of each (phase, row) tap."""
    return np.array([(ph * total + off) * c for ph, off in taps], dtype=np.int64)


def _forward(bufs, prod, bias, grid: Grid, jit: bool) -> np.ndarray:
    if jit:
        flat = bufs.reshape(-1, bufs.shape[-1])
        offs = _tap_offsets(grid.taps, grid.total, prod.c_in)
        out = J.forward(flat, offs, prod.wt, bias, grid.length, parallel_for)
        return grid.grid_view(out[:grid.length])
    out = np.empty((grid.length, prod.c_out), dtype=bufs.dtype)

    def work(i, j, tmp=None):
        block = out[i:j]
        accumulate = bias is not None
        if accumulate:
            fill_rows(block, bias)
        for t, (ph, off) in enumerate(grid.taps):
            prod.acc(bufs[ph, off + i:off + j], t, block, accumulate,
                     None if tmp is None else tmp[:j - i])
            accumulate = True

    if isinstance(prod, _Dense):
        parallel_for(work, grid.length, 1024)  # row chunks, single-threaded BLAS each
    else:  # element-wise NumPy is single-threaded: share cache-sized blocks among threads
        _blocked(work, grid.length, _block_rows(prod.c_in, prod.c_out), True, prod.c_out,
                 out.dtype)
    return grid.grid_view(out)


def grad_weight(bufs: np.ndarray, gy: np.ndarray, grid: Grid, weight_shape, jit: bool,
                g_grid: np.ndarray | None = None) -> np.ndarray:
    """dL/dW (O, C/G, kh, kw) = Σ over the grid of X[shifted]ᵀ G, one product per tap.

    ``g_grid``: gy already laid out on the output grid (zeros elsewhere), if at hand;
    ``jit``: as in :func:`forward`.
    """
    o, cg, kh, kw = weight_shape
    c = bufs.shape[-1]
    dtype = bufs.dtype
    prod = _product(np.empty(weight_shape, dtype=dtype), grid.g.groups)
    if g_grid is None:
        g_grid = grid.grid_of(gy)
    if jit:
        offs = _tap_offsets(grid.taps, grid.total, c)
        dw = J.grad_weight(bufs.reshape(-1, c), offs, g_grid, len(grid.taps), grid.length,
                           parallel_for)
        return W.from_taps(dw.reshape(kh * kw, c, o), kh, kw)
    rows = _block_rows(c, o)

    def work(a, b):
        dw = np.zeros((kh * kw, c, o // c if grid.g.groups > 1 else o), dtype=dtype)
        tmp = np.empty((rows, c), dtype=dtype) if grid.g.groups > 1 else None
        for i in range(a, b, rows):
            j = min(i + rows, b)
            for t, (ph, off) in enumerate(grid.taps):
                prod.wgrad(bufs[ph, off + i:off + j], g_grid[i:j], dw[t],
                           None if tmp is None else tmp[:j - i])
        return dw

    dw = sum(parallel_for(work, grid.length, rows))
    if grid.g.groups > 1:  # (taps, C, m) -> (C·m, 1, kh, kw)
        return np.ascontiguousarray(dw.transpose(1, 2, 0)).reshape(o, 1, kh, kw)
    return W.from_taps(dw.reshape(kh * kw, c, o), kh, kw)


def _flipped(weight: np.ndarray, g: Geometry, n: int, ho: int, wo: int, h: int, w: int):
    """(product, grid) of the stride-1 convolution of g that gives the input gradient (the
    "full" correlation with the flipped kernel, padding (k-1)·d - p), or None."""
    if not (g.sh == 1 and g.sw == 1):
        return None
    pads = _flip_pads(g)
    if min(pads) < 0:
        return None
    if g.groups > 1:
        prod = _Depthwise(np.ascontiguousarray(weight[:, :, ::-1, ::-1]), g.groups,
                          transposed=True)
    else:
        prod = _Dense(weight, transposed=True, flip=True)
    gt = Geometry(g.kh, g.kw, 1, 1, g.dh, g.dw, *pads, g.groups)
    return prod, Grid(gt, n, ho, wo, h, w)


def _flip_pads(g: Geometry) -> tuple[int, int, int, int]:
    """Padding of the flipped stride-1 convolution that gives the input gradient."""
    eh, ew = (g.kh - 1) * g.dh, (g.kw - 1) * g.dw
    return eh - g.pt, eh - g.pb, ew - g.pl, ew - g.pr


def grad_input_applies(g: Geometry) -> bool:
    """Whether :func:`grad_input` takes this geometry: strided, or stride 1 with padding at
    most the kernel's reach (the flipped convolution's padding is then not negative)."""
    return not (g.sh == 1 and g.sw == 1) or min(_flip_pads(g)) >= 0


def grad_input(gy: np.ndarray, weight: np.ndarray, g: Geometry, h: int, w: int,
               jit: bool) -> np.ndarray:
    """dL/dx (N, H, W, C) of y = conv(x, W); needs :func:`grad_input_applies`.

    ``jit``: run the generated kernels for the (O -> C) products.
    """
    n, ho, wo, _ = gy.shape
    flip = _flipped(weight, g, n, ho, wo, h, w)
    if flip is not None:
        prod, grid = flip
        return _forward(grid.buffers(gy), prod, None, grid, jit)
    if g.sh == 1 and g.sw == 1:
        raise ValueError("taps.grad_input: padding exceeds the kernel's reach (stride 1)")
    return _grad_input_strided(gy, weight, g, h, w, jit)


def backward(gy: np.ndarray, weight: np.ndarray, grid: Grid, bufs: np.ndarray | None,
             need_x: bool, need_w: bool, need_b: bool, jit_x: bool, jit_w: bool):
    """(dx, dW, db) of a stride-1 convolution from one buffer of the gradient.

    ``grid``/``bufs``: the forward's (``bufs`` may be None when the weight needs no
    gradient); gy (N, Ho, Wo, O) in any memory order; the geometry must satisfy
    :func:`grad_input_applies`. ``jit_x``/``jit_w``: generated kernels for the input /
    weight gradient products.

    The flipped convolution's input buffer of gy and the weight gradient's gy-on-the-grid
    have the same pitch and rows (whenever the flipped form applies), so one copy of gy
    (from any memory order) serves both, and the bias gradient is its column sums.
    """
    g = grid.g
    n, ho, wo, o = gy.shape
    flip = _flipped(weight, g, n, ho, wo, grid.h, grid.w)
    if flip is None:
        raise ValueError("taps.backward: needs a stride-1 geometry whose input gradient is "
                         "a flipped convolution")
    prod, grid_b = flip
    # Equal whenever the flipped form applies: gy's buffer is also its grid.
    assert (grid_b.pitch, grid_b.rows, grid_b.length) == (grid.pitch, grid.rows, grid.length)
    gbuf = grid_b.buffers(gy)
    g_grid = gbuf[0, grid_b.origin:grid_b.origin + grid.length]
    dx = _forward(gbuf, prod, None, grid_b, jit_x) if need_x else None
    dw = grad_weight(bufs, gy, grid, weight.shape, jit_w, g_grid) if need_w else None
    db = column_sums(g_grid) if need_b else None
    return dx, dw, db


def column_sums(m: np.ndarray) -> np.ndarray:
    """Σ over rows of a C-contiguous (L, K) matrix, as one BLAS product (ones @ m)."""
    ones = np.ones(m.shape[0], dtype=m.dtype)
    return ones @ m


def _grad_input_strided(gy, weight, g: Geometry, h: int, w: int, jit: bool) -> np.ndarray:
    """Input gradient of a strided convolution, one stride-1 product sum per input phase.

    Input phase (a, b) (padded rows ≡ a mod S_h, columns ≡ b mod S_w) receives
    g[k - qr, l - qs] @ W_tapᵀ from the taps with (r·D_h, s·D_w) = (qr·S_h + a, qs·S_w + b).
    """
    n, ho, wo, o = gy.shape
    if g.groups > 1:
        prod = _Depthwise(weight, g.groups, transposed=True)
    else:
        prod = _Dense(weight, transposed=True)
    c = prod.c_out
    hp, wp = h + g.pt + g.pb, w + g.pl + g.pr
    qh, qw = (g.kh - 1) * g.dh // g.sh, (g.kw - 1) * g.dw // g.sw
    pitch = max(wo + qw, -(-wp // g.sw))
    rows = max(ho + qh, -(-hp // g.sh))
    origin = qh * pitch + qw
    length = n * rows * pitch
    gbuf = np.zeros((origin + length + J.SLACK, o), dtype=gy.dtype)
    gview = gbuf[origin:origin + length].reshape(n, rows, pitch, o)

    def fill(i, j):
        gview[i:j, :ho, :wo] = gy[i:j]

    _per_image(n, fill)
    phase_taps: dict[tuple[int, int], list] = {}
    for r in range(g.kh):
        for s in range(g.kw):
            (qr, a), (qs, b) = divmod(r * g.dh, g.sh), divmod(s * g.dw, g.sw)
            phase_taps.setdefault((a, b), []).append((r * g.kw + s, origin - qr * pitch - qs))
    dx = np.zeros((n, h, w, c), dtype=gy.dtype)
    for (a, b), taps in phase_taps.items():
        u0, v0 = (a - g.pt) % g.sh, (b - g.pl) % g.sw
        if u0 >= h or v0 >= w:
            continue
        out = np.empty((length, c), dtype=gy.dtype)

        def work(i, j, tmp=None, taps=taps, out=out):
            for k, (t, off) in enumerate(taps):
                prod.acc(gbuf[off + i:off + j], t, out[i:j], k > 0,
                         None if tmp is None else tmp[:j - i])

        if jit:
            offs = np.array([off * o for _, off in taps], dtype=np.int64)
            wt = np.ascontiguousarray(prod.wt[[t for t, _ in taps]])
            out = J.forward(gbuf, offs, wt, None, length, parallel_for)[:length]
        elif isinstance(prod, _Dense):
            parallel_for(lambda i, j, work=work: work(i, j), length, 1024)
        else:
            _blocked(work, length, _block_rows(o, c), True, c, gy.dtype)
        k0, l0 = (u0 + g.pt) // g.sh, (v0 + g.pl) // g.sw
        dst = dx[:, u0::g.sh, v0::g.sw]
        grid = out.reshape(n, rows, pitch, c)[:, k0:k0 + dst.shape[1], l0:l0 + dst.shape[2]]

        def place(i, j, dst=dst, grid=grid):
            dst[i:j] = grid[i:j]

        _per_image(n, place)
    return dx
