"""Tensor methods beyond the engine's core, installed with ``tensor_method``: moving between
devices and dtypes (``to``, ``cpu``, ``cuda``, ``float`` ...), memory formats (``clone``,
``contiguous``, ``is_contiguous``), facts about the storage (``element_size``,
``data_ptr``) and gradient hooks (``retain_grad``, ``register_hook``).

Memory formats name an order of the array's memory, as PyTorch's do; fovea's arrays are
NumPy (or a device's) arrays with strides, so a format is the stride order:

* ``contiguous_format``: C order (the last dimension varies fastest);
* ``channels_last`` (4-d ``(N, C, H, W)``) and ``channels_last_3d`` (5-d): the same shape
  with the channels varying fastest in memory, as ``(N, H, W, C)`` would be stored. fovea's
  CPU convolution and pooling kernels detect this layout and run on it without copying;
* ``preserve_format``: keep the input's order (NumPy's ``order="K"``).
"""

from __future__ import annotations

import numpy as np

from fovea import backends, dtypes
from fovea.autograd import Function
from fovea.errors import ShapeError
from fovea.ops import arithmetic
from fovea.ops._util import _install, tensor_method
from fovea.tensor import Tensor

__all__ = ["memory_format", "preserve_format", "contiguous_format", "channels_last",
           "channels_last_3d"]


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory layout (see the module docstring); compare by identity."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"fovea.{self.name}"


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
_LAST_AXES = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def _channels_last_axes(fmt, ndim: int, op: str) -> tuple:
    rank, axes = _LAST_AXES[fmt]
    if ndim != rank:
        raise ShapeError(f"{op}: {fmt} needs a {rank}-d tensor, got {ndim}-d")
    return axes


def layout_copy(a, fmt, op: str = "clone"):
    """A copy of array ``a`` in memory format ``fmt`` (same shape and values)."""
    if fmt is None or fmt is preserve_format:
        return a.copy(order="K")
    if fmt is contiguous_format:
        return a.copy(order="C")
    if fmt not in _LAST_AXES:
        raise TypeError(f"{op}: memory_format must be a fovea memory format, got {fmt!r}")
    axes = _channels_last_axes(fmt, a.ndim, op)
    return a.transpose(axes).copy(order="C").transpose(np.argsort(axes))


def is_layout(a, fmt, op: str = "is_contiguous") -> bool:
    """Whether array ``a`` is laid out in memory format ``fmt``."""
    if fmt is contiguous_format:
        return bool(a.flags.c_contiguous)
    if fmt not in _LAST_AXES:
        raise TypeError(f"{op}: memory_format must be contiguous_format, channels_last or "
                        f"channels_last_3d, got {fmt!r}")
    rank, axes = _LAST_AXES[fmt]
    return a.ndim == rank and bool(a.transpose(axes).flags.c_contiguous)


def layout_like(a, fmt, op: str):
    """``a`` itself, or a copy in ``fmt`` where that is not ``a``'s layout already."""
    if fmt is None or fmt is preserve_format or is_layout(a, fmt, op):
        return a
    return layout_copy(a, fmt, op)


def move_array(a, target: backends.Backend):
    """A copy of array ``a`` on ``target``'s device (``a`` itself if it is there already)."""
    source = backends.for_array(a)
    if source is target:
        return a
    return target.xp.array(source.to_host(a), copy=True)  # through the host, always a copy


class ToDevice(Function):
    """y = x on another device; the gradient goes back to x's device."""

    @staticmethod
    def forward(ctx, x, target):
        ctx.source = backends.for_array(x)
        return move_array(x, target)

    @staticmethod
    def backward(ctx, g):
        return ctx.run(ToDevice, g, target=ctx.source)


class Clone(Function):
    """y = a copy of x in a memory format; dy/dx = 1."""

    @staticmethod
    def forward(ctx, x, fmt):
        return layout_copy(x, fmt)

    @staticmethod
    def backward(ctx, g):
        return g


# --- to(): devices and dtypes --------------------------------------------------------------
def _is_device(x) -> bool:
    """A device, a device string or a CUDA index (a dtype name such as "float64" is not)."""
    if isinstance(x, str):
        try:
            np.dtype(x)
        except TypeError:
            return True
        return False
    return isinstance(x, backends.device) or (isinstance(x, int) and not isinstance(x, bool))


