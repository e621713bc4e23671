"""Where the data pipeline draws random numbers: fovea's default generator, looked up at call
time (``fovea.manual_seed`` may replace or reseed it), or an explicit ``generator=``."""

from __future__ import annotations

import numpy as np


def default_rng() -> np.random.Generator:
    """fovea's default generator (what ``fovea.manual_seed`` seeds), as a NumPy generator."""
    import fovea

    g = fovea.default_generator
    # Older fovea exposes a function returning the generator; newer a Generator object.
    return g if isinstance(g, np.random.Generator) else g()


def as_rng(generator, op: str) -> np.random.Generator:
    """``generator`` (a ``fovea.Generator`` / ``numpy.random.Generator``) or the default one."""
    if generator is None:
        return default_rng()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{op}: generator must be a fovea.Generator or numpy.random.Generator, "
                        f"got {type(generator).__name__}")
    return generator


def draw_seed(generator=None, op: str = "draw_seed") -> int:
    """One non-negative 63-bit seed drawn from ``generator`` (default: fovea's)."""
    return int(as_rng(generator, op).integers(0, 2**63 - 1))


def seed_all(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global state and fovea's default generator (what a
    DataLoader worker does at start; NumPy gets a 128-bit state derived from the seed)."""
    import random

    import fovea

    random.seed(seed)
    np.random.seed(np.random.SeedSequence(seed).generate_state(4))
    fovea.manual_seed(seed)
