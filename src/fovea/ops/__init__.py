"""Primitive ops, one file per family. Each file holds Functions and their public wrappers."""

from fovea.ops import arithmetic, compare, index, linalg, reduce, scatter, shape, sort  # noqa: F401
