"""The graph: ``Function`` nodes, recording, and the backward pass.

How a graph is built and walked, for ``f = (x + y) * z``::

      x ──┐
          ├─ Add ─ q ──┐
      y ──┘            ├─ Mul ─ f          f.backward()
      z ───────────────┘

Each op is a :class:`Function` subclass with ``forward(ctx, *arrays, **params)`` (raw
arrays in, one raw array out) and ``backward(ctx, grad_out)`` (one gradient per input)
side by side. ``Function.apply`` runs ``forward`` and, when grad mode is on and some input
requires grad, records a node: the ``ctx`` object, which is the node itself, keeps the
edges to its inputs (their nodes, or the leaf tensors) and what ``forward`` saved.

``backward`` (in :func:`run_backward`) walks the nodes in reverse topological order without
recursion, reduces broadcast gradients to each input's shape, adds gradients where a tensor
feeds several nodes ("gradients add at branches"), skips inputs that need no gradient,
accumulates into leaves' ``.grad`` and frees saved arrays unless ``retain_graph=True``.

Backward code is written once for two modes. It uses operators and ``ctx.xp.<fn>`` only:
normally ``ctx.xp`` is the array namespace of the inputs' device (see :mod:`fovea.backends`)
and the saved values and gradients are raw arrays (fast); with ``create_graph=True``
(``ctx.recording``) ``ctx.xp`` is fovea's differentiable twin of that namespace and
everything is a Tensor, so the backward pass is itself recorded and can be differentiated
again (Hessian-vector products, gradient penalties). A fused node whose backward calls other
Functions does so through ``ctx.run(Fn, ...)``, which works in both modes.
"""

from __future__ import annotations

import contextlib
import threading

from fovea import backends


class _State(threading.local):
    grad_enabled = True  # the default every thread starts with (a class attribute: fast)
    # ``observer(cls, inputs, params, result)`` is told of every ``Function.apply`` on this
    # thread while set (fovea.jit's tracer records graphs with it); None: nothing is told.
    observer = None


_state = _State()


def is_grad_enabled() -> bool:
    """Whether ops record the graph (True unless inside ``no_grad``)."""
    return _state.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets grad mode and restores it on exit."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = _state.grad_enabled
        _state.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self.prev
        return False

    def _recreate_cm(self):
        # A fresh context per decorated call, so recursion and threads keep their own `prev`.
        return type(self).__new__(_GradMode)._init(self.mode)

    def _init(self, mode):
        self.mode = mode
        return self


class set_grad_enabled(_GradMode):  # noqa: N801 - PyTorch's name
    """Set grad mode, as ``torch.set_grad_enabled``: a function, a context manager or a
    decorator.

    ``fovea.set_grad_enabled(False)`` switches recording off at once (for the rest of the
    thread); ``with fovea.set_grad_enabled(False): ...`` switches it for the block and
    restores the previous mode on exit, errors included; ``@fovea.set_grad_enabled(False)``
    runs the function in that mode and leaves the mode outside it unchanged.
    """

    def __init__(self, mode: bool):
        super().__init__(mode)
        self.prev = _state.grad_enabled
        _state.grad_enabled = self.mode  # the function form takes effect at once

    def __enter__(self):
        return self  # already set by __init__; __exit__ restores what came before

    def __call__(self, fn):
        _state.grad_enabled = self.prev  # as a decorator, nothing changes until fn runs
        return _GradMode(self.mode)(fn)


def no_grad():
    """Disable graph recording: ``with fovea.no_grad(): ...`` or ``@fovea.no_grad()``."""
    return _GradMode(False)


def enable_grad():
    """Re-enable graph recording inside a ``no_grad`` block."""
    return _GradMode(True)


def inference_mode(mode: bool = True):
    """``torch.inference_mode``: no graph is recorded inside (a context manager or a
    decorator). fovea has no separate inference tensors, so this is ``no_grad``; with
    ``mode=False`` grad mode is on inside, as PyTorch does (``enable_grad``)."""
    return _GradMode(not mode)


# Markers that say what a saved array is, resolved when forward returns.
_INPUT, _OUTPUT, _CONST = 0, 1, 2


