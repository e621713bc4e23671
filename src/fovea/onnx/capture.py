"""Record a model's forward pass as a graph of ``Function`` nodes, for export.

The engine hook :func:`fovea.autograd.observing` tells us of every ``Function.apply``; values
are keyed by the identity of their arrays (kept alive while capturing, so identities are not
reused). An array no node produced is a constant: a parameter or buffer (named by its
``state_dict`` key) or a number made outside the graph (batch norm's 1/√(var + ε), a zero
initial state). A node whose inputs are all constants is folded: its result, already
computed, becomes a constant, so export sees ``weight * inv_std`` as one tensor. A param that
is a graph value's own array (embedding's indices) counts as an input (``data_params``); one
computed from such an array outside the graph cannot be seen and would be baked in (the
translators of the ops that take array params check for it).

Forward pre/post hooks on every submodule keep a stack of module paths, so each node knows
the layer it came from (for error messages). Functions that compute outside the graph
(``nms``, ``batched_nms``, ``roi_align``: their boxes become index arrays in NumPy) are
patched for the duration of the capture to record one node of their own kind instead.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from fovea import autograd
from fovea.tensor import Tensor

__all__ = ["Value", "Node", "Graph", "capture"]


@dataclass(eq=False)
class Value:
    """One array of the graph: a graph input, a node's output, or a constant (``const``)."""

    shape: tuple
    dtype: np.dtype
    const: np.ndarray | None = None
    name: str | None = None  # parameter/buffer key, or the graph input's name
    alt_shape: tuple | None = None  # the shape in a second capture at other dynamic sizes


@dataclass(eq=False)
class Node:
    """``outputs = kind(*inputs, **params)``; ``kind`` is a Function class or a string
    (``"nms"``, ``"roi_align"``); ``scope`` is the module path it was recorded in."""

    kind: object
    inputs: list
    params: dict
    outputs: list
    scope: str
    alt_params: dict | None = None  # the params in a second capture at other dynamic sizes
    data_params: dict = field(default_factory=dict)  # params that are graph values' arrays

    @property
    def op_name(self) -> str:
        return self.kind if isinstance(self.kind, str) else self.kind.__name__

    @property
    def where(self) -> str:
        return f"layer {self.scope!r}" if self.scope else "the model's own forward"


@dataclass(eq=False)
class Graph:
    """The recorded graph: inputs, nodes in execution order, outputs."""

    inputs: list
    nodes: list
    outputs: list
    keep: list = field(default_factory=list)  # pins the arrays whose ids key the values


class _Recorder:
    def __init__(self, names: dict[int, str]):
        self.values: dict[int, Value] = {}
        self.names = names
        self.nodes: list[Node] = []
        self.keep: list = []
        self.scope: list[str] = []

    def value_of(self, t) -> Value:
        a = t._data if isinstance(t, Tensor) else t
        v = self.values.get(id(a))
        if v is None:  # made outside the graph: a constant
            name = self.names.get(id(a))
            # Unnamed constants are copied: the model may write into them later in forward.
            arr = np.asarray(a) if name is not None else np.array(a, copy=True)
            v = Value(tuple(arr.shape), arr.dtype, const=arr, name=name)
            self.bind(a, v)
        return v

    def bind(self, a, v: Value) -> None:
        self.keep.append(a)
        self.values[id(a)] = v

    def record(self, kind, inputs, params, results) -> None:
        ins = [self.value_of(t) for t in inputs]
        multi = isinstance(results, (tuple, list))
        outs = list(results) if multi else [results]
        # Ops that take a graph value's array as a param (embedding's indices) depend on it.
        data = {k: self.values[id(p)] for k, p in params.items() if isinstance(p, np.ndarray)
                and id(p) in self.values and self.values[id(p)].const is None}
        folded = all(v.const is not None for v in ins) and not data
        vals = []
        for r in outs:
            a = r._data
            v = Value(tuple(a.shape), a.dtype, const=np.array(a, copy=True) if folded else None)
            self.bind(a, v)
            vals.append(v)
        if not folded:
            self.nodes.append(Node(kind, ins, dict(params), vals,
                                   self.scope[-1] if self.scope else "", data_params=data))

    def observer(self, cls, inputs, params, result) -> None:
        self.record(cls, inputs, params, result)


