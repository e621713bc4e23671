"""``Flatten``: merge a range of dimensions (by default everything but the batch axis)."""

from __future__ import annotations

from fovea.nn.modules._checks import check_tensor, shape_str
from fovea.nn.modules.module import Module


class Flatten(Module):
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one.

    Shapes: (N, C, H, W) -> (N, C·H·W) with the defaults (start_dim=1, end_dim=-1).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        name = f"Flatten({self.start_dim}, {self.end_dim})"
        check_tensor(x, name)
        n = x.ndim
        ok = all(-max(n, 1) <= d < max(n, 1) for d in (self.start_dim, self.end_dim))
        if not ok or (n and self.start_dim % n > self.end_dim % n):
            raise ValueError(f"{name}: expected input with dimensions {self.start_dim} to "
                             f"{self.end_dim}, got shape {shape_str(x.shape)}")
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
