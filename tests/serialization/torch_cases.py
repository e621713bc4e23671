"""The PyTorch side of the serialization tests: a small ConvNet with batch norm in both
libraries, and the objects ``torch.save`` writes for the reader tests.

``python tests/serialization/torch_cases.py`` (with PyTorch installed) rewrites the stored
fixture ``data/torch_small.pt`` and its expected values ``data/torch_small.npz``, which let the
reader be tested on machines without PyTorch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"


def torch_model(torch):
    """Conv(3→4, 3x3) → BatchNorm → ReLU → Flatten → Linear(4·4·4 → 5), trained one step so
    that the batch-norm running statistics are not their initial values; eval mode."""
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(64, 5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(8, 3, 6, 6)).square().mean().backward()
        opt.step()
    return model.eval(), opt


def fovea_model():
    """The same architecture in fovea (the same state-dict keys)."""
    import fovea.nn as nn

    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(64, 5)).eval()


def torch_objects(torch):
    """A checkpoint-like object with every dtype the reader handles, views and a Parameter."""
    model, opt = torch_model(torch)
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    base = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    obj = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "input": x,
        "output": model(x).detach(),
        "dtypes": [torch.tensor([1.5, -2.0], dtype=torch.float16),
                   torch.tensor([1.5, -2.25]), torch.tensor([1.5, 3.25], dtype=torch.float64),
                   torch.tensor([-7, 2**40]), torch.tensor([-7, 5], dtype=torch.int32),
                   torch.tensor([0, 255], dtype=torch.uint8),
                   torch.tensor([True, False])],
        "base": base,
        "views": (base.t(), base[1:, 2:5], base[:, ::2], base[2], base[0, 3]),
        "parameter": torch.nn.Parameter(torch.ones(3)),
        "plain": {"epoch": 3, "lr": 0.25, "name": "run", "flag": True, "none": None,
                  "pair": (1, 2.5), 7: "int key"},
    }
    return obj


def expected_arrays(obj) -> dict[str, np.ndarray]:
    """The arrays of :func:`torch_objects` by a flat name, for the stored npz."""
    out = {f"model.{k}": v.numpy() for k, v in obj["model"].items()}
    out["input"], out["output"] = obj["input"].numpy(), obj["output"].numpy()
    for i, t in enumerate(obj["dtypes"]):
        out[f"dtypes.{i}"] = t.numpy()
    for i, t in enumerate(obj["views"]):
        out[f"views.{i}"] = t.numpy()
    for p, s in obj["optimizer"]["state"].items():
        out[f"momentum.{p}"] = s["momentum_buffer"].numpy()
    return out


if __name__ == "__main__":
    import torch

    DATA.mkdir(exist_ok=True)
    objects = torch_objects(torch)
    torch.save(objects, DATA / "torch_small.pt")
    np.savez(DATA / "torch_small.npz", **expected_arrays(objects))
    print("wrote", DATA / "torch_small.pt", "and", DATA / "torch_small.npz")
