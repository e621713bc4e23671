"""Choosing hyperparameters by k-fold cross-validation, over a grid or by random search.

Lecture 2: split the training data into folds, train on all but one, validate on the one
left out, rotate, and average; never touch the test set while choosing. Lecture 6 adds that
random search beats a grid when only some hyperparameters matter, and that scale
parameters such as the learning rate and the regularisation strength should be sampled
uniformly on a log scale (:class:`LogUniform`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from fovea.classic._checks import as_labels, as_matrix, positive_int


# ---------------------------------------------------------------- distributions
@dataclass(frozen=True)
class LogUniform:
    """Samples 10^u with u uniform in [log10 low, log10 high] (0 < low ≤ high)."""

    low: float
    high: float

    def __post_init__(self):
        if not (0 < self.low <= self.high) or not math.isfinite(self.high):
            raise ValueError(f"LogUniform: need 0 < low <= high (finite), got low={self.low}, "
                             f"high={self.high}")

    def sample(self, rng: np.random.Generator) -> float:
        return float(10 ** rng.uniform(math.log10(self.low), math.log10(self.high)))


@dataclass(frozen=True)
class Uniform:
    """Samples uniformly in [low, high]."""

    low: float
    high: float

    def __post_init__(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low <= self.high):
            raise ValueError(f"Uniform: need finite low <= high, got low={self.low}, "
                             f"high={self.high}")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class Choice:
    """Samples one of ``values`` uniformly."""

    values: tuple

    def __post_init__(self):
        if len(self.values) == 0:
            raise ValueError("Choice: values must not be empty")

    def sample(self, rng: np.random.Generator):
        return self.values[int(rng.integers(len(self.values)))]


def log_uniform(low: float, high: float) -> LogUniform:
    """A :class:`LogUniform` sampler over [low, high], e.g. ``log_uniform(1e-7, 1e-3)``."""
    return LogUniform(low, high)


# ------------------------------------------------------------------ adapters
class Configured:
    """A model with fixed keyword arguments for its ``train`` and ``predict`` calls.

    Cross-validation calls ``model.train(X, y)`` and ``model.predict(X)``; this binds the
    hyperparameters that those methods take.

    Example:
        >>> factory = lambda learning_rate, reg: Configured(
        ...     Softmax(seed=0), train_kwargs=dict(learning_rate=learning_rate, reg=reg,
        ...                                        num_iters=300))
    """

    def __init__(self, model: Any, train_kwargs: Mapping | None = None,
                 predict_kwargs: Mapping | None = None):
        self.model = model
        self.train_kwargs = dict(train_kwargs or {})
        self.predict_kwargs = dict(predict_kwargs or {})

    def train(self, X, y):
        self.model.train(X, y, **self.train_kwargs)
        return self

    def predict(self, X):
        return self.model.predict(X, **self.predict_kwargs)


# ------------------------------------------------------------------- results
@dataclass
class CVResult:
    """Every score of a cross-validation.

    Attributes:
        params: the hyperparameter settings tried, one dict each.
        scores: (len(params), folds), ``scores[i, f]`` the validation score of setting i
            on fold f.
    """

    params: list[dict]
    scores: np.ndarray
    folds: int = field(init=False)

    def __post_init__(self):
        self.scores = np.asarray(self.scores, dtype=np.float64)
        self.folds = self.scores.shape[1] if self.scores.ndim == 2 else 0

    @property
    def mean_scores(self) -> np.ndarray:
        """Mean over folds, (len(params),)."""
        return self.scores.mean(axis=1)

    @property
    def std_scores(self) -> np.ndarray:
        """Standard deviation over folds, (len(params),)."""
        return self.scores.std(axis=1)

    @property
    def best_index(self) -> int:
        """Index of the best mean score (the first one on ties)."""
        return int(np.argmax(self.mean_scores))

    @property
    def best_params(self) -> dict:
        return dict(self.params[self.best_index])

    @property
    def best_score(self) -> float:
        return float(self.mean_scores[self.best_index])

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"params": [dict(p) for p in self.params], "scores": self.scores.tolist(),
                "mean_scores": self.mean_scores.tolist(), "best_params": self.best_params,
                "best_score": self.best_score}


# ------------------------------------------------------------------ splitting
def kfold_indices(n: int, folds: int = 5, seed: int | None = 0,
                  shuffle: bool = True) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` (train_idx, val_idx) pairs; every index is validated exactly once.

    The indices are shuffled by a generator seeded with ``seed`` (unless ``shuffle`` is
    False) and cut into ``folds`` parts whose sizes differ by at most one.
    """
    n = positive_int(n, "kfold_indices", "n")
    folds = positive_int(folds, "kfold_indices", "folds", minimum=2)
    if folds > n:
        raise ValueError(f"kfold_indices: folds={folds} is more than the {n} examples")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    parts = np.array_split(order, folds)
    return [(np.concatenate(parts[:f] + parts[f + 1:]), parts[f]) for f in range(folds)]


