"""Primitive ops, one file per family. Each file holds Functions and their public wrappers."""

from fovea.ops import (  # noqa: F401
    arithmetic,
    binary,
    compare,
    elementwise,
    index,
    linalg,
    norms,
    reduce,
    rounding,
    scan,
    selection,
    shape,
)
