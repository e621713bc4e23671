"""Tensor basics against PyTorch: Size, the legacy constructor, facts about the storage,
casts, memory formats, clone/contiguous, new_* methods."""

import numpy as np
import pytest

import fovea
from fovea.errors import DTypeError, ShapeError
from oracle import needs_torch, torch


def test_size_is_a_tuple_with_pytorchs_repr_numel_and_types_through_operations():
    x = fovea.zeros(2, 3)
    s = x.size()
    assert isinstance(s, fovea.Size) and isinstance(s, tuple) and isinstance(x.shape, fovea.Size)
    assert s == (2, 3) and s == x.shape and x.size(-1) == 3
    assert repr(s) == "fovea.Size([2, 3])" and repr(fovea.Size([])) == "fovea.Size([])"
    assert f"{s}" == "(2, 3)"  # messages formatted from shapes read as tuples
    assert s.numel() == 6 and fovea.Size([]).numel() == 1 and fovea.Size([4, 0]).numel() == 0
    for r in (s[1:], s + (4,), (4,) + s, s * 2):
        assert isinstance(r, fovea.Size)
    assert s + (4,) == (2, 3, 4) and (4,) + s == (4, 2, 3) and s[1:] == (3,)
    with pytest.raises(TypeError, match="Size: expected a sequence of ints"):
        fovea.Size([2.5])


@needs_torch
def test_size_matches_torch_size():
    for shape in [(), (0,), (2, 3), (1, 4, 5)]:
        t, f = torch.zeros(shape).size(), fovea.zeros(shape).size()
        assert repr(f) == repr(t).replace("torch", "fovea")
        assert tuple(f) == tuple(t) and f.numel() == t.numel()
        assert tuple(f[1:]) == tuple(t[1:]) and tuple(f + (7,)) == tuple(t + (7,))


@needs_torch
def test_legacy_constructor_matches_torch_tensor():
    for args in [(2, 3), (4,), (fovea.Size([2, 1]),)]:
        targs = [torch.Size(a) if isinstance(a, tuple) else a for a in args]
        f, t = fovea.Tensor(*args), torch.Tensor(*targs)
        assert f.shape == tuple(t.shape) and f.dtype == np.float32 and t.dtype == torch.float32
    for data in ([1, 2], [[1.5, 2.0]], [True, False], 3.5):
        f = fovea.Tensor(data) if not isinstance(data, float) else fovea.Tensor([data])
        t = torch.Tensor(data) if not isinstance(data, float) else torch.Tensor([data])
        assert f.tolist() == t.tolist() and f.dtype == np.float32
    assert fovea.Tensor().shape == tuple(torch.Tensor().shape) == (0,)
    # fovea's extension: arrays keep their dtype (torch.Tensor would make them float32)
    assert fovea.Tensor(np.arange(3)).dtype == np.int64
    assert fovea.Tensor(np.ones(2)).dtype == np.float64
    assert fovea.Tensor([1, 2], dtype=fovea.float64).dtype == np.float64


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16",
                                   "int8", "uint8", "bool"])
def test_numel_dim_element_size_item_tolist_and_type_names_match_torch(dtype):
    a = (np.arange(6).reshape(2, 3) % 2 if dtype == "bool" else np.arange(6).reshape(2, 3))
    a = a.astype(dtype)
    f, t = fovea.tensor(a), torch.tensor(a)
    assert f.numel() == t.numel() and f.dim() == t.dim() and f.ndim == t.ndim
    assert f.element_size() == t.element_size() and f.itemsize == t.itemsize
    assert f.nbytes == t.nbytes
    assert f.tolist() == t.tolist()
    assert f[1, 2].item() == t[1, 2].item() and type(f[1, 2].item()) is type(t[1, 2].item())
    assert f.type() == t.type().replace("torch", "fovea")
    assert f.is_floating_point() == t.is_floating_point() == fovea.is_floating_point(f)


@needs_torch
@pytest.mark.parametrize("method", ["float", "double", "half", "long", "int", "short", "char",
                                    "byte", "bool"])
