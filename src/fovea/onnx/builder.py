"""The ONNX graph under construction: node list, initializers, unique names (``onnx.helper``)."""

from __future__ import annotations

import numpy as np

INT64_MAX = np.iinfo(np.int64).max


def require_onnx(op: str):
    """The ``onnx`` module, or a one-line error naming the extra that installs it."""
    try:
        import onnx
    except ImportError:
        raise ModuleNotFoundError(f"{op} needs the onnx package: pip install 'fovea[onnx]'"
                                  ) from None
    return onnx


class Builder:
    """Collects ONNX nodes and initializers while the table's translators run.

    ``name(value)`` gives a captured value's ONNX name (a constant becomes an initializer on
    first use, so constants that only fed folded nodes never enter the file).
    """

    def __init__(self, opset: int):
        from onnx import helper, numpy_helper
        self.helper, self.numpy_helper = helper, numpy_helper
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._names: dict[int, str] = {}
        self._used: set[str] = set()
        self._counter = 0
        self.node = None  # the captured node being translated (for error messages)
        self.packed: dict = {}  # recurrent results: id(value) -> (outputs, states, steps)

    def unique(self, base: str) -> str:
        base = base or "v"
        name = base
        while name in self._used:
            self._counter += 1
            name = f"{base}_{self._counter}"
        self._used.add(name)
        return name

    def bind(self, value, name: str) -> None:
        self._names[id(value)] = name

    def name(self, value, dtype=None) -> str:
        """The ONNX name of a captured value (a constant: its initializer, cast to ``dtype``)."""
        if value.const is not None:
            arr = value.const if dtype is None else value.const.astype(dtype, copy=False)
            key = (id(value), None if dtype is None else np.dtype(dtype).str)
            got = self._names.get(key)
            if got is None:
                got = self.const(arr, value.name or "const")
                self._names[key] = got
            return got
        return self._names[id(value)]

    def const(self, array, base: str = "const") -> str:
        """A new initializer holding ``array``."""
        name = self.unique(base)
        arr = np.asarray(array)
        arr = arr if arr.flags.c_contiguous else arr.copy(order="C")  # keeps 0-d arrays 0-d
        self.initializers.append(self.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values, base: str = "shape") -> str:
        return self.const(np.asarray(values, dtype=np.int64), base)

    def add(self, op_type: str, inputs: list, n_out: int = 1, outputs=None, **attrs) -> list:
        """Append one ONNX node; returns its output names."""
        if outputs is None:
            outputs = [self.unique(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op_type, list(inputs), list(outputs),
                                                name=self.unique(f"{op_type}_n"), **attrs))
        return list(outputs)

    def one(self, op_type: str, inputs: list, **attrs) -> str:
        return self.add(op_type, inputs, **attrs)[0]
