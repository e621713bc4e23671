"""``fovea.linalg``: PyTorch's ``torch.linalg`` names (norms for now).

``vector_norm(x, ord=2, dim=None, keepdim=False)``, ``matrix_norm(A, ord='fro',
dim=(-2, -1), keepdim=False)`` and ``norm(A, ord=None, dim=None, keepdim=False)`` follow
``torch.linalg``; the implementations are in :mod:`fovea.ops.norms`.

    >>> import fovea
    >>> fovea.linalg.vector_norm(fovea.tensor([3.0, 4.0])).item()
    5.0
"""

from __future__ import annotations

from fovea.ops.linalg import matmul
from fovea.ops.norms import linalg_norm as norm
from fovea.ops.norms import matrix_norm, vector_norm

__all__ = ["matmul", "matrix_norm", "norm", "vector_norm"]
