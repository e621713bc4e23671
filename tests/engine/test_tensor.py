"""Tensor creation, dtype rules, conversions, repr."""

import numpy as np
import pytest

import fovea


def test_python_floats_become_float32_and_numpy_keeps_dtype():
    assert fovea.tensor(1.5).dtype == np.float32
    assert fovea.tensor([1.0, 2.0]).dtype == np.float32
    assert fovea.tensor(np.array([1.0])).dtype == np.float64
    assert fovea.tensor(3).dtype == np.int64
    assert fovea.tensor([True]).dtype == np.bool_
    assert fovea.tensor([1.0], dtype=fovea.float64).dtype == np.float64


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3)
    t, s = fovea.tensor(a), fovea.from_numpy(a)
    a[0] = 1
    assert t.numpy()[0] == 0 and s.numpy()[0] == 1


def test_basic_properties_and_conversions():
    t = fovea.tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.numel() == 6 and t.size(1) == 3
    assert t[1, 2].item() == 5.0
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="one-element"):
        t.item()
    d = fovea.tensor(np.ones(2), requires_grad=True).detach()
    assert not d.requires_grad and d.grad_fn is None


def test_repr_is_readable():
    assert repr(fovea.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    x = fovea.tensor([1.0], requires_grad=True)
    assert repr(x) == "tensor([1.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "dtype=float64" in repr(fovea.tensor(np.ones(1)))


def test_factories_and_seeded_randomness():
    fovea.manual_seed(3)
    a = fovea.randn(2, 3)
    fovea.manual_seed(3)
    b = fovea.randn(2, 3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == np.float32
    g = np.random.default_rng(1)
    assert fovea.rand(4, generator=g).shape == (4,)
    assert fovea.zeros(2, 2).numpy().sum() == 0 and fovea.ones((3,)).numpy().sum() == 3
    assert fovea.arange(5).dtype == np.int64 and fovea.arange(0.0, 1.0, 0.5).dtype == np.float32
    with pytest.raises(ValueError, match="negative dimension"):
        fovea.zeros(-1)
