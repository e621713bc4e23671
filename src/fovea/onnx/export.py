"""``fovea.onnx.export``: capture a model's graph, fold batch norm, write an ONNX file."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from fovea.nn.functional.conv import Conv2dFn
from fovea.onnx.builder import Builder, require_onnx
from fovea.onnx.capture import Value, capture
from fovea.onnx.symbolic import TABLE, UnsupportedOpError
from fovea.ops import arithmetic as ar
from fovea.tensor import Tensor

__all__ = ["export", "export_to_model", "OPSET_RANGE", "DEFAULT_OPSET"]

OPSET_RANGE = (13, 20)
"""The ONNX opsets ``export`` writes (inclusive)."""
DEFAULT_OPSET = 17


def _check_opset(opset) -> int:
    lo, hi = OPSET_RANGE
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool) \
            or not lo <= opset <= hi:
        raise ValueError(f"onnx.export: opset_version must be an integer in {lo}..{hi}, "
                         f"got {opset!r}")
    return int(opset)


def _as_inputs(example_inputs) -> tuple:
    if isinstance(example_inputs, Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, (tuple, list)) and all(isinstance(t, Tensor)
                                                         for t in example_inputs):
        return tuple(example_inputs)
    raise TypeError("onnx.export: example_inputs must be a Tensor or a tuple of Tensors, "
                    f"got {type(example_inputs).__name__}")


def _consumers(graph) -> dict:
    uses: dict[int, list] = {}
    for n in graph.nodes:
        for v in n.inputs:
            uses.setdefault(id(v), []).append(n)
    for v in graph.outputs:
        uses.setdefault(id(v), []).append(None)
    return uses


def _channel_vector(v, c: int, ndim: int):
    """A (C,) vector when constant ``v`` broadcasts per channel over (N, C, H, W), else None."""
    if v.const is None:
        return None
    a = v.const
    if a.size == 1:
        return np.full(c, a.reshape(()), dtype=a.dtype)
    if a.ndim >= ndim - 1 and a.size == c and a.shape[-3] == c and a.ndim <= ndim:
        return a.reshape(c)
    return None


def fold_batch_norm(graph) -> int:
    """Fold ``conv → ·s → +t`` with per-channel constants s, t (eval batch norm, as
    ``_batch_norm_eval`` composes it) into the convolution's weight and bias. Returns the
    number of folds."""
    uses = _consumers(graph)
    dropped, folds = set(), 0
    for conv in graph.nodes:
        if conv.kind is not Conv2dFn or id(conv) in dropped:
            continue
        w = conv.inputs[1]
        bias = conv.inputs[2] if len(conv.inputs) > 2 else None
        if w.const is None or (bias is not None and bias.const is None):
            continue
        y = conv.outputs[0]
        c = w.const.shape[0]
        chain, scale, shift = [], np.ones(c), np.zeros(c)
        cur = y
        while True:
            users = uses.get(id(cur), [])
            if len(users) != 1 or users[0] is None:
                break
            n = users[0]
            if n.kind not in (ar.Mul, ar.Add) or n.inputs[0] is not cur:
                break
            vec = _channel_vector(n.inputs[1], c, len(y.shape))
            if vec is None:
                break
            if n.kind is ar.Mul:
                scale, shift = scale * vec, shift * vec
            else:
                shift = shift + vec
            chain.append(n)
            cur = n.outputs[0]
        if not chain:
            continue
        dt = w.const.dtype
        base = w.name.rsplit(".", 1)[0] if w.name and "." in w.name else "conv"
        wv = Value(w.shape, dt, const=(w.const.astype(np.float64)
                                       * scale[:, None, None, None]).astype(dt),
                   name=base + ".weight_folded")
        b0 = np.zeros(c) if bias is None else bias.const.astype(np.float64)
        bv = Value((c,), dt, const=(b0 * scale + shift).astype(dt), name=base + ".bias_folded")
        conv.inputs = [conv.inputs[0], wv, bv]
        conv.outputs = [cur]
        dropped.update(id(n) for n in chain)
        folds += 1
    graph.nodes = [n for n in graph.nodes if id(n) not in dropped]
    return folds


def _grow(t: Tensor, axes) -> Tensor:
    """``t`` one longer along each of ``axes`` (rows repeated cyclically)."""
    a = t._data
    for ax in axes:
        idx = np.arange(a.shape[ax] + 1) % a.shape[ax]
        a = np.take(a, idx, axis=ax)
    return Tensor._make(np.ascontiguousarray(a), None)


def _dynamic_axes(dynamic_axes, input_names, output_names) -> dict:
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in input_names and name not in output_names:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is neither an "
                             f"input ({input_names}) nor an output ({output_names})")
        if isinstance(axes, dict):
            out[name] = {int(k): str(v) for k, v in axes.items()}
        else:
            out[name] = {int(k): f"{name}_dim{int(k)}" for k in axes}
    return out


def _mark_alt_shapes(graph, alt) -> None:
    """Copy the second capture's shapes onto the first's values (same nodes, other sizes)."""
    kinds = [n.kind for n in graph.nodes], [n.kind for n in alt.nodes]
    if kinds[0] != kinds[1]:
        raise ValueError("onnx.export: the model runs different ops when the dynamic axes "
                         "change size (shape-dependent control flow); export it without "
                         "dynamic_axes")
    for n, m in zip(graph.nodes, alt.nodes):
        n.alt_params = m.params
        for v, u in zip(n.inputs + n.outputs, m.inputs + m.outputs):
            v.alt_shape = u.shape
    for v, u in zip(graph.inputs + graph.outputs, alt.inputs + alt.outputs):
        v.alt_shape = u.shape


def _check_no_baked_sizes(graph) -> None:
    """A constant whose shape follows a dynamic axis (a zero state made at the traced batch
    size) would pin that size in the file."""
    from fovea.nn.functional.rnn import RecurrentLayer
    for n in graph.nodes:
        for i, v in enumerate(n.inputs):
            if v.const is None or v.alt_shape is None or v.alt_shape == v.shape:
                continue
            if n.kind is RecurrentLayer and i in (1, 2) and not np.any(v.const):
                continue  # a zero initial state is dropped (ONNX's default)
            raise ValueError(f"onnx.export: {n.op_name} ({n.where}) uses a constant of shape "
                             f"{v.shape} made at the traced size of a dynamic axis; it can't "
                             "follow the axis in the exported file")


def export_to_model(model, example_inputs, opset_version: int = DEFAULT_OPSET,
                    input_names=None, output_names=None, dynamic_axes=None,
                    fold_bn: bool = True):
    """The ``onnx.ModelProto`` of ``model`` (see :func:`export`)."""
    onnx = require_onnx("onnx.export")
    from onnx import helper

    opset = _check_opset(opset_version)
    args = _as_inputs(example_inputs)
    input_names = list(input_names or [f"input{i}" if len(args) > 1 else "input"
                                       for i in range(len(args))])
    if len(set(input_names)) != len(input_names):
        raise ValueError(f"onnx.export: input_names must be distinct, got {input_names}")
    if len(input_names) != len(args):
        raise ValueError(f"onnx.export: {len(input_names)} input_names for {len(args)} inputs")
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        graph = capture(model, args, input_names)
        output_names = list(output_names or [f"output{i}" if len(graph.outputs) > 1
                                             else "output" for i in range(len(graph.outputs))])
        if len(set(output_names) | set(input_names)) != len(output_names) + len(input_names):
            raise ValueError(f"onnx.export: input and output names must be distinct, got "
                             f"{input_names} and {output_names}")
        if len(output_names) != len(graph.outputs):
            raise ValueError(f"onnx.export: {len(output_names)} output_names for "
                             f"{len(graph.outputs)} outputs")
        dyn = _dynamic_axes(dynamic_axes, input_names, output_names)
        if any(n in dyn for n in input_names):
            alt_args = tuple(_grow(t, dyn.get(n, {})) for t, n in zip(args, input_names))
            alt = capture(model, alt_args, input_names)
            _mark_alt_shapes(graph, alt)
            _check_no_baked_sizes(graph)
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    if fold_bn:
        fold_batch_norm(graph)

    b = Builder(opset)
    onnx_inputs = []
    for v, name in zip(graph.inputs, input_names):
        b.bind(v, b.unique(name))
        shape = [dyn.get(name, {}).get(i, s) for i, s in enumerate(v.shape)]
        onnx_inputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(np.dtype(v.dtype)), shape))
    for n in graph.nodes:
        tr = TABLE.get(n.kind)
        if tr is None:
            raise UnsupportedOpError(f"onnx.export: {n.op_name} ({n.where}) has no ONNX "
                                     "counterpart in fovea's exporter")
        b.node = n
        names = tr(b, n)
        for v, nm in zip(n.outputs, names):
            b.bind(v, nm)
    onnx_outputs = []
    for v, name in zip(graph.outputs, output_names):
        src = b.name(v)
        b.add("Identity", [src], outputs=[b.unique(name)])
        shape = [dyn.get(name, {}).get(i, s) for i, s in enumerate(v.shape)]
        if v.alt_shape is not None:  # dims that follow a dynamic input axis: unnamed
            shape = [s if isinstance(s, str) or s == a else None
                     for s, a in zip(shape, v.alt_shape)]
        onnx_outputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(np.dtype(v.dtype)), shape))
    g = helper.make_graph(b.nodes, type(model).__name__, onnx_inputs, onnx_outputs,
                          initializer=b.initializers)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="fovea")
    m.ir_version = min(m.ir_version, _IR_FOR_OPSET.get(opset, m.ir_version))
    onnx.checker.check_model(m)
    return m


# The newest IR version each opset's ONNX release wrote: older runtimes refuse newer IRs.
_IR_FOR_OPSET = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9}


def export(model, example_inputs, f, opset_version: int = DEFAULT_OPSET, input_names=None,
           output_names=None, dynamic_axes=None, fold_bn: bool = True):
    """Export ``model`` to ONNX, as ``torch.onnx.export``.

    The model runs once on ``example_inputs`` (a Tensor or a tuple of them) in evaluation
    mode; the ops it runs are translated by :data:`fovea.onnx.symbolic.TABLE`. Batch norm
    after a convolution is folded into the convolution's weight and bias.

    Args:
        model: an ``nn.Module`` (or any callable of tensors).
        example_inputs: the inputs of the trace.
        f: a path or a binary file object; a path is written atomically.
        opset_version: ONNX opset, in ``OPSET_RANGE`` (13..20).
        input_names, output_names: graph names (default ``input``/``output``, numbered when
            several).
        dynamic_axes: ``{name: [axes]}`` or ``{name: {axis: "label"}}``: those axes may
            change size at run time (e.g. ``{"input": {0: "batch"}}``).
        fold_bn: fold batch norm into the preceding convolution.

    Returns:
        The ``onnx.ModelProto`` written.
    """
    m = export_to_model(model, example_inputs, opset_version, input_names, output_names,
                        dynamic_axes, fold_bn)
    data = m.SerializeToString()
    if isinstance(f, (str, Path)):
        from fovea.train.checkpoint import atomic_write_bytes
        atomic_write_bytes(Path(f), data)
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"onnx.export: f must be a path or a binary file, got {type(f).__name__}")
    return m
