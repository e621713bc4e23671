"""Shared fixtures: the bundled digits split as (N, D) rows."""

from types import SimpleNamespace

import numpy as np
import pytest

from fovea.classic import flatten_images
from fovea.data import load_dataset


@pytest.fixture(scope="session")
def digits():
    d = load_dataset("digits", seed=0)
    return SimpleNamespace(
        X_train=flatten_images(d.x_train), y_train=d.y_train,
        X_val=flatten_images(d.x_val), y_val=d.y_val,
        X_test=flatten_images(d.x_test), y_test=d.y_test,
        images_train=d.x_train, images_val=d.x_val, images_test=d.x_test,
        num_classes=d.num_classes, image_shape=d.image_shape,
    )


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small matrix products run fastest on one thread; on a busy shared machine OpenBLAS's
    spinning worker threads make the SGD loops several times slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
