"""Replaying a traced graph: a flat schedule over raw arrays, forward and backward.

A :class:`Plan` is made once per graph and per pattern of which arguments require grad. It
holds one step per node (the Function's class, its input and output slots in an environment
list, its parameters, which inputs need a gradient) and, planned from the values' lifetimes,
which slots to free after each step, so every intermediate array is released after its last
use (the eager engine releases them when Python drops the last tensor).

The whole replay is one ``Function`` (:class:`Replay`) to the engine: its forward runs the
schedule (one ``forward`` call per node on raw arrays, no Tensor objects, no argument
checks), and its backward runs the recorded nodes' ``backward`` in reverse order with the
same contexts, reducing broadcast gradients, adding gradients at branches and releasing each
node's saved arrays once it has run, as :func:`fovea.autograd.run_backward` does. So the
outputs of a replay are ordinary tensors with a graph: a loss computed from them (or the
replay itself) backpropagates into the parameters' ``.grad``.
"""

from __future__ import annotations

from fovea.autograd import Function, _unbroadcast
from fovea.jit.graph import Graph
from fovea.jit.passes import bind_params

__all__ = ["Plan", "Replay"]


class Plan:
    """The schedule of ``graph`` for arguments whose requires-grad flags are ``needs``
    (inputs, then live tensors; all False when grad mode is off)."""

    def __init__(self, graph: Graph, needs: tuple):
        self.graph = graph
        vals = graph.values
        self.arg_slots = list(graph.inputs) + [v.id for v in graph.live_values()]
        self.out_slots = list(graph.outputs)
        rg = [False] * len(vals)
        for vid, n in zip(self.arg_slots, needs):
            rg[vid] = n
        env = [None] * len(vals)
        for v in vals:
            if v.kind == "const":
                env[v.id] = v.array
        self.env_template = env
        # Lifetimes: the last step that reads each node value (outputs are never freed).
        last = {}
        for k, node in enumerate(graph.nodes):
            for i in list(node.inputs) + [b[2] for b in node.bindings]:
                last[i] = k
        keep = set(self.out_slots)
        free_at = [[] for _ in graph.nodes]
        for vid, k in last.items():
            if vals[vid].kind == "node" and vid not in keep:
                free_at[k].append(vid)
        for k, node in enumerate(graph.nodes):  # outputs nobody reads: freed at once
            for o in node.outputs:
                if o not in last and o not in keep:
                    free_at[k].append(o)
        self.steps = []
        self.any_grad = False
        for k, node in enumerate(graph.nodes):
            need_in = tuple(rg[i] and not d for i, d in zip(node.inputs, node.detached))
            record = node.grad_enabled and True in need_in
            if record:
                self.any_grad = True
                for o in node.outputs:
                    rg[o] = True
            meta = tuple((vals[i].shape, vals[i].dtype) for i in node.inputs)
            self.steps.append((node.cls, node.cls.forward, tuple(node.inputs), node.params,
                               node, tuple(node.outputs), node.multi, tuple(free_at[k]),
                               record, need_in, meta, node.xp))
        self.out_requires_grad = [rg[o] for o in self.out_slots]
        self.arg_requires_grad = [rg[a] for a in self.arg_slots]

    # --- forward ---------------------------------------------------------------------------
    def forward(self, arrays) -> tuple[list, list | None]:
        """Run the schedule on ``arrays`` (one per argument slot): (outputs, node contexts)."""
        env = self.env_template.copy()
        for vid, a in zip(self.arg_slots, arrays):
            env[vid] = a
        ctxs = [None] * len(self.steps) if self.any_grad else None
        k = 0
        for cls, fwd, ins, params, node, outs, multi, free, record, need, _, xp in self.steps:
            ctx = cls()
            if xp is not None:
                ctx.xp = xp
            if node.bindings:
                params = bind_params(node, env.__getitem__)
            if record:
                ctx.needs_input_grad = need  # (apply sets it after forward; wrap reads it)
            out = fwd(ctx, *[env[i] for i in ins], **params)
            if multi:
                for vid, o in zip(outs, out):
                    env[vid] = o
            else:
                env[outs[0]] = out
            if record:
                if multi:
                    ctx._n_out = len(outs)
                ctxs[k] = ctx
            for vid in free:
                env[vid] = None
            k += 1
        return [env[v] for v in self.out_slots], ctxs

    # --- backward --------------------------------------------------------------------------
    def backward(self, ctxs: list, out_grads, release: bool) -> list:
        """Gradients of the argument slots from the outputs' gradients (None: no gradient)."""
        grads: dict[int, object] = {}
        for vid, g in zip(self.out_slots, out_grads):
            if g is not None:
                prev = grads.get(vid)
                grads[vid] = g if prev is None else prev + g
        for k in range(len(self.steps) - 1, -1, -1):
            ctx = ctxs[k]
            if ctx is None:
                continue
            cls, _, ins, _, _, outs, multi, _, _, need, meta, _ = self.steps[k]
            if multi:
                gs = [grads.pop(o, None) for o in outs]
                res = None if all(g is None for g in gs) else cls.backward(ctx, *gs)
            else:
                g = grads.pop(outs[0], None)
                res = None if g is None else cls.backward(ctx, g)
            if release:
                ctx.release()
                ctxs[k] = None
            if res is None:
                continue
            if type(res) is not tuple:
                res = (res,)
            xp = ctx.xp
            for gi, vid, n, (shape, dtype) in zip(res, ins, need, meta):
                if gi is None or not n:
                    continue
                if gi.shape != shape:
                    gi = _unbroadcast(xp, gi, shape)
                if gi.dtype != dtype:
                    gi = xp.astype(gi, dtype)
                prev = grads.get(vid)
                grads[vid] = gi if prev is None else prev + gi
        return [grads.get(a) for a in self.arg_slots]


class Replay(Function):
    """The replay of a :class:`Plan` as one node: arguments in, the graph's outputs out."""

    @staticmethod
    def forward(ctx, *arrays, plan):
        outs, ctx.ctxs = plan.forward(arrays)
        ctx.plan = plan
        return outs[0] if len(outs) == 1 else tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        if ctx.recording:
            raise RuntimeError("fovea.jit: the backward of a traced graph cannot be recorded "
                               "(create_graph=True); differentiate the eager model instead")
        single = len(ctx.plan.out_slots) == 1
        if ctx.ctxs is None or (single and getattr(ctx, "done", False)):
            raise RuntimeError("fovea.jit: trying to backward through a traced graph a second "
                               "time; a replay frees each node's saved arrays as its backward "
                               "runs (retain_graph is not supported): replay it again")
        # With several outputs the engine calls this once per output: keep the contexts.
        ctx.done = True
        return tuple(ctx.plan.backward(ctx.ctxs, grads, release=single))

    def release(self) -> None:
        super().release()
        self.ctxs = None
