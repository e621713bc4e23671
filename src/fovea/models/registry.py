"""The model zoo by name: ``get_model("resnet18", num_classes=10)``, ``list_models()``.

Every zoo constructor takes ``num_classes=`` and ``in_channels=`` (plus its own options, as
torchvision's). :func:`train_builder` adapts one to the ``(in_channels, image_size,
num_classes)`` builders of ``fovea.models.MODELS`` that ``fovea train`` uses: images smaller
than 64 pixels get the ``small_input`` stem of the ImageNet models (stride 1, no early
max-pool), and GoogLeNet is built without its auxiliary classifiers.
"""

from __future__ import annotations

from collections.abc import Callable

from fovea import nn
from fovea.models.alexnet import alexnet
from fovea.models.densenet import densenet121, densenet169, densenet201, densenet_bc_100
from fovea.models.googlenet import googlenet
from fovea.models.lenet import lenet5
from fovea.models.mobilenet import mobilenet_v1, mobilenet_v2
from fovea.models.nin import nin
from fovea.models.resnet import CifarResNet, resnet20, resnet32, resnet44, resnet56
from fovea.models.resnet_imagenet import (
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
)
from fovea.models.squeezenet import squeezenet1_1
from fovea.models.vgg import vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

__all__ = ["ZOO", "get_model", "list_models", "train_builder", "SMALL_INPUT",
           "SMALL_INPUT_BELOW"]

ZOO: dict[str, Callable[..., nn.Module]] = {
    "lenet5": lenet5, "alexnet": alexnet,
    "vgg11": vgg11, "vgg11_bn": vgg11_bn, "vgg13": vgg13, "vgg13_bn": vgg13_bn,
    "vgg16": vgg16, "vgg16_bn": vgg16_bn, "vgg19": vgg19, "vgg19_bn": vgg19_bn,
    "googlenet": googlenet,
    "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50, "resnet101": resnet101,
    "resnet152": resnet152, "resnext50_32x4d": resnext50_32x4d,
    "resnet20": resnet20, "resnet32": resnet32, "resnet44": resnet44, "resnet56": resnet56,
    "resnet110": lambda num_classes=10, in_channels=3, **kw: CifarResNet(
        110, num_classes, in_channels, **kw),
    "densenet121": densenet121, "densenet169": densenet169, "densenet201": densenet201,
    "densenet_bc_100": densenet_bc_100,
    "mobilenet_v1": mobilenet_v1, "mobilenet_v2": mobilenet_v2,
    "squeezenet1_1": squeezenet1_1, "nin": nin,
}
"""Constructor of every zoo model by its torchvision-style name."""

SMALL_INPUT_BELOW = 64
"""Images with a side below this many pixels get the ``small_input`` stem in ``fovea train``."""


def list_models() -> list[str]:
    """The names :func:`get_model` accepts, sorted."""
    return sorted(ZOO)


def get_model(name: str, **kwargs) -> nn.Module:
    """The zoo model ``name`` built with ``kwargs`` (``num_classes=``, ``in_channels=``, ...)."""
    if name not in ZOO:
        raise ValueError(f"get_model: unknown model {name!r}; choose from "
                         f"{', '.join(list_models())}")
    return ZOO[name](**kwargs)


SMALL_INPUT = frozenset(["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
                         "vgg16_bn", "vgg19", "vgg19_bn", "googlenet", "resnet18", "resnet34",
                         "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "densenet121",
                         "densenet169", "densenet201", "mobilenet_v1", "mobilenet_v2",
                         "squeezenet1_1"])
"""The zoo models with a ``small_input`` option (the ImageNet models)."""


def train_builder(name: str) -> Callable[[int, tuple[int, int], int], nn.Module]:
    """A ``(in_channels, image_size, num_classes)`` builder of zoo model ``name`` for
    ``fovea.models.MODELS``."""
    ctor = ZOO[name]
    small_ok = name in SMALL_INPUT

    def build(in_channels: int, image_size: tuple[int, int], num_classes: int) -> nn.Module:
        kwargs = {}
        if small_ok and min(image_size) < SMALL_INPUT_BELOW:
            kwargs["small_input"] = True
        if name == "googlenet":
            kwargs["aux_logits"] = False
        return ctor(num_classes=num_classes, in_channels=in_channels, **kwargs)

    build.__name__ = name
    build.__doc__ = f"{name} for ``fovea train`` (in_channels, image_size, num_classes)."
    return build
