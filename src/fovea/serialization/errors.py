"""The errors of :func:`fovea.load` and :func:`fovea.save`: one line naming the file."""

from __future__ import annotations

import pickle


class SerializationError(ValueError, RuntimeError):
    """A file that cannot be read (corrupt, truncated, of an unknown format) or an object that
    cannot be saved. PyTorch raises ``RuntimeError`` there, so this is one too."""


class UnsafeLoadError(SerializationError, pickle.UnpicklingError):
    """A PyTorch file that asks for a Python global outside the allowed set (what PyTorch's
    ``weights_only=True`` loader raises as ``pickle.UnpicklingError``)."""
