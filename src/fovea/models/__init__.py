"""Model architectures. ``build_model(name, in_channels, image_size, num_classes)``."""

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

MODELS.update(_RESNETS)
