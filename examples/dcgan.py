"""A DCGAN (Radford et al., 2016) on the bundled 8×8 digits, scaled to [-1, 1].

Generator: transposed convolutions with batch norm and ReLU, tanh output; discriminator:
strided convolutions with LeakyReLU; both trained with Adam(β1 = 0.5) on the
non-saturating GAN loss. The same file runs on PyTorch and on fovea; only the imports differ:

    python examples/dcgan.py                  # fovea
    python examples/dcgan.py --backend torch  # PyTorch
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
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
else:
    import fovea as torch
    from fovea import nn
    from fovea.utils.data import DataLoader, TensorDataset

Z = 16


def generator():
    return nn.Sequential(
        nn.ConvTranspose2d(Z, 64, 4, 1, 0, bias=False),    # (N, 64, 4, 4)
        nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())      # (N, 1, 8, 8)


def discriminator():
    return nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),       # (N, 64, 4, 4)
        nn.Conv2d(64, 1, 4, 1, 0), nn.Flatten())            # (N, 1) logits


def weights_init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["fovea", "torch"], default=BACKEND)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    images = torch.tensor(load_digits().images / 8.0 - 1.0, dtype=torch.float32).unsqueeze(1)
    loader = DataLoader(TensorDataset(images), batch_size=64, shuffle=True, drop_last=True)
    G, D = generator().to(device), discriminator().to(device)
    G.apply(weights_init)
    D.apply(weights_init)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()

    d_losses, g_losses, step = [], [], 0
    for epoch in range(args.epochs):
        for (real,) in loader:
            real = real.to(device)
            n = real.shape[0]
            ones, zeros = torch.ones(n, 1, device=device), torch.zeros(n, 1, device=device)
            fake = G(torch.randn(n, Z, 1, 1, device=device))
            # Discriminator: real -> 1, fake -> 0 (fake detached: G is not updated here).
            d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            # Generator: make D call the fakes real (the non-saturating loss).
            g_loss = bce(D(fake), ones)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            d_losses.append(d_loss.item())
            g_losses.append(g_loss.item())
            step += 1
            if args.steps and step >= args.steps:
                break
        print(f"epoch {epoch:3d}  D loss {np.mean(d_losses[-len(loader):]):.3f}  "
              f"G loss {np.mean(g_losses[-len(loader):]):.3f}")
        if args.steps and step >= args.steps:
            break
    # The discriminator's loss is the one that falls at first (from 2·ln 2).
    print(json.dumps({"example": "dcgan", "backend": args.backend,
                      "first_loss": float(np.mean(d_losses[:3])),
                      "last_loss": float(np.mean(d_losses[-3:])),
                      "g_loss": float(np.mean(g_losses[-3:]))}))


if __name__ == "__main__":
    main()
