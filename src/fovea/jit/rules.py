"""Tracing rules: traceable stand-ins for library functions that compute with NumPy from
tensors that stay live, so that the value becomes recorded (recomputed) nodes instead of a
constant frozen at trace time.

Each rule is ``(module, attribute, replacement)``; :func:`patched` swaps the attribute for
the replacement while a trace records (the library calls these helpers through its module's
globals, so the swap is seen) and restores it afterwards. A replacement computes the same
values with the same operations, in ops, so eager results are bit for bit those of the
original.
"""

from __future__ import annotations

import contextlib

from fovea.nn.functional import normalization

__all__ = ["RULES", "patched"]


def _batch_norm_eval(x, running_mean, running_var, weight, bias, eps, bshape):
    """Evaluation-mode batch norm as :func:`normalization._batch_norm_eval`, with
    s = γ / √(running_var + ε) built from ops: the running statistics are live buffers, so a
    replay uses their current values (after more training or ``load_state_dict``)."""
    dtype = x.dtype
    inv_std = (1.0 / (running_var + eps).sqrt()).to(dtype)
    mean = running_mean.to(dtype)
    scale = inv_std if weight is None else weight * inv_std
    shift = -(mean * scale)
    if bias is not None:
        shift = shift + bias
    return x * scale.reshape(bshape) + shift.reshape(bshape)


RULES = [(normalization, "_batch_norm_eval", _batch_norm_eval)]


@contextlib.contextmanager
def patched():
    """Install every rule for the duration of a recording."""
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in RULES]
    try:
        for mod, name, fn in RULES:
            setattr(mod, name, fn)
        yield
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)