def _as_device(x) -> backends.device:
    return backends.device("cuda", x) if isinstance(x, int) else backends.device(x)


def parse_to(args: tuple, kwargs: dict, op: str = "to"):
    """PyTorch's ``to`` arguments: ``(dtype)``, ``(device, dtype=None)``, ``(other)``, each
    followed by ``non_blocking, copy``; returns ``(device, dtype, non_blocking, copy,
    memory_format)`` with None for what is not asked."""
    kw = dict(kwargs)
    device, dtype = kw.pop("device", None), kw.pop("dtype", None)
    non_blocking, copy = kw.pop("non_blocking", False), kw.pop("copy", False)
    fmt = kw.pop("memory_format", None)
    if kw:
        raise TypeError(f"{op}: unexpected keyword argument {next(iter(kw))!r}")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        other = rest.pop(0)
        device, dtype = other.device, other.dtype
    elif rest and _is_device(rest[0]):
        device = rest.pop(0)
        if rest and rest[0] is not None and not isinstance(rest[0], bool):
            dtype = rest.pop(0)
    elif rest and rest[0] is not None and not isinstance(rest[0], bool):
        dtype = rest.pop(0)
    if len(rest) > 2:
        raise TypeError(f"{op}: too many arguments {args!r}")
    non_blocking, copy = (rest + [non_blocking, copy][len(rest):])[:2]
    if device is not None:
        device = _as_device(device)
    if dtype is not None:
        dtype = dtypes.check_dtype(dtype, op)
    return device, dtype, bool(non_blocking), bool(copy), fmt


@tensor_method()
def to(self, *args, **kwargs):
    """This tensor on another device and/or of another dtype, as ``torch.Tensor.to``.

    ``x.to(dtype)``, ``x.to(device, dtype=None)``, ``x.to(other)`` (other's device and
    dtype), each with ``non_blocking=False, copy=False`` (and ``memory_format=``).
    Returns ``self`` when nothing changes (unless ``copy``). Differentiable: gradients go
    back to this tensor's device and dtype. ``non_blocking`` is accepted; transfers finish
    before ``to`` returns.
    """
    device, dtype, _, copy, fmt = parse_to(args, kwargs)
    out = self
    if device is not None:
        target = backends.get(device)
        if target is not backends.for_array(self._data):
            out = ToDevice.apply(out, target=target)
    if dtype is not None:
        out = arithmetic.cast(out, dtype)
    if fmt is not None and fmt is not preserve_format and not is_layout(out._data, fmt, "to"):
        out = Clone.apply(out, fmt=fmt)
    if copy and out is self:
        out = Clone.apply(self, fmt=preserve_format)
    return out


@tensor_method()
def cpu(self):
    """This tensor on the CPU (``self`` if it is there)."""
    return to(self, "cpu")


@tensor_method()
def cuda(self, device=None, non_blocking: bool = False):
    """This tensor on the GPU (``device``: an index or a device; default ``"cuda"``); a
    clear error when fovea has no GPU backend (see ``fovea.cuda.is_available()``)."""
    return to(self, backends.device("cuda") if device is None else _as_device(device),
              non_blocking=non_blocking)


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64"}
_TYPE_DTYPES = {f"{n}Tensor": d for d, n in _TYPE_NAMES.items()}


@tensor_method("type")
def type_(self, dtype=None, non_blocking: bool = False):
    """With no argument, the type name (``"fovea.FloatTensor"``); else this tensor cast to
    ``dtype`` (a dtype or such a name, ``"torch.DoubleTensor"`` too)."""
    if dtype is None:
        return f"fovea.{_TYPE_NAMES[self.dtype.name]}Tensor"
    if isinstance(dtype, str) and dtype.split(".")[-1] in _TYPE_DTYPES:
        dtype = _TYPE_DTYPES[dtype.split(".")[-1]]
    return to(self, dtype)


@tensor_method()
def type_as(self, other):
    """This tensor with ``other``'s dtype and device."""
    return to(self, other.device, other.dtype)


def _cast_method(name: str, dtype):
    def method(self, memory_format=preserve_format):
        return to(self, dtype, memory_format=memory_format)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``self.to({np.dtype(dtype).name})``."
    tensor_method(name)(method)


