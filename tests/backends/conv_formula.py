"""The defining sum of a convolution, in plain NumPy: the oracle the CPU and generic conv
plans are both tested against."""

import numpy as np


def conv_formula(x, weight, geo, ho, wo):
    """y (N, Ho, Wo, O) = Σ_{r, s, c of o's group} xpad[n, i·S + r·D, j·S + s·D, c]
    · w[o, c, r, s]."""
    n, h, w, c = x.shape
    o, cg = weight.shape[:2]
    og = o // geo.groups
    xp = np.zeros((n, h + geo.pt + geo.pb + geo.kh * geo.dh, w + geo.pl + geo.pr
                   + geo.kw * geo.dw, c))
    xp[:, geo.pt:geo.pt + h, geo.pl:geo.pl + w] = x
    y = np.zeros((n, ho, wo, o))
    for r in range(geo.kh):
        for s in range(geo.kw):
            tap = xp[:, r * geo.dh:r * geo.dh + geo.sh * (ho - 1) + 1:geo.sh,
                     s * geo.dw:s * geo.dw + geo.sw * (wo - 1) + 1:geo.sw]
            for gi in range(geo.groups):
                y[..., gi * og:(gi + 1) * og] += tap[..., gi * cg:(gi + 1) * cg] @ \
                    weight[gi * og:(gi + 1) * og, :, r, s].T
    return y
