"""Naive reference implementations with explicit loops (CS231n's ``*_naive`` style).

Slow and obviously correct: one output pixel at a time, straight from the definitions, in
float64. The fast kernels in ``fovea.nn.functional`` must agree with these (and with PyTorch
where it is installed). Padding arguments are (top, bottom, left, right).
"""

from __future__ import annotations

import math

import numpy as np


def conv2d(x, w, b=None, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """y[n, o, i, j] = b[o] + Σ_{c, r, s} w[o, c, r, s] · xpad[n, g·Cg + c, iS + rD, jS + sD]."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    pt, pb, pl, pr = pad
    xp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    xp[:, :, pt:pt + h, pl:pl + wd] = x
    ho = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + pl + pr - dw * (kw - 1) - 1) // sw + 1
    og = o // groups
    y = np.zeros((n, o, ho, wo))
    for ni in range(n):
        for oi in range(o):
            g = oi // og
            for i in range(ho):
                for j in range(wo):
                    acc = 0.0 if b is None else b[oi]
                    for ci in range(cg):
                        for r in range(kh):
                            for s in range(kw):
                                acc += w[oi, ci, r, s] * xp[ni, g * cg + ci, i * sh + r * dh,
                                                            j * sw + s * dw]
                    y[ni, oi, i, j] = acc
    return y


def conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0),
                     groups=1, dilation=(1, 1)):
    """Scatter form: each input pixel adds x · kernel into the (cropped) output."""
    n, cin, h, wd = x.shape
    _, cout_g, kh, kw = w.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    ho = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    wo = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    cin_g = cin // groups
    full = np.zeros((n, cout_g * groups, ho + 2 * ph + sh + dh * kh, wo + 2 * pw + sw + dw * kw))
    for ni in range(n):
        for ci in range(cin):
            g = ci // cin_g
            for i in range(h):
                for j in range(wd):
                    for co in range(cout_g):
                        for r in range(kh):
                            for s in range(kw):
                                full[ni, g * cout_g + co, i * sh + r * dh, j * sw + s * dw] += \
                                    x[ni, ci, i, j] * w[ci, co, r, s]
    y = full[:, :, ph:ph + ho, pw:pw + wo]
    if b is not None:
        y = y + b[None, :, None, None]
    return y


def _out_size(size, k, s, p, d, ceil_mode):
    num = size + 2 * p - d * (k - 1) - 1
    out = (-(-num // s) if ceil_mode else num // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def max_pool2d(x, k, s, p=(0, 0), d=(1, 1), ceil_mode=False):
    """(values, flat indices h·W + w); the first maximum of each window wins."""
    n, c, h, w = x.shape
    ho = _out_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    wo = _out_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    y = np.zeros((n, c, ho, wo))
    idx = np.zeros((n, c, ho, wo), dtype=np.int64)
    for ni in range(n):
        for ci in range(c):
            for i in range(ho):
                for j in range(wo):
                    best, arg = -math.inf, -1
                    for r in range(k[0]):
                        for t in range(k[1]):
                            hh, ww = i * s[0] - p[0] + r * d[0], j * s[1] - p[1] + t * d[1]
                            if 0 <= hh < h and 0 <= ww < w and x[ni, ci, hh, ww] > best:
                                best, arg = x[ni, ci, hh, ww], hh * w + ww
                    y[ni, ci, i, j], idx[ni, ci, i, j] = best, arg
    return y, idx


def avg_pool2d(x, k, s, p=(0, 0), ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    n, c, h, w = x.shape
    ho = _out_size(h, k[0], s[0], p[0], 1, ceil_mode)
    wo = _out_size(w, k[1], s[1], p[1], 1, ceil_mode)
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = min(h0 + k[0], h + p[0]), min(w0 + k[1], w + p[1])
            area = (h1 - h0) * (w1 - w0)
            hs, ws, he, we = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = area
            else:
                div = (he - hs) * (we - ws)
            y[:, :, i, j] = x[:, :, hs:he, ws:we].sum(axis=(2, 3)) / div
    return y


def _adaptive_pool2d(x, out, reduce):
    """PyTorch's adaptive bins: start floor(i·H/out), end ceil((i+1)·H/out)."""
    n, c, h, w = x.shape
    y = np.zeros((n, c) + tuple(out))
    for i in range(out[0]):
        for j in range(out[1]):
            hs, he = (i * h) // out[0], -((-(i + 1) * h) // out[0])
            ws, we = (j * w) // out[1], -((-(j + 1) * w) // out[1])
            y[:, :, i, j] = reduce(x[:, :, hs:he, ws:we], axis=(2, 3))
    return y


def adaptive_avg_pool2d(x, out):
    return _adaptive_pool2d(x, out, np.mean)


def adaptive_max_pool2d(x, out):
    return _adaptive_pool2d(x, out, np.max)


def max_unpool2d(x, idx, out_hw):
    n, c, h, w = x.shape
    y = np.zeros((n, c, out_hw[0] * out_hw[1]))
    for ni in range(n):
        for ci in range(c):
            for i in range(h):
                for j in range(w):
                    y[ni, ci, idx[ni, ci, i, j]] = x[ni, ci, i, j]
    return y.reshape(n, c, *out_hw)


def interpolate(x, out_hw, mode, align_corners=False, scale=None):
    """Per output pixel, from PyTorch's documented coordinate rules (float64 here).

    ``scale`` (per axis, or None) is the user's scale_factor, used as 1/scale_factor.
    """
    n, c, h, w = x.shape
    y = np.zeros((n, c) + tuple(out_hw))
    sizes = (h, w)

    def src(d, axis):
        i, o = sizes[axis], out_hw[axis]
        sf = None if scale is None else scale[axis]
        if mode == "nearest":
            r = 1.0 / sf if sf else i / o
            return min(math.floor(d * r), i - 1), None
        if mode == "nearest-exact":
            r = 1.0 / sf if sf else i / o
            return min(math.floor((d + 0.5) * r), i - 1), None
        if align_corners:
            pos = d * (i - 1) / (o - 1) if o > 1 else 0.0
        else:
            r = 1.0 / sf if sf else i / o
            pos = max(r * (d + 0.5) - 0.5, 0.0)
        i0 = min(int(math.floor(pos)), i - 1)
        return i0, (min(i0 + 1, i - 1), min(max(pos - i0, 0.0), 1.0))

    for a in range(out_hw[0]):
        h0, hh = src(a, 0)
        for b in range(out_hw[1]):
            w0, ww = src(b, 1)
            if hh is None:
                y[:, :, a, b] = x[:, :, h0, w0]
                continue
            (h1, lh), (w1, lw) = hh, ww
            y[:, :, a, b] = ((1 - lh) * ((1 - lw) * x[:, :, h0, w0] + lw * x[:, :, h0, w1])
                             + lh * ((1 - lw) * x[:, :, h1, w0] + lw * x[:, :, h1, w1]))
    return y