def _grid(param_grid: Mapping[str, Sequence]) -> list[dict]:
    if not isinstance(param_grid, Mapping) or not param_grid:
        raise ValueError("cross_validate: param_grid must be a non-empty dict of name -> values")
    names = list(param_grid)
    values = []
    for name in names:
        v = param_grid[name]
        if isinstance(v, str) or not isinstance(v, (Sequence, np.ndarray)) or len(v) == 0:
            raise ValueError(f"cross_validate: param_grid[{name!r}] must be a non-empty list "
                             f"of values, got {v!r}")
        values.append(list(v))
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def _draw(sampler: Mapping[str, Any], num_samples: int, rng: np.random.Generator) -> list[dict]:
    if not isinstance(sampler, Mapping) or not sampler:
        raise ValueError("cross_validate: sampler must be a non-empty dict of name -> "
                         "distribution")
    for name, dist in sampler.items():
        if not (hasattr(dist, "sample") or callable(dist) or isinstance(dist, Sequence)):
            raise ValueError(f"cross_validate: sampler[{name!r}] must be a distribution "
                             f"(LogUniform, Uniform, Choice), a function of a Generator or a "
                             f"list, got {dist!r}")
    out = []
    for _ in range(num_samples):
        params = {}
        for name, dist in sampler.items():
            if hasattr(dist, "sample"):
                params[name] = dist.sample(rng)
            elif callable(dist):
                params[name] = dist(rng)
            else:
                params[name] = Choice(tuple(dist)).sample(rng)
        out.append(params)
    return out


def _fit(model, X, y):
    if hasattr(model, "train"):
        model.train(X, y)
    elif hasattr(model, "fit"):
        model.fit(X, y)
    else:
        raise TypeError(f"cross_validate: the model factory returned {type(model).__name__}, "
                        f"which has neither train(X, y) nor fit(X, y)")


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of equal labels."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def cross_validate(model_factory: Callable[..., Any], X: ArrayLike, y: ArrayLike,
                   param_grid: Mapping[str, Sequence] | None = None,
                   sampler: Mapping[str, Any] | None = None, folds: int = 5,
                   num_samples: int = 10, seed: int | None = 0, shuffle: bool = True,
                   score_fn: Callable[[np.ndarray, np.ndarray], float] = accuracy,
                   verbose: bool = False) -> CVResult:
    """k-fold cross-validation of every hyperparameter setting of a grid or a random search.

    For each setting ``params`` and each fold, ``model_factory(**params)`` makes a fresh
    model, ``model.train(X_tr, y_tr)`` (or ``fit``) trains it on the other folds and
    ``score_fn(y_val, model.predict(X_val))`` scores it on the held-out fold.

    Args:
        model_factory: builds an untrained model from keyword hyperparameters.
        X: examples, (N, D).
        y: labels, (N,).
        param_grid: ``{name: [values...]}``; every combination is tried (grid search).
        sampler: ``{name: distribution}`` for random search: a :class:`LogUniform`,
            :class:`Uniform`, :class:`Choice`, a function of a Generator, or a list to
            choose from. Exactly one of ``param_grid`` and ``sampler`` must be given.
        folds: number of folds (≥ 2).
        num_samples: settings drawn by random search.
        seed: seeds the fold assignment and the random search.
        shuffle: shuffle the examples before cutting folds.
        score_fn: ``(y_true, y_pred) -> float``, higher is better (default: accuracy).
        verbose: print each setting's mean score.

    Returns:
        A :class:`CVResult` with every score.

    Example:
        >>> result = cross_validate(lambda k: KNearestNeighbor(k=k), X, y,
        ...                         param_grid={"k": [1, 3, 5, 10]}, folds=5)
        >>> result.best_params, result.scores.shape
        ({'k': 1}, (4, 5))
    """
    op = "cross_validate"
    if not callable(model_factory):
        raise TypeError(f"{op}: model_factory must be callable, got {model_factory!r}")
    X = as_matrix(X, op)
    y = as_labels(y, op, n=X.shape[0])
    if (param_grid is None) == (sampler is None):
        raise ValueError(f"{op}: give exactly one of param_grid (grid search) and sampler "
                         f"(random search)")
    rng = np.random.default_rng(seed)
    if param_grid is not None:
        settings = _grid(param_grid)
    else:
        num_samples = positive_int(num_samples, op, "num_samples")
        settings = _draw(sampler, num_samples, rng)
    splits = kfold_indices(X.shape[0], folds, seed=seed, shuffle=shuffle)
    scores = np.empty((len(settings), len(splits)))
    for i, params in enumerate(settings):
        for f, (tr, va) in enumerate(splits):
            model = model_factory(**params)
            _fit(model, X[tr], y[tr])
            scores[i, f] = score_fn(y[va], model.predict(X[va]))
        if verbose:
            print(f"{params}: mean score {scores[i].mean():.4f}")
    return CVResult(settings, scores)
