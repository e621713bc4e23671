"""``summary(model, (C, H, W))``: what each layer computes, as the lectures count it by hand.

One forward pass of a single example (in eval mode, without a graph) with a hook on every
leaf module records, per layer:

* the output shape (without the batch dimension): for a convolution (W − F + 2P)/S + 1;
* parameters: F·F·C_in/groups·C_out + C_out for a convolution, in·out + out for a linear
  layer, 2·C for batch norm;
* multiply-adds: output elements × F·F·C_in/groups for a convolution, × in_features for a
  linear layer (the lectures count only these; BN, pooling and activations are cheap);
* activations: the elements of the output.

Totals: parameters (all of the model's, including layers the pass did not run, such as
GoogLeNet's auxiliary classifiers in eval mode), multiply-adds, the lecture's activation
count (the input and the outputs of the convolution, linear and pooling layers; VGG-16:
15.2 M per image — the figure the lecture's per-layer table sums to) and the training memory
per example: every layer's output is kept for backward and gets a gradient of the same size,
so 2 × (input + all layer outputs) × bytes per element.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import fovea
from fovea import nn

__all__ = ["LayerInfo", "ModelSummary", "summary"]

_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


@dataclass
class LayerInfo:
    """One leaf layer of the forward pass."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    activations: int

    @property
    def counted(self) -> bool:
        """Whether the lecture's activation count includes this layer's output."""
        return self.kind in ("Conv2d", "Linear") or self.kind.endswith("Pool2d")


@dataclass
class ModelSummary:
    """The per-layer rows and the totals of :func:`summary`."""

    model_name: str
    input_shape: tuple[int, ...]
    layers: list[LayerInfo] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    bytes_per_element: int = 4

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.layers)

    @property
    def activations(self) -> int:
        """The lecture's count: the input and the outputs of conv, linear and pooling layers."""
        return int(np.prod(self.input_shape)) + sum(r.activations for r in self.layers
                                                    if r.counted)

    @property
    def stored_activations(self) -> int:
        """The input and every leaf layer's output (what training keeps for backward)."""
        return int(np.prod(self.input_shape)) + sum(r.activations for r in self.layers)

    @property
    def training_bytes(self) -> int:
        """Training activation memory per example: stored values and their gradients."""
        return 2 * self.stored_activations * self.bytes_per_element

    def table(self) -> str:
        """The summary as a text table with totals."""
        head = f"{'layer':44s} {'type':18s} {'output':>18s} {'params':>12s} {'mult-adds':>15s}"
        lines = [f"{self.model_name} on input {'x'.join(map(str, self.input_shape))}", head,
                 "-" * len(head)]
        for r in self.layers:
            shape = "x".join(map(str, r.output_shape))
            lines.append(f"{r.name[:44]:44s} {r.kind[:18]:18s} {shape:>18s} {r.params:>12,} "
                         f"{r.macs:>15,}")
        lines.append("-" * len(head))
        run = sum(r.params for r in self.layers)
        lines += [
            f"parameters: {self.total_params:,} ({self.trainable_params:,} trainable"
            + (f"; {self.total_params - run:,} in layers this forward pass does not run)"
               if run != self.total_params else ")"),
            f"multiply-adds per example: {self.total_macs:,} ({self.total_macs / 1e9:.2f} G)",
            f"activations per example (input + conv/linear/pool outputs): {self.activations:,}"
            f" ({self.activations / 1e6:.2f} M, {_mb(self.activations * self.bytes_per_element)}"
            f" forward)",
            f"training activation memory per example (every layer's output and its gradient): "
            f"{_mb(self.training_bytes)}",
            f"parameter memory: {_mb(self.total_params * self.bytes_per_element)}",
        ]
        return "\n".join(lines)


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


def _macs(module: nn.Module, out_numel: int) -> int:
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return out_numel * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return out_numel * module.in_features
    return 0


def _first_tensor(out):
    if isinstance(out, fovea.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def summary(model: nn.Module, input_shape=(3, 224, 224), name: str | None = None,
            dtype=None) -> ModelSummary:
    """Run one example of ``input_shape`` (C, H, W) through ``model`` and describe each layer.

    The model is run in eval mode without a graph and left in the mode it was in. Returns a
    :class:`ModelSummary` (``.layers``, the totals, ``.table()``).
    """
    input_shape = tuple(int(s) for s in input_shape)
    if not input_shape or any(s < 1 for s in input_shape):
        raise ValueError(f"summary: input shape must be positive sizes (C, H, W), got "
                         f"{input_shape}")
    dtype = dtype or fovea.get_default_dtype()
    names = {id(m): n for n, m in model.named_modules()}
    result = ModelSummary(name or type(model).__name__, input_shape,
                          total_params=model.num_parameters(),
                          trainable_params=model.num_parameters(trainable_only=True),
                          bytes_per_element=np.dtype(dtype).itemsize)

    def hook(module, inputs, out):
        t = _first_tensor(out)
        if t is None:
            return
        numel = int(np.prod(t.shape[1:]))
        result.layers.append(LayerInfo(
            names.get(id(module), "?"), type(module).__name__, tuple(t.shape[1:]),
            sum(p.numel() for p in module.parameters(recurse=False)),
            _macs(module, numel), numel))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if not any(True for _ in m.children())]
    was_training = model.training
    try:
        model.eval()
        with fovea.no_grad():
            model(fovea.zeros(1, *input_shape, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return result
