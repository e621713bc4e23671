"""The traced graph: values, nodes, and the tracer that records them.

A :class:`Graph` is a flat list of :class:`Node` records (one per ``Function.apply`` seen
while the traced code ran, in execution order) over numbered values. A value is one of

* ``input``: the k-th tensor argument of the traced callable;
* ``live``: a tensor that outlives the trace and is read anew at every replay (a module's
  parameters and buffers, or any captured tensor that requires grad), so that training
  updates are seen;
* ``const``: an array captured by value (a tensor made outside ``Function.apply``, such as a
  creation op's result or a random mask);
* ``node``: an output of a recorded node.

The tracer listens on :func:`fovea.autograd.observing`. It maps tensors to values by the
identity of their arrays (so ``detach()``, ``.data`` and in-place updates that swap a tensor's
array are followed), binds array parameters that are graph values (``gather``'s index, a
tensor argument turned array) to those values, and warns (:class:`TracerWarning`) where the
trace cannot follow the Python code: conversions to Python numbers used for control flow,
random numbers drawn during tracing, array parameters computed outside the recorded ops, and
in-place writes made outside them.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field

import numpy as np

from fovea import autograd
from fovea.creation import default_generator
from fovea.jit import rules
from fovea.tensor import Tensor

__all__ = ["Graph", "Node", "Value", "TracerWarning", "record"]


class TracerWarning(UserWarning):
    """The trace may not generalise to other inputs (PyTorch's ``torch.jit.TracerWarning``)."""


@dataclass
class Value:
    """One value of the graph. ``kind`` is ``input``, ``live``, ``const`` or ``node``."""

    id: int
    kind: str
    shape: tuple
    dtype: np.dtype
    index: int = -1          # input: argument position; node: producing node's position
    out_index: int = 0       # node: which output of the producer
    tensor: Tensor | None = None   # live: the tensor read at every replay
    array: object = None     # const: the captured array
    name: str = ""           # live: the parameter's or buffer's name
    requires_grad: bool = False    # at trace time
    random: bool = False     # const: made from random numbers drawn during tracing

    def type_str(self) -> str:
        return f"{np.dtype(self.dtype).name}[{', '.join(map(str, self.shape))}]"


@dataclass
class Node:
    """One recorded ``Function.apply``: ``cls.forward(ctx, *inputs, **params)``.

    ``bindings`` lists the array parameters that are graph values, as ``(key, position,
    value id)`` (position None for the parameter itself, else the index inside a tuple
    parameter): they are filled in from the environment at each replay.
    """

    cls: type
    inputs: list
    detached: list
    params: dict
    outputs: list
    multi: bool
    grad_enabled: bool = True
    bindings: list = field(default_factory=list)
    effect: bool = False     # writes into tensors passed as parameters (batch-norm statistics)
    xp: object = None        # the device namespace when not the CPU's
    label: str = ""          # a fused node's name for printing

    @property
    def name(self) -> str:
        return self.label or self.cls.__name__


class Graph:
    """The recorded program: ``values``, ``nodes`` in order, ``inputs`` and ``outputs``
    (value ids) and ``out_tree`` (how the outputs nest: a value id, or a tuple/list of
    trees). ``str(graph)`` prints it in PyTorch's IR style."""

    def __init__(self):
        self.values: list[Value] = []
        self.nodes: list[Node] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.out_tree = None

    def add_value(self, kind, shape, dtype, **kw) -> Value:
        v = Value(len(self.values), kind, tuple(shape), np.dtype(dtype), **kw)
        self.values.append(v)
        return v

    def live_values(self) -> list[Value]:
        return [v for v in self.values if v.kind == "live"]

    def copy(self) -> Graph:
        g = Graph()
        g.values = list(self.values)
        g.nodes = list(self.nodes)
        g.inputs, g.outputs, g.out_tree = list(self.inputs), list(self.outputs), self.out_tree
        return g

    def __str__(self) -> str:
        def arg(v: Value) -> str:
            s = f"%{v.id} : {v.type_str()}"
            if v.kind == "live":
                s += f" = live {v.name}" if v.name else " = live"
            return s

        used = {i for n in self.nodes for i in n.inputs} | set(self.outputs)
        head = [arg(self.values[i]) for i in self.inputs]
        head += [arg(v) for v in self.live_values() if v.id in used]
        lines = ["graph(" + ",\n      ".join(head) + "):"]
        for v in self.values:
            if v.kind == "const" and v.id in used:
                tag = " (random)" if v.random else ""
                lines.append(f"  %{v.id} : {v.type_str()} = constant{tag}")
        for n in self.nodes:
            outs = ", ".join(f"%{o} : {self.values[o].type_str()}" for o in n.outputs)
            ins = [("detach " if d else "") + f"%{i}" for i, d in zip(n.inputs, n.detached)]
            ps = [f"{k}={_short(p)}" for k, p in n.params.items()]
            lines.append(f"  {outs} = {n.name}({', '.join(ins + ps)})")
        lines.append("  return (" + ", ".join(f"%{o}" for o in self.outputs) + ")")
        return "\n".join(lines)

    __repr__ = __str__


def _short(p) -> str:
    if isinstance(p, Tensor):
        return f"tensor{list(p.shape)}"
    if hasattr(p, "shape") and hasattr(p, "dtype"):
        return f"array{list(p.shape)}"
    if isinstance(p, tuple | list):
        return "(" + ", ".join(_short(q) for q in p) + ")"
    if isinstance(p, type):
        return p.__name__
    s = repr(p)
    return s if len(s) <= 40 else s[:37] + "..."


# --- the tracer ------------------------------------------------------------------------------

_active = threading.local()  # .tracer: the _Tracer of this thread while a trace runs


def _rng_state():
    """A cheap fingerprint of the default generator's state (changes when numbers are drawn)."""
    st = default_generator().bit_generator.state.get("state")
    return repr(st)


class _Tracer:
    """Builds a :class:`Graph` from the ``observing`` callbacks of one traced call."""

    def __init__(self, graph: Graph, live: dict):
        self.graph = graph
        self.by_array: dict[int, tuple] = {}  # id(array) -> (value id, version list, version)
        self.keep: list = []                   # the arrays above stay alive (ids stay unique)
        self.live_by_tensor = live             # id(tensor) -> (tensor, name)
        self.rng = _rng_state()
        self.node_outputs: list[int] = []
        self.arrays: dict[int, object] = {}    # node value id -> its array at trace time
        self.untracked: set[int] = set()       # ids of arrays of tensors made outside apply

    # values ----------------------------------------------------------------------------
    def _register(self, t: Tensor, vid: int) -> None:
        self.by_array[id(t._data)] = (vid, t._version, t._version[0])
        self.keep.append(t._data)

    def add_input(self, t: Tensor) -> int:
        v = self.graph.add_value("input", t.shape, t.dtype, index=len(self.graph.inputs),
                                 requires_grad=t.requires_grad)
        self.graph.inputs.append(v.id)
        self._register(t, v.id)
        return v.id

    def add_live(self, t: Tensor, name: str) -> int:
        v = self.graph.add_value("live", t.shape, t.dtype, tensor=t, name=name,
                                 requires_grad=t.requires_grad)
        self._register(t, v.id)
        return v.id

    def value_of(self, t: Tensor, random: bool) -> tuple[int, bool]:
        """(value id, detached) of tensor ``t`` seen as a node input."""
        hit = self.by_array.get(id(t._data))
        if hit is not None:
            vid, vref, ver = hit
            if vref is t._version and t._version[0] != ver:
                vid = self._written_in_place(t, vid)
            v = self.graph.values[vid]
            return vid, bool(v.requires_grad and not t.requires_grad)
        known = self.live_by_tensor.get(id(t))
        if known is not None or t.requires_grad:
            return self.add_live(t, known[1] if known else ""), False
        v = self.graph.add_value("const", t.shape, t.dtype, array=t._data, random=random)
        self._register(t, v.id)
        if random:
            _warn(f"a {v.type_str()} tensor made from random numbers drawn during tracing "
                  "(dropout in training mode, rand/randn) is replayed as a constant; trace "
                  "in eval mode or draw it inside the recorded ops")
        return v.id, False

    def _written_in_place(self, t: Tensor, vid: int) -> int:
        """``t`` was written in place outside the recorded ops (an in-place op under
        no_grad copies a node's result into it): find that node output, else a constant."""
        for o in reversed(self.node_outputs[-4:]):
            ov = self.graph.values[o]
            a = self.arrays.get(o)
            if (a is not None and a is not t._data and ov.shape == t.shape and ov.dtype == t.dtype
                    and np.array_equal(a, t._data, equal_nan=t.dtype.kind == "f")):
                self.by_array[id(t._data)] = (o, t._version, t._version[0])
                return o
        _warn(f"a {self.graph.values[vid].type_str()} tensor was modified in place outside "
              "the recorded ops; the trace replays its value as a constant")
        v = self.graph.add_value("const", t.shape, t.dtype, array=np.array(t._data))
        self.by_array[id(t._data)] = (v.id, t._version, t._version[0])
        return v.id

    # the hook ----------------------------------------------------------------------------
    def __call__(self, cls, inputs, params, result) -> None:
        state = _rng_state()
        random, self.rng = state != self.rng, state
        ins, det = [], []
        for t in inputs:
            vid, d = self.value_of(t, random)
            ins.append(vid)
            det.append(d)
        bindings, effect = [], False
        for key, p in params.items():
            if isinstance(p, Tensor):
                effect = True
            elif isinstance(p, tuple | list):
                for j, q in enumerate(p):
                    if isinstance(q, Tensor):
                        effect = True
                    elif _is_array(q):
                        self._bind(cls, key, j, q, random, bindings)
            elif _is_array(p):
                self._bind(cls, key, None, p, random, bindings)
        outs = result if type(result) is tuple else (result,)
        node = Node(cls, ins, det, dict(params), [], type(result) is tuple,
                    autograd.is_grad_enabled(), bindings, effect)
        if outs and type(outs[0]._data) is not np.ndarray:
            from fovea import backends

            node.xp = backends.for_arrays(*[o._data for o in outs]).ns
        position = len(self.graph.nodes)
        for i, o in enumerate(outs):
            v = self.graph.add_value("node", o.shape, o.dtype, index=position, out_index=i,
                                     requires_grad=o.requires_grad)
            node.outputs.append(v.id)
            self._register(o, v.id)
            self.arrays[v.id] = o._data
            self.node_outputs.append(v.id)
        self.graph.nodes.append(node)

    def _bind(self, cls, key, j, a, random, bindings) -> None:
        hit = self.by_array.get(id(a))
        if hit is not None:
            bindings.append((key, j, hit[0]))
            return
        what = ("made from random numbers drawn during tracing (dropout in training mode)"
                if random else "computed outside the recorded ops (from the data?)")
        _warn(f"{cls.__name__}: its array parameter {key!r} was {what}; the trace replays "
              "it as a constant, which is wrong if it depends on the inputs")

    # outputs -----------------------------------------------------------------------------
    def output_tree(self, out):
        """The value-id tree of the traced callable's result (tensors, tuples, lists)."""
        if isinstance(out, Tensor):
            vid, _ = self.value_of(out, False)
            self.graph.outputs.append(vid)
            return len(self.graph.outputs) - 1
        if isinstance(out, tuple | list):
            return type(out)(self.output_tree(o) for o in out)
        raise TypeError(f"fovea.jit.trace: the traced callable must return tensors or "
                        f"tuples/lists of tensors, got {type(out).__name__}")


def _is_array(a) -> bool:
    """A raw array of any device (NumPy's, or one with the array API, as CuPy's)."""
    return isinstance(a, np.ndarray) or (hasattr(a, "__array_namespace__")
                                         and hasattr(a, "shape") and hasattr(a, "dtype"))


def _warn(msg: str) -> None:
    warnings.warn(TracerWarning("fovea.jit.trace: " + msg), stacklevel=4)


# Conversions of a traced tensor to Python values: the result steers Python, not the graph.
_CONVERSIONS = {"item": "number", "__bool__": "boolean", "__float__": "number",
                "__int__": "integer", "__index__": "index", "tolist": "list",
                "numpy": "NumPy array"}


def _guard(name: str, what: str, original):
    def guarded(self, *args, **kwargs):
        tracer = getattr(_active, "tracer", None)
        if tracer is not None:
            hit = tracer.by_array.get(id(self._data))
            if (hit is not None and tracer.graph.values[hit[0]].kind != "const"
                    or id(self._data) in tracer.untracked):
                _warn(f"converting a tensor to a Python {what} ({name}) might cause the trace "
                      "to be incorrect: the value is recorded as a constant and Python control "
                      "flow that depends on it is not replayed")
        return original(self, *args, **kwargs)

    guarded._jit_original = original
    return guarded


def record(fn, args: tuple, live: dict) -> Graph:
    """Run ``fn(*args)`` once and return the graph of what it computed.

    ``live`` maps ``id(tensor)`` to ``(tensor, name)`` for the tensors that stay live (a
    module's parameters and buffers).
    """
    graph = Graph()
    tracer = _Tracer(graph, live)
    traced_args = []
    for a in args:
        if autograd.is_grad_enabled() and not a.requires_grad and a.dtype.kind in "fc":
            # Traced as requiring grad, so the recorded code takes its differentiable paths
            # (detach, in-place updates) and replays with gradients are right.
            a = Tensor._make(a._data, None)
            a.requires_grad = True
        tracer.add_input(a)
        traced_args.append(a)
    for t, name in live.values():
        if id(t._data) not in tracer.by_array:
            tracer.add_live(t, name)
    if getattr(_active, "tracer", None) is not None:
        raise RuntimeError("fovea.jit.trace: a trace is already running on this thread "
                           "(nested tracing is not supported)")
    # (unwrapped: another thread's trace may have its guards installed right now)
    originals = {n: _unwrap(getattr(Tensor, n)) for n in _CONVERSIONS}
    make = Tensor.__dict__["_make"]

    def traced_make(cls, data, grad_fn):
        # Tensors made outside Function.apply during the trace (comparisons, creation ops):
        # converting them to Python values is warned about too.
        tracer.untracked.add(id(data))
        tracer.keep.append(data)
        return make.__func__(cls, data, grad_fn)

    _active.tracer = tracer
    for n, what in _CONVERSIONS.items():
        setattr(Tensor, n, _guard(n, what, originals[n]))
    Tensor._make = classmethod(traced_make)
    try:
        with autograd.observing(tracer), rules.patched(tracer):
            out = fn(*traced_args)
        graph.out_tree = tracer.output_tree(out)
    finally:
        for n, f in originals.items():
            setattr(Tensor, n, f)
        Tensor._make = make
        _active.tracer = None
    return graph


def _unwrap(f):
    return getattr(f, "_jit_original", f)
