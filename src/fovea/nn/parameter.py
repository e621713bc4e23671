"""``Parameter``: a Tensor that a Module registers as one of its learnable weights."""

from __future__ import annotations

from fovea.tensor import Tensor, _to_array


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and is registered when assigned to a Module.

    Args:
        data: a Tensor or array-like; floating tensors keep their dtype.
        requires_grad: whether the optimizer should train it (default True).
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = []
        # A Tensor's array is shared, not copied (as torch.nn.Parameter does).
        arr = data._data if isinstance(data, Tensor) else _to_array(data, None, "Parameter")
        self._init_leaf(arr, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (self._data, self.requires_grad))
