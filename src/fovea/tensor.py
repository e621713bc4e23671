"""``Tensor``: a backend array, ``requires_grad``, ``grad`` and the node that made it.

Arithmetic, reductions, shape changes and indexing are methods that call the ops in
:mod:`fovea.ops`; each op records a :class:`fovea.autograd.Function` node when a gradient is
needed. Python floats become the default dtype (float32); NumPy arrays keep their dtype.
"""

from __future__ import annotations

import numbers

import numpy as np

from fovea import autograd, backends, dtypes
from fovea.errors import DTypeError, ShapeError
from fovea.size import Size


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    Create one with :func:`fovea.tensor`. Leaves (tensors made by the user) have
    ``grad_fn is None``; tensors computed from tensors that require grad carry the
    :class:`~fovea.autograd.Function` node that made them in ``grad_fn``.
    """

    # ``_hooks`` (register_hook on a leaf) is set on first use only: nothing to pay per tensor.
    __slots__ = ("_data", "requires_grad", "grad", "grad_fn", "_version", "_hooks",
                 "__weakref__")
    # Make NumPy hand mixed expressions (array + Tensor) to Tensor's reflected operators.
    __array_ufunc__ = None

    def __init__(self, *data, dtype=None, requires_grad: bool = False):
        """``Tensor(data)``: a copy of ``data`` (Python numbers become the default float dtype,
        as in PyTorch; arrays and tensors keep theirs). ``Tensor(2, 3)``, ``Tensor(size)``:
        an uninitialised tensor of that shape and the default float dtype."""
        if len(data) == 1 and type(data[0]) is not int and not isinstance(data[0], Size):
            d = data[0]
            if dtype is None and not isinstance(d, Tensor) and not backends.is_array(d):
                dtype = dtypes.get_default_dtype()
            arr = _to_array(d, dtype, "Tensor")
        else:
            size = (data[0] if len(data) == 1 and isinstance(data[0], Size) else
                    Size(data) if data else (0,))
            arr = backends.default().xp.empty(size, dtypes.check_dtype(
                dtypes.get_default_dtype() if dtype is None else dtype, "Tensor"))
        self._init_leaf(arr, requires_grad)

    def _init_leaf(self, arr, requires_grad: bool) -> None:
        """Make this a leaf holding ``arr`` (``requires_grad`` checked: floating dtypes only)."""
        self._data = arr
        self.grad = None
        self.grad_fn = None
        self._version = [0]
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, grad_fn):
        """Fast internal constructor: wrap ``data`` as is; requires grad iff it has a node."""
        t = object.__new__(cls)
        t._data = data
        t.grad = None
        t.grad_fn = grad_fn
        t.requires_grad = grad_fn is not None
        t._version = [0]
        return t

    # --- basic facts ---------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """A tensor sharing this one's array and version counter, outside the graph."""
        return self.detach()

    @data.setter
    def data(self, value) -> None:
        value = value._data if isinstance(value, Tensor) else self._xp().asarray(value)
        self._data = value
        self._version[0] += 1

    @property
    def device(self) -> backends.device:
        """Where the data lives (``device(type='cpu')``); ops keep results on it."""
        return backends.for_array(self._data).device

    @property
    def shape(self) -> Size:
        return _new_tuple(Size, self._data.shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802 - PyTorch's name
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        return self.transpose(-2, -1)

    def size(self, dim: int | None = None):
        """The shape (a :class:`fovea.Size`), or the length of dimension ``dim``."""
        if dim is None:
            return _new_tuple(Size, self._data.shape)
        return self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def _xp(self):
        """The array module of this tensor's device."""
        return backends.for_array(self._data).xp

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array: the tensor's own array on the CPU (shared, not
        copied), a host array from another device. Refused for tensors that require grad."""
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a tensor that requires grad; "
                "use tensor.detach().numpy() instead"
            )
        a = self._data
        return a if type(a) is np.ndarray else backends.for_array(a).to_host(a)

    def tolist(self):
        return self._data.tolist()

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ShapeError(
                f"item: only one-element tensors can be converted to Python scalars, "
                f"got shape {self.shape}"
            )
        return self._data.item()

    def detach(self) -> Tensor:
        """A tensor sharing this array (and version counter) with no graph history."""
        t = Tensor._make(self._data, None)
        t._version = self._version
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf (only floating tensors can require grad)."""
        if requires_grad and not dtypes.is_floating(self.dtype):
            raise DTypeError(
                f"requires_grad: only tensors of floating dtype can require gradients, "
                f"got {self.dtype}"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_: can't turn off requires_grad on a non-leaf tensor; "
                "use detach() instead"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into the leaves' ``.grad``.

        Args:
            gradient: d(something)/d(self), of this tensor's shape; may be omitted for a
                one-element tensor (then it is 1).
            retain_graph: keep the saved arrays so that backward can run through this graph
                again (defaults to ``create_graph``).
            create_graph: record the backward pass so the gradients can be differentiated.
        """
        autograd.backward([self], [gradient], retain_graph=retain_graph,
                          create_graph=create_graph)

    def __repr__(self) -> str:
        host = self._data if type(self._data) is np.ndarray else \
            backends.for_array(self._data).to_host(self._data)
        body = np.array2string(host, separator=", ", precision=4, prefix="tensor(")
        extra = ""
        if self._data.dtype != dtypes.get_default_dtype() and self._data.dtype.kind == "f" or \
                self._data.dtype.kind not in "fb" and self._data.dtype != np.int64:
            extra += f", dtype={self._data.dtype}"
        dev = self.device
        if dev != "cpu":
            extra += f", device='{dev}'"
        if self.grad_fn is not None:
            extra += f", grad_fn=<{self.grad_fn.name}Backward>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"bool: the truth value of a tensor with {self._data.size} elements is ambiguous"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self._data.item())

    def __array__(self, dtype=None, copy=None):
        a = self._data if dtype is None else self._data.astype(dtype)
        return a

    __hash__ = object.__hash__

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(self.shape[0]):
            yield self[i]

    # --- in-place (outside the graph only) ------------------------------------------------
    def _check_inplace(self, op: str) -> None:
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError(
                f"{op}: in-place operation on a tensor that requires grad while grad mode is "
                "on; wrap it in `with fovea.no_grad():` (e.g. for a parameter update) or use "
                "the out-of-place op"
            )

    def _inplace(self, op: str, value) -> Tensor:
        self._check_inplace(op)
        value = value._data if isinstance(value, Tensor) else value
        self._data[...] = value
        self._version[0] += 1
        return self

    def add_(self, other, alpha=1):
        o = other._data if isinstance(other, Tensor) else other
        return self._inplace("add_", self._data + (o if alpha == 1 else alpha * o))

    def sub_(self, other, alpha=1):
        o = other._data if isinstance(other, Tensor) else other
        return self._inplace("sub_", self._data - (o if alpha == 1 else alpha * o))

    def mul_(self, other):
        o = other._data if isinstance(other, Tensor) else other
        return self._inplace("mul_", self._data * o)

    def zero_(self):
        return self._inplace("zero_", 0)

    def fill_(self, value):
        return self._inplace("fill_", value)

    def copy_(self, src):
        src = src._data if isinstance(src, Tensor) else self._xp().asarray(src)
        if src.shape != self.shape and np.broadcast_shapes(src.shape, self.shape) != self.shape:
            raise ValueError(f"copy_: source of shape {src.shape} does not fit {self.shape}")
        return self._inplace("copy_", src)

    def __setitem__(self, key, value) -> None:
        self._check_inplace("__setitem__")
        value = value._data if isinstance(value, Tensor) else value
        self._data[ops.index.normalize_key(key, self._xp(), self.shape)] = value
        self._version[0] += 1

    # --- augmented assignment: in place, as in PyTorch -------------------------------------
    def _augmented(self, op: str, fn, other) -> Tensor:
        """``self op= other`` in place: the same object, its version counter bumped.

        Outside the graph (grad mode off, or nothing requires grad) the result is written
        into this tensor's memory, so views of it see the change. Inside the graph a leaf
        that requires grad is refused (update parameters under ``no_grad``); any other
        tensor takes the recorded result and its node, so backward runs through the update
        and nodes that saved the old value see the version change (a clear error if they
        need it).
        """
        o_grad = isinstance(other, Tensor) and other.requires_grad
        if autograd.is_grad_enabled() and (self.requires_grad or o_grad):
            if self.requires_grad and self.grad_fn is None:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad is used in an in-place operation "
                    "while grad mode is on; update it under `with fovea.no_grad():` (e.g. "
                    "w -= lr * w.grad) or use the out-of-place op")
            # The op's node keeps its own alias of the old value (not this tensor, whose
            # version is about to change).
            alias = Tensor._make(self._data, self.grad_fn)
            alias.requires_grad = self.requires_grad
            out = fn(alias, other)
            self._check_augmented_dtype(op, out.dtype)
            self._data, self.grad_fn, self.requires_grad = out._data, out.grad_fn, True
        else:
            with autograd.no_grad():
                out = fn(self.detach(), other.detach() if isinstance(other, Tensor) else other)
            self._check_augmented_dtype(op, out.dtype)
            self._data[...] = out._data
        self._version[0] += 1
        return self

    def _check_augmented_dtype(self, op: str, result_dtype) -> None:
        if result_dtype != self.dtype and not np.can_cast(result_dtype, self.dtype, "same_kind"):
            raise RuntimeError(f"{op}: result type {result_dtype} can't be cast to the desired "
                               f"output type {self.dtype}")

    def __iadd__(self, other):
        return self._augmented("__iadd__", ops.arithmetic.add, other)

    def __isub__(self, other):
        return self._augmented("__isub__", ops.arithmetic.sub, other)

    def __imul__(self, other):
        return self._augmented("__imul__", ops.arithmetic.mul, other)

    def __itruediv__(self, other):
        return self._augmented("__itruediv__", ops.arithmetic.div, other)

    # --- operators -----------------------------------------------------------------------
    def __add__(self, other):
        return ops.arithmetic.add(self, other)

    def __radd__(self, other):
        return ops.arithmetic.add(other, self)

    def __sub__(self, other):
        return ops.arithmetic.sub(self, other)

    def __rsub__(self, other):
        return ops.arithmetic.sub(other, self)

    def __mul__(self, other):
        return ops.arithmetic.mul(self, other)

    def __rmul__(self, other):
        return ops.arithmetic.mul(other, self)

    def __truediv__(self, other):
        return ops.arithmetic.div(self, other)

    def __rtruediv__(self, other):
        return ops.arithmetic.div(other, self)

    def __pow__(self, other):
        return ops.arithmetic.pow(self, other)

    def __rpow__(self, other):
        return ops.arithmetic.pow(other, self)

    def __matmul__(self, other):
        return ops.linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.linalg.matmul(other, self)

    def __neg__(self):
        return ops.arithmetic.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.arithmetic.abs(self)

    def __getitem__(self, key):
        return ops.index.getitem(self, key)

    def __lt__(self, other):
        return ops.compare.lt(self, other)

    def __le__(self, other):
        return ops.compare.le(self, other)

    def __gt__(self, other):
        return ops.compare.gt(self, other)

    def __ge__(self, other):
        return ops.compare.ge(self, other)

    def __eq__(self, other):  # type: ignore[override]
        return ops.compare.eq(self, other)

    def __ne__(self, other):  # type: ignore[override]
        return ops.compare.ne(self, other)

    def __invert__(self):
        return ops.compare.bitwise_not(self)

    def __and__(self, other):
        return ops.compare.bitwise_and(self, other)

    def __rand__(self, other):
        return ops.compare.bitwise_and(other, self)

    def __or__(self, other):
        return ops.compare.bitwise_or(self, other)

    def __ror__(self, other):
        return ops.compare.bitwise_or(other, self)

    def __xor__(self, other):
        return ops.compare.bitwise_xor(self, other)

    def __rxor__(self, other):
        return ops.compare.bitwise_xor(other, self)

    def __lshift__(self, other):
        return ops.compare.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return ops.compare.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return ops.compare.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return ops.compare.bitwise_right_shift(other, self)

    # --- methods mirroring the functions in fovea -----------------------------------------
    def add(self, other, alpha=1):
        return self + (other if alpha == 1 else other * alpha)

    def sub(self, other, alpha=1):
        return self - (other if alpha == 1 else other * alpha)

    def mul(self, other):
        return self * other

    def matmul(self, other):
        return self @ other

    def maximum(self, other):
        return ops.arithmetic.maximum(self, other)

    def minimum(self, other):
        return ops.arithmetic.minimum(self, other)

    def sum(self, dim=None, keepdim=False, *, axis=None, dtype=None):
        return ops.reduce.sum(self, dim, keepdim, axis=axis, dtype=dtype)

    def mean(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.mean(self, dim, keepdim, axis=axis)

    def var(self, dim=None, unbiased=True, keepdim=False, *, axis=None, correction=None):
        return ops.reduce.var(self, dim, unbiased, keepdim, axis=axis, correction=correction)

    def std(self, dim=None, unbiased=True, keepdim=False, *, axis=None, correction=None):
        return ops.reduce.std(self, dim, unbiased, keepdim, axis=axis, correction=correction)

    def max(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.max(self, dim, keepdim, axis=axis)

    def min(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.min(self, dim, keepdim, axis=axis)

    def amax(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.amax(self, dim, keepdim, axis=axis)

    def amin(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.amin(self, dim, keepdim, axis=axis)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.logsumexp(self, dim, keepdim, axis=axis)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.argmax(self, dim, keepdim, axis=axis)

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return ops.reduce.argmin(self, dim, keepdim, axis=axis)

    def reshape(self, *shape):
        return ops.shape.reshape(self, *shape)

    def view(self, *shape):
        return ops.shape.view(self, *shape)

    def transpose(self, dim0, dim1):
        return ops.shape.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return ops.shape.permute(self, *dims)

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.shape.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None):
        return ops.shape.squeeze(self, dim)

    def unsqueeze(self, dim):
        return ops.shape.unsqueeze(self, dim)

    def expand(self, *sizes):
        return ops.shape.expand(self, *sizes)

    def expand_as(self, other):
        return ops.shape.expand(self, *other.shape)

    def broadcast_to(self, shape):
        return ops.shape.expand(self, *shape)

    def split(self, split_size_or_sections, dim=0):
        return ops.shape.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return ops.shape.chunk(self, chunks, dim)

    def gather(self, dim, index):
        return ops.index.gather(self, dim, index)

    def isnan(self):
        return ops.compare.isnan(self)

    def isfinite(self):
        return ops.compare.isfinite(self)


def _to_array(data, dtype, op: str):
    """Convert ``data`` to an array with fovea's dtype rules (and copy it).

    A Tensor or a registered backend's array stays on its device; anything else (lists,
    numbers, NumPy arrays) goes to the default device.
    """
    if isinstance(data, Tensor):
        data = data._data
    is_array = backends.is_array(data)
    xp = (backends.for_array(data) if is_array else backends.default()).xp
    if dtype is not None:
        dtype = dtypes.check_dtype(dtype, op)
        return xp.array(data, dtype=dtype)
    if is_array:  # arrays keep their dtype
        arr = xp.array(data)
    else:
        if isinstance(data, bool):
            arr = xp.array(data)
        elif isinstance(data, numbers.Integral):
            arr = xp.array(data, dtype=np.int64)
        elif isinstance(data, numbers.Real):
            arr = xp.array(data, dtype=dtypes.get_default_dtype())
        else:
            try:
                arr = xp.array(data)
            except (ValueError, TypeError) as exc:
                raise TypeError(
                    f"{op}: cannot make a tensor from {type(data).__name__}: {exc}") from None
            if arr.dtype == np.float64:
                arr = arr.astype(dtypes.get_default_dtype())
            elif arr.dtype.kind == "i":
                arr = arr.astype(np.int64)
    dtypes.check_dtype(arr.dtype, op)
    return arr


_new_tuple = tuple.__new__  # Size(shape) without checking the ints again (hot: every .shape)
autograd._bind_tensor(Tensor)

from fovea import ops  # noqa: E402  (the ops import Tensor; this import closes the cycle)
