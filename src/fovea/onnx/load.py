"""``fovea.onnx.load``: an ONNX file as an ``nn.Module`` that runs the graph with fovea ops."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import fovea
from fovea import nn
from fovea.onnx.builder import require_onnx
from fovea.onnx.ops_import import IMPORT_TABLE

__all__ = ["OnnxModule", "load", "import_model"]


def _attrs(node) -> dict:
    from onnx import helper, numpy_helper
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode()
        elif isinstance(v, list) and v and isinstance(v[0], bytes):
            v = [s.decode() for s in v]
        elif hasattr(v, "dims"):  # a TensorProto
            v = numpy_helper.to_array(v)
        out[a.name] = v
    return out


def _attr_name(name: str, taken: set) -> str:
    base = re.sub(r"\W", "_", name) or "p"
    if base[0].isdigit():
        base = "p_" + base
    out, i = base, 0
    while out in taken:
        i += 1
        out = f"{base}_{i}"
    taken.add(out)
    return out


class OnnxModule(nn.Module):
    """Runs an ONNX graph with fovea ops.

    Floating-point initializers (but scalars) are ``Parameters`` (so the model can be
    fine-tuned); the others (shapes, indices, a pad value) are plain constants.
    ``input_names``/``output_names`` are the graph's; ``forward(*inputs)`` takes the inputs in
    that order and returns one tensor, or a tuple when the graph has several outputs.
    """

    def __init__(self, model_proto):
        super().__init__()
        require_onnx("onnx.load")
        from onnx import numpy_helper
        g = model_proto.graph
        missing = sorted({n.op_type for n in g.node if n.domain not in ("", "ai.onnx")
                          or n.op_type not in IMPORT_TABLE})
        if missing:
            raise NotImplementedError(f"onnx.load: the graph uses op(s) fovea has no import "
                                      f"for: {', '.join(missing)}")
        taken: set = set()
        self._param_of: dict[str, str] = {}
        self._consts: dict[str, np.ndarray] = {}
        for init in g.initializer:
            arr = numpy_helper.to_array(init)
            if arr.dtype.kind == "f" and arr.ndim > 0:  # scalars are options, not weights
                attr = _attr_name(init.name, taken)
                self.register_parameter(attr, nn.Parameter(fovea.tensor(arr.copy())))
                self._param_of[init.name] = attr
            else:
                self._consts[init.name] = arr
        inits = {i.name for i in g.initializer}
        self.input_names = [i.name for i in g.input if i.name not in inits]
        self.output_names = [o.name for o in g.output]
        self._nodes = [(n.op_type, list(n.input), list(n.output), _attrs(n), n.name)
                       for n in g.node]

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise ValueError(f"OnnxModule: expected {len(self.input_names)} inputs "
                             f"({', '.join(self.input_names)}), got {len(inputs)}")
        env: dict = {name: fovea.as_tensor(x) for name, x in zip(self.input_names, inputs)}
        for name, attr in self._param_of.items():
            env[name] = getattr(self, attr)
        for name, arr in self._consts.items():
            env[name] = fovea.tensor(arr)
        for op_type, ins, outs, attrs, node_name in self._nodes:
            args = [env[i] if i else None for i in ins]
            try:
                results = IMPORT_TABLE[op_type](args, attrs)
            except (KeyError, ValueError, TypeError, IndexError) as e:
                raise type(e)(f"onnx.load: {op_type} node {node_name!r}: {e}") from e
            for o, r in zip(outs, results):
                if o:
                    env[o] = r
        out = [env[n] for n in self.output_names]
        return out[0] if len(out) == 1 else tuple(out)


def import_model(model_proto) -> OnnxModule:
    """An ``onnx.ModelProto`` as an :class:`OnnxModule`."""
    return OnnxModule(model_proto)


def load(path) -> OnnxModule:
    """The ONNX file at ``path`` as an :class:`OnnxModule` (``nn.Module``)."""
    onnx = require_onnx("onnx.load")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"onnx.load: no such file: {path}")
    return OnnxModule(onnx.load(str(path)))