class Function:
    """One node of the graph: an op's forward and backward side by side.

    Subclasses define two static methods:

    * ``forward(ctx, *arrays, **params) -> array``: compute on raw arrays; save what backward
      needs with ``ctx.save_for_backward(...)`` (inputs or the output, preferably) and keep
      small non-array facts (shapes, axes) as attributes on ``ctx``.
    * ``backward(ctx, grad_out) -> gradient or tuple of gradients``: one per array input (None
      where there is no gradient), each of that input's shape or broadcastable to it. Use only
      operators and ``ctx.xp.<fn>`` so that the same code runs in both backward modes.

    The instance is the context: ``apply`` creates it, and it becomes the node of the output
    tensor when the graph is recorded.
    """

    # ``ctx.xp``: the namespace forward and backward code call (``ctx.xp.exp`` ...): the raw
    # namespace of the inputs' device (this default is the CPU's; ``apply`` sets another
    # device's on the instance); the engine swaps in fovea's differentiable twin (and sets
    # ``recording``) while it records a backward pass.
    xp = backends.CPU_NS
    recording = False
    _out_index = None  # which output this node is, for a Function with several outputs
    _saved = ()
    _saved_kinds = None
    _retained = None
    _hooks = None  # {id: hook} of the output tensor's register_hook
    edges = ()

    # --- used inside forward -------------------------------------------------------------
    def save_for_backward(self, *arrays) -> None:
        """Keep ``arrays`` for backward. Inputs and the output are tracked as graph values."""
        self._saved = arrays

    # --- used inside backward ------------------------------------------------------------
    @property
    def saved_tensors(self):
        """What forward saved: raw arrays normally, Tensors when the graph is being built."""
        if self._saved is None:
            raise RuntimeError(
                f"{type(self).__name__}: trying to backward through the graph a second time "
                "(or directly access saved values after they have already been freed). "
                "Saved intermediate values of the graph are freed when you call .backward() "
                "or fovea.grad(). Specify retain_graph=True if you need to backward through "
                "the graph a second time."
            )
        return self._saved

    @property
    def kernels(self):
        """The kernel families of this node's device, for raw arrays (not while recording).

        ``fovea.backends.cpu`` for CPU arrays (generated and compiled kernels, BLAS tricks);
        :mod:`fovea.backends.generic` (the same interfaces in plain NumPy API) on a device
        without kernels of its own. An op calls ``ctx.kernels.<family>.<fn>`` and never
        tests which device it is on.
        """
        if self.recording:
            raise RuntimeError(f"{type(self).__name__}: kernels are for raw arrays; a recorded "
                               "backward must use ctx.xp or ctx.run")
        return self.xp.backend.kernels

    def run(self, fn, *args, **params):
        """Run Function ``fn`` from inside this node's backward (or forward), in either mode.

        Normally ``args`` are raw arrays and this is ``fn``'s forward on them (no node, the
        result raw: one array, or a tuple for several outputs). While the backward pass is
        recorded (``self.recording``) the args are Tensors and this is ``fn.apply``, so the
        result is itself differentiable. A fused node thus writes its backward once::

            gx = ctx.run(ConvTranspose2dFn, g, weight, geo=ctx.geo)
        """
        if self.recording:
            return fn.apply(*[a if isinstance(a, _Tensor) else _make_tensor(a, None)
                              for a in args], **params)
        inner = fn()
        inner.xp = self.xp
        return fn.forward(inner, *args, **params)

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_out):  # pragma: no cover - interface
        raise NotImplementedError

    # --- recording -----------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on ``inputs`` (Tensors) and record a node if a gradient is needed."""
        # NOTE: this is the hottest Python in fovea (one call per op); keep it lean.
        ctx = cls()
        arrays = [t._data for t in inputs]
        for a in arrays:
            if type(a) is not _CPU_ARRAY:  # not all plain CPU arrays: find the device
                ctx.xp = backends.for_arrays(*arrays, op=cls.__name__).ns
                break
        out = cls.forward(ctx, *arrays, **params)
        if type(out) is tuple:
            results = _apply_multi(ctx, inputs, arrays, out)
            if _state.observer is not None:
                _state.observer(cls, inputs, params, results)
            return results
        needs = [t.requires_grad for t in inputs]
        if True in needs and _state.grad_enabled:
            ctx.needs_input_grad = needs
            ctx.edges = [(t if t.grad_fn is None else t.grad_fn) if n else None
                         for t, n in zip(inputs, needs)]
            ctx._out_meta = (out.shape, out.dtype)
            if ctx._saved:
                ctx._resolve_saved(inputs, arrays, out)
            result = _make_tensor(out, ctx)
        else:
            ctx._saved = None
            result = _make_tensor(out, None)
        if getattr(out, "base", None) is not None:
            _share_version_if_view(ctx.xp, result, inputs, arrays)
        if _state.observer is not None:
            _state.observer(cls, inputs, params, result)
        return result

    def _resolve_saved(self, inputs, arrays, out) -> None:
        """Tag each saved array as an input tensor, the output or a constant (by identity)."""
        kinds, versions = [], []
        for a in self._saved:
            kind = (_CONST, None)
            if a is out:
                kind = (_OUTPUT, None)
            else:
                for i, arr in enumerate(arrays):
                    if a is arr:
                        kind = (_INPUT, inputs[i])
                        break
            kinds.append(kind)
            versions.append(kind[1]._version[0] if kind[0] == _INPUT else None)
        self._saved_kinds = kinds
        self._saved_versions = versions

    def _check_versions(self) -> None:
        if self._saved_kinds is None:
            return
        for (kind, t), v in zip(self._saved_kinds, self._saved_versions):
            if kind == _INPUT and t._version[0] != v:
                raise RuntimeError(
                    f"{type(self).__name__}: one of the tensors needed for gradient computation "
                    f"(shape {t.shape}) has been modified by an in-place operation: it was at "
                    f"version {v} when saved and is now at version {t._version[0]}. Use an "
                    "out-of-place op, or clone the tensor before modifying it."
                )

    def _saved_as_tensors(self):
        """The saved values as Tensors, so that a backward run with create_graph is recorded."""
        if self._saved is None:
            _ = self.saved_tensors  # raises the "freed" error
        if self._saved_kinds is None:
            return tuple(_make_tensor(a, None) for a in self._saved)
        result = []
        for a, (kind, t) in zip(self._saved, self._saved_kinds):
            if kind == _INPUT:
                result.append(t)
            elif kind == _OUTPUT:
                result.append(_make_tensor(a, self))
            else:
                result.append(_make_tensor(a, None))
        return tuple(result)

    def release(self) -> None:
        """Free what forward saved (called after backward unless retain_graph=True)."""
        self._saved = None
        self._saved_kinds = None

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _share_version_if_view(xp, t, inputs, arrays):
    """A view (``W.T``, ``x[1:]``, ``x.reshape(...)``) shares its base's version counter, so an
    in-place update of the base (an optimizer step) is seen by graphs that saved the view."""
    out = t._data
    if getattr(out, "base", None) is not None:
        for inp, a in zip(inputs, arrays):
            if type(a) is type(out) and xp.may_share_memory(out, a):  # (not across devices)
                t._version = inp._version
                break
    return t


