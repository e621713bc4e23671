"""Activation layers: thin modules over :mod:`fovea.nn.functional` (shapes (*) -> (*),
except ``GLU``, which halves its axis).

``inplace=True`` (where PyTorch has it) writes the result into the input tensor, as
PyTorch does; ``repr`` shows the same settings as PyTorch's layers.
"""

from __future__ import annotations

from fovea import backends, dtypes
from fovea.nn import functional as F
from fovea.nn.modules._checks import check_float_dtype, check_tensor, shape_str
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter


def _checked(x, name: str):
    check_tensor(x, name)
    check_float_dtype(x, None, name)
    return x


def _inplace_str(inplace: bool, first: bool = False) -> str:
    return ("inplace=True" if first else ", inplace=True") if inplace else ""


class ReLU(Module):
    """max(x, 0)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.relu(_checked(x, "ReLU"), self.inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, first=True)


class LeakyReLU(Module):
    """x for x > 0, negative_slope · x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = float(negative_slope), inplace

    def forward(self, x):
        return F.leaky_relu(_checked(x, "LeakyReLU"), self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_str(self.inplace)}"


class PReLU(Module):
    """x for x > 0, a · x otherwise, with a learned: one value shared (num_parameters=1) or
    one per channel (num_parameters=C, input (N, C, *)). Initialised to ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None):
        super().__init__()
        if int(num_parameters) <= 0:
            raise ValueError(f"PReLU: num_parameters must be positive, got {num_parameters}")
        self.num_parameters = int(num_parameters)
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp = backends.default().xp  # parameters are created on the default device
        self.weight = Parameter(xp.full(self.num_parameters, init, dtype=dtype))

    def forward(self, x):
        name = f"PReLU(num_parameters={self.num_parameters})"
        check_tensor(x, name)
        k = self.num_parameters
        if k > 1 and (x.ndim < 2 or x.shape[1] != k):
            raise ValueError(f"{name}: expected input of shape (N, {k}, *), got "
                             f"{shape_str(x.shape)}")
        check_float_dtype(x, self.weight.dtype, name)
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """x for x > 0, α(eˣ - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = float(alpha), inplace

    def forward(self, x):
        return F.elu(_checked(x, "ELU"), self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class CELU(Module):
    """max(0, x) + min(0, α(e^{x/α} - 1))."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        if alpha == 0:
            raise ValueError("CELU: alpha must be non-zero")
        self.alpha, self.inplace = float(alpha), inplace

    def forward(self, x):
        return F.celu(_checked(x, "CELU"), self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class SELU(Module):
    """λ · elu(x, α), λ ≈ 1.0507, α ≈ 1.6733."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.selu(_checked(x, "SELU"), self.inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, first=True)


class GELU(Module):
    """x Φ(x) (``approximate='none'``) or its tanh approximation (``'tanh'``)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(_checked(x, "GELU"), self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e^-x)."""

    def forward(self, x):
        return F.sigmoid(_checked(x, "Sigmoid"))


class Tanh(Module):
    """tanh(x)."""

    def forward(self, x):
        return F.tanh(_checked(x, "Tanh"))


class SiLU(Module):
    """x · σ(x) (swish)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.silu(_checked(x, "SiLU"), self.inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, first=True)


class Mish(Module):
    """x · tanh(softplus(x))."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.mish(_checked(x, "Mish"), self.inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, first=True)


class Hardsigmoid(Module):
    """relu6(x + 3) / 6."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardsigmoid(_checked(x, "Hardsigmoid"), self.inplace)


class Hardswish(Module):
    """x · relu6(x + 3) / 6."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, x):
        return F.hardswish(_checked(x, "Hardswish"), self.inplace)


class Hardtanh(Module):
    """x clipped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if not min_val < max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must be less than max_val "
                             f"({max_val})")
        self.min_val, self.max_val, self.inplace = float(min_val), float(max_val), inplace

    def forward(self, x):
        return F.hardtanh(_checked(x, type(self).__name__), self.min_val, self.max_val,
                          self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_str(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(x, 0), 6): ``Hardtanh(0, 6)``."""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, first=True)


class Threshold(Module):
    """x where x > threshold, else value."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, x):
        return F.threshold(_checked(x, "Threshold"), self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_str(self.inplace)}"


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, x):
        return F.softsign(_checked(x, "Softsign"))


class LogSigmoid(Module):
    """log σ(x), computed stably."""

    def forward(self, x):
        return F.logsigmoid(_checked(x, "LogSigmoid"))


class Tanhshrink(Module):
    """x - tanh(x)."""

    def forward(self, x):
        return F.tanhshrink(_checked(x, "Tanhshrink"))


class Hardshrink(Module):
    """x where |x| > λ, else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return F.hardshrink(_checked(x, "Hardshrink"), self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Module):
    """x - λ above λ, x + λ below -λ, else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        if lambd < 0:
            raise ValueError(f"Softshrink: lambd must be at least 0, got {lambd}")
        self.lambd = lambd

    def forward(self, x):
        return F.softshrink(_checked(x, "Softshrink"), self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class GLU(Module):
    """a ⊙ σ(b) for the halves a, b of the input along ``dim``: (*, 2M, *) -> (*, M, *)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(_checked(x, "GLU"), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softplus(Module):
    """(1/β) log(1 + e^{βx}), linear where βx > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        if beta == 0:
            raise ValueError("Softplus: beta must be non-zero")
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, x):
        return F.softplus(_checked(x, "Softplus"), self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Maxout(Module):
    """Max over consecutive groups of ``num_pieces`` features along ``dim`` (Lecture 6).

    Put after a layer with k·m outputs to get m maxout units max(w₁ᵀx + b₁, ..., w_kᵀx + b_k).
    Shapes: (..., k·m, ...) -> (..., m, ...), the feature axis being ``dim``.
    """

    def __init__(self, num_pieces: int, dim: int = 1):
        super().__init__()
        if int(num_pieces) < 1:
            raise ValueError(f"Maxout: num_pieces must be positive, got {num_pieces}")
        self.num_pieces, self.dim = int(num_pieces), int(dim)

    def forward(self, x):
        name = f"Maxout({self.num_pieces})"
        _checked(x, name)
        if not -x.ndim <= self.dim < x.ndim or x.shape[self.dim] % self.num_pieces:
            raise ValueError(f"{name}: expected input whose dimension {self.dim} is a multiple "
                             f"of {self.num_pieces}, got shape {shape_str(x.shape)}")
        return F.maxout(x, self.num_pieces, self.dim)

    def extra_repr(self) -> str:
        return f"num_pieces={self.num_pieces}, dim={self.dim}"


class Softmax(Module):
    """Softmax along ``dim``: each slice sums to 1."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(_checked(x, "Softmax"), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Module):
    """softmax(-x) along ``dim``."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmin(_checked(x, "Softmin"), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.log_softmax(_checked(x, "LogSoftmax"), self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
