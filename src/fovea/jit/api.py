"""``fovea.jit.trace`` and ``fovea.jit.trace_train_step``: record once, replay many times.

``trace(fn_or_module, example_inputs)`` runs the callable once on the example tensors,
records the graph of ``Function`` nodes it ran (:mod:`fovea.jit.graph`), optimises it
(:mod:`fovea.jit.passes`) and returns a callable that replays the graph on new tensors of
the same shapes and dtypes (:mod:`fovea.jit.executor`). Parameters and buffers stay live:
each replay reads their current arrays, so optimizer updates and loaded state dicts are
seen, and the replay's outputs backpropagate into ``.grad`` like eager ones.
"""

from __future__ import annotations

import warnings

import numpy as np

from fovea import autograd, backends, nn
from fovea.creation import default_generator
from fovea.errors import DTypeError, ShapeError
from fovea.jit.executor import Plan, Replay
from fovea.jit.graph import Graph, TracerWarning, record
from fovea.jit.passes import optimize as run_passes
from fovea.jit.wrap import wrap
from fovea.tensor import Tensor

__all__ = ["trace", "trace_module", "trace_train_step", "TracedFunction", "TracedModule",
           "TracedTrainStep"]

_SHAPE_CHANGE = ("retrace", "error")


class _Trace:
    """One recorded graph for one input signature: the graphs, plans and counters."""

    def __init__(self, graph: Graph, optimized: Graph, stats: dict, counters: list):
        self.traced_graph, self.graph, self.pass_stats = graph, optimized, stats
        self.live = [v.tensor for v in optimized.live_values()]
        self.counters = counters  # (buffer, increment): integer buffers the code advanced
        self.plans: dict[tuple, Plan] = {}

    def plan(self, needs: tuple) -> Plan:
        p = self.plans.get(needs)
        if p is None:
            p = self.plans[needs] = Plan(self.graph, needs)
        return p


