"""Model architectures.

* the zoo, by torchvision's names and constructor arguments (``num_classes=``,
  ``in_channels=``): ``lenet5``, ``alexnet``, ``vgg11/13/16/19[_bn]``, ``googlenet``,
  ``resnet18/34/50/101/152``, ``resnext50_32x4d``, ``densenet121/169/201``,
  ``densenet_bc_100``, ``mobilenet_v1``, ``mobilenet_v2``, ``squeezenet1_1``, ``nin``, the
  CIFAR ResNets ``resnet20/32/44/56/110``; ``get_model(name, **kwargs)``, ``list_models()``;
* ``build_model(name, in_channels, image_size, num_classes)`` and ``MODELS``: the builders
  ``fovea train`` uses (the small models of the lectures and every zoo model);
* :mod:`fovea.models.summary` (per-layer table) and :mod:`fovea.models.transfer` (weights from
  runs and files, new heads, frozen backbones).
"""

from fovea.models.small import MODELS, build_model, mlp, small_cnn, three_layer_convnet, two_layer

# isort: split
# CIFAR ResNets, registered as resnet20/32/44/56.
from fovea.models.resnet import REGISTRY as _RESNETS
from fovea.models.resnet import (
    CifarResNet,
    cifar_resnet,
    resnet20,
    resnet32,
    resnet44,
    resnet56,
)

# isort: split
# The zoo (torchvision's names), registered for `fovea train` too.
from fovea.models.alexnet import AlexNet, alexnet
from fovea.models.densenet import (
    DenseNet,
    cifar_densenet,
    densenet121,
    densenet169,
    densenet201,
    densenet_bc_100,
)
from fovea.models.googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from fovea.models.lenet import LeNet5, lenet5
from fovea.models.mobilenet import MobileNetV1, MobileNetV2, mobilenet_v1, mobilenet_v2
from fovea.models.nin import NiN, nin
from fovea.models.registry import ZOO, get_model, list_models, train_builder
from fovea.models.resnet_imagenet import (
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
    resnext50_32x4d,
)
from fovea.models.squeezenet import SqueezeNet, squeezenet1_1
from fovea.models.vgg import (
    VGG,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

MODELS.update(_RESNETS)
for _name in ZOO:
    MODELS.setdefault(_name, train_builder(_name))
