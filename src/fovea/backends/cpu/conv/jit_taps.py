"""Register-blocked shifted-product kernels, generated per shape with LLVM (see ..llvm).

These compute exactly what :mod:`.taps` computes with one BLAS call per kernel tap, over
the same flat padded buffers and output grid (read that module first):

* forward: ``Y[q] = b + Σ_t X_t[q] @ W_t`` for grid rows q, where ``X_t`` is the buffer
  shifted by tap t's offset and ``W_t`` (C, O) the tap's matrix;
* weight gradient: ``dW_t += Σ_q X_t[q]ᵀ G[q]``.

Why not BLAS: with 16 or 32 channels each product has a small dimension, and BLAS then
spends its time packing panels and streaming the big operand through memory once per tap.
Here one kernel call walks a range of grid rows and keeps a tile of the result in vector
registers across *all* taps and channels, so each input value is loaded from L1 cache and
each output written once:

* forward tile: R grid rows × (V vectors of ``lanes`` output channels); per (tap, input
  channel) it loads V weight vectors, broadcasts R input values, and does R·V fused
  multiply-adds;
* weight-gradient tile: R input channels × V vectors of output channels of one tap (with
  fewer than R channels, all channels of several taps); per grid row it loads V gradient
  vectors and broadcasts R input values. Grid rows are walked in chunks of ``CHUNK`` so
  that the chunk's rows of X and G stay in cache across taps.

A kernel is compiled once per (dtype, taps, C, O, bias) and kept for the process (tens of
milliseconds each). The forward computes whole tiles of R rows, so its output and input
buffers carry at least R rows of slack past the grid (:data:`SLACK`).

Arrays are C-contiguous: x buffers (phases·total, C), w (taps, C, O), y (rows, O), g
(rows, O), dw (taps, C, O); ``offs`` (taps,) int64 element offsets of each tap's row 0 in x.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from fovea.backends.cpu import llvm as _llvm

SLACK = 32          # rows of slack the forward may read/write past the grid (>= any R)
CHUNK = 128         # grid rows per weight-gradient chunk
FORWARD_TILES = 16  # forward tiles per row chunk (its input rows stay in cache)

_cache: dict = {}
_cache_lock = threading.Lock()


def _accumulators(kind: str) -> int:
    """Vector accumulators per tile: 3/4 (forward) or 1/2 (weight gradient) of the
    registers, leaving room for the loaded and broadcast operands."""
    regs = _llvm.vector_shape()[1]
    return regs * 3 // 4 if kind == "forward" else regs // 2


def lanes_for(dtype, o: int) -> int:
    """Vector width (elements) for O output channels: the widest vector the CPU has (or a
    half or quarter of it, down to 128 bits) whose lane count divides O, or 0 when none
    does (the kernels then do not apply)."""
    per = _llvm.vector_shape()[0] // np.dtype(dtype).itemsize
    while per >= 16 // np.dtype(dtype).itemsize:
        if o % per == 0:
            return per
        per //= 2
    return 0


def supports(dtype, c: int, o: int) -> bool:
    """Whether these kernels handle a (C -> O) product in ``dtype`` on this machine."""
    return (np.dtype(dtype) in (np.float32, np.float64) and lanes_for(dtype, o) > 0
            and c >= 1 and _llvm.available())


def compiled_count() -> int:
    """How many kernels this process has generated so far (0: the LLVM path has not run)."""
    return len(_cache)


def _blocking(dtype, c: int, o: int, max_acc: int, rows_cap: int):
    lanes = lanes_for(dtype, o)
    nb = o // lanes
    v = max(d for d in (1, 2, 3, 4) if nb % d == 0)
    r = max(1, min(rows_cap, max_acc // v))
    return lanes, v, r


def _forward_blocking(dtype, c: int, o: int):
    """(lanes, V, R) of the forward tile: R grid rows (work is split in multiples of R)."""
    return _blocking(dtype, c, o, _accumulators("forward"), 24)


# --- IR generation ----------------------------------------------------------------------------

def _types(dtype):
    from llvmlite import ir

    elt = ir.FloatType() if np.dtype(dtype) == np.float32 else ir.DoubleType()
    return ir, elt, ir.IntType(64)


def _forward_module(dtype, taps: int, c: int, o: int, bias: bool):
    ir, elt, i64 = _types(dtype)
    lanes, v, r = _forward_blocking(dtype, c, o)
    vt = ir.VectorType(elt, lanes)
    p = elt.as_pointer()
    m = ir.Module(name="fovea_taps_forward")
    fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [p, p, p, p, i64.as_pointer(), i64, i64]),
                     "forward")
    for a in fn.args[:5]:
        a.add_attribute("noalias")
    x, w, y, bvec, offs, q0, q1 = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    fma = _llvm.fma_intrinsic(m, vt)
    k = lambda n: ir.Constant(i64, n)  # noqa: E731
    acc = [[b.alloca(vt) for _ in range(v)] for _ in range(r)]
    zero = ir.Constant(vt, [0.0] * lanes)
    span = r * FORWARD_TILES
    # Rows in chunks of FORWARD_TILES tiles, all output-channel blocks of a chunk before
    # the next chunk: the chunk's input rows stay in cache across the channel blocks.
    with _llvm.counted_loop(b, q0, q1, k(span), "qc") as qc:
        end = b.add(qc, k(span))
        qe = b.select(b.icmp_signed("<", end, q1), end, q1)
        with _llvm.counted_loop(b, k(0), k(o), k(v * lanes), "cb") as cb:
            with _llvm.counted_loop(b, qc, qe, k(r), "q") as q:
                for j in range(v):
                    init = (b.load(_llvm.vector_at(b, bvec, b.add(cb, k(j * lanes)), vt),
                                   align=1) if bias else zero)
                    for i in range(r):
                        b.store(init, acc[i][j])
                with _llvm.counted_loop(b, k(0), k(taps), k(1), "t") as t:
                    xo = b.add(b.load(b.gep(offs, [t])), b.mul(q, k(c)))
                    wo = b.add(b.mul(t, k(c * o)), cb)
                    with _llvm.counted_loop(b, k(0), k(c), k(1), "ci") as ci:
                        wrow = b.add(wo, b.mul(ci, k(o)))
                        wv = [b.load(_llvm.vector_at(b, w, b.add(wrow, k(j * lanes)), vt),
                                     align=1) for j in range(v)]
                        xrow = b.add(xo, ci)
                        for i in range(r):
                            s = _llvm.splat(b, b.load(b.gep(x, [b.add(xrow, k(i * c))])), vt)
                            for j in range(v):
                                b.store(b.call(fma, [s, wv[j], b.load(acc[i][j])]), acc[i][j])
                for i in range(r):
                    yrow = b.add(b.mul(b.add(q, k(i)), k(o)), cb)
                    for j in range(v):
                        b.store(b.load(acc[i][j]),
                                _llvm.vector_at(b, y, b.add(yrow, k(j * lanes)), vt), align=1)
    b.ret_void()
    return m


def _wgrad_module(dtype, taps: int, c: int, o: int):
    ir, elt, i64 = _types(dtype)
    rmax = _accumulators("wgrad")
    lanes, v, r = _blocking(dtype, c, o, rmax, c)
    # Few input channels (an RGB layer): a tile's rows span `group` taps, so that it still
    # has enough independent accumulators to hide the FMA latency.
    group = max(1, (rmax // v) // c)
    acc_rows = max(r, group * c)
    vt = ir.VectorType(elt, lanes)
    p = elt.as_pointer()
    m = ir.Module(name="fovea_taps_wgrad")
    fn = ir.Function(m, ir.FunctionType(ir.VoidType(), [p, p, p, i64.as_pointer(), i64, i64]),
                     "wgrad")
    for a in fn.args[:4]:
        a.add_attribute("noalias")
    x, g, dw, offs, q0, q1 = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    fma = _llvm.fma_intrinsic(m, vt)
    k = lambda n: ir.Constant(i64, n)  # noqa: E731
    acc = [[b.alloca(vt) for _ in range(v)] for _ in range(acc_rows)]

    def tile(rows, qc, qe):
        """For each row i = (x offset, dW row): dw[row, cb-block] += Σ_{q in [qc, qe)}
        x[offset + q·C] g[q, cb-block]."""
        with _llvm.counted_loop(b, k(0), k(o), k(v * lanes), "cb") as cb:
            bases = [b.add(b.mul(row, k(o)), cb) for _, row in rows]
            for i, base in enumerate(bases):
                for j in range(v):
                    ptr = _llvm.vector_at(b, dw, b.add(base, k(j * lanes)), vt)
                    b.store(b.load(ptr, align=1), acc[i][j])
            with _llvm.counted_loop(b, qc, qe, k(1), "qq") as qq:
                grow = b.add(b.mul(qq, k(o)), cb)
                gv = [b.load(_llvm.vector_at(b, g, b.add(grow, k(j * lanes)), vt), align=1)
                      for j in range(v)]
                qx = b.mul(qq, k(c))
                for i, (xoff, _) in enumerate(rows):
                    s = _llvm.splat(b, b.load(b.gep(x, [b.add(xoff, qx)])), vt)
                    for j in range(v):
                        b.store(b.call(fma, [s, gv[j], b.load(acc[i][j])]), acc[i][j])
            for i, base in enumerate(bases):
                for j in range(v):
                    ptr = _llvm.vector_at(b, dw, b.add(base, k(j * lanes)), vt)
                    b.store(b.load(acc[i][j]), ptr, align=1)

    def channel_rows(t, off, cib, n):
        """Rows for channels cib..cib+n-1 of tap t."""
        return [(b.add(off, b.add(cib, k(i))), b.add(b.mul(t, k(c)), b.add(cib, k(i))))
                for i in range(n)]

    def tap_rows(t0, n):
        """Rows for every channel of taps t0..t0+n-1."""
        rows = []
        for gi in range(n):
            t = b.add(t0, k(gi))
            rows += channel_rows(t, b.load(b.gep(offs, [t])), k(0), c)
        return rows

    with _llvm.counted_loop(b, q0, q1, k(CHUNK), "qc") as qc:
        end = b.add(qc, k(CHUNK))
        qe = b.select(b.icmp_signed("<", end, q1), end, q1)
        if group > 1:
            whole = taps - taps % group
            if whole:
                with _llvm.counted_loop(b, k(0), k(whole), k(group), "tg") as t0:
                    tile(tap_rows(t0, group), qc, qe)
            if taps % group:
                tile(tap_rows(k(whole), taps % group), qc, qe)
        else:
            full, tail = (c // r) * r, c % r
            with _llvm.counted_loop(b, k(0), k(taps), k(1), "t") as t:
                off = b.load(b.gep(offs, [t]))
                if full:
                    with _llvm.counted_loop(b, k(0), k(full), k(r), "cib") as cib:
                        tile(channel_rows(t, off, cib, r), qc, qe)
                if tail:
                    tile(channel_rows(t, off, k(full), tail), qc, qe)
    b.ret_void()
    return m


def _compiled(kind: str, dtype, taps: int, c: int, o: int, bias: bool = False):
    key = (kind, np.dtype(dtype).str, taps, c, o, bias)
    fn = _cache.get(key)
    if fn is None:
        with _cache_lock:
            fn = _cache.get(key)
            if fn is None:
                vp, i64 = ctypes.c_void_p, ctypes.c_int64
                if kind == "forward":
                    mod = _forward_module(dtype, taps, c, o, bias)
                    sig = (vp, vp, vp, vp, vp, i64, i64)
                else:
                    mod = _wgrad_module(dtype, taps, c, o)
                    sig = (vp, vp, vp, vp, i64, i64)
                fn = _llvm.compile_module(mod, {kind: sig})[kind]
                _cache[key] = fn
    return fn


# --- launchers ------------------------------------------------------------------------------

def forward(x: np.ndarray, offs: np.ndarray, wt: np.ndarray, bias, rows: int,
            parallel_for) -> np.ndarray:
    """Y (rows', O) with ``Y[q] = bias + Σ_t x[offs[t]/C + q] @ wt[t]`` for q < rows.

    Args:
        x: (total, C) C-contiguous; every row a tile may touch must exist (``offs[t]/C +
            rows + SLACK <= total``).
        offs: (taps,) int64 element offsets (multiples of C) of each tap's first row.
        wt: (taps, C, O) C-contiguous tap matrices, x's dtype.
        bias: (O,) or None.
        rows: grid rows wanted.
        parallel_for: the thread splitter (:func:`fovea.backends.cpu.threads.parallel_for`).

    Returns:
        (rows + SLACK, O), C-contiguous: rows beyond ``rows`` hold garbage.
    """
    taps, c, o = wt.shape
    dtype = x.dtype
    r = _forward_blocking(dtype, c, o)[2]
    if int(offs.max()) // c + -(-rows // r) * r > x.shape[0]:
        raise ValueError("taps forward: buffers lack the slack rows the tiles need")
    fn = _compiled("forward", dtype, taps, c, o, bias is not None)
    out = np.empty((rows + SLACK, o), dtype=dtype)
    b = np.ascontiguousarray(bias, dtype=dtype) if bias is not None else None
    args = (x.ctypes.data, wt.ctypes.data, out.ctypes.data,
            b.ctypes.data if b is not None else None, offs.ctypes.data)
    tiles = -(-rows // r)

    def work(i, j):
        fn(*args, i * r, j * r)

    parallel_for(work, tiles, max(1, 512 // r))
    return out


def grad_weight(x: np.ndarray, offs: np.ndarray, g: np.ndarray, taps: int, rows: int,
                parallel_for) -> np.ndarray:
    """dW (taps, C, O) = Σ_{q < rows} x[offs[t]/C + q]ᵀ g[q] for each tap t.

    x: (total, C); g: (>= rows, O), both C-contiguous, same dtype. Each thread chunk sums
    into its own dW; the chunks' results are added in chunk order (deterministic).
    """
    c, o = x.shape[1], g.shape[1]
    fn = _compiled("wgrad", x.dtype, taps, c, o)
    args = (x.ctypes.data, g.ctypes.data)

    def work(i, j):
        dw = np.zeros((taps, c, o), dtype=x.dtype)
        fn(*args, dw.ctypes.data, offs.ctypes.data, i, j)
        return dw

    parts = parallel_for(work, rows, 4 * CHUNK)
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total
