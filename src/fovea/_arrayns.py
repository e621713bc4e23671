"""The array namespace that ``Function`` code calls as ``ctx.xp`` on raw arrays.

One instance per backend (built by :class:`fovea.backends.Backend`): the backend's array
module (every name of NumPy's API, looked up on first use) plus the few helpers NumPy lacks
that backward passes need (scatter-adds into zeros). :mod:`fovea._diffns` mirrors the names
that backward code uses with differentiable fovea ops, for backward passes recorded with
``create_graph=True``.
"""

from __future__ import annotations

from fovea.backends.cpu import layout as _layout


class ArrayNamespace:
    """``xp`` (an array module) seen as ``ctx.xp``: its functions plus scatter helpers.

    ``backend`` is the owning :class:`fovea.backends.Backend`.
    """

    def __init__(self, xp, backend=None):
        self.module = xp
        self.backend = backend
        # Layout-preserving allocation is a NumPy-specific trick (see fovea.backends.cpu.layout).
        self._layout_zeros = _layout.zeros if xp is _layout.np else None

    def __getattr__(self, name):
        # Only reached for names not looked up before: bind the module's function once.
        value = getattr(self.module, name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"<array namespace {self.module.__name__}>"

    @staticmethod
    def astype(x, dtype):
        return x.astype(dtype, copy=False)

    @staticmethod
    def is_basic_key(key) -> bool:
        return is_basic_key(key)

    def scatter_add_zeros(self, shape, key, values):
        """``zeros(shape)`` with ``values`` added at ``key`` (repeated indices accumulate).

        On the CPU the result follows ``values``' memory layout when the ranks agree (a
        channels-last gradient of ``x[:, :, ::2, ::2]`` stays channels-last).
        """
        xp = self.module
        if self._layout_zeros is not None:
            out = self._layout_zeros(shape, values, values.dtype)
        else:
            out = xp.zeros(shape, dtype=values.dtype)
        is_mask = not isinstance(key, tuple) and getattr(key, "dtype", None) == xp.dtype(bool)
        if is_basic_key(key) or is_mask:
            out[key] = values
        else:
            xp.add.at(out, key, values)
        return out

    def put_along_axis_zeros(self, shape, indices, values, axis):
        """``zeros(shape)`` with ``values`` added at ``indices`` along ``axis`` (accumulating);
        ``indices`` may be shorter than ``shape`` outside ``axis`` (the leading part is hit)."""
        xp = self.module
        out = xp.zeros(shape, dtype=values.dtype)
        fits = all(a == b for i, (a, b) in enumerate(zip(indices.shape, shape)) if i != axis)
        if indices.shape[axis] == 1 and fits:  # no repeats possible: a plain put
            xp.put_along_axis(out, indices, values, axis=axis)
        else:
            grid = list(xp.indices(indices.shape, sparse=True))
            grid[axis] = indices
            xp.add.at(out, tuple(grid), values)
        return out


def is_basic_key(key) -> bool:
    """True when ``key`` uses only ints, slices, None and Ellipsis (no repeated positions)."""
    items = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, int | slice) for k in items)
