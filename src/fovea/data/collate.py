"""``default_collate`` and ``default_convert``: examples -> batched Tensors, as PyTorch.

``default_collate`` turns a list of B examples into one batch, recursively by the type of the
first example:

==========================  ===============================================================
example element             batch
==========================  ===============================================================
Tensor / numpy array        Tensor (B, *shape), stacked (same dtype)
numpy scalar                Tensor (B,) of its dtype
float / int / bool          Tensor (B,) float64 / int64 / bool
str / bytes                 the list of them
dict (Mapping)              dict with each key collated
namedtuple                  namedtuple of collated fields
tuple / list                list of collated fields (all examples the same length)
==========================  ===============================================================
"""

from __future__ import annotations

import collections.abc
import numbers

import numpy as np

from fovea.tensor import Tensor

__all__ = ["default_collate", "default_convert"]


def _error(elem) -> TypeError:
    return TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                     f"dicts or lists; found {type(elem)}")


def _tensor(a: np.ndarray) -> Tensor:
    from fovea.creation import from_numpy

    return from_numpy(np.ascontiguousarray(a))


def _stack(arrays: list[np.ndarray]) -> Tensor:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, but "
                           f"got shapes {sorted(shapes)}")
    return _tensor(np.stack(arrays))


def default_collate(batch):
    """Collate a list of examples into a batch (see the module docstring for the rules)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([b.detach().numpy() for b in batch])
    if isinstance(elem, np.ndarray | np.generic):
        if elem.dtype.kind in "OSUV":
            raise _error(elem)
        return _stack([np.asarray(b) for b in batch])
    if isinstance(elem, bool):
        return _tensor(np.asarray(batch, dtype=bool))
    if isinstance(elem, numbers.Integral):
        return _tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return _tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise _error(elem)


def default_convert(data):
    """Arrays -> Tensors inside (nested) containers, without batching (``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray | np.generic):
        if data.dtype.kind in "OSUV":
            return data
        return _tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        out = {key: default_convert(data[key]) for key in data}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, str | bytes):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