class TracedFunction:
    """A traced callable (PyTorch's ``ScriptFunction``): call it like the original.

    Attributes:
        graph: the optimised graph that is replayed (``print(traced.graph)``).
        traced_graph: the graph as recorded, before the passes.
        pass_stats: per pass, how many nodes it removed, folded or fused.
    """

    def __init__(self, fn, example_inputs, *, check_trace=True, strict=True,
                 on_shape_change="retrace", optimize=True, passes=("fold", "dce", "fuse"),
                 check_tolerance=1e-5, _live=None, _module=None):
        if on_shape_change not in _SHAPE_CHANGE:
            raise ValueError(f"fovea.jit.trace: on_shape_change must be one of "
                             f"{_SHAPE_CHANGE}, got {on_shape_change!r}")
        self._fn, self._module = fn, _module
        self._live_named = _live or {}
        self._opts = dict(strict=strict, passes=tuple(passes) if optimize else ())
        self.on_shape_change = on_shape_change
        self.check_tolerance = float(check_tolerance)
        args = _as_args(example_inputs)
        self._n_args = len(args)
        self._traces: dict[tuple, _Trace] = {}
        self._current = self._record(args)
        if check_trace:
            self.check(args)

    # --- recording -------------------------------------------------------------------------
    def _signature(self, args) -> tuple:
        sig = tuple((a.shape, a._data.dtype) for a in args)
        if self._module is not None:
            sig += (tuple(m.training for m in self._module.modules()),)
        return sig

    def _record(self, args) -> _Trace:
        buffers = [(t, np.array(t._data, copy=True)) for t, _ in self._live_named.values()
                   if not t.requires_grad]
        graph = record(self._fn, args, self._live_named)
        if self._opts["strict"] and _has_list(graph.out_tree):
            raise ValueError("fovea.jit.trace: the traced callable returned a list; lists are "
                             "mutable and may change between calls, so return a tuple or "
                             "pass strict=False")
        counters = self._counters(graph, buffers)
        for t, before in buffers:  # recording is not a step: buffers are as they were
            t._data[...] = before
        optimized, stats = run_passes(graph, self._opts["passes"])
        tr = _Trace(graph, optimized, stats, counters)
        self._traces[self._signature(args)] = tr
        return tr

    def _counters(self, graph: Graph, buffers) -> list:
        """Buffers the traced code changed outside the recorded ops: integer ones (batch
        norm's ``num_batches_tracked``) are advanced by the same step at each replay; others
        are warned about."""
        written = {id(p) for n in graph.nodes for p in _tensor_params(n.params)}
        counters = []
        for t, before in buffers:
            if id(t) in written or np.array_equal(before, t._data):
                continue
            if before.dtype.kind in "iu":
                counters.append((t, t._data - before))
            else:
                warnings.warn(TracerWarning(
                    f"fovea.jit.trace: a buffer of shape {tuple(t.shape)} was changed outside "
                    "the recorded ops; the replay does not change it"), stacklevel=4)
        return counters

    @property
    def graph(self) -> Graph:
        return self._current.graph

    @property
    def traced_graph(self) -> Graph:
        return self._current.traced_graph

    @property
    def pass_stats(self) -> dict:
        return dict(self._current.pass_stats)

    # --- replay ----------------------------------------------------------------------------
    def _prepare(self, args):
        """(trace, argument tensors incl. live ones, plan) for a call on ``args``."""
        if len(args) != self._n_args:
            raise TypeError(f"fovea.jit: the trace takes {self._n_args} tensor argument(s), "
                            f"got {len(args)}")
        for a in args:
            if not isinstance(a, Tensor):
                raise TypeError(f"fovea.jit: arguments must be Tensors, got "
                                f"{type(a).__name__}")
        tr = self._traces.get(self._signature(args))
        if tr is None:
            tr = self._on_new_signature(args)
        self._current = tr
        tensors = (*args, *tr.live)
        if autograd.is_grad_enabled():
            needs = tuple(t.requires_grad for t in tensors)
        else:
            needs = (False,) * len(tensors)
        return tr, tensors, tr.plan(needs)

    def __call__(self, *args):
        tr, tensors, plan = self._prepare(args)
        out = Replay.apply(*tensors, plan=plan)
        _advance(tr.counters)
        outs = out if type(out) is tuple else (out,)
        return _unflatten(tr.graph.out_tree, outs)

    forward = __call__

    def _on_new_signature(self, args) -> _Trace:
        old = next(iter(self._traces))
        if self.on_shape_change == "retrace":
            return self._record(args)
        if self._module is not None and old[-1] != self._signature(args)[-1]:
            raise RuntimeError("fovea.jit: the module's train/eval mode changed since it was "
                               "traced; trace it again or pass on_shape_change='retrace'")
        for i, ((shape, dtype), a) in enumerate(zip(old, args)):
            if a.dtype != dtype:
                raise DTypeError(f"fovea.jit: input {i} has dtype {a.dtype} but the trace was "
                                 f"recorded for {dtype}; trace again or pass "
                                 "on_shape_change='retrace'")
            if a.shape != shape:
                raise ShapeError(f"fovea.jit: input {i} has shape {tuple(a.shape)} but the "
                                 f"trace was recorded for {tuple(shape)}; trace again or pass "
                                 "on_shape_change='retrace'")
        raise RuntimeError("fovea.jit: the inputs do not match the trace")  # pragma: no cover

    # --- checking --------------------------------------------------------------------------
    def check(self, args) -> bool:
        """Compare the replay with the Python callable on ``args`` and on other inputs of the
        same shapes (new random floats); warn (:class:`TracerWarning`) where they differ.

        The generator's state and the live buffers are restored after each run, so checking
        changes no state. Returns True when everything matched.
        """
        gen = default_generator()
        rng_state = gen.bit_generator.state
        saved = [(t, np.array(t._data, copy=True)) for t, _ in self._live_named.values()]
        saved += [(t, np.array(t._data, copy=True)) for t in self._current.live
                  if all(t is not s for s, _ in saved)]
        other = [_perturbed(a, k) for k, a in enumerate(args)]
        ok = True

        def restore():
            gen.bit_generator.state = rng_state
            for t, a in saved:
                t._data[...] = a

        try:
            for label, inputs in (("the example inputs", args), ("other inputs", other)):
                restore()
                with autograd.no_grad():
                    expected = _flatten(self._fn(*inputs))
                restore()
                with autograd.no_grad():
                    got = _flatten(self(*inputs))
                for i, (e, g) in enumerate(zip(expected, got)):
                    e, g = np.asarray(e._data), np.asarray(g._data)
                    scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
                    if e.shape != g.shape or not np.allclose(
                            e, g, rtol=1e-4, atol=self.check_tolerance * scale, equal_nan=True):
                        ok = False
                        warnings.warn(TracerWarning(
                            f"fovea.jit.trace: output {i} of the trace differs from the Python "
                            f"callable on {label}: control flow that depends on data, values "
                            "computed outside the recorded ops, or random numbers make the "
                            "trace wrong there"), stacklevel=3)
        finally:
            restore()
        return ok


