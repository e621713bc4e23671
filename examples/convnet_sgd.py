"""A course-style ConvNet trained with a hand-written SGD loop over raw tensors.

No nn.Module, no optimizer: the weights are leaf tensors, the forward pass is
nn.functional calls, and the update is ``w -= lr * w.grad`` under ``no_grad``, as in the
CS231n notebooks. The same file runs on PyTorch and on fovea; only the imports differ:

    python examples/convnet_sgd.py                  # fovea
    python examples/convnet_sgd.py --backend torch  # PyTorch
"""

import argparse
import json
import os
import sys

import numpy as np
from sklearn.datasets import load_digits

# The backend: --backend torch|fovea, else the BACKEND environment variable, else fovea.
_ARGS = " ".join(sys.argv[1:]).replace("=", " ")
BACKEND = "torch" if "--backend torch" in _ARGS else "fovea" if "--backend fovea" in _ARGS \
    else os.environ.get("BACKEND", "fovea")
if BACKEND == "torch":
    import torch
    import torch.nn.functional as F
else:
    import fovea as torch
    import fovea.nn.functional as F


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["fovea", "torch"], default=BACKEND)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)

    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)  # (N, 1, 8, 8)
    y = torch.tensor(digits.target, dtype=torch.long)
    x_train, y_train, x_test, y_test = x[:1500], y[:1500], x[1500:], y[1500:]

    def param(*shape, scale):
        return (torch.randn(*shape) * scale).requires_grad_()

    w1, b1 = param(16, 1, 3, 3, scale=(2 / 9) ** 0.5), torch.zeros(16, requires_grad=True)
    w2, b2 = param(32, 16, 3, 3, scale=(2 / 144) ** 0.5), torch.zeros(32, requires_grad=True)
    w3, b3 = param(10, 32 * 4 * 4, scale=(1 / 512) ** 0.5), torch.zeros(10, requires_grad=True)
    params = [w1, b1, w2, b2, w3, b3]

    def model(x):
        h = F.relu(F.conv2d(x, w1, b1, padding=1))             # (N, 16, 8, 8)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)  # (N, 32, 4, 4)
        return h.flatten(1) @ w3.t() + b3                       # (N, 10)

    losses = []
    for step in range(args.steps):
        idx = torch.randint(0, x_train.shape[0], (args.batch_size,))
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        with torch.no_grad():
            for w in params:
                w -= args.lr * w.grad
                w.grad.zero_()
        losses.append(loss.item())
        if step % 50 == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    with torch.no_grad():
        accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
    print(json.dumps({"example": "convnet_sgd", "backend": args.backend,
                      "first_loss": float(np.mean(losses[:10])),
                      "last_loss": float(np.mean(losses[-10:])), "test_accuracy": accuracy}))


if __name__ == "__main__":
    main()
