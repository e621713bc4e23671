"""``fovea.cuda``: whether a GPU backend is there, as ``torch.cuda`` answers it.

fovea's GPU backend (CuPy on an NVIDIA GPU) registers itself as the device ``"cuda"`` in
:mod:`fovea.backends`; until it is there, ``is_available()`` is False, ``device_count()`` is
0, and moving a tensor to ``"cuda"`` is a one-line error saying what is needed. Device-aware
programs are written as usual::

    device = fovea.device("cuda" if fovea.cuda.is_available() else "cpu")
    model.to(device)
"""

from __future__ import annotations

from fovea import backends

__all__: list[str] = []  # used as ``fovea.cuda.<name>``, as ``torch.cuda``


def is_available() -> bool:
    """Whether a ``"cuda"`` backend is registered (CuPy and an NVIDIA GPU)."""
    return any(b.name == "cuda" for b in backends.registered())


def device_count() -> int:
    """The number of CUDA devices fovea can use: 1 with a GPU backend (fovea drives one
    GPU), else 0."""
    return 1 if is_available() else 0


def current_device() -> int:
    """The index of the current CUDA device (0); an error without a GPU backend."""
    backends.get("cuda")
    return 0


def manual_seed(seed: int) -> None:
    """Accepted for PyTorch programs: fovea draws every random number on the host from
    ``fovea.default_generator``, which ``fovea.manual_seed`` seeds; this does nothing more
    (as PyTorch ignores it without CUDA)."""


manual_seed_all = manual_seed
