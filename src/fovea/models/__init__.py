"""Model architectures. ``build_model(name, in_channels, image_size, num_classes)``."""

from fovea.models.small import MODELS, build_model, mlp, small_cnn, three_layer_convnet, two_layer
