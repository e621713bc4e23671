"""Memory-layout helpers, generic: the interface of :mod:`fovea.backends.cpu.layout` for a
device whose memory layouts fovea does not track.

The CPU keeps channels-last activations channels-last (NumPy's loops are several times
slower on mixed layouts); here every new array is simply allocated in C order with the
argument's array module, and reshapes and pads are the array module's own.

Interface (the functions ops call)::

    axis_order(a)                      # axes from outermost to innermost: C order here
    empty(shape, like, dtype=None)     # a new array on like's device
    zeros(shape, like, dtype=None)
    pad(x, widths, value)              # constant padding, NumPy widths ((before, after), ...)
    reshape_order(x, out)              # the order a reshape's gradient goes back in, or None
    reshape_in_order(g, shape, order)  # g reshaped to shape, laid out in that order
"""

from __future__ import annotations

from fovea.backends import for_array


def axis_order(a) -> tuple[int, ...]:
    """The axes of ``a`` from outermost to innermost in memory: C order."""
    return tuple(range(a.ndim))


def empty(shape: tuple, like, dtype=None):
    """An uninitialised array of ``shape`` on ``like``'s device (C order)."""
    return for_array(like).xp.empty(shape, dtype=like.dtype if dtype is None else dtype)


def zeros(shape: tuple, like, dtype=None):
    """Zeros of ``shape`` on ``like``'s device (C order)."""
    return for_array(like).xp.zeros(shape, dtype=like.dtype if dtype is None else dtype)


def pad(x, widths, value):
    """``x`` inside a frame of ``value``: ``widths`` are non-negative (before, after) pairs."""
    return for_array(x).xp.pad(x, widths, mode="constant", constant_values=value)


def reshape_order(x, out) -> tuple[int, ...] | None:
    """None: a reshape's gradient goes back as a plain reshape (no layout to restore)."""
    return None


def reshape_in_order(g, shape: tuple, order: tuple[int, ...]):
    """``g`` reshaped to ``shape`` (C order: ``order`` is the CPU's concern)."""
    return for_array(g).xp.reshape(g, shape)
