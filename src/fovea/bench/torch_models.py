"""PyTorch twins of fovea's benchmark models, with the same module tree and state-dict keys.

Only the benchmark (and the tests, as an oracle) use this module; it imports ``torch``
lazily, inside each function, so fovea never needs PyTorch to run. A twin has exactly the
keys of its fovea model, so ``load_from_fovea(twin, model)`` makes the two compute the same
function.
"""

from __future__ import annotations

import numpy as np


def _torch():
    import torch

    return torch


def mlp(in_features: int, hidden: tuple[int, ...], num_classes: int):
    """Flatten – (Linear – ReLU)×len(hidden) – Linear, like ``fovea.models.mlp``."""
    nn = _torch().nn
    layers, width = [nn.Flatten()], in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def three_layer_convnet(in_channels: int, image_size: tuple[int, int], num_classes: int,
                        filters: int = 32, kernel: int = 7, hidden: int = 100):
    """conv – ReLU – 2×2 max-pool – affine – ReLU – affine, like fovea's."""
    nn = _torch().nn
    h, w = image_size[0] // 2, image_size[1] // 2
    return nn.Sequential(
        nn.Conv2d(in_channels, filters, kernel, padding=kernel // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(filters * h * w, hidden),
        nn.ReLU(),
        nn.Linear(hidden, num_classes),
    )


def cifar_resnet(depth: int = 20, num_classes: int = 10, in_channels: int = 3,
                 shortcut: str = "A"):
    """The CIFAR ResNet of ``fovea.models.resnet`` written with torch.nn (same keys)."""
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class PadShortcut(nn.Module):
        def __init__(self, stride, extra):
            super().__init__()
            self.stride, self.extra = stride, extra

        def forward(self, x):
            x = x[:, :, ::self.stride, ::self.stride]
            before = self.extra // 2
            return F.pad(x, (0, 0, 0, 0, before, self.extra - before))

    class BasicBlock(nn.Module):
        def __init__(self, in_planes, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            if stride == 1 and in_planes == planes:
                self.shortcut = nn.Identity()
            elif shortcut == "A":
                self.shortcut = PadShortcut(stride, planes - in_planes)
            else:
                self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False),
                                              nn.BatchNorm2d(planes))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            n = (depth - 2) // 6
            self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            in_planes, stages = 16, []
            for i, planes in enumerate((16, 32, 64)):
                blocks = []
                for j in range(n):
                    blocks.append(BasicBlock(in_planes, planes, 2 if i > 0 and j == 0 else 1))
                    in_planes = planes
                stages.append(nn.Sequential(*blocks))
            self.layer1, self.layer2, self.layer3 = stages
            self.fc = nn.Linear(64, num_classes)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer3(self.layer2(self.layer1(out)))
            return self.fc(out.mean(dim=(2, 3)))

    return ResNet()


def load_from_fovea(twin, model, dtype=np.float32):
    """Copy every parameter and buffer of fovea ``model`` into torch ``twin`` (same keys).

    Returns ``twin`` converted to ``dtype``.
    """
    torch = _torch()
    # Convert first: load_state_dict copies into the existing tensors (and their dtype).
    twin = twin.to(torch.float64 if np.dtype(dtype) == np.float64 else torch.float32)
    state = {}
    for k, v in model.state_dict().items():
        a = np.array(v.detach().numpy(), copy=True)
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        state[k] = torch.from_numpy(a)
    twin.load_state_dict(state, strict=True)
    return twin