def _apply_multi(ctx, inputs, arrays, outs):
    """``apply`` for a Function whose forward returned a tuple: a tuple of Tensors.

    Each output gets its own node, a copy of ``ctx`` that knows its position: its backward
    is called with that output's gradient in its place and None for the others, and the
    engine adds what the copies send to the shared inputs. (Saved outputs are kept as
    constants: save inputs for backward.)
    """
    needs = [t.requires_grad for t in inputs]
    if not (True in needs and _state.grad_enabled):
        ctx._saved = None
        return tuple(_make_tensor(o, None) for o in outs)
    ctx.needs_input_grad = needs
    ctx.edges = [(t if t.grad_fn is None else t.grad_fn) if n else None
                 for t, n in zip(inputs, needs)]
    if ctx._saved:
        ctx._resolve_saved(inputs, arrays, None)
    ctx._n_out = len(outs)
    results = []
    for i, o in enumerate(outs):
        node = object.__new__(type(ctx))
        node.__dict__.update(ctx.__dict__)
        node._out_index, node._out_meta = i, (o.shape, o.dtype)
        t = _make_tensor(o, node)
        if getattr(o, "base", None) is not None:
            _share_version_if_view(ctx.xp, t, inputs, arrays)
        results.append(t)
    return tuple(results)


# Post-accumulate-grad hooks of leaves (``Tensor.register_post_accumulate_grad_hook``):
# ``id(leaf) -> (weakref to leaf, {handle id: hook})``. Kept here rather than on the tensor
# so that Tensor needs no slot for them; an entry goes when its tensor is collected. While
# this is empty, ``run_backward`` pays nothing for the feature.
_post_accumulate_hooks: dict[int, tuple] = {}

_CPU_ARRAY = backends.CPU.array_types[0]  # numpy.ndarray: apply's fast path needs no lookup
_Tensor = None  # fovea.tensor.Tensor, bound by _bind_tensor when fovea.tensor is imported