def test_cast_methods_match_torch(method):
    a = np.array([[-1.7, 0.0, 2.5]])
    f, t = getattr(fovea.tensor(a), method)(), getattr(torch.tensor(a), method)()
    assert str(f.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_array_equal(f.numpy(), t.numpy())


@needs_torch
def test_type_and_type_as_cast_like_torch():
    f, t = fovea.tensor([1.5, -2.0]), torch.tensor([1.5, -2.0])
    assert f.type(fovea.float64).dtype == np.float64
    assert f.type("fovea.LongTensor").tolist() == t.type("torch.LongTensor").tolist()
    assert f.type("torch.DoubleTensor").dtype == np.float64
    other_f, other_t = fovea.zeros(1, dtype=fovea.int32), torch.zeros(1, dtype=torch.int32)
    assert f.type_as(other_f).tolist() == t.type_as(other_t).tolist()
    assert f.type_as(other_f).dtype == np.int32
    assert f.type_as(f) is f


def test_a_cast_between_floating_dtypes_is_differentiable():
    x = fovea.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * x.double()
    y.sum().backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float32
    assert x.grad.tolist() == [2.0, 4.0]


@needs_torch
def test_memory_formats_clone_contiguous_and_is_contiguous_match_torch():
    a = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    f, t = fovea.tensor(a), torch.tensor(a)
    cases = [fovea.contiguous_format, fovea.channels_last]
    tfmt = {fovea.contiguous_format: torch.contiguous_format,
            fovea.channels_last: torch.channels_last}
    for fmt in cases:
        assert f.is_contiguous(memory_format=fmt) == t.is_contiguous(memory_format=tfmt[fmt])
        fc, tc = f.contiguous(memory_format=fmt), t.contiguous(memory_format=tfmt[fmt])
        np.testing.assert_array_equal(fc.numpy(), tc.numpy())
        assert fc.is_contiguous(memory_format=fmt)
        for g in cases:
            assert fc.is_contiguous(memory_format=g) == tc.is_contiguous(memory_format=tfmt[g])
    last = f.clone(memory_format=fovea.channels_last)
    tlast = t.clone(memory_format=torch.channels_last)
    assert last.numpy().strides == tuple(s * 8 for s in tlast.stride())
    # preserve_format keeps the layout; the default contiguous() of a C-order tensor is itself
    kept, tkept = last.clone(), tlast.clone()
    assert kept.numpy().strides == tuple(s * 8 for s in tkept.stride())
    assert f.contiguous() is f
    perm = f.permute(0, 2, 3, 1)
    tperm = t.permute(0, 2, 3, 1)
    assert perm.is_contiguous() == tperm.is_contiguous() is False
    assert perm.contiguous().numpy().flags.c_contiguous
    assert repr(fovea.channels_last) == "fovea.channels_last"
    with pytest.raises(ShapeError, match="clone: .*channels_last needs a 4-d tensor, got 2-d"):
        fovea.zeros(2, 3).clone(memory_format=fovea.channels_last)


def test_clone_is_a_differentiable_copy_with_its_own_memory():
    x = fovea.tensor(np.ones((2, 3)), requires_grad=True)
    c = x.clone(memory_format=fovea.contiguous_format)
    assert c.data_ptr() != x.data_ptr() and c.grad_fn is not None
    (c * 3).sum().backward()
    assert x.grad.tolist() == [[3.0] * 3] * 2


def test_data_ptr_is_the_address_of_the_first_element():
    a = np.arange(10.0)
    t = fovea.from_numpy(a)
    assert t.data_ptr() == a.ctypes.data
    assert t[2:].data_ptr() == a.ctypes.data + 2 * 8
    assert t.detach().data_ptr() == t.data_ptr()


@needs_torch
def test_new_methods_take_self_dtype_and_device_unless_given():
    f = fovea.zeros(2, dtype=fovea.int32)
    t = torch.zeros(2, dtype=torch.int32)
    pairs = [
        (f.new_zeros(2, 3), t.new_zeros(2, 3)),
        (f.new_zeros((2, 3)), t.new_zeros((2, 3))),
        (f.new_ones(3), t.new_ones(3)),
        (f.new_full((2,), 1.5), t.new_full((2,), 1.5)),
        (f.new_tensor([1.7, 2.2]), t.new_tensor([1.7, 2.2])),
        (f.new_ones(2, dtype=fovea.float64), t.new_ones(2, dtype=torch.float64)),
        (f.new_tensor([1, 2], dtype=fovea.float32), t.new_tensor([1, 2], dtype=torch.float32)),
        (f.new_empty(3, 1).new_zeros(0), t.new_empty(3, 1).new_zeros(0)),
    ]
    for a, b in pairs:
        assert a.tolist() == b.tolist() and a.shape == tuple(b.shape)
        assert str(a.dtype) == str(b.dtype).replace("torch.", "")
    x = fovea.zeros(2).new_zeros(3, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    assert fovea.zeros(2).new_empty(size=(4, 2)).shape == (4, 2)


def test_requires_grad_on_an_integer_tensor_is_a_dtype_error_catchable_as_runtime_error():
    with pytest.raises(DTypeError, match="only tensors of floating dtype"):
        fovea.zeros(2, dtype=fovea.int64).requires_grad_()
    with pytest.raises(RuntimeError):
        fovea.zeros(2, dtype=fovea.int64, requires_grad=True)
    with pytest.raises(DTypeError, match="unsupported dtype complex128"):
        fovea.zeros(2, dtype=np.complex128)
    with pytest.raises(RuntimeError, match="'nonsense' is not a dtype"):
        fovea.zeros(2, dtype="nonsense")


@needs_torch
def test_item_of_a_tensor_with_several_elements_is_a_shape_error_as_torchs_runtime_error():
    with pytest.raises(RuntimeError):
        torch.zeros(2).item()
    with pytest.raises(ShapeError, match="item: only one-element tensors can be converted to "
                                         "Python scalars, got shape \\(2,\\)"):
        fovea.zeros(2).item()
