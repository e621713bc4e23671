"""Benchmark cases of the later lectures, in the same suite as the classic ones.

* ``lstm_lm`` and ``gru_lm``: one training step (forward, loss, backward, SGD update) of a
  character language model: embedding 64 → 2-layer {LSTM, GRU} of 512 → linear to a
  vocabulary of 100, on a batch of 32 sequences of 64 characters (the recurrent-layers
  issue's shapes; ``benchmarks/bench_rnn.py`` also times the forward pass alone).
* ``resnet20_saliency``: the saliency map's cost, the gradient of each image's top score
  with respect to the input, through ResNet-20 in eval mode, batch 64 of 3×32×32.

Both libraries start from the same weights (the fovea model's, copied into its PyTorch twin)
and the same inputs.
"""

from __future__ import annotations

import numpy as np

from fovea.bench.cases import Case, _images, build_fovea_model, build_torch_twin, model_flops

RNN_SHAPES = {"batch": 32, "seq": 64, "vocab": 100, "embed": 64, "hidden": 512, "layers": 2}
RNN_QUICK = {**RNN_SHAPES, "batch": 4, "seq": 8, "hidden": 32}
SALIENCY_BATCH, SALIENCY_QUICK = 64, 8


def rnn_lm_flops(cell: str, s: dict) -> float:
    """Matrix-product FLOPs of one training step: every gate's input and hidden products
    (2 per multiply-add) and the output layer, forward + both gradients (×3)."""
    gates = {"LSTM": 4, "GRU": 3}[cell]
    per_step = 0.0
    width = s["embed"]
    for _ in range(s["layers"]):
        per_step += 2.0 * gates * s["hidden"] * (width + s["hidden"])
        width = s["hidden"]
    per_step += 2.0 * s["hidden"] * s["vocab"]
    return 3.0 * per_step * s["batch"] * s["seq"]


def _lm_modules(nn, cell: str, s: dict):
    return (nn.Embedding(s["vocab"], s["embed"]),
            getattr(nn, cell)(s["embed"], s["hidden"], s["layers"]),
            nn.Linear(s["hidden"], s["vocab"]))


def _rnn_case(cell: str) -> Case:
    def builder(framework: str, quick: bool):
        import fovea

        s = RNN_QUICK if quick else RNN_SHAPES
        rng = np.random.default_rng(sum(map(ord, cell)))
        ids = rng.integers(0, s["vocab"], (s["seq"], s["batch"]))
        targets = rng.integers(0, s["vocab"], (s["seq"], s["batch"]))
        fovea.manual_seed(0)
        fm = _lm_modules(fovea.nn, cell, s)
        if framework == "fovea":
            mods, lib, F = fm, fovea, fovea.nn.functional
        else:
            import torch

            mods = tuple(t.float() for t in _lm_modules(torch.nn, cell, s))
            for t, f in zip(mods, fm):
                t.load_state_dict({k: torch.from_numpy(np.array(v.detach().numpy()))
                                   for k, v in f.state_dict().items()})
            lib, F = torch, torch.nn.functional
        emb, rnn, head = mods
        params = [p for m in mods for p in m.parameters()]
        opt = lib.optim.SGD(params, lr=0.01, momentum=0.9)
        x, y = lib.tensor(ids), lib.tensor(targets)

        def step():
            opt.zero_grad()
            out, _ = rnn(emb(x))
            loss = F.cross_entropy(head(out).reshape(-1, s["vocab"]), y.reshape(-1))
            loss.backward()
            opt.step()
            return loss

        return step, rnn_lm_flops(cell, s)

    desc = ("char LM step: embedding 64 – 2-layer {c} 512 – linear 100, batch {b} × "
            "sequence {t}")
    return Case(f"{cell.lower()}_lm", "model", "step",
                desc.format(c=cell, b=RNN_SHAPES["batch"], t=RNN_SHAPES["seq"]), builder,
                quick_description=desc.format(c=cell, b=RNN_QUICK["batch"],
                                              t=RNN_QUICK["seq"]))


def _saliency_case() -> Case:
    def builder(framework: str, quick: bool):
        n = SALIENCY_QUICK if quick else SALIENCY_BATCH
        x, _ = _images("resnet20_saliency", n, 3, 32, 32)
        fm = build_fovea_model("resnet20").eval()
        flops = model_flops(fm, x) * 2 / 3  # forward + input gradients, no weight gradients
        for p in fm.parameters():  # only the input's gradient is wanted, in both libraries
            p.requires_grad_(False)
        if framework == "fovea":
            import fovea

            def saliency():
                xt = fovea.tensor(x, requires_grad=True)
                s = fm(xt)
                (g,) = fovea.grad(s.gather(1, s.argmax(1, keepdim=True)).sum(), xt)
                return g.abs().amax(1)

            return saliency, flops
        import torch

        twin = build_torch_twin("resnet20", fm).eval()
        for p in twin.parameters():
            p.requires_grad_(False)

        def saliency():
            xt = torch.tensor(x, requires_grad=True)
            s = twin(xt)
            (g,) = torch.autograd.grad(s.gather(1, s.argmax(1, keepdim=True)).sum(), xt)
            return g.abs().amax(1)

        return saliency, flops

    desc = "saliency: abs(∂ top score / ∂ x) through ResNet-20 (eval), 3×32×32, batch {n}"
    return Case("resnet20_saliency", "model", "forward+backward",
                desc.format(n=SALIENCY_BATCH), builder,
                quick_description=desc.format(n=SALIENCY_QUICK))


def lecture_cases() -> list[Case]:
    """``lstm_lm``, ``gru_lm``, ``resnet20_saliency``."""
    return [_rnn_case("LSTM"), _rnn_case("GRU"), _saliency_case()]