def _make_tensor(data, grad_fn):  # replaced by Tensor._make when fovea.tensor is imported
    raise RuntimeError("internal: import fovea.tensor before running ops")


@contextlib.contextmanager
def observing(observer):
    """Tell ``observer(cls, inputs, params, result)`` of every ``Function.apply`` on this thread
    inside the block: ``cls`` the Function class, ``inputs`` its Tensor arguments, ``params``
    its keyword parameters, ``result`` the output Tensor (a tuple for several outputs). Nested
    blocks stack: the inner observer replaces the outer one until it ends."""
    prev = _state.observer
    _state.observer = observer
    try:
        yield observer
    finally:
        _state.observer = prev


def _bind_tensor(cls) -> None:
    """Called once by :mod:`fovea.tensor`: lets the engine use Tensor without an import."""
    global _make_tensor, _Tensor
    _make_tensor = cls._make
    _Tensor = cls


def _unbroadcast(xp, grad, shape):
    """Sum ``grad`` over the dimensions that broadcasting added or stretched to reach ``shape``."""
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1
    )
    if axes:
        grad = xp.sum(grad, axis=axes, keepdims=True)
    if lead:
        grad = xp.reshape(grad, shape)
    if grad.shape != shape:
        raise RuntimeError(f"internal: gradient of shape {gshape} cannot be reduced to {shape}")
    return grad


def _topological_order(roots):
    """Nodes reachable from ``roots`` with their number of consumers, iteratively (no recursion).

    Returns a dict node -> number of consumers (nodes keyed by identity: a Function does not
    define ``__eq__``/``__hash__``), in discovery order.
    """
    consumers: dict[Function, int] = {}
    stack = []
    for r in roots:
        if isinstance(r, Function) and r not in consumers:
            consumers[r] = 0
            stack.append(r)
    while stack:
        node = stack.pop()
        for e in node.edges:
            if isinstance(e, Function):
                n = consumers.get(e)
                if n is None:
                    consumers[e] = 1
                    stack.append(e)
                else:
                    consumers[e] = n + 1
    return consumers


def run_backward(roots, root_grads, *, retain_graph: bool, create_graph: bool, inputs=None,
                 accumulate: bool = True):
    """Propagate ``root_grads`` from ``roots`` (Tensors) through the graph.

    With ``accumulate=True`` (``Tensor.backward``) leaf gradients are added into ``.grad``.
    With ``inputs`` given (``fovea.grad``) the gradients reaching those tensors are returned
    instead, in order, and ``.grad`` is untouched.

    Gradients waiting for a node are kept in a dict keyed by the node itself; gradients of
    leaves by ``id(leaf)`` (a Tensor's ``==`` is elementwise, so Tensors are never keys).
    """
    from fovea import _diffns

    xp = _diffns if create_graph else None  # None: each node's own device namespace

    # Where each captured input's gradient arrives: its node (non-leaf) or itself (leaf).
    capture_nodes: dict[Function, int] = {}
    capture_leaves: dict[int, int] = {}
    captured: list = []
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t.grad_fn is not None:
                capture_nodes[t.grad_fn] = i
            else:
                capture_leaves[id(t)] = i
        captured = [None] * len(inputs)

    grads: dict[Function, object] = {}
    leaf_grads: dict[int, object] = {}
    leaves: dict[int, object] = {}

    for r, g in zip(roots, root_grads):
        if r.grad_fn is not None:
            prev = grads.get(r.grad_fn)
            grads[r.grad_fn] = g if prev is None else prev + g
        else:
            prev = leaf_grads.get(id(r))
            leaf_grads[id(r)] = g if prev is None else prev + g
            leaves[id(r)] = r

    consumers = _topological_order([r.grad_fn for r in roots])
    ready = [n for n, c in consumers.items() if c == 0]
    # Leaves with post-accumulate hooks are settled as soon as their last gradient arrives
    # (not at the end), so that a hook can start work while backward goes on (DDP starts
    # each bucket's all-reduce there): count the edges still to come for each.
    pending = (_pending_leaf_edges(consumers)
               if _post_accumulate_hooks and accumulate else None)
    with _GradMode(create_graph):
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            if node._hooks and g is not None:
                g = _run_hooks(node._hooks, g, create_graph)
            if capture_nodes and node in capture_nodes:
                captured[capture_nodes[node]] = g
            if g is not None:
                if node._saved_kinds is not None:
                    node._check_versions()
                gs = _node_backward(node, g, create_graph, xp, retain_graph)
            else:
                gs = None
            for i, e in enumerate(node.edges):
                if e is None:
                    continue
                gi = None if gs is None else gs[i]
                if isinstance(e, Function):
                    if gi is not None:
                        prev = grads.get(e)
                        grads[e] = gi if prev is None else prev + gi
                    n = consumers[e] - 1
                    consumers[e] = n
                    if n == 0:
                        ready.append(e)
                else:
                    key = id(e)
                    if gi is not None:
                        prev = leaf_grads.get(key)
                        leaf_grads[key] = gi if prev is None else prev + gi
                        leaves[key] = e
                    if pending is not None and key in pending:
                        pending[key] -= 1
                        if pending[key] == 0 and key in leaves:
                            _settle_leaf(leaves.pop(key), leaf_grads.pop(key), create_graph)
        for key, leaf in leaves.items():
            g = leaf_grads[key]
            if getattr(leaf, "_hooks", None):
                g = _run_hooks(leaf._hooks, g, create_graph)
            if key in capture_leaves:
                captured[capture_leaves[key]] = g
            if accumulate and leaf.requires_grad:
                _accumulate_leaf(leaf, g, create_graph)
                if key in _post_accumulate_hooks:
                    _run_post_accumulate_hooks(leaf)
    if inputs is not None:
        return [
            (c if isinstance(c, _Tensor) or c is None else _make_tensor(c, None))
            for c in captured
        ]
    return None


