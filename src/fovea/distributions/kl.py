"""``kl_divergence(p, q)`` = KL(p ‖ q) = E_p[log p(x) - log q(x)], and ``register_kl`` to add
closed forms. The most specific registered pair of types is used (as in PyTorch)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from fovea.creation import full_like
from fovea.distributions import _linalg
from fovea.distributions.bernoulli import Bernoulli
from fovea.distributions.categorical import Categorical
from fovea.distributions.distribution import Distribution
from fovea.distributions.independent import Independent
from fovea.distributions.multivariate_normal import MultivariateNormal, _diagonal
from fovea.distributions.normal import Normal
from fovea.distributions.uniform import Uniform
from fovea.distributions.utils import sum_rightmost
from fovea.nn import functional as F
from fovea.ops.arithmetic import where
from fovea.tensor import Tensor

__all__ = ["kl_divergence", "register_kl"]

_KL: dict[tuple[type, type], Callable] = {}


def register_kl(type_p: type, type_q: type):
    """Decorator: ``@register_kl(Normal, Normal) def kl(p, q): ...`` adds a closed form."""
    for t in (type_p, type_q):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"register_kl: expected Distribution subclasses, got {t!r}")

    def decorator(fn: Callable) -> Callable:
        _KL[type_p, type_q] = fn
        return fn

    return decorator


def _lookup(tp: type, tq: type) -> Callable | None:
    """The registered function of the most specific pair (closest in both MROs)."""
    best, best_rank = None, None
    for (p, q), fn in _KL.items():
        if issubclass(tp, p) and issubclass(tq, q):
            rank = (tp.__mro__.index(p), tq.__mro__.index(q))
            if best_rank is None or rank < best_rank:
                best, best_rank = fn, rank
    return best


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p ‖ q) for each element of the batch (shape: the broadcast batch shape).

    Raises:
        NotImplementedError: no closed form is registered for ``type(p)``, ``type(q)``.
    """
    fn = _lookup(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"kl_divergence: no KL(p || q) is registered for p "
                                  f"{type(p).__name__} and q {type(q).__name__}; add one "
                                  "with @register_kl")
    return fn(p, q)


def _inf_where(mask: Tensor, t: Tensor) -> Tensor:
    return where(mask, full_like(t, math.inf), t)


def _zero_where(mask: Tensor, t: Tensor) -> Tensor:
    return where(mask, full_like(t, 0.0), t)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t1 = _zero_where(p.probs == 0, _inf_where(q.probs == 0, t1))
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    t2 = _zero_where(p.probs == 1, _inf_where(q.probs == 1, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    t = p.probs * (p.logits - q.logits)
    shape = np.broadcast_shapes(tuple(t.shape), tuple(q.probs.shape), tuple(p.probs.shape))
    t = t.expand(*shape)
    t = _inf_where((q.probs == 0).expand(*shape), t)
    t = _zero_where((p.probs == 0).expand(*shape), t)
    return t.sum(-1)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: MultivariateNormals of different dimensions "
                         f"{p.event_shape} and {q.event_shape}")
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    k = p.event_shape[0]
    half_term1 = _diagonal(lq).log().sum(-1) - _diagonal(lp).log().sum(-1)
    term2 = (_linalg.solve(lq, lp, kind="lower") ** 2).sum((-2, -1))          # tr(Σq⁻¹ Σp)
    diff = (q.loc - p.loc).unsqueeze(-1)
    term3 = (_linalg.solve(lq, diff, kind="lower") ** 2).sum((-2, -1))
    return half_term1 + 0.5 * (term2 + term3 - k)


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence: Independents that reinterpret different "
                                  "numbers of batch dimensions")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    result = ((q.high - q.low) / (p.high - p.low)).log()
    outside = (q.low > p.low) | (q.high < p.high)
    return _inf_where(outside, result)
