"""``fovea.Size``: the type of ``Tensor.shape`` and ``Tensor.size()``, as ``torch.Size``.

A tuple of ints whose repr is PyTorch's (``fovea.Size([2, 3])``; ``str`` and f-strings
give the tuple's ``(2, 3)``, so error messages read as before), stays a ``Size`` through
slicing, ``+`` and ``*``, and knows its ``numel()``. Anything that takes a tuple takes it.
"""

from __future__ import annotations

import math
import operator

__all__ = ["Size"]


class Size(tuple):
    """A shape: ``Size([2, 3])``; ``numel()`` is the product of its sizes (1 for ``Size([])``)."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        try:
            return tuple.__new__(cls, [operator.index(s) for s in sizes])
        except TypeError:
            raise TypeError(f"Size: expected a sequence of ints, got {sizes!r}") from None

    def numel(self) -> int:
        return math.prod(self)

    def __repr__(self) -> str:
        return f"fovea.Size({list(self)})"

    def __str__(self) -> str:
        # NOTE: PyTorch's str is its repr; fovea's is the tuple's, so that messages written
        # as f"shape {x.shape}" read "shape (2, 3)" as they did when shapes were tuples.
        return tuple.__repr__(self)

    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return tuple.__new__(Size, item) if isinstance(key, slice) else item

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple.__add__(other, self))

    def __mul__(self, n):
        return tuple.__new__(Size, tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __reduce__(self):
        return (Size, (tuple(self),))
