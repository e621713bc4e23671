"""nn/functional/padding.py: F.pad in every mode against PyTorch (values, gradients, finite
differences, second order, the stand-in device), with negative pads, dtypes and errors."""

import numpy as np
import pytest

import fovea
import fovea.nn.functional as F
from oracle import check_op, torch

TF = torch.nn.functional if torch else None

# (input shape, pad): 1-D, 2-D and 3-D padding of batched and unbatched inputs, with crops.
CASES = [
    ((2, 3, 5), (2, 1)), ((3, 6), (1, 3)), ((2, 3, 5), (-1, 3)), ((2, 3, 5), (0, 4)),
    ((2, 2, 4, 5), (1, 2, 3, 0)), ((3, 4, 5), (2, -1, -1, 2)), ((2, 3, 4, 5), (0, 0, 1, 1)),
    ((1, 2, 3, 4, 5), (1, 2, 0, 1, 2, 1)), ((2, 3, 4, 5), (-1, 2, 1, -1, 2, 0)),
]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
@pytest.mark.parametrize("shape,pad", CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_pad_matches_torch(mode, shape, pad):
    a = np.random.default_rng(len(shape) + sum(pad)).standard_normal(shape)
    check_op(lambda x: F.pad(x, pad, mode=mode), lambda x: TF.pad(x, pad, mode=mode), [a],
             numpy_fn=_numpy_pad(pad, mode))


def _numpy_pad(pad, mode):
    """NumPy's np.pad as an independent reference (non-negative pads only)."""
    if min(pad) < 0:
        return None
    np_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap",
               "constant": "constant"}[mode]

    def ref(a):
        widths = [(0, 0)] * a.ndim
        for i in range(len(pad) // 2):
            widths[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        return np.pad(a, widths, mode=np_mode)
    return ref


def test_constant_pad_takes_a_value_and_pads_up_to_every_dimension():
    a = np.random.default_rng(1).standard_normal((2, 3))
    check_op(lambda x: F.pad(x, (1, 0, 2, 1), value=-1.5),
             lambda x: TF.pad(x, (1, 0, 2, 1), value=-1.5), [a],
             numpy_fn=lambda x: np.pad(x, ((2, 1), (1, 0)), constant_values=-1.5))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
def test_pad_keeps_the_dtype_of_float32_and_integer_inputs(mode):
    for dtype in (np.float32, np.int64, np.uint8):
        a = np.arange(2 * 3 * 4).reshape(2, 3, 4).astype(dtype)
        y = F.pad(fovea.tensor(a), (1, 2), mode=mode)
        assert y.dtype == dtype
        if torch is not None:
            ref = TF.pad(torch.tensor(a), (1, 2), mode=mode).numpy()
            np.testing.assert_array_equal(y.numpy(), ref)


def test_pad_gradient_sums_the_copies_of_each_edge_value():
    # replicate pads of 2: the edge values are used three times each.
    x = fovea.tensor(np.array([[[1.0, 2.0, 3.0]]]), requires_grad=True)
    F.pad(x, (2, 2), mode="replicate").sum().backward()
    assert x.grad.tolist() == [[[3.0, 1.0, 3.0]]]


def test_pad_errors_name_the_mode_and_sizes():
    x = fovea.randn(1, 2, 4)
    with pytest.raises(RuntimeError, match=r"reflect padding must be less than the input's "
                                           r"size, got padding \(4, 0\) at dimension 2"):
        F.pad(x, (4, 0), mode="reflect")
    with pytest.raises(RuntimeError, match="wrap around the input .* more than once"):
        F.pad(x, (5, 0), mode="circular")
    with pytest.raises(RuntimeError, match="replicate padding of size 4 needs a 3-d or 4-d "
                                           "input"):
        F.pad(fovea.randn(4, 5), (1, 1, 1, 1), mode="replicate")
    with pytest.raises(ValueError, match="mode must be one of"):
        F.pad(x, (1, 1), mode="symmetric")
    with pytest.raises(ValueError, match="padding length must be divisible by 2"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(RuntimeError, match="at most two times the input's dimension"):
        F.pad(x, (1,) * 8)
    with pytest.raises(ValueError, match="doesn't take a value argument"):
        F.pad(x, (1, 1), mode="reflect", value=2.0)


def test_pad_of_zero_returns_a_copy():
    x = fovea.randn(2, 3, 4)
    y = F.pad(x, (0, 0), mode="reflect")
    assert y is not x
    np.testing.assert_array_equal(y.numpy(), x.numpy())


def test_fovea_pad_still_pads_with_constants():
    x = fovea.tensor(np.ones((2, 2)))
    assert fovea.pad(x, (1, 0)).tolist() == [[0.0, 1.0, 1.0], [0.0, 1.0, 1.0]]
