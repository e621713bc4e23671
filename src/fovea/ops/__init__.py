"""Primitive ops, one file per family. Each file holds Functions and their public wrappers."""

from fovea.ops import (  # noqa: F401
    arithmetic,
    compare,
    diagonal,
    index,
    linalg,
    rearrange,
    reduce,
    scatter,
    shape,
    sort,
)