def _pending_leaf_edges(consumers) -> dict[int, int]:
    """For each leaf with post-accumulate hooks: how many graph edges lead to it."""
    pending: dict[int, int] = {}
    for node in consumers:
        for e in node.edges:
            if e is not None and not isinstance(e, Function) and id(e) in _post_accumulate_hooks:
                pending[id(e)] = pending.get(id(e), 0) + 1
    return pending


def _settle_leaf(leaf, g, create_graph: bool) -> None:
    """A leaf's gradient is complete: its hooks, accumulation, then post-accumulate hooks."""
    if getattr(leaf, "_hooks", None):
        g = _run_hooks(leaf._hooks, g, create_graph)
    if leaf.requires_grad:
        _accumulate_leaf(leaf, g, create_graph)
        _run_post_accumulate_hooks(leaf)


def _run_post_accumulate_hooks(leaf) -> None:
    entry = _post_accumulate_hooks.get(id(leaf))
    if entry is not None and entry[0]() is leaf:
        for hook in list(entry[1].values()):
            hook(leaf)


def _run_hooks(hooks: dict, g, create_graph: bool):
    """Call a tensor's hooks on its gradient ``g`` in order; a hook may return a new one."""
    for hook in list(hooks.values()):
        new = hook(g if isinstance(g, _Tensor) else _make_tensor(g, None))
        if new is not None:
            g = new if create_graph or not isinstance(new, _Tensor) else new._data
    return g


def _node_backward(node: Function, g, create_graph: bool, xp, retain_graph: bool):
    """Call one node's backward and shape-check the gradients it returns."""
    if node._retained is not None:
        for ref in node._retained:
            t = ref()
            if t is not None:
                _accumulate_leaf(t, g, create_graph)
    if create_graph:
        raw_xp = node.xp
        node.xp, node.recording = xp, True
        saved_backup = node._saved
        node._saved = node._saved_as_tensors() if node._saved is not None else None
        if not isinstance(g, _Tensor):
            g = _make_tensor(g, None)
        try:
            result = (type(node).backward(node, g) if node._out_index is None
                      else _backward_one_output(node, g))
        finally:
            node._saved = saved_backup
            node.xp = raw_xp
            del node.recording
    else:
        xp = node.xp
        if isinstance(g, _Tensor):
            g = g._data
        result = (type(node).backward(node, g) if node._out_index is None
                  else _backward_one_output(node, g))
    if type(result) is not tuple:
        result = (result,)
    edges = node.edges
    if len(result) != len(edges):
        raise RuntimeError(
            f"{node.name}.backward returned {len(result)} gradients for {len(edges)} inputs"
        )
    out = []
    for gi, e in zip(result, edges):
        if e is None or gi is None:
            out.append(None)
            continue
        if isinstance(e, Function):
            shape, dtype = e._out_meta
        else:
            d = e._data
            shape, dtype = d.shape, d.dtype
        if gi.shape != shape:
            gi = _unbroadcast(xp, gi, shape)
        if gi.dtype != dtype:
            # Keep each gradient in its input's dtype (float32 stays float32).
            gi = xp.astype(gi, dtype)
        out.append(gi)
    if not retain_graph:
        node.release()  # a node may keep more than saved_tensors (a conv plan's buffers)
    return out


