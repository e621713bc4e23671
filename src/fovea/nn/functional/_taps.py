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
"""

from __future__ import annotations

import numpy as np

from fovea.nn.functional._blas import gemm
from fovea.nn.functional._parallel import parallel_for
from fovea.nn.utils.conv import Geometry

# Rows of the grid per block in the weight gradient: the block's slices of X and G stay in
# cache across all kh·kw taps instead of streaming from memory once per tap (measured: 1 MiB
# blocks beat both 256 KiB and no blocking), and blocks are shared among threads, because
# BLAS parallelises these (C × rows)·(rows × O) products poorly. The forward products run
# unblocked and BLAS threads each of them: there the larger calls measured faster.
BLOCK_BYTES = 2**20


def _block_rows(*channels: int) -> int:
    return max(256, BLOCK_BYTES // (4 * sum(channels)))


def _per_image(n: int, fn) -> None:
    """Run fn(first_image, stop_image) for the batch split across threads."""
    parallel_for(fn, n, 1)


class Plan:
    """Where each tap reads in the flat buffers, and the output grid, for one convolution.

    Attributes:
        phases: number of flat input buffers (S_h·S_w).
        pitch, rows: row pitch P and rows per image R of the output grid (and the buffers).
        length: L = N·R·P, the number of grid positions (rows of Y).
        taps: per kernel tap (r, s), row-major: (buffer index, row offset).
        total: rows of each input buffer.
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
        self.total = max(self.length + reach, self.origin + self.length)

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


def tap_matrices(weight: np.ndarray) -> np.ndarray:
    """(O, C, kh, kw) -> (kh·kw, C, O): the matrix each tap multiplies by."""
    o, c, kh, kw = weight.shape
    return np.ascontiguousarray(weight.transpose(2, 3, 1, 0)).reshape(kh * kw, c, o)


def forward(bufs: np.ndarray, weight: np.ndarray, bias, plan: Plan) -> np.ndarray:
    """y (N, Ho, Wo, O) view from the flat buffers: Σ_taps X[shifted] @ W_tap (+ bias)."""
    o = weight.shape[0]
    wt = tap_matrices(weight)
    out = np.empty((plan.length, o), dtype=bufs.dtype)

    def work(i, j):
        block = out[i:j]
        accumulate = bias is not None
        if accumulate:
            block[...] = bias
        for t, (ph, off) in enumerate(plan.taps):
            gemm(bufs[ph, off + i:off + j], wt[t], block, accumulate)
            accumulate = True

    work(0, plan.length)
    return plan.grid_view(out)


def grad_weight(bufs: np.ndarray, gy: np.ndarray, plan: Plan, weight_shape) -> np.ndarray:
    """dL/dW (O, C, kh, kw) = Σ over the grid of X[shifted]ᵀ G, one product per tap."""
    o, c, kh, kw = weight_shape
    g_grid = plan.grid_of(gy)
    rows = _block_rows(c, o)

    def work(a, b):
        dw = np.zeros((kh * kw, c, o), dtype=gy.dtype)
        for i in range(a, b, rows):
            j = min(i + rows, b)
            for t, (ph, off) in enumerate(plan.taps):
                gemm(bufs[ph, off + i:off + j].T, g_grid[i:j], dw[t], True)
        return dw

    dw = sum(parallel_for(work, plan.length, rows))
    return np.ascontiguousarray(dw.reshape(kh, kw, c, o).transpose(3, 2, 0, 1))


def grad_input(gy: np.ndarray, weight: np.ndarray, g: Geometry, h: int, w: int):
    """dL/dx (N, H, W, C) of y = conv(x, W), or None when this method does not apply."""
    if g.sh == 1 and g.sw == 1:
        # A stride-1 convolution's input gradient is the "full" correlation of g with the
        # flipped kernel: padding (k-1)·d - p on each side.
        eh, ew = (g.kh - 1) * g.dh, (g.kw - 1) * g.dw
        pads = (eh - g.pt, eh - g.pb, ew - g.pl, ew - g.pr)
        if min(pads) < 0:
            return None
        flipped = np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
        gt = Geometry(g.kh, g.kw, 1, 1, g.dh, g.dw, *pads)
        n, ho, wo, _ = gy.shape
        plan = Plan(gt, n, ho, wo, h, w)
        return forward(plan.buffers(gy), flipped, None, plan)
    return _grad_input_strided(gy, weight, g, h, w)


def _grad_input_strided(gy, weight, g: Geometry, h: int, w: int) -> np.ndarray:
    """Input gradient of a strided convolution, one stride-1 product sum per input phase.

    Input phase (a, b) (padded rows ≡ a mod S_h, columns ≡ b mod S_w) receives
    g[k - qr, l - qs] @ W_tapᵀ from the taps with (r·D_h, s·D_w) = (qr·S_h + a, qs·S_w + b).
    """
    n, ho, wo, o = gy.shape
    c = weight.shape[1]
    hp, wp = h + g.pt + g.pb, w + g.pl + g.pr
    qh, qw = (g.kh - 1) * g.dh // g.sh, (g.kw - 1) * g.dw // g.sw
    pitch = max(wo + qw, -(-wp // g.sw))
    rows = max(ho + qh, -(-hp // g.sh))
    origin = qh * pitch + qw
    length = n * rows * pitch
    gbuf = np.zeros((origin + length, o), dtype=gy.dtype)
    gview = gbuf[origin:].reshape(n, rows, pitch, o)

    def fill(i, j):
        gview[i:j, :ho, :wo] = gy[i:j]

    _per_image(n, fill)
    wt = np.ascontiguousarray(weight.transpose(2, 3, 0, 1)).reshape(g.kh * g.kw, o, c)
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

        for k, (t, off) in enumerate(taps):
            gemm(gbuf[off:off + length], wt[t], out, k > 0)
        k0, l0 = (u0 + g.pt) // g.sh, (v0 + g.pl) // g.sw
        dst = dx[:, u0::g.sh, v0::g.sw]
        grid = out.reshape(n, rows, pitch, c)[:, k0:k0 + dst.shape[1], l0:l0 + dst.shape[2]]

        def place(i, j, dst=dst, grid=grid):
            dst[i:j] = grid[i:j]

        _per_image(n, place)
    return dx
