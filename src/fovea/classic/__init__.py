"""The classic image-classification pipeline of Lectures 2–4, in NumPy with hand-derived
gradients: k-nearest neighbours, linear SVM and softmax classifiers, a two-layer network,
hand-designed image features and cross-validation.

Example:
    >>> from fovea.data import load_dataset
    >>> from fovea.classic import KNearestNeighbor, flatten_images
    >>> d = load_dataset("digits")
    >>> knn = KNearestNeighbor().train(flatten_images(d.x_train), d.y_train)
    >>> (knn.predict(flatten_images(d.x_test), k=1) == d.y_test).mean() > 0.97
    True
"""

from fovea.classic.features import (
    color_histogram_hsv,
    extract_features,
    hog_features,
    rgb_to_gray,
)
from fovea.classic.gradient_check import grad_check_sparse, numeric_gradient, relative_error
from fovea.classic.knn import KNearestNeighbor
from fovea.classic.linear_classifier import LinearClassifier, LinearSVM, Softmax
from fovea.classic.linear_losses import (
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)
from fovea.classic.model_selection import (
    Choice,
    Configured,
    CVResult,
    LogUniform,
    Uniform,
    cross_validate,
    kfold_indices,
    log_uniform,
)
from fovea.classic.preprocessing import Standardizer, append_bias, flatten_images
from fovea.classic.two_layer_net import TwoLayerNet

__all__ = [
    "CVResult", "Choice", "Configured", "KNearestNeighbor", "LinearClassifier", "LinearSVM",
    "LogUniform", "Softmax", "Standardizer", "TwoLayerNet", "Uniform", "append_bias",
    "color_histogram_hsv", "cross_validate", "extract_features", "flatten_images",
    "grad_check_sparse", "hog_features", "kfold_indices", "log_uniform", "numeric_gradient",
    "relative_error", "rgb_to_gray", "softmax_loss_naive", "softmax_loss_vectorized",
    "svm_loss_naive", "svm_loss_vectorized",
]
