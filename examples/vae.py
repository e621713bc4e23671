"""A variational auto-encoder on the bundled 8×8 digits (Kingma & Welling, 2014).

The encoder gives a diagonal Gaussian q(z|x); a reparameterised sample (``rsample``) goes
through the decoder; the loss is the negative ELBO: Bernoulli reconstruction + KL(q || N(0, I))
(``torch.distributions.kl_divergence``). The same file runs on PyTorch and on fovea; only
the imports differ:

    python examples/vae.py                  # fovea
    python examples/vae.py --backend torch  # PyTorch
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
    from torch import nn
    from torch.distributions import Normal, kl_divergence
    from torch.utils.data import DataLoader, TensorDataset
else:
    import fovea as torch
    import fovea.nn.functional as F
    from fovea import nn
    from fovea.distributions import Normal, kl_divergence
    from fovea.utils.data import DataLoader, TensorDataset


class VAE(nn.Module):
    def __init__(self, d_in=64, d_hidden=128, d_latent=8):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(d_in, d_hidden), nn.ReLU())
        self.mu = nn.Linear(d_hidden, d_latent)
        self.log_var = nn.Linear(d_hidden, d_latent)
        self.decoder = nn.Sequential(nn.Linear(d_latent, d_hidden), nn.ReLU(),
                                     nn.Linear(d_hidden, d_in))

    def forward(self, x):
        h = self.encoder(x)
        q = Normal(self.mu(h), torch.exp(0.5 * self.log_var(h)))
        z = q.rsample()
        return self.decoder(z), q


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["fovea", "torch"], default=BACKEND)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)

    x = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)   # (1797, 64) in [0, 1]
    loader = DataLoader(TensorDataset(x), batch_size=64, shuffle=True)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    prior = Normal(torch.zeros(8), torch.ones(8))

    losses, step = [], 0
    for epoch in range(args.epochs):
        for (batch,) in loader:
            logits, q = model(batch)
            recon = F.binary_cross_entropy_with_logits(logits, batch, reduction="sum")
            kl = kl_divergence(q, prior).sum()
            loss = (recon + kl) / batch.shape[0]           # negative ELBO per image (nats)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if args.steps and step >= args.steps:
                break
        print(f"epoch {epoch:3d}  -ELBO {np.mean(losses[-len(loader):]):.3f} nats")
        if args.steps and step >= args.steps:
            break
    print(json.dumps({"example": "vae", "backend": args.backend,
                      "first_loss": float(np.mean(losses[:5])),
                      "last_loss": float(np.mean(losses[-5:]))}))


if __name__ == "__main__":
    main()
