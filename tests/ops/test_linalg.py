"""Matrix products against PyTorch, with gradients and double backward."""

import numpy as np
import pytest

import fovea
from oracle import check_op

MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)),
                 ((0, 3), (3, 2)), ((2, 0), (0, 3))]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_with_1d_batched_and_broadcast_operands_matches_torch(sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    check_op(lambda x, y: x @ y, lambda x, y: x @ y, [a, b], numpy_fn=np.matmul)


def test_matmul_error_names_inner_dimensions():
    with pytest.raises(ValueError, match=r"matmul: \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5"):
        fovea.zeros(3, 4) @ fovea.zeros(5, 2)
