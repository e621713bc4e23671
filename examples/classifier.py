"""An image classifier whose Dataset composes per-image transforms, as PyTorch programs do.

The bundled 8×8 digits become 16×16 PIL images; the training Dataset applies random affine
jitter, ``ToTensor`` and ``Normalize`` to each image in ``__getitem__``; a DataLoader
batches them (``--num-workers`` worker processes); a small ConvNet with batch norm trains
with SGD + momentum and a cosine schedule; the weights are saved with ``save`` and loaded
back into a fresh model. The same file runs on PyTorch (+ torchvision) and on fovea; only
the imports differ:

    python examples/classifier.py                  # fovea
    python examples/classifier.py --backend torch  # PyTorch
"""

import argparse
import json
import os
import sys
import tempfile

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

# The backend: --backend torch|fovea, else the BACKEND environment variable, else fovea.
_ARGS = " ".join(sys.argv[1:]).replace("=", " ")
BACKEND = "torch" if "--backend torch" in _ARGS else "fovea" if "--backend fovea" in _ARGS \
    else os.environ.get("BACKEND", "fovea")
if BACKEND == "torch":
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms as T
else:
    import fovea as torch
    from fovea import nn
    from fovea.data import transforms as T
    from fovea.utils.data import DataLoader, Dataset


class Digits(Dataset):
    """The 8×8 digits as 16×16 grayscale PIL images; ``transform`` runs per image."""

    def __init__(self, images, labels, transform):
        self.images = [Image.fromarray((img * 255 / 16).astype(np.uint8)).resize(
            (16, 16), Image.BILINEAR) for img in images]
        self.labels = [int(y) for y in labels]
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def convnet():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def accuracy(model, loader, device):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            pred = model(x.to(device)).argmax(dim=1)
            correct += (pred == y.to(device)).sum().item()
            total += y.shape[0]
    return correct / total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["fovea", "torch"], default=BACKEND)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    train_tf = T.Compose([T.RandomAffine(degrees=10, translate=(0.1, 0.1)), T.ToTensor(),
                          T.Normalize((0.5,), (0.5,))])
    test_tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    digits = load_digits()
    train_set = Digits(digits.images[:1500], digits.target[:1500], train_tf)
    test_set = Digits(digits.images[1500:], digits.target[1500:], test_tf)
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True,
                              num_workers=args.num_workers)
    test_loader = DataLoader(test_set, batch_size=256)

    model = convnet().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()

    losses, step = [], 0
    for epoch in range(args.epochs):
        model.train()
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if args.steps and step >= args.steps:
                break
        scheduler.step()
        print(f"epoch {epoch:3d}  loss {np.mean(losses[-len(train_loader):]):.4f}")
        if args.steps and step >= args.steps:
            break
    test_accuracy = accuracy(model, test_loader, device)

    # Save the weights and load them into a fresh model: the same predictions.
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "classifier.pt")
        torch.save(model.state_dict(), path)
        restored = convnet().to(device)
        restored.load_state_dict(torch.load(path, map_location=device))
    assert accuracy(restored, test_loader, device) == test_accuracy
    print(json.dumps({"example": "classifier", "backend": args.backend,
                      "first_loss": float(np.mean(losses[:5])),
                      "last_loss": float(np.mean(losses[-5:])),
                      "test_accuracy": test_accuracy}))


if __name__ == "__main__":
    main()
