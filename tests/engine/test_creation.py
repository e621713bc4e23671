"""Creation functions against PyTorch: sizes, dtype inference, ranges computed as PyTorch
computes them, *_like, from_numpy sharing memory, devices and requires_grad."""

import numpy as np
import pytest

import fovea
from fovea.errors import DTypeError, ShapeError
from oracle import devices, needs_torch, torch


def fv_dtype(t):
    return str(t.dtype).replace("torch.", "")


def same(f, t, exact=True):
    """fovea tensor ``f`` equals torch tensor ``t``: values, shape and dtype."""
    assert f.shape == tuple(t.shape), (f.shape, t.shape)
    assert str(f.dtype) == fv_dtype(t), (f.dtype, t.dtype)
    if exact:
        np.testing.assert_array_equal(f.numpy(), t.numpy())
    else:
        np.testing.assert_allclose(f.numpy(), t.numpy(), rtol=2e-7, atol=0)


@needs_torch
@pytest.mark.parametrize("name", ["zeros", "ones"])
def test_zeros_and_ones_take_sizes_as_torch_does(name):
    f, t = getattr(fovea, name), getattr(torch, name)
    for args, kwargs in [((2, 3), {}), (((2, 3),), {}), (([4],), {}), ((), {"size": (2, 1)}),
                         (((),), {}), ((0, 3), {}), ((2,), {"dtype": "int32"})]:
        tk = {k: (getattr(torch, v) if k == "dtype" else v) for k, v in kwargs.items()}
        same(f(*args, **kwargs), t(*args, **tk))
    same(f(fovea.Size([3, 2])), t(torch.Size([3, 2])))


def test_sizes_are_checked_with_clear_errors():
    with pytest.raises(ShapeError, match="zeros: negative dimension in size \\(2, -1\\)"):
        fovea.zeros(2, -1)
    with pytest.raises(RuntimeError, match="negative dimension"):  # PyTorch users' except
        fovea.ones(-1)
    with pytest.raises(TypeError, match="size must be ints"):
        fovea.zeros(2.5)
    with pytest.raises(TypeError, match="size given both positionally and as size="):
        fovea.zeros(2, size=(3,))


@needs_torch
def test_full_infers_the_dtype_from_the_fill_value_as_torch():
    for value in (3, True, 2.5, -1, np.float64(0.5), np.int32(4)):
        same(fovea.full((2, 3), value), torch.full((2, 3), value))
    same(fovea.full((2,), 7, dtype=fovea.float64), torch.full((2,), 7, dtype=torch.float64))
    same(fovea.full([3], fovea.tensor(1.5)), torch.full([3], torch.tensor(1.5).item()))


@needs_torch
def test_empty_and_eye_match_torch():
    e, te = fovea.empty(2, 3, dtype=fovea.int64), torch.empty(2, 3, dtype=torch.int64)
    assert e.shape == tuple(te.shape) and e.dtype == np.int64
    assert fovea.empty(size=(1, 2)).dtype == np.float32
    same(fovea.eye(3), torch.eye(3))
    same(fovea.eye(2, 4, dtype=fovea.int64), torch.eye(2, 4, dtype=torch.int64))
    same(fovea.eye(0), torch.eye(0))


ARANGE_CASES = [
    (5,), (2, 7), (0, 1, 0.1), (1, 2.5, 0.5), (10, 0, -3), (0.5, 3), (-1.0, 1.0, 0.3),
    (0, 10, 3), (0, 1, 1 / 3), (1e-3, 1.0, 0.07), (0, 0), (3, 3, 1), (-5, 5, 0.25),
    (0.5, 5.7, 1), (0, 2.0, 0.2),
]


