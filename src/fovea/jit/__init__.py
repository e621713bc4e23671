"""``fovea.jit``: trace a function, a module or a training step once, replay it fast.

PyTorch's names: :func:`trace` (``torch.jit.trace``), :func:`trace_module`,
:class:`TracerWarning`. See docs/jit.md.

* :mod:`fovea.jit.graph`: the recorded graph and the tracer (on ``fovea.autograd.observing``);
* :mod:`fovea.jit.passes`: dead-node elimination, constant folding, elementwise fusion;
* :mod:`fovea.jit.executor`: the replay schedule (forward and backward, lifetimes);
* :mod:`fovea.jit.rules`: helpers that compute with NumPy outside the ops, recorded as nodes;
* :mod:`fovea.jit.wrap`: leaves the tracer does not enter (re-run at each replay);
* :mod:`fovea.jit.api`: ``trace``, ``trace_train_step`` and the traced callables.
"""

from fovea.jit.api import (
    TracedFunction,
    TracedModule,
    TracedTrainStep,
    trace,
    trace_module,
    trace_train_step,
)
from fovea.jit.graph import Graph, TracerWarning
from fovea.jit.wrap import wrap

__all__ = ["trace", "trace_module", "trace_train_step", "TracedFunction", "TracedModule",
           "TracedTrainStep", "TracerWarning", "Graph", "wrap"]