def _backward_one_output(node: Function, g):
    """Backward of one output of a multi-output Function: None for the other outputs."""
    grads = [None] * node._n_out
    grads[node._out_index] = g
    return type(node).backward(node, *grads)


def _accumulate_leaf(t, g, create_graph: bool) -> None:
    """Add gradient ``g`` into ``t.grad`` (accumulation across calls, like PyTorch)."""
    if not create_graph:
        if isinstance(g, _Tensor):
            g = g._data
        dtype = t._data.dtype
        if g.dtype != dtype:
            g = g.astype(dtype)
        if t.grad is None:
            # Copy so that later in-place accumulation never aliases another tensor's array.
            t.grad = _make_tensor(backends.for_array(g).xp.array(g, copy=True), None)
        else:
            t.grad._data = t.grad._data + g
    else:
        if not isinstance(g, _Tensor):
            g = _make_tensor(g, None)
        t.grad = g if t.grad is None else t.grad + g


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate the gradients of ``tensors`` into the leaves' ``.grad``."""
    if isinstance(tensors, _Tensor):
        tensors = [tensors]
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif isinstance(grad_tensors, _Tensor):
        grad_tensors = [grad_tensors]
    if retain_graph is None:
        retain_graph = create_graph
    roots, root_grads = _roots(tensors, grad_tensors, create_graph, "backward")
    run_backward(roots, root_grads, retain_graph=retain_graph, create_graph=create_graph)


def _roots(tensors, grad_tensors, create_graph, op):
    roots, root_grads = [], []
    for t, g in zip(tensors, grad_tensors):
        if not isinstance(t, _Tensor):
            raise TypeError(f"{op}: expected Tensors as outputs, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(
                f"{op}: tensor of shape {t.shape} does not require grad and has no grad_fn "
                "(was it computed under no_grad, or from tensors with requires_grad=False?)"
            )
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"{op}: grad can be implicitly created only for scalar outputs; the output "
                    f"has shape {t.shape}, so pass a gradient of that shape "
                    "(e.g. t.backward(fovea.ones_like(t)))"
                )
            g = backends.for_array(t._data).xp.ones(t.shape, dtype=t.dtype)
        else:
            if not isinstance(g, _Tensor):
                g = _make_tensor(backends.for_array(t._data).xp.asarray(g), None)
            if g.shape != t.shape:
                raise ValueError(
                    f"{op}: gradient has shape {g.shape} but the output has shape {t.shape}"
                )
            g = g if create_graph else g._data.astype(t.dtype, copy=False)
        roots.append(t)
        root_grads.append(g)
    return roots, root_grads


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, like ``torch.autograd.grad``.

    Args:
        outputs: a Tensor or a sequence of Tensors.
        inputs: a Tensor or a sequence of Tensors (leaves or intermediate values).
        grad_outputs: the vector in the vector-Jacobian product, one per output
            (None for a scalar output means 1).
        retain_graph: keep the graph for another backward (defaults to ``create_graph``).
        create_graph: record the backward pass, so that the returned gradients can be
            differentiated again.
        allow_unused: return None for an input that the outputs do not depend on, instead of
            raising.

    Returns:
        A tuple with one gradient Tensor per input. ``.grad`` fields are not touched.
    """
    outputs = [outputs] if isinstance(outputs, _Tensor) else list(outputs)
    single = isinstance(inputs, _Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, _Tensor):
        grad_outputs = [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not isinstance(t, _Tensor) or not t.requires_grad:
            raise RuntimeError("grad: every input must be a Tensor that requires grad")
    roots, root_grads = _roots(outputs, grad_outputs, create_graph, "grad")
    result = run_backward(roots, root_grads, retain_graph=retain_graph,
                          create_graph=create_graph, inputs=inputs, accumulate=False)
    for i, r in enumerate(result):
        if r is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the "
                "outputs; pass allow_unused=True to get None for it"
            )
        if r is not None and r.dtype != inputs[i].dtype and not create_graph:
            result[i] = _make_tensor(r._data.astype(inputs[i].dtype), None)
    return tuple(result)