@needs_torch
@pytest.mark.parametrize("args", ARANGE_CASES)
@pytest.mark.parametrize("dtype", [None, "float32", "float64", "int64"])
def test_arange_length_values_and_dtype_match_torch_exactly(args, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    tkw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    try:
        t = torch.arange(*args, **tkw)
    except (RuntimeError, ValueError):  # an integer dtype truncates a float step to 0
        with pytest.raises(ValueError, match="arange: "):
            fovea.arange(*args, **kw)
        return
    same(fovea.arange(*args, **kw), t)


@needs_torch
def test_arange_with_int32_matches_torch_for_integer_arguments():
    for args in [(5,), (2, 7), (10, 0, -3), (0, 10, 3), (-4, 4)]:
        same(fovea.arange(*args, dtype=fovea.int32), torch.arange(*args, dtype=torch.int32))


@needs_torch
def test_arange_takes_tensor_bounds_and_refuses_bad_steps_as_torch():
    same(fovea.arange(fovea.tensor(3)), torch.arange(torch.tensor(3)))
    same(fovea.arange(fovea.tensor(3.0)), torch.arange(torch.tensor(3.0)))
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        fovea.arange(0, 1, 0)
    with pytest.raises(ValueError, match="inconsistent with step sign"):
        fovea.arange(0, 1, -1)


LINSPACE_CASES = [(0, 1, 5), (0, 10, 4), (-3.5, 2.0, 11), (1, 0, 7), (0, 1, 1), (0, 1, 0),
                  (2, 2, 3), (0.1, 123.4, 257), (-1, 1, 100)]


@needs_torch
@pytest.mark.parametrize("args", LINSPACE_CASES)
@pytest.mark.parametrize("dtype", [None, "float64", "int64"])
def test_linspace_matches_torch(args, dtype):
    kw = {} if dtype is None else {"dtype": dtype}
    tkw = {} if dtype is None else {"dtype": getattr(torch, dtype)}
    f, t = fovea.linspace(*args, **kw), torch.linspace(*args, **tkw)
    assert f.shape == tuple(t.shape) and str(f.dtype) == fv_dtype(t)
    if dtype == "int64":
        np.testing.assert_array_equal(f.numpy(), t.numpy())
    else:  # PyTorch's vector path rounds blocks of 4 to 16 values differently: a few ulps
        eps = np.finfo(f.numpy().dtype).eps
        atol = 4 * eps * max(abs(args[0]), abs(args[1]))
        np.testing.assert_allclose(f.numpy(), t.numpy(), rtol=0, atol=atol)
    if args[2] > 1:  # both ends exact
        assert f[0].item() == t[0].item() and f[-1].item() == t[-1].item()


@needs_torch
@pytest.mark.parametrize("args", [(0, 2, 3), (-1, 1, 9), (0, 3, 4, 2.0), (1, 0, 5, 0.5)])
def test_logspace_matches_torch(args):
    same(fovea.logspace(*args), torch.logspace(*args), exact=False)
    same(fovea.logspace(*args, dtype=fovea.float64), torch.logspace(*args, dtype=torch.float64),
         exact=False)


def test_linspace_refuses_negative_steps():
    with pytest.raises(ValueError, match="linspace: number of steps must be non-negative"):
        fovea.linspace(0, 1, -1)


@needs_torch
@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like"])
def test_like_functions_keep_shape_dtype_and_layout_unless_given(name):
    f, t = fovea.tensor(np.ones((2, 3), dtype=np.int32)), torch.ones(2, 3, dtype=torch.int32)
    a, b = getattr(fovea, name)(f), getattr(torch, name)(t)
    assert a.shape == tuple(b.shape) and str(a.dtype) == fv_dtype(b)
    a = getattr(fovea, name)(f, dtype=fovea.float64)
    b = getattr(torch, name)(t, dtype=torch.float64)
    assert str(a.dtype) == fv_dtype(b)
    if name != "empty_like":
        same(getattr(fovea, name)(f), getattr(torch, name)(t))
    last = fovea.zeros(2, 3, 4, 5).contiguous(memory_format=fovea.channels_last)
    assert getattr(fovea, name)(last).is_contiguous(memory_format=fovea.channels_last)
    assert getattr(fovea, name)(last, memory_format=fovea.contiguous_format).is_contiguous()
    g = getattr(fovea, name)(fovea.zeros(2), requires_grad=True)
    assert g.requires_grad and g.is_leaf


@needs_torch
def test_full_like_truncates_to_the_models_integer_dtype_as_torch():
    same(fovea.full_like(fovea.zeros(3, dtype=fovea.int64), 2.7),
         torch.full_like(torch.zeros(3, dtype=torch.int64), 2.7))
    same(fovea.full_like(fovea.zeros(2, 2), 1.5, dtype=fovea.float64),
         torch.full_like(torch.zeros(2, 2), 1.5, dtype=torch.float64))


def test_from_numpy_shares_memory_both_ways_and_tensor_copies():
    a = np.zeros(3)
    shared, copied = fovea.from_numpy(a), fovea.tensor(a)
    a[0] = 1.0
    assert shared[0].item() == 1.0 and copied[0].item() == 0.0
    shared[1] = 5.0
    assert a[1] == 5.0
    with fovea.no_grad():
        shared.add_(1.0)
    assert a.tolist() == [2.0, 6.0, 1.0]
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray"):
        fovea.from_numpy([1.0])
    with pytest.raises(DTypeError, match="from_numpy: unsupported dtype complex128"):
        fovea.from_numpy(np.zeros(2, dtype=np.complex128))


@pytest.mark.parametrize("device", devices())
def test_every_creation_function_puts_its_result_on_the_device(device):
    made = [
        fovea.tensor([1.0, 2.0], device=device), fovea.as_tensor([1.0], device=device),
        fovea.zeros(2, device=device), fovea.ones(2, device=device),
        fovea.empty(2, device=device), fovea.full((2,), 3.0, device=device),
        fovea.eye(2, device=device), fovea.arange(3, device=device),
        fovea.linspace(0, 1, 3, device=device), fovea.logspace(0, 1, 3, device=device),
        fovea.rand(2, device=device), fovea.randn(2, device=device),
        fovea.randint(0, 5, (2,), device=device), fovea.randperm(4, device=device),
        fovea.normal(0.0, 1.0, (2,), device=device),
    ]
    x = fovea.tensor(np.ones(3)).to(device)
    made += [fovea.zeros_like(x), fovea.ones_like(x), fovea.empty_like(x),
             fovea.full_like(x, 2.0), fovea.rand_like(x), fovea.randn_like(x),
             fovea.randint_like(x, 4), x.new_zeros(2), x.new_ones(2), x.new_empty(2),
             x.new_full((2,), 1.0), x.new_tensor([1.0]), fovea.normal(x, 1.0),
             fovea.bernoulli(x * 0.5), fovea.multinomial(x, 2)]
    on_cpu = fovea.zeros(2)
    made += [fovea.zeros_like(on_cpu, device=device), on_cpu.new_zeros(2, device=device)]
    for t in made:
        assert t.device == device, (t, device)
        assert type(t._data) is type(fovea.backends.get(device).xp.asarray([0.0]))


def test_requires_grad_is_honoured_and_refused_for_integer_dtypes():
    for t in (fovea.zeros(2, requires_grad=True), fovea.rand(2, requires_grad=True),
              fovea.arange(3.0, requires_grad=True), fovea.full((1,), 1.0, requires_grad=True),
              fovea.eye(2, requires_grad=True), fovea.linspace(0, 1, 2, requires_grad=True)):
        assert t.requires_grad and t.is_leaf
    with pytest.raises(DTypeError):
        fovea.arange(3, requires_grad=True)
