"""nn/modules/flatten.py: nn.Flatten against PyTorch's through the shared harness; errors."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from oracle import check_op, torch


@pytest.mark.parametrize("start,end", [(1, -1), (0, -1), (1, 2), (2, 3)])
def test_flatten_matches_torch(start, end):
    a = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    check_op(nn.Flatten(start, end), lambda t: torch.nn.Flatten(start, end)(t), [a],
             rtol=0, atol=0)


def test_flatten_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"Flatten\(1, -1\): expected input with dimensions 1 "
                                         r"to -1, got shape \(3,\)"):
        nn.Flatten()(fovea.randn(3))