class TracedModule(TracedFunction):
    """A traced ``nn.Module`` (PyTorch's ``ScriptModule`` from ``torch.jit.trace``).

    Parameters and buffers are live: replays read them, so training updates are seen.
    ``parameters()``, ``train()``, ``eval()``, ``state_dict()`` reach the original module;
    changing train/eval mode re-traces (or raises, with ``on_shape_change="error"``).
    """

    def __init__(self, module: nn.Module, example_inputs, **kwargs):
        live = {id(t): (t, name) for name, t in module.named_parameters()}
        live.update({id(t): (t, name) for name, t in module.named_buffers() if t is not None})
        self.module = module
        super().__init__(module, example_inputs, _live=live, _module=module, **kwargs)

    def parameters(self, recurse: bool = True):
        return self.module.parameters(recurse)

    def named_parameters(self, *args, **kwargs):
        return self.module.named_parameters(*args, **kwargs)

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def train(self, mode: bool = True):
        self.module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    @property
    def training(self) -> bool:
        return self.module.training


def trace(func, example_inputs, *, check_trace: bool = True, strict: bool = True,
          on_shape_change: str = "retrace", optimize: bool = True,
          passes=("fold", "dce", "fuse"), check_tolerance: float = 1e-5):
    """Trace ``func`` (a function or an ``nn.Module``) on ``example_inputs``.

    Args:
        func: a callable taking tensors and returning a tensor or a tuple of tensors.
        example_inputs: a tensor or a tuple of tensors (the shapes and dtypes replays take).
        check_trace: replay on the example inputs and on new random inputs of the same shapes
            and compare with ``func``; a :class:`TracerWarning` names the output that differs.
        strict: refuse list outputs (mutable containers); ``strict=False`` records them.
        on_shape_change: what a call with other shapes, dtypes or (for a module) another
            train/eval mode does: ``"retrace"`` (record again, keep both) or ``"error"``.
        optimize: run the passes (``passes``: names from :data:`fovea.jit.passes.PASSES`).
        check_tolerance: absolute tolerance of the check (relative to the output's scale).

    Returns:
        :class:`TracedModule` for a module, else :class:`TracedFunction`.
    """
    kwargs = dict(check_trace=check_trace, strict=strict, on_shape_change=on_shape_change,
                  optimize=optimize, passes=passes, check_tolerance=check_tolerance)
    if isinstance(func, nn.Module):
        return TracedModule(func, example_inputs, **kwargs)
    if not callable(func):
        raise TypeError(f"fovea.jit.trace: expected a function or an nn.Module, got "
                        f"{type(func).__name__}")
    return TracedFunction(func, example_inputs, **kwargs)


def trace_module(module: nn.Module, inputs: dict, **kwargs) -> TracedModule:
    """PyTorch's ``torch.jit.trace_module`` for the ``forward`` method:
    ``inputs = {"forward": example_inputs}``."""
    if set(inputs) != {"forward"}:
        raise ValueError(f"fovea.jit.trace_module: only the 'forward' method can be traced, "
                         f"got {sorted(inputs)}")
    return TracedModule(module, inputs["forward"], **kwargs)


