"""nn/modules/normalization.py: LayerNorm and GroupNorm against PyTorch's layers (state-dict
keys, values) and their input checks."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import needs_torch, torch


@needs_torch
def test_norm_modules_match_torch():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 4, 3, 3))
    ln, tln = nn.LayerNorm((3, 3), dtype=np.float64), torch.nn.LayerNorm((3, 3)).double()
    gn, tgn = nn.GroupNorm(2, 4, dtype=np.float64), torch.nn.GroupNorm(2, 4).double()
    for m, tm in ((ln, tln), (gn, tgn)):
        with torch.no_grad():
            for p in tm.parameters():
                p.copy_(torch.tensor(rng.standard_normal(p.shape)))
        m.load_state_dict(tm.state_dict())
        assert list(m.state_dict()) == list(tm.state_dict())
        np.testing.assert_allclose(m(fovea.tensor(a)).detach().numpy(),
                                   tm(torch.tensor(a)).detach().numpy(), rtol=1e-10)


def test_norm_modules_check_their_inputs():
    with pytest.raises(ValueError, match=r"LayerNorm\(8\): expected input of shape \(\*, 8\), "
                                         r"got \(2, 5\)"):
        nn.LayerNorm(8)(fovea.randn(2, 5))
    with pytest.raises(ValueError, match=r"GroupNorm\(2, 4\): expected input of shape "
                                         r"\(N, 4, \*\), got \(2, 6, 3\)"):
        nn.GroupNorm(2, 4)(fovea.randn(2, 6, 3))
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)
