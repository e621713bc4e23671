"""Random sampling, as PyTorch's: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``,
``bernoulli``, ``multinomial``, their ``*_like`` forms and the in-place fills ``normal_``,
``uniform_``, ``bernoulli_``.

Every function draws from ``generator`` (a :class:`fovea.Generator`, or any
``numpy.random.Generator``), or from ``fovea.default_generator`` when None, on the host;
the result is moved to ``device``. ``normal`` and ``bernoulli`` of tensors that require
grad give results with a zero gradient, as in PyTorch (sampling is not reparameterised;
``fovea.distributions`` has ``rsample`` for that).

    g = fovea.Generator().manual_seed(0)
    x = fovea.randn(2, 3, generator=g, dtype=fovea.float64, device="cpu")
    i = fovea.multinomial(fovea.tensor([0.2, 0.8]), 5, replacement=True, generator=g)
"""

from __future__ import annotations

import numpy as np

from fovea import backends, dtypes
from fovea.autograd import Function
from fovea.creation import device_arg, dtype_arg, finish, like_args, size_arg
from fovea.errors import DTypeError, ShapeError
from fovea.ops._util import tensor_method
from fovea.random import numpy_generator
from fovea.tensor import Tensor

__all__ = ["rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial",
           "rand_like", "randn_like", "randint_like"]


def _host(t: Tensor) -> np.ndarray:
    """The values of ``t`` as a host array (a copy from another device)."""
    a = t._data
    return a if type(a) is np.ndarray else backends.for_array(a).to_host(a)


def rand(*sizes, size=None, generator=None, dtype=None, device=None,
         requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1) of shape ``size`` (default float dtype)."""
    shape, dtype = size_arg(sizes, size, "rand"), dtype_arg(dtype, "rand", floating=True)
    arr = numpy_generator(generator).random(shape).astype(dtype)
    return finish(device_arg(device).xp.asarray(arr), requires_grad)


def randn(*sizes, size=None, generator=None, dtype=None, device=None,
          requires_grad=False) -> Tensor:
    """Standard normal samples of shape ``size`` (default float dtype)."""
    shape, dtype = size_arg(sizes, size, "randn"), dtype_arg(dtype, "randn", floating=True)
    arr = numpy_generator(generator).standard_normal(shape).astype(dtype)
    return finish(device_arg(device).xp.asarray(arr), requires_grad)


def _integers(gen, low, high, shape, dtype, op):
    low, high = int(low), int(high)
    if low >= high:
        raise ValueError(f"{op}: expected low < high, got low={low} >= high={high}")
    return numpy_generator(gen).integers(low, high, size=shape, dtype=np.int64).astype(dtype)


def randint(*args, low=None, high=None, size=None, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)``, ``randint(low, high, size)``
    (int64 unless ``dtype`` is given; a float dtype holds the integers)."""
    args = list(args)
    if size is None:
        if not args:
            raise TypeError("randint: missing the size argument")
        size = args.pop()
    bounds = [v for v in (low, high) if v is not None]
    if len(args) + len(bounds) == 1:
        args = [0] + args + bounds
    elif len(args) + len(bounds) == 2:
        args = args + bounds
    else:
        raise TypeError(f"randint: expected (high, size) or (low, high, size), got {args}")
    dtype = np.int64 if dtype is None else dtypes.check_dtype(dtype, "randint")
    arr = _integers(generator, args[0], args[1], size_arg((size,), None, "randint"), dtype,
                    "randint")
    return finish(device_arg(device).xp.asarray(arr), requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 unless ``dtype`` is given)."""
    dtype = np.int64 if dtype is None else dtypes.check_dtype(dtype, "randperm")
    if int(n) < 0:
        raise ValueError(f"randperm: n must be non-negative, got {n}")
    arr = numpy_generator(generator).permutation(int(n)).astype(dtype)
    return finish(device_arg(device).xp.asarray(arr), requires_grad)


class Sampled(Function):
    """A sample drawn with parameters (tensors): the sample, with zero gradients for the
    parameters (PyTorch's derivative of ``normal`` and ``bernoulli``)."""

    @staticmethod
    def forward(ctx, *params, sample):
        return sample

    @staticmethod
    def backward(ctx, g):
        zero = ctx.xp.zeros_like(g)
        return (zero,) * len(ctx.edges)


def _sampled(sample, params: list[Tensor]) -> Tensor:
    """Wrap ``sample`` (on the params' device) as the output of :class:`Sampled`."""
    return Sampled.apply(*params, sample=sample)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Normal samples: ``normal(mean, std)`` with tensor ``mean`` and/or ``std`` (broadcast;
    one sample per element), or ``normal(mean, std, size)`` with numbers.

    The result has the parameters' floating dtype and device (the default float dtype and
    ``device`` for numbers). ``std`` must be non-negative.
    """
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: give mean or std as a tensor, or a size for numbers")
        if std < 0:
            raise ValueError(f"normal: std must be >= 0, got {std}")
        shape, dtype = size_arg((size,), None, "normal"), dtype_arg(dtype, "normal", True)
        arr = numpy_generator(generator).normal(mean, std, shape).astype(dtype)
        return finish(device_arg(device).xp.asarray(arr), requires_grad)
    m, s = (_host(v) if isinstance(v, Tensor) else v for v in (mean, std))
    if np.any(np.asarray(s) < 0):
        raise ValueError("normal: std must be >= 0 everywhere")
    for t in tensors:
        if not dtypes.is_floating(t.dtype):
            raise DTypeError(f"normal: mean and std must be floating, got {t.dtype}")
    out_dtype = np.result_type(*[t.dtype for t in tensors])
    try:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    except ValueError:
        raise ShapeError(f"normal: mean of shape {np.shape(m)} and std of shape "
                         f"{np.shape(s)} cannot be broadcast together") from None
    draw = numpy_generator(generator).standard_normal(shape)
    host = (m + s * draw).astype(out_dtype)
    b = backends.for_arrays(*(t._data for t in tensors), op="normal")
    return _sampled(b.xp.asarray(host), tensors)


def _check_probs(p, op: str) -> None:
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"{op}: probabilities must be in [0, 1]")


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0/1 samples, 1 with probability ``input`` (elementwise), or ``p`` (a number)
    everywhere; the result has ``input``'s shape, dtype and device."""
    probs = _host(input) if p is None else np.full(input.shape, p, dtype=np.float64)
    _check_probs(probs, "bernoulli")
    draw = numpy_generator(generator).random(input.shape) < probs
    arr = backends.for_array(input._data).xp.asarray(draw.astype(input.dtype))
    return _sampled(arr, [input])


