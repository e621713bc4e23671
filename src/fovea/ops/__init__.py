"""Primitive ops, one file per family. Each file holds Functions and their public wrappers."""

from fovea.ops import (  # noqa: F401
    arithmetic,
    binary,
    compare,
    diagonal,
    elementwise,
    index,
    linalg,
    norms,
    rearrange,
    reduce,
    rounding,
    scan,
    scatter,
    selection,
    shape,
    sort,
)