for _name, _dt in (("float", np.float32), ("double", np.float64), ("half", np.float16),
                   ("long", np.int64), ("int", np.int32), ("short", np.int16),
                   ("char", np.int8), ("byte", np.uint8), ("bool", np.bool_)):
    _cast_method(_name, _dt)


# --- memory --------------------------------------------------------------------------------
@tensor_method()
def clone(self, *, memory_format=preserve_format):
    """A copy with its own memory (differentiable), in ``memory_format``."""
    return Clone.apply(self, fmt=memory_format)


@tensor_method()
def contiguous(self, memory_format=contiguous_format):
    """``self`` if laid out in ``memory_format`` already, else a copy that is."""
    if is_layout(self._data, memory_format, "contiguous"):
        return self
    return Clone.apply(self, fmt=memory_format)


@tensor_method()
def is_contiguous(self, memory_format=contiguous_format) -> bool:
    """Whether the memory is laid out in ``memory_format`` (C order by default)."""
    return is_layout(self._data, memory_format)


@tensor_method()
def element_size(self) -> int:
    """Bytes per element (4 for float32)."""
    return self._data.dtype.itemsize


@tensor_method()
def data_ptr(self) -> int:
    """The address of the first element (host memory, or the device's for a GPU array)."""
    a = self._data
    iface = getattr(a, "__array_interface__", None) or a.__cuda_array_interface__
    return iface["data"][0]


@tensor_method()
def is_floating_point(self) -> bool:
    return dtypes.is_floating(self.dtype)


_install("is_cuda", property(lambda self: self.device.type == "cuda",
                             doc="Whether this tensor is on a CUDA device."), False)
_install("is_cpu", property(lambda self: self.device.type == "cpu",
                            doc="Whether this tensor is on the CPU."), False)
_install("itemsize", property(lambda self: self._data.dtype.itemsize,
                              doc="Bytes per element."), False)
_install("nbytes", property(lambda self: int(self._data.nbytes),
                            doc="Bytes of all elements."), False)


# --- gradient hooks ------------------------------------------------------------------------
class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict, hook):
        self.hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1
        hooks[self.id] = hook

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


@tensor_method()
def register_hook(self, hook):
    """Call ``hook(grad)`` each time the gradient of this tensor is computed; a hook that
    returns a tensor replaces the gradient (for the rest of backward and for ``.grad``).
    Returns a handle whose ``remove()`` unregisters it."""
    if not self.requires_grad:
        raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't "
                           "require gradient")
    if self.grad_fn is None:  # a leaf: the engine reads the tensor's own hooks
        if getattr(self, "_hooks", None) is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, hook)
    node = self.grad_fn
    if node._hooks is None:
        node._hooks = {}
    return RemovableHandle(node._hooks, hook)


@tensor_method()
def register_post_accumulate_grad_hook(self, hook):
    """Call ``hook(tensor)`` on this leaf right after its ``.grad`` has been accumulated in a
    ``backward`` (as ``torch.Tensor.register_post_accumulate_grad_hook``): during the
    backward pass, as soon as every gradient reaching this leaf has been added, so the hook
    may start work on ``.grad`` (an all-reduce) while the rest of backward runs. Not called
    by ``fovea.grad`` (which does not accumulate). Returns a handle with ``remove()``."""
    import weakref

    from fovea import autograd

    if not self.requires_grad:
        raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on a "
                           "tensor that doesn't require gradient")
    if self.grad_fn is not None:
        raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                           "cannot be registered on non-leaf tensors")
    key = id(self)
    entry = autograd._post_accumulate_hooks.get(key)
    if entry is None or entry[0]() is not self:
        entry = (weakref.ref(self), {})
        autograd._post_accumulate_hooks[key] = entry
        weakref.finalize(self, _drop_post_hooks, key, entry)
    return RemovableHandle(entry[1], hook)


def _drop_post_hooks(key, entry) -> None:
    from fovea import autograd

    if autograd._post_accumulate_hooks.get(key) is entry:
        del autograd._post_accumulate_hooks[key]


@tensor_method()
def retain_grad(self) -> None:
    """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
    import weakref

    if self.grad_fn is None:
        return
    node = self.grad_fn
    if node._retained is None:
        node._retained = []
    node._retained.append(weakref.ref(self))