def _flat_tensors(out, where: str) -> list:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat_tensors(o, where)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flat_tensors(o, where)]
    raise TypeError(f"onnx.export: {where} must be tensors (or tuples/lists/dicts of them), "
                    f"got {type(out).__name__}")


@contextlib.contextmanager
def _scopes(model, rec: _Recorder):
    handles = []
    for path, mod in model.named_modules():
        if not path:
            continue
        handles.append(mod.register_forward_pre_hook(
            lambda m, args, p=path: rec.scope.append(p)))
        handles.append(mod.register_forward_hook(lambda m, a, o: rec.scope.pop() and None))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _patched_ops(rec: _Recorder):
    """Replacements for the ops that compute outside the graph, recording one node each."""
    from fovea.vision.ops import boxes as boxes_mod
    from fovea.vision.ops import roi as roi_mod

    orig_nms, orig_roi, orig_bnms = boxes_mod.nms, roi_mod.roi_align, boxes_mod.batched_nms

    def nms(boxes, scores, iou_threshold):
        with autograd.observing(None):
            out = orig_nms(boxes, scores, iou_threshold)
        rec.record("nms", [boxes, scores], {"iou_threshold": float(iou_threshold)}, out)
        return out

    def batched_nms(boxes, scores, idxs, iou_threshold):
        with autograd.observing(None):
            out = orig_bnms(boxes, scores, idxs, iou_threshold)
        rec.record("batched_nms", [boxes, scores, idxs],
                   {"iou_threshold": float(iou_threshold)}, out)
        return out

    def roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1,
                  aligned=False):
        with autograd.observing(None):
            out = orig_roi(input, boxes, output_size, spatial_scale, sampling_ratio, aligned)
        if isinstance(boxes, (list, tuple)):  # per-image (L_i, 4): batch indices are fixed
            bidx = np.concatenate([np.full(len(b), i, np.int64) for i, b in enumerate(boxes)])
            inputs = [input, *boxes]
        else:
            bidx, inputs = None, [input, boxes]
        ph, pw = roi_mod._pair(output_size, "output_size", "roi_align")
        rec.record("roi_align", inputs, {"output_size": (ph, pw), "spatial_scale":
                                         float(spatial_scale), "sampling_ratio":
                                         int(sampling_ratio), "aligned": bool(aligned),
                                         "batch_index": bidx}, out)
        return out

    import fovea.vision.ops as ops_pkg
    return [(boxes_mod, "nms", nms), (ops_pkg, "nms", nms), (roi_mod, "roi_align", roi_align),
            (ops_pkg, "roi_align", roi_align), (boxes_mod, "batched_nms", batched_nms),
            (ops_pkg, "batched_nms", batched_nms)]


@contextlib.contextmanager
def _patch(targets):
    saved = [(mod, name, getattr(mod, name)) for mod, name, _ in targets]
    for mod, name, fn in targets:
        setattr(mod, name, fn)
    try:
        yield
    finally:
        for mod, name, fn in saved:
            setattr(mod, name, fn)


def capture(model, args: tuple, input_names: list[str]) -> Graph:
    """Run ``model(*args)`` once and record its graph.

    The inputs are copied into fresh tensors that require grad: then every in-place update
    (``relu(x, inplace=True)``) takes the recorded result rather than writing into the old
    array, so each array holds one value and identities stay meaningful.
    """
    names = {}
    for n, p in model.named_parameters():
        names.setdefault(id(p._data), n)
    for n, b in model.named_buffers():
        names.setdefault(id(b._data), n)
    rec = _Recorder(names)
    inputs, graph_inputs = [], []
    for t, name in zip(args, input_names):
        x = Tensor._make(np.array(t._data, copy=True), None)
        if x.is_floating_point():
            x.requires_grad = True
        v = Value(tuple(x.shape), x.dtype, name=name)
        rec.bind(x._data, v)
        inputs.append(x)
        graph_inputs.append(v)
    with _scopes(model, rec), _patch(_patched_ops(rec)), autograd.enable_grad(), \
            autograd.observing(rec.observer):
        out = model(*inputs)
    outs = []
    for t in _flat_tensors(out, "the model's outputs"):
        v = rec.values.get(id(t._data))
        if v is None or v.const is not None:
            raise ValueError("onnx.export: an output of the model does not depend on its "
                             "inputs (a constant); export only input-dependent outputs")
        outs.append(v)
    return Graph(graph_inputs, rec.nodes, outs, rec.keep)
