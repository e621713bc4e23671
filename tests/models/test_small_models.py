"""The lectures' small classifiers in ``fovea.models.small``."""

import numpy as np

import fovea
from fovea.models import MODELS, build_model


def test_linear_is_a_softmax_classifier_on_flattened_pixels():
    model = build_model("linear", 1, (28, 28), 10)
    assert MODELS["linear"] is not None
    assert sum(p.numel() for p in model.parameters()) == 28 * 28 * 10 + 10
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    w, b = model[1].weight.detach().numpy(), model[1].bias.detach().numpy()
    expected = x.reshape(4, -1) @ w.T + b  # the linear score function s = Wx + b
    np.testing.assert_allclose(model(fovea.tensor(x)).detach().numpy(), expected, rtol=1e-5,
                               atol=1e-5)
