"""nn/init.py: PyTorch's formulas (gains, fans, bounds), moments of large samples, exact
orthogonality, in-place semantics and seeding; every initialiser fills a tensor on its own
device with the same values as on the CPU."""

import math

import numpy as np
import pytest

import fovea
import fovea.nn as nn
from fovea.nn import init
from oracle import devices, needs_torch, to_device, torch


@needs_torch
@pytest.mark.parametrize("name,param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                        ("tanh", None), ("relu", None), ("leaky_relu", None),
                                        ("leaky_relu", 0.2), ("selu", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-15)


@needs_torch
@pytest.mark.parametrize("shape", [(3, 5), (8, 4, 3, 3), (2, 6, 5)])
def test_fans_match_torch(shape):
    fi, fo = init._calculate_fan_in_and_fan_out(fovea.zeros(*shape))
    assert (fi, fo) == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def _stats(t):
    a = t.detach().numpy().astype(np.float64)
    return a, a.mean(), a.std()


def _gen():
    return np.random.default_rng(0)


def test_uniform_families_respect_torchs_bounds_and_variance():
    shape = (256, 128, 3, 3)
    fan_in, fan_out = 128 * 9, 256 * 9
    cases = [
        (lambda t: init.xavier_uniform_(t, gain=2.0, generator=_gen()),
         2.0 * math.sqrt(6.0 / (fan_in + fan_out))),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5), generator=_gen()),
         1 / math.sqrt(fan_in)),
        (lambda t: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu",
                                         generator=_gen()), math.sqrt(6.0 / fan_out)),
        (lambda t: init.uniform_(t, -0.3, 0.3, generator=_gen()), 0.3),
    ]
    for fill, bound in cases:
        a, mean, std = _stats(fill(fovea.empty(*shape)))
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.999 * bound
        assert abs(mean) < 5 * bound / math.sqrt(3 * a.size)
        assert abs(std - bound / math.sqrt(3)) < 0.01 * bound / math.sqrt(3)


def test_normal_families_have_torchs_standard_deviations():
    shape = (512, 256)
    fan_in, fan_out = 256, 512
    cases = [
        (lambda t: init.xavier_normal_(t, generator=_gen()), math.sqrt(2.0 / (fan_in + fan_out))),
        (lambda t: init.kaiming_normal_(t, nonlinearity="relu", generator=_gen()),
         math.sqrt(2.0 / fan_in)),
        (lambda t: init.kaiming_normal_(t, a=0.1, mode="fan_out", generator=_gen()),
         math.sqrt(2.0 / (1 + 0.01)) / math.sqrt(fan_out)),
        (lambda t: init.normal_(t, 1.0, 0.5, generator=_gen()), 0.5),
        (lambda t: init.small_normal_(t, generator=_gen()), 0.01),
    ]
    for fill, std in cases:
        a, mean, s = _stats(fill(fovea.empty(*shape, dtype=np.float64)))
        assert abs(s - std) < 0.01 * std
        assert abs(a.mean() - (1.0 if std == 0.5 else 0.0)) < 5 * std / math.sqrt(a.size)
        # Gaussian: about 68.3% of the samples within one standard deviation.
        assert abs(np.mean(np.abs(a - a.mean()) < std) - 0.6827) < 0.01


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 3, 2, 2), (5, 5)])
def test_orthogonal_is_exactly_orthogonal(shape):
    t = init.orthogonal_(fovea.empty(*shape, dtype=np.float64), gain=1.5, generator=_gen())
    m = t.numpy().reshape(shape[0], -1)
    small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(small, 1.5 ** 2 * np.eye(small.shape[0]), atol=1e-12)


def test_constant_fills_and_in_place_semantics():
    p = nn.Parameter(fovea.empty(3, 4))
    assert init.zeros_(p) is p and (p.detach().numpy() == 0).all() and p.requires_grad
    assert (init.ones_(p).detach().numpy() == 1).all()
    assert (init.constant_(p, 0.25).detach().numpy() == 0.25).all()
    assert p.dtype == np.float32 and init.normal_(p).dtype == np.float32
    a, b = fovea.empty(4, 4), fovea.empty(4, 4)
    init.trunc_normal_(a, std=0.02, a=-0.04, b=0.04, generator=_gen())
    assert np.abs(a.numpy()).max() <= 0.04
    init.kaiming_uniform_(a, generator=np.random.default_rng(5))
    init.kaiming_uniform_(b, generator=np.random.default_rng(5))
    assert (a.numpy() == b.numpy()).all()
    fovea.manual_seed(1)
    init.xavier_uniform_(a)
    fovea.manual_seed(1)
    init.xavier_uniform_(b)
    assert (a.numpy() == b.numpy()).all()


def test_init_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(fovea.empty(5))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swishy")
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_normal_(fovea.empty(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="floating"):
        init.normal_(fovea.zeros(3, 3, dtype=np.int64))


INITIALISERS = [
    ("uniform_", lambda t, g: init.uniform_(t, -0.3, 0.3, generator=g)),
    ("normal_", lambda t, g: init.normal_(t, 1.0, 0.5, generator=g)),
    ("xavier_uniform_", lambda t, g: init.xavier_uniform_(t, generator=g)),
    ("xavier_normal_", lambda t, g: init.xavier_normal_(t, generator=g)),
    ("kaiming_uniform_", lambda t, g: init.kaiming_uniform_(t, generator=g)),
    ("kaiming_normal_", lambda t, g: init.kaiming_normal_(t, generator=g)),
    ("orthogonal_", lambda t, g: init.orthogonal_(t, generator=g)),
    ("trunc_normal_", lambda t, g: init.trunc_normal_(t, std=0.5, generator=g)),
    ("constant_", lambda t, g: init.constant_(t, 0.25)),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name,fill", INITIALISERS, ids=[i[0] for i in INITIALISERS])
def test_initialisers_fill_on_the_tensors_device_as_on_the_cpu(name, fill, device):
    t = to_device(np.zeros((6, 4, 3)), device)
    cpu = fovea.zeros(6, 4, 3, dtype=np.float64)
    assert fill(t, np.random.default_rng(3)) is t
    fill(cpu, np.random.default_rng(3))
    assert t.device == device and t.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(t.numpy()), cpu.numpy())
    assert np.asarray(t.numpy()).std() > 0 or name == "constant_"
