"""``Embedding``: a lookup table of learned vectors."""

from __future__ import annotations

from fovea import backends, dtypes
from fovea.autograd import no_grad
from fovea.nn import init
from fovea.nn.functional.sparse import embedding
from fovea.nn.modules._checks import check_tensor
from fovea.nn.modules.module import Module
from fovea.nn.parameter import Parameter
from fovea.tensor import Tensor


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, indexed by integers.

    Args:
        num_embeddings: the table's size.
        embedding_dim: each vector's size.
        padding_idx: a row that starts at zero and receives no gradient (e.g. padding).
        dtype: the table's dtype.

    Shapes: integer input (*) -> (*, embedding_dim); weight (num_embeddings, embedding_dim),
    initialised N(0, 1) as in PyTorch.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype=None):
        super().__init__()
        n, d = int(num_embeddings), int(embedding_dim)
        if n <= 0 or d <= 0:
            raise ValueError(f"Embedding: num_embeddings and embedding_dim must be positive, got "
                             f"{num_embeddings} and {embedding_dim}")
        if padding_idx is not None:
            if not -n <= padding_idx < n:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings ({n}), "
                                 f"got {padding_idx}")
            padding_idx = int(padding_idx) % n
        self.num_embeddings, self.embedding_dim, self.padding_idx = n, d, padding_idx
        dtype = dtypes.get_default_dtype() if dtype is None else dtypes.check_dtype(dtype)
        xp = backends.default().xp  # parameters are created on the default device
        self.weight = Parameter(xp.empty((n, d), dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self, generator=None) -> None:
        """weight ~ N(0, 1); the padding row (if any) set to zero."""
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        """An Embedding holding a copy of ``embeddings`` (num_embeddings, embedding_dim)."""
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            raise ValueError("Embedding.from_pretrained: embeddings must be a 2-D Tensor")
        n, d = embeddings.shape
        layer = cls(n, d, padding_idx=padding_idx, dtype=embeddings.dtype)
        with no_grad():
            layer.weight.copy_(embeddings)
        layer.weight.requires_grad_(not freeze)
        return layer

    def forward(self, x):
        name = f"Embedding({self.num_embeddings}, {self.embedding_dim})"
        check_tensor(x, name)
        if x.dtype.kind not in "iu":
            raise TypeError(f"{name}: expected an integer input (indices), got dtype {x.dtype}")
        return embedding(x, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"
