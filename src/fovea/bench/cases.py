"""The benchmark cases: full training steps of three models and single layers.

A :class:`Case` knows how to build, for one framework ("fovea" or "torch"), a zero-argument
callable that performs the timed work on inputs that are identical across the frameworks
(the same NumPy arrays, float32, and for models the same weights), and how many
matrix-product FLOPs that work does.

Training steps are ``zero_grad(); loss = cross_entropy(model(x), y); loss.backward();
opt.step()`` with SGD (lr 0.01, momentum 0.9). Layer cases run the layer with its
parameters requiring grad (as in training), either forward only or forward + backward with
a fixed random upstream gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

FRAMEWORKS = ("fovea", "torch")


@dataclass
class Case:
    """One benchmark: ``make(framework, quick)`` returns the callable to time.

    Attributes:
        name: short unique label (used in tables and ``--only``).
        group: ``"model"`` (a training step) or ``"layer"``.
        mode: ``"step"``, ``"forward"`` or ``"forward+backward"``.
        description: the shapes, in words.
        builder: ``builder(framework, quick) -> (callable, flops)``.
        memory: whether to measure the peak memory of this case (in a subprocess).
    """

    name: str
    group: str
    mode: str
    description: str
    builder: Callable = field(repr=False)
    memory: bool = False
    quick_description: str = ""

    def describe(self, quick: bool = False) -> str:
        """The shapes in words (those of quick mode when ``quick``)."""
        return (self.quick_description or self.description) if quick else self.description

    def make(self, framework: str, quick: bool = False):
        if framework not in FRAMEWORKS:
            raise ValueError(f"Case.make: framework must be one of {FRAMEWORKS}, "
                             f"got {framework!r}")
        return self.builder(framework, quick)


# --- inputs --------------------------------------------------------------------------------

def _rng(tag: str) -> np.random.Generator:
    return np.random.default_rng(_stable_seed(tag))


def _stable_seed(tag: str) -> int:
    """A seed from a string that does not change between processes (unlike ``hash``)."""
    s = 0
    for ch in tag.encode():
        s = (s * 131 + ch) % 2**32
    return s


def _images(tag, n, c, h, w):
    rng = _rng(tag)
    return (rng.standard_normal((n, c, h, w), dtype=np.float32),
            rng.integers(0, 10, n).astype(np.int64))


# --- model steps ---------------------------------------------------------------------------

MODEL_SPECS = {
    # name: (batch, quick batch, image (C, H, W), description)
    "mlp": (128, 32, (3, 32, 32), "MLP 3072-100-10, batch {n}"),
    "three_layer_convnet": (64, 16, (3, 32, 32),
                            "conv 32×7×7 – ReLU – pool – affine 100 – ReLU – affine 10, "
                            "3×32×32, batch {n}"),
    "resnet20": (128, 16, (3, 32, 32), "ResNet-20 (option A), 3×32×32, batch {n}"),
}


def build_fovea_model(name: str):
    import fovea
    from fovea import models

    fovea.manual_seed(0)
    if name == "mlp":
        return models.mlp(3, (32, 32), 10, hidden=(100,))
    if name == "three_layer_convnet":
        return models.three_layer_convnet(3, (32, 32), 10)
    if name == "resnet20":
        return models.resnet20()
    raise ValueError(f"unknown benchmark model {name!r}")


def build_torch_twin(name: str, fovea_model):
    from fovea.bench import torch_models as tm

    if name == "mlp":
        twin = tm.mlp(3072, (100,), 10)
    elif name == "three_layer_convnet":
        twin = tm.three_layer_convnet(3, (32, 32), 10)
    elif name == "resnet20":
        twin = tm.cifar_resnet(20)
    else:
        raise ValueError(f"unknown benchmark model {name!r}")
    return tm.load_from_fovea(twin, fovea_model)


def model_flops(model, x: np.ndarray) -> float:
    """Matrix-product FLOPs of one training step of fovea ``model`` on ``x``.

    Counts convolutions and linear layers (2 FLOPs per multiply-add): the forward pass, the
    weight gradients, and the input gradients of every layer whose input needs one.
    """
    import fovea
    from fovea import nn

    total = [0.0]

    def hook(mod, inputs, out):
        if isinstance(mod, nn.Conv2d):
            kh, kw = mod.kernel_size
            f = 2.0 * out.numel() * (mod.in_channels // mod.groups) * kh * kw
        else:
            f = 2.0 * out.numel() * mod.in_features
        total[0] += f * (3 if inputs[0].requires_grad else 2)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.Conv2d | nn.Linear)]
    was_training = model.training
    model.eval()  # leave batch-norm statistics alone
    try:
        model(fovea.tensor(x))  # records a graph only to see which inputs need gradients
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total[0]


def _model_case(name: str, traced: bool = False) -> Case:
    """A training step of ``name``: fovea's eager step, or (``traced``) the same step traced
    once with fovea.jit; PyTorch runs its eager step in both."""
    batch, quick_batch, (c, h, w), desc = MODEL_SPECS[name]

    def builder(framework: str, quick: bool):
        n = quick_batch if quick else batch
        x, y = _images(name, n, c, h, w)
        fm = build_fovea_model(name)
        flops = model_flops(fm, x)
        if framework == "fovea":
            step = fovea_traced_train_step if traced else fovea_train_step
            return step(fm, x, y), flops
        return torch_train_step(build_torch_twin(name, fm), x, y), flops

    tag = " (fovea: fovea.jit.trace_train_step)" if traced else ""
    return Case(f"{name}_traced" if traced else name, "model", "step",
                desc.format(n=batch) + tag, builder, memory=True,
                quick_description=desc.format(n=quick_batch) + tag)


# The same steps traced once with fovea.jit (PyTorch runs its eager step, as in the cases above).
TRACED_MODELS = ("mlp", "three_layer_convnet", "resnet20")


def _traced_model_case(name: str) -> Case:
    return _model_case(name, traced=True)


def fovea_traced_train_step(model, x, y, lr: float = 0.01, momentum: float = 0.9):
    """:func:`fovea_train_step` traced once (``fovea.jit.trace_train_step``): replays the
    recorded forward and backward, then runs the optimizer."""
    import fovea
    import fovea.nn.functional as F
    from fovea import jit

    model.train()
    opt = fovea.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xt, yt = fovea.tensor(x), fovea.tensor(y)
    traced = jit.trace_train_step(model, F.cross_entropy, opt, (xt, yt))

    def step():
        return traced(xt, yt)

    return step


def fovea_train_step(model, x, y, lr: float = 0.01, momentum: float = 0.9,
                     device: str | None = None):
    """A closure running one SGD training step of fovea ``model`` on (x, y) (with ``device``:
    model and batch moved there first)."""
    import fovea
    import fovea.nn.functional as F

    if device is not None:
        model.to(device)
    model.train()
    opt = fovea.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xt, yt = fovea.tensor(x), fovea.tensor(y)
    if device is not None:
        xt, yt = xt.to(device), yt.to(device)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


def torch_train_step(model, x, y, lr: float = 0.01, momentum: float = 0.9,
                     device: str | None = None):
    """The same step in PyTorch."""
    import torch

    if device is not None:
        model.to(device)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    if device is not None:
        xt, yt = xt.to(device), yt.to(device)
    F = torch.nn.functional

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return step


# --- single layers -------------------------------------------------------------------------

@dataclass
class LayerSpec:
    name: str
    description: str
    inputs: dict          # name -> (shape, shape in quick mode); first is the data input
    call: str             # which op
    kwargs: dict
    x_grad: bool = True   # whether the data input needs a gradient
    flops: Callable | None = None  # (shapes dict) -> forward FLOPs


def _conv_flops(s, stride=1, padding=0, groups=1):
    n, c, h, w = s["x"]
    o, cg, kh, kw = s["weight"]
    ho = (h + 2 * padding - kh) // stride + 1
    wo = (w + 2 * padding - kw) // stride + 1
    return 2.0 * n * ho * wo * o * cg * kh * kw


def _conv(name, desc, n, c, o, hw, k, stride=1, padding=0, groups=1, x_grad=True, qn=8):
    kw = dict(stride=stride, padding=padding, groups=groups)
    return LayerSpec(
        name, desc,
        {"x": ((n, c, hw, hw), (qn, c, hw, hw)), "weight": ((o, c // groups, k, k),) * 2},
        "conv2d", kw, x_grad,
        lambda s: _conv_flops(s, stride, padding, groups))


LAYER_SPECS = [
    _conv("conv3x3_c16", "conv 3×3 16→16 pad 1, 128×16×32×32", 128, 16, 16, 32, 3, padding=1),
    _conv("conv3x3_c32", "conv 3×3 32→32 pad 1, 128×32×16×16", 128, 32, 32, 16, 3, padding=1),
    _conv("conv3x3_c64", "conv 3×3 64→64 pad 1, 128×64×8×8", 128, 64, 64, 8, 3, padding=1),
    _conv("conv3x3_c64_large", "conv 3×3 64→64 pad 1, 64×64×32×32", 64, 64, 64, 32, 3,
          padding=1, qn=4),
    _conv("conv7x7_convnet", "conv 7×7 3→32 pad 3, 64×3×32×32 (input needs no grad)", 64, 3,
          32, 32, 7, padding=3, x_grad=False),
    _conv("conv7x7_stem", "conv 7×7 3→64 stride 2 pad 3, 16×3×112×112", 16, 3, 64, 112, 7,
          stride=2, padding=3, x_grad=False, qn=2),
    _conv("conv1x1", "conv 1×1 64→64, 128×64×16×16", 128, 64, 64, 16, 1),
    _conv("depthwise3x3", "depthwise conv 3×3, 64 channels pad 1, 128×64×16×16", 128, 64, 64,
          16, 3, padding=1, groups=64),
    LayerSpec("maxpool2x2", "max-pool 2×2, 64×32×32×32",
              {"x": ((64, 32, 32, 32), (8, 32, 32, 32))}, "max_pool2d", {"kernel_size": 2}),
    LayerSpec("batchnorm2d", "batch norm (training), 128×16×32×32",
              {"x": ((128, 16, 32, 32), (8, 16, 32, 32)), "weight": ((16,),) * 2,
               "bias": ((16,),) * 2}, "batch_norm", {}),
    LayerSpec("relu", "ReLU, 128×16×32×32",
              {"x": ((128, 16, 32, 32), (8, 16, 32, 32))}, "relu", {}),
    LayerSpec("linear", "linear 3072→100, batch 128",
              {"x": ((128, 3072), (32, 3072)), "weight": ((100, 3072),) * 2,
               "bias": ((100,),) * 2}, "linear", {},
              flops=lambda s: 2.0 * s["x"][0] * s["weight"][0] * s["weight"][1]),
    LayerSpec("cross_entropy", "cross-entropy, 128×10 logits",
              {"x": ((128, 10), (32, 10))}, "cross_entropy", {}),
]


def _layer_fn(lib: str, call: str, kwargs: dict, t: dict, y):
    """The layer call for one framework on tensors ``t`` (dict of named inputs)."""
    if lib == "fovea":
        import fovea.nn.functional as F
    else:
        import torch.nn.functional as F
    if call == "conv2d":
        return lambda: F.conv2d(t["x"], t["weight"], None, **kwargs)
    if call == "max_pool2d":
        return lambda: F.max_pool2d(t["x"], **kwargs)
    if call == "batch_norm":
        return lambda: F.batch_norm(t["x"], None, None, t["weight"], t["bias"], training=True)
    if call == "relu":
        return lambda: F.relu(t["x"])
    if call == "linear":
        return lambda: F.linear(t["x"], t["weight"], t["bias"])
    if call == "cross_entropy":
        return lambda: F.cross_entropy(t["x"], y)
    raise ValueError(f"unknown layer call {call!r}")  # pragma: no cover


def _layer_case(spec: LayerSpec, mode: str) -> Case:
    def builder(framework: str, quick: bool):
        rng = _rng(spec.name)
        shapes = {k: v[1] if quick else v[0] for k, v in spec.inputs.items()}
        arrays = {k: rng.standard_normal(s, dtype=np.float32) for k, s in shapes.items()}
        if spec.call == "batch_norm":
            arrays["weight"] = 1.0 + 0.1 * arrays["weight"]
        labels = rng.integers(0, shapes["x"][-1], shapes["x"][0]).astype(np.int64)
        flops = spec.flops(shapes) if spec.flops else 0.0
        fwd_flops = flops
        if mode == "forward+backward":
            flops = flops * (3 if spec.x_grad else 2)
        needs = {k: (spec.x_grad if k == "x" else True) for k in arrays}
        if framework == "fovea":
            import fovea
            t = {k: fovea.tensor(a, requires_grad=needs[k]) for k, a in arrays.items()}
            y = fovea.tensor(labels)
        else:
            import torch
            t = {k: torch.from_numpy(a).requires_grad_(needs[k]) for k, a in arrays.items()}
            y = torch.from_numpy(labels)
        fn = _layer_fn(framework, spec.call, spec.kwargs, t, y)
        if mode == "forward":
            return fn, fwd_flops
        out_shape = tuple(fn().shape)
        g = rng.standard_normal(out_shape, dtype=np.float32) if out_shape else None
        if framework == "fovea":
            import fovea
            gt = fovea.tensor(g) if g is not None else None
        else:
            import torch
            gt = torch.from_numpy(g) if g is not None else None

        def fwd_bwd():
            out = fn()
            out.backward(gt)
            for v in t.values():
                v.grad = None
            return out

        return fwd_bwd, flops

    label = "fwd" if mode == "forward" else "fwd+bwd"
    quick_shapes = ", ".join("×".join(map(str, v[1])) for v in spec.inputs.values())
    return Case(f"{spec.name}:{label}", "layer", mode, spec.description, builder,
                quick_description=f"{spec.description.split(',')[0]}, quick: {quick_shapes}")


def all_cases() -> list[Case]:
    """Every case, models first, then each layer forward and forward + backward."""
    cases = [_model_case(name) for name in MODEL_SPECS]
    cases += [_traced_model_case(name) for name in TRACED_MODELS]
    from fovea.bench.lecture_cases import lecture_cases  # (it builds on this module)

    cases += lecture_cases()
    for spec in LAYER_SPECS:
        cases.append(_layer_case(spec, "forward"))
        cases.append(_layer_case(spec, "forward+backward"))
    return cases


def select(cases: list[Case], only: str | None = None, models_only: bool = False,
           layers_only: bool = False) -> list[Case]:
    """Filter by group and by ``only``: comma-separated keys, each the exact name of a case
    or else a substring of the names it selects (``relu:fwd`` is one case, ``relu`` two)."""
    out = []
    keys = [k.strip() for k in only.split(",") if k.strip()] if only else []
    names = {c.name for c in cases}

    def hit(key, name):
        return key == name if key in names else key in name

    for c in cases:
        if models_only and c.group != "model":
            continue
        if layers_only and c.group != "layer":
            continue
        if keys and not any(hit(k, c.name) for k in keys):
            continue
        out.append(c)
    return out