class TracedTrainStep:
    """One training step with a traced forward and backward: ``loss = step(*batch)``.

    Equivalent to ``optimizer.zero_grad(); loss = loss_fn(model(*inputs), *targets);
    loss.backward(); optimizer.step()``, where ``batch = (*inputs, *targets)`` and the last
    ``n_targets`` tensors are targets. The model and the loss are traced together (one graph
    whose backward is replayed too); the optimizer's update runs as it is (it is vectorised
    NumPy over the parameters already), so any optimizer and learning-rate schedule works.
    """

    def __init__(self, model: nn.Module, loss_fn, optimizer, example_inputs, *,
                 n_targets: int = 1, **trace_kwargs):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.n_targets = int(n_targets)
        args = _as_args(example_inputs)
        if not 0 < self.n_targets < len(args):
            raise ValueError(f"fovea.jit.trace_train_step: n_targets must be between 1 and "
                             f"{len(args) - 1} for {len(args)} example tensors, got {n_targets}")
        k = len(args) - self.n_targets
        # The loss reads the targets with NumPy (index and weight arrays): a leaf node that
        # runs it again at each replay, so new targets are used.
        loss_leaf = loss_fn if hasattr(loss_fn, "_jit_wrapped") else wrap(loss_fn)

        def loss_of(*batch):
            return loss_leaf(model(*batch[:k]), *batch[k:])

        live = {id(t): (t, name) for name, t in model.named_parameters()}
        live.update({id(t): (t, name) for name, t in model.named_buffers() if t is not None})
        trace_kwargs.setdefault("check_trace", False)  # a check would run the step twice
        self.traced = TracedFunction(loss_of, args, _live=live, _module=model, **trace_kwargs)

    @property
    def graph(self) -> Graph:
        return self.traced.graph

    def __call__(self, *batch) -> Tensor:
        opt = self.optimizer
        opt.zero_grad()
        tr, tensors, plan = self.traced._prepare(batch)
        if plan.any_grad and not any(getattr(t, "_hooks", None) for t in tensors) \
                and len(plan.out_slots) == 1:
            # Forward and backward straight from the plan: no engine walk, and each fresh
            # gradient array becomes .grad without the engine's defensive copy.
            outs, ctxs = plan.forward([t._data for t in tensors])
            loss = outs[0]
            if loss.size != 1:
                raise RuntimeError(f"fovea.jit.trace_train_step: the loss must be a scalar, got "
                                   f"shape {tuple(loss.shape)}")
            grads = plan.backward(ctxs, [backends.for_array(loss).xp.ones_like(loss)],
                                  release=True)
            seen = set()
            for t, g, n in zip(tensors, grads, plan.arg_requires_grad):
                if g is None or not n or not t.requires_grad:
                    continue
                if id(g) in seen or g is t._data:
                    g = g.copy()
                seen.add(id(g))
                if g.dtype != t._data.dtype:
                    g = g.astype(t._data.dtype)
                t.grad = Tensor._make(g, None)
            _advance(tr.counters)
            loss = Tensor._make(loss, None)
        else:
            loss = Replay.apply(*tensors, plan=plan)
            _advance(tr.counters)
            loss.backward()
            loss = loss.detach()
        opt.step()
        return loss


def trace_train_step(model: nn.Module, loss_fn, optimizer, example_inputs, *,
                     n_targets: int = 1, **trace_kwargs) -> TracedTrainStep:
    """A traced training step (see :class:`TracedTrainStep`): ``loss = step(x, y)``.

    ``example_inputs``: the model's inputs followed by ``n_targets`` targets, e.g. ``(x, y)``
    for ``loss_fn(model(x), y)``. Other keyword arguments go to :func:`trace`.
    """
    return TracedTrainStep(model, loss_fn, optimizer, example_inputs, n_targets=n_targets,
                           **trace_kwargs)


# --- helpers ---------------------------------------------------------------------------------

def _as_args(example_inputs) -> tuple:
    args = (example_inputs,) if isinstance(example_inputs, Tensor) else tuple(example_inputs)
    for a in args:
        if not isinstance(a, Tensor):
            raise TypeError(f"fovea.jit.trace: example inputs must be Tensors, got "
                            f"{type(a).__name__}")
    return args


def _advance(counters) -> None:
    for buf, step in counters:
        buf._data[...] += step
        buf._version[0] += 1


def _tensor_params(params: dict):
    for p in params.values():
        if isinstance(p, Tensor):
            yield p
        elif isinstance(p, tuple | list):
            yield from (q for q in p if isinstance(q, Tensor))
        elif isinstance(p, dict):
            yield from _tensor_params(p)


def _has_list(tree) -> bool:
    if isinstance(tree, list):
        return True
    return isinstance(tree, tuple) and any(_has_list(t) for t in tree)


def _unflatten(tree, outs):
    if isinstance(tree, int):
        return outs[tree]
    return type(tree)(_unflatten(t, outs) for t in tree)


def _flatten(out) -> list:
    if isinstance(out, Tensor):
        return [out]
    return [t for o in out for t in _flatten(o)]


def _perturbed(a: Tensor, k: int) -> Tensor:
    """New values for a floating tensor (same shape, dtype, scale); others unchanged."""
    d = a._data
    if np.dtype(d.dtype).kind != "f":
        return a
    rng = np.random.default_rng(1000 + k)
    host = np.asarray(d)
    # centred at 0 so that sign tests flip; on the scale of the example
    noise = rng.standard_normal(host.shape) * (abs(float(host.mean())) + float(host.std()) + 0.1)
    arr = noise.astype(host.dtype)
    if type(d) is not np.ndarray:
        from fovea import backends

        arr = backends.for_array(d).xp.asarray(arr)
    return Tensor._make(arr, None)
