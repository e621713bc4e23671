"""Optimisation passes on a traced :class:`~fovea.jit.graph.Graph`.

Each pass takes a graph and returns a new one (the input is left as it was) plus how many
nodes it changed:

* :func:`eliminate_dead_nodes`: drop nodes whose outputs reach no graph output (nodes that
  write into tensors passed as parameters, such as batch norm's running statistics, stay);
* :func:`fold_constants`: run once, at planning time, every node whose inputs are all
  constants, and keep its result as a constant;
* :func:`fuse_elementwise`: a ReLU whose input is the only use of a linear layer's,
  convolution's or batch norm's output becomes part of that node (:class:`ReluAfter`),
  applied in place on the producer's fresh output: one array and one node fewer.

Buffer reuse from lifetimes is planned by the executor (:mod:`fovea.jit.executor`), which
frees every intermediate array after its last use.
"""

from __future__ import annotations

import numpy as np

from fovea.autograd import Function
from fovea.jit.graph import Graph, Node
from fovea.nn.functional.conv import Conv2dFn
from fovea.nn.functional.linear import Linear
from fovea.nn.functional.normalization import BatchNorm
from fovea.ops.arithmetic import Relu

__all__ = ["eliminate_dead_nodes", "fold_constants", "fuse_elementwise", "ReluAfter",
           "PASSES", "optimize"]


def eliminate_dead_nodes(graph: Graph) -> tuple[Graph, int]:
    """Remove the nodes that no output depends on (and that have no side effect)."""
    needed = set(graph.outputs)
    keep = []
    for node in reversed(graph.nodes):
        if node.effect or any(o in needed for o in node.outputs):
            keep.append(node)
            needed.update(node.inputs)
            needed.update(b[2] for b in node.bindings)
    g = graph.copy()
    g.nodes = keep[::-1]
    return g, len(graph.nodes) - len(keep)


def fold_constants(graph: Graph) -> tuple[Graph, int]:
    """Evaluate the nodes that depend on constants only; their outputs become constants."""
    g = graph.copy()
    kept, folded = [], 0
    for node in g.nodes:
        srcs = list(node.inputs) + [b[2] for b in node.bindings]
        if node.effect or not all(g.values[i].kind == "const" for i in srcs):
            kept.append(node)
            continue
        ctx = node.cls()
        if node.xp is not None:
            ctx.xp = node.xp
        params = bind_params(node, lambda vid: g.values[vid].array)
        out = node.cls.forward(ctx, *[g.values[i].array for i in node.inputs], **params)
        outs = out if node.multi else (out,)
        for vid, a in zip(node.outputs, outs):
            old = g.values[vid]
            g.values[vid] = type(old)(old.id, "const", tuple(a.shape), np.dtype(a.dtype),
                                      array=a)
        folded += 1
    g.nodes = kept
    return g, folded


def bind_params(node: Node, lookup) -> dict:
    """``node.params`` with its bound array parameters read through ``lookup(value id)``."""
    if not node.bindings:
        return node.params
    params = dict(node.params)
    for key, j, vid in node.bindings:
        if j is None:
            params[key] = lookup(vid)
        else:
            seq = list(params[key])
            seq[j] = lookup(vid)
            params[key] = type(node.params[key])(seq)
    return params


class ReluAfter(Function):
    """``relu(inner(*inputs))`` as one node: the ReLU runs in place on inner's fresh output.

    Backward is ReLU's (the same rule, guided backpropagation included) followed by inner's,
    so gradients equal the unfused pair's.
    """

    @staticmethod
    def forward(ctx, *arrays, inner, inner_params):
        ic = inner()
        ic.xp = ctx.xp
        out = inner.forward(ic, *arrays, **inner_params)
        if type(out) is np.ndarray and out.flags.writeable:
            np.maximum(out, 0, out=out)  # NaN stays NaN, as the ReLU kernel
        else:
            out = ctx.kernels.elementwise.relu(out)
        ctx.inner_ctx, ctx.out = ic, out
        return out

    @staticmethod
    def backward(ctx, g):
        rc = Relu()
        rc.xp, rc._saved = ctx.xp, (ctx.out,)
        g = Relu.backward(rc, g)
        ic = ctx.inner_ctx
        ic.needs_input_grad = ctx.needs_input_grad
        return ic.backward(ic, g)

    def release(self) -> None:
        super().release()
        if getattr(self, "inner_ctx", None) is not None:
            self.inner_ctx.release()
        self.inner_ctx = self.out = None


# Producers whose output is a fresh array that they do not save for backward.
_RELU_PRODUCERS = (Linear, Conv2dFn, BatchNorm)


def fuse_elementwise(graph: Graph) -> tuple[Graph, int]:
    """Fuse ``producer → ReLU`` pairs where the producer's output has no other use."""
    uses: dict[int, int] = {}
    for node in graph.nodes:
        for i in list(node.inputs) + [b[2] for b in node.bindings]:
            uses[i] = uses.get(i, 0) + 1
    for o in graph.outputs:
        uses[o] = uses.get(o, 0) + 1
    producer = {n.outputs[0]: n for n in graph.nodes
                if not n.multi and n.cls in _RELU_PRODUCERS and not n.bindings}
    g = graph.copy()
    out_nodes, fused, skip = [], 0, set()
    replaced: dict[int, Node] = {}
    for node in graph.nodes:
        if node.cls is Relu and not node.multi and len(node.inputs) == 1:
            src = node.inputs[0]
            p = producer.get(src)
            if (p is not None and uses.get(src) == 1 and not node.detached[0]
                    and p.grad_enabled == node.grad_enabled and p.xp is node.xp):
                replaced[id(p)] = Node(
                    ReluAfter, list(p.inputs), list(p.detached),
                    {"inner": p.cls, "inner_params": p.params}, list(node.outputs), False,
                    p.grad_enabled, [], p.effect, p.xp, label=f"{p.cls.__name__}+Relu")
                skip.add(id(node))
                fused += 1
    for node in graph.nodes:
        if id(node) in skip:
            continue
        out_nodes.append(replaced.get(id(node), node))
    g.nodes = out_nodes
    for k, n in enumerate(out_nodes):  # outputs now produced at the fused node's position
        for i, o in enumerate(n.outputs):
            v = g.values[o]
            if v.index != k or v.out_index != i:
                g.values[o] = type(v)(**{**v.__dict__, "index": k, "out_index": i})
    return g, fused


PASSES = {"dce": eliminate_dead_nodes, "fold": fold_constants, "fuse": fuse_elementwise}


def optimize(graph: Graph, passes=("fold", "dce", "fuse")) -> tuple[Graph, dict]:
    """Run ``passes`` (names of :data:`PASSES`) in order; returns the graph and, per pass,
    how many nodes it changed."""
    stats = {}
    for name in passes:
        if name not in PASSES:
            raise ValueError(f"fovea.jit: unknown pass {name!r}; choose from "
                             f"{', '.join(PASSES)}")
        graph, stats[name] = PASSES[name](graph)
    return graph, stats
