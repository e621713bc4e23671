"""Flatten parameters into one vector and back (PyTorch's ``parameters_to_vector``)."""

from __future__ import annotations

from collections.abc import Iterable

from fovea.autograd import no_grad
from fovea.ops.shape import cat
from fovea.tensor import Tensor


def _params(parameters, op: str) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    out = list(parameters)
    for i, p in enumerate(out):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters must be Tensors, item {i} is a {type(p).__name__}")
    return out


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated, in order: a 1-D tensor (differentiable).

    Args:
        parameters: an iterable of tensors (e.g. ``model.parameters()``), all of one dtype.
    """
    params = _params(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    dtypes = {p.dtype for p in params}
    if len(dtypes) > 1:
        raise TypeError(f"parameters_to_vector: parameters have several dtypes "
                        f"{sorted(map(str, dtypes))}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters, in place (under no_grad).

    Args:
        vec: a 1-D tensor with exactly as many elements as the parameters together.
        parameters: an iterable of tensors, in the order used by :func:`parameters_to_vector`.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {vec.shape}")
    params = _params(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: vec has {vec.shape[0]} elements but the "
                         f"parameters have {total}")
    data = vec._data
    start = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(data[start:start + n].reshape(p.shape))
            start += n
