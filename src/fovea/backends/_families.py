"""Kernel packages load their families on first use (PEP 562 module ``__getattr__``)."""

from __future__ import annotations

import importlib


def lazy_families(package: str):
    """A module ``__getattr__`` for kernel package ``package``: ``package.<family>`` imports
    the family's module the first time an op asks for it (``ctx.kernels.norm``), so that
    loading the package imports nothing (the CPU one must not load NumPy early)."""

    def __getattr__(name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{package}.{name}":
                raise
            raise AttributeError(f"module {package!r} has no kernel family {name!r}") from None

    return __getattr__
