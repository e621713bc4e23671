"""nn/modules/dropout.py: Dropout and Dropout2d in training and evaluation mode, masks from
fovea's seeded default generator, errors that name the layer."""

import numpy as np
import pytest

import fovea
import fovea.nn as nn


def test_dropout_layers_are_identity_in_eval_mode():
    x = fovea.randn(4, 5, 2, 2)
    assert nn.Dropout(0.5).eval()(x) is x
    assert nn.Dropout2d(0.5).eval()(x) is x


def test_dropout_layer_scales_survivors_in_training_mode():
    y = nn.Dropout(0.25)(fovea.ones(100, 100, dtype=np.float64)).numpy()
    np.testing.assert_allclose(y[y != 0], 1 / 0.75, rtol=1e-15)
    assert 0.7 < (y != 0).mean() < 0.8


def test_default_generator_is_seeded_by_manual_seed():
    x = fovea.ones(50, 50)
    fovea.manual_seed(3)
    c = nn.Dropout(0.5)(x).numpy()
    fovea.manual_seed(3)
    d = nn.Dropout(0.5)(x).numpy()
    e = nn.Dropout(0.5)(x).numpy()
    assert (c == d).all() and not (d == e).all()


def test_layer_generator_gives_its_own_masks():
    x = fovea.ones(10, 10)
    a = nn.Dropout(0.5, generator=np.random.default_rng(1))(x).numpy()
    b = nn.Dropout(0.5, generator=np.random.default_rng(1))(x).numpy()
    assert (a == b).all()


def test_dropout_layer_errors():
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(-0.1)
    with pytest.raises(ValueError, match=r"Dropout2d\(p=0.5\): expected input of shape "
                                         r"\(N, C, H, W\), got \(2, 3\)"):
        nn.Dropout2d()(fovea.randn(2, 3))