tensor_method("bernoulli")(bernoulli)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn from the categories of ``input`` (weights, not necessarily normalised),
    as ``torch.multinomial``.

    Args:
        input: ``(C,)`` or ``(B, C)`` non-negative weights with a positive sum per row.
        num_samples: samples per row; without replacement at most ``C`` (categories of
            weight 0 come last, once the others are used up).
        replacement: draw with replacement.

    Returns:
        int64 indices of shape ``(num_samples,)`` or ``(B, num_samples)``.
    """
    w = _host(input).astype(np.float64)
    if w.ndim not in (1, 2):
        raise ShapeError(f"multinomial: expected a 1-d or 2-d tensor, got {w.ndim}-d")
    rows = w.reshape(-1, w.shape[-1]) if w.size else w.reshape(-1, max(w.shape[-1], 1))
    n = int(num_samples)
    if n <= 0:
        raise ValueError(f"multinomial: num_samples must be positive, got {num_samples}")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError("multinomial: weights contain inf, nan or a negative value")
    if np.any(rows.sum(-1) <= 0):
        raise ValueError("multinomial: invalid distribution (sum of weights <= 0)")
    if not replacement and n > rows.shape[-1]:
        raise ValueError(f"multinomial: cannot draw {n} samples from {rows.shape[-1]} "
                         "categories without replacement")
    gen = numpy_generator(generator)
    if replacement:  # inverse CDF; row r's CDF is shifted by r so one searchsorted does all
        cdf = np.cumsum(rows, -1) / rows.sum(-1, keepdims=True)
        cdf[:, -1] = 1.0
        offset = np.arange(len(rows))[:, None]
        u = gen.random((len(rows), n)) + offset
        idx = np.searchsorted((cdf + offset).ravel(), u.ravel(), side="right")
        out = idx.reshape(len(rows), n) - offset * rows.shape[-1]
    else:  # PyTorch's exponential trick: the n largest w / E, E ~ Exp(1)
        keys = rows / gen.standard_exponential(rows.shape)
        out = np.argsort(-keys, axis=-1, kind="stable")[:, :n]
    out = out.astype(np.int64).reshape(w.shape[:-1] + (n,))
    return Tensor._make(backends.for_array(input._data).xp.asarray(out), None)


tensor_method("multinomial")(multinomial)


# --- *_like ----------------------------------------------------------------------------------
def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False,
              memory_format=None) -> Tensor:
    """:func:`rand` of ``input``'s shape, dtype and device (unless given)."""
    b, dtype = like_args(input, dtype, device, "rand_like")
    return rand(input.shape, generator=generator, dtype=dtype, device=b.device,
                requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False,
               memory_format=None) -> Tensor:
    """:func:`randn` of ``input``'s shape, dtype and device (unless given)."""
    b, dtype = like_args(input, dtype, device, "randn_like")
    return randn(input.shape, generator=generator, dtype=dtype, device=b.device,
                 requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad=False, memory_format=None) -> Tensor:
    """:func:`randint` of ``input``'s shape, dtype and device: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    b, dtype = like_args(input, dtype, device, "randint_like")
    return randint(low, high, input.shape, generator=generator, dtype=dtype, device=b.device,
                   requires_grad=requires_grad)


# --- in-place fills ----------------------------------------------------------------------
def _fill(self: Tensor, op: str, host: np.ndarray) -> Tensor:
    return self._inplace(op, backends.for_array(self._data).xp.asarray(host))


@tensor_method()
def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
    """Fill with normal samples (in place; e.g. ``w.data.normal_(0.0, 0.02)``)."""
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(self, "normal_", numpy_generator(generator).normal(mean, std, self.shape))


@tensor_method()
def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator=None):
    """Fill with samples uniform in [from_, to) (in place; PyTorch's ``from`` is a Python
    keyword: pass the bounds positionally)."""
    if from_ > to:
        raise ValueError(f"uniform_: expected from <= to, got {from_} > {to}")
    return _fill(self, "uniform_", numpy_generator(generator).uniform(from_, to, self.shape))


@tensor_method()
def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples, 1 with probability ``p`` (a number or a tensor broadcast to
    this shape), in place."""
    probs = _host(p) if isinstance(p, Tensor) else np.asarray(p, dtype=np.float64)
    _check_probs(probs, "bernoulli_")
    draw = numpy_generator(generator).random(self.shape) < probs
    return _fill(self, "bernoulli_", draw)
