"""The search-space file of ``fovea tune``: a ``fovea train`` TOML config whose values may be
distributions.

    dataset = "digits"                       # a plain value: fixed for every trial
    epochs = 8
    lr = "loguniform(1e-4, 1e-1)"            # log-uniform (Lecture 6: search lr on a log scale)
    weight_decay = "loguniform(1e-6, 1e-2)"
    momentum = "uniform(0.5, 0.99)"
    batch_size = "choice(32, 64, 128)"       # one of the listed values
    model = "choice(small_cnn, three_layer_convnet)"
    snapshots = "int(1, 3)"                  # an integer in [1, 3]; "logint(a, b)" on a log scale

Keys are ``fovea train``'s options (dashes or underscores). A string that is one of the
distribution forms above is searched; any other value is passed through unchanged.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

__all__ = ["Distribution", "SearchSpace", "load_space", "parse_distribution"]

_FORM = re.compile(r"^\s*(loguniform|uniform|logint|int|choice)\s*\((.*)\)\s*$", re.S)
# Options a trial must not set: fovea tune gives each trial its own run directory.
_RESERVED = ("out", "progress", "overfit_small")


@dataclass(frozen=True)
class Distribution:
    """One searched option: ``kind`` is loguniform, uniform, int, logint or choice."""

    kind: str
    args: tuple

    def suggest(self, trial, name: str):
        """Draw the value of ``name`` from an Optuna trial."""
        if self.kind in ("uniform", "loguniform"):
            return trial.suggest_float(name, self.args[0], self.args[1],
                                       log=self.kind == "loguniform")
        if self.kind in ("int", "logint"):
            return trial.suggest_int(name, self.args[0], self.args[1], log=self.kind == "logint")
        return trial.suggest_categorical(name, list(self.args))

    @property
    def log(self) -> bool:
        return self.kind in ("loguniform", "logint")

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(str(a) for a in self.args)})"


def _literal(text: str):
    """A choice's item: an int, float, true/false, a quoted string, or a bare word."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    if t in ("true", "false"):
        return t == "true"
    for cast in (int, float):
        try:
            return cast(t)
        except ValueError:
            pass
    return t


def parse_distribution(text: str, name: str = "value") -> Distribution | None:
    """The distribution a string describes, or None when it is a plain value.

    Raises ValueError (naming the option) for a malformed distribution.
    """
    m = _FORM.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    kind, body = m.group(1), m.group(2)
    items = [_literal(a) for a in body.split(",")] if body.strip() else []
    if kind == "choice":
        if not items:
            raise ValueError(f"tune: {name} = {text!r}: choice(...) needs at least one value")
        return Distribution(kind, tuple(items))
    if len(items) != 2 or not all(isinstance(a, int | float) and not isinstance(a, bool)
                                  and math.isfinite(a) for a in items):
        raise ValueError(f"tune: {name} = {text!r}: {kind}(low, high) needs two finite numbers")
    low, high = items
    if kind in ("int", "logint"):
        if not all(isinstance(a, int) for a in items):
            raise ValueError(f"tune: {name} = {text!r}: {kind}(low, high) needs integers")
    else:
        low, high = float(low), float(high)
    if not low < high:
        raise ValueError(f"tune: {name} = {text!r}: low must be below high")
    if kind in ("loguniform", "logint") and low <= 0:
        raise ValueError(f"tune: {name} = {text!r}: a log scale needs low > 0")
    return Distribution(kind, (low, high))


@dataclass
class SearchSpace:
    """The fixed options and the searched ones, by TrainConfig field name."""

    fixed: dict
    searched: dict  # name -> Distribution

    def sample(self, trial) -> dict:
        """The options of one trial: the fixed ones and a draw of each searched one."""
        values = dict(self.fixed)
        for name, dist in self.searched.items():
            values[name] = dist.suggest(trial, name)
        return values


def load_space(path) -> SearchSpace:
    """Read and check a search-space TOML file (see the module docstring)."""
    from fovea.train.run import TrainConfig

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such search-space file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    data = {k.replace("-", "_"): v for k, v in data.items()}
    known = {f.name for f in fields(TrainConfig)} - set(_RESERVED)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; valid keys are {sorted(known)}")
    fixed, searched = {}, {}
    for name, value in data.items():
        dist = parse_distribution(value, name) if isinstance(value, str) else None
        (searched if dist is not None else fixed)[name] = dist if dist is not None else value
    if not searched:
        raise ValueError(f"{path}: nothing to search: give at least one option a distribution "
                         f"such as lr = \"loguniform(1e-4, 1e-1)\"")
    return SearchSpace(fixed, searched)
