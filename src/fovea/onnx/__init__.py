"""ONNX export and import.

* :func:`export` (``fovea.onnx.export(model, example_inputs, "model.onnx", opset_version=17,
  input_names=..., output_names=..., dynamic_axes=...)``): capture the model's graph with the
  engine's observer hook (:mod:`fovea.onnx.capture`), fold batch norm into the convolutions,
  translate each op by :data:`fovea.onnx.symbolic.TABLE` and write the protobuf with the
  ``onnx`` package; opsets ``OPSET_RANGE`` (13..20).
* :func:`load` / :func:`import_model`: an ONNX file as an ``nn.Module`` that runs the graph
  with fovea ops (differentiable; initializers become Parameters).

The ``onnx`` package (the ``onnx`` extra) is imported only when these run.
"""

from fovea.onnx.export import DEFAULT_OPSET, OPSET_RANGE, export, export_to_model
from fovea.onnx.load import OnnxModule, import_model, load
from fovea.onnx.symbolic import UnsupportedOpError

__all__ = ["export", "export_to_model", "OPSET_RANGE", "DEFAULT_OPSET", "UnsupportedOpError",
           "load", "import_model", "OnnxModule"]
