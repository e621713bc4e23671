"""``fovea.cuda``: the GPU device, as ``torch.cuda`` answers for it.

fovea's GPU backend (CuPy on an NVIDIA GPU, :mod:`fovea.backends.cuda`) registers itself as
the device ``"cuda"`` the first time it is asked for, when CuPy imports and the CUDA runtime
sees a GPU. Without one, ``is_available()`` is False, ``device_count()`` is 0, and moving a
tensor to ``"cuda"`` is a one-line error saying what is missing. Device-aware programs are
written as usual::

    device = fovea.device("cuda" if fovea.cuda.is_available() else "cpu")
    model.to(device)

fovea drives one GPU: the current CUDA device (CuPy's, device 0 unless changed with
``cupy.cuda.Device(i).use()``). Memory statistics are those of CuPy's default memory pool,
which every fovea array on the GPU is allocated from.
"""

from __future__ import annotations

from fovea import backends

__all__: list[str] = []  # used as ``fovea.cuda.<name>``, as ``torch.cuda``


def _backend():
    from fovea.backends.cuda import runtime

    return runtime.ensure()


def _cupy():
    """CuPy, once the backend is there (else the one-line error of ``.to("cuda")``)."""
    return backends.get("cuda").xp


def _runtime():
    """CuPy's CUDA runtime module, or None where the ``"cuda"`` backend is not CuPy (a
    stand-in registered under that name by tests)."""
    return getattr(getattr(_cupy(), "cuda", None), "runtime", None)


def _pool():
    """CuPy's default memory pool (None without a GPU backend, or for a stand-in)."""
    if not is_available():
        return None
    get_pool = getattr(_cupy(), "get_default_memory_pool", None)
    return None if get_pool is None else get_pool()


def is_available() -> bool:
    """Whether fovea can use a GPU: CuPy imports and the CUDA runtime sees a device."""
    return _backend() is not None


def device_count() -> int:
    """The number of GPUs the CUDA runtime sees (0 without the GPU backend)."""
    if not is_available():
        return 0
    rt = _runtime()
    return 1 if rt is None else int(rt.getDeviceCount())


def current_device() -> int:
    """The index of the current CUDA device; an error without a GPU backend."""
    rt = _runtime()
    return 0 if rt is None else int(rt.getDevice())


def get_device_name(device=None) -> str:
    """The GPU's name (e.g. ``"NVIDIA H200"``); ``device``: an index or a device (default
    the current one)."""
    rt = _runtime()
    index = current_device() if device is None else _index(device)
    if rt is None:
        return f"cuda ({_cupy().__name__})"
    name = rt.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def _index(device) -> int:
    if isinstance(device, int):
        return device
    d = backends.device(device)
    return 0 if d.index is None else d.index


def synchronize(device=None) -> None:
    """Wait until every kernel queued on the GPU has finished (for timing)."""
    rt = _runtime()
    if rt is not None:
        rt.deviceSynchronize()


def manual_seed(seed: int) -> None:
    """Seed CuPy's random generator on the GPU (``cupy.random.seed``). fovea's own random
    tensors are drawn on the host from ``fovea.default_generator`` (seeded by
    ``fovea.manual_seed``) and moved, so they are the same numbers on every device; this
    seeds what user code draws with CuPy. Without a GPU it does nothing, as in PyTorch."""
    if is_available() and _runtime() is not None:  # CuPy itself, not a stand-in
        _cupy().random.seed(int(seed))


manual_seed_all = manual_seed


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by live arrays (CuPy's default pool: ``used_bytes``); 0
    without a GPU backend."""
    pool = _pool()
    return 0 if pool is None else int(pool.used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes the memory pool holds from the driver, in use or cached (``total_bytes``)."""
    pool = _pool()
    return 0 if pool is None else int(pool.total_bytes())


_peak = {"bytes": 0}


def max_memory_allocated(device=None) -> int:
    """The peak of :func:`memory_allocated` since :func:`reset_peak_memory_stats`, as far as
    fovea has seen it: CuPy's pool keeps no peak, so fovea samples it here and whenever
    :func:`update_peak` runs (the training loop and the benchmarks call it after each step);
    the pool's ``total_bytes`` bounds it from above (:func:`memory_reserved`)."""
    update_peak()
    return _peak["bytes"]


def update_peak() -> int:
    """Fold the current :func:`memory_allocated` into the peak; returns it."""
    _peak["bytes"] = max(_peak["bytes"], memory_allocated())
    return _peak["bytes"]


def reset_peak_memory_stats(device=None) -> None:
    """Start a new peak from the memory allocated now."""
    _peak["bytes"] = memory_allocated()


def empty_cache() -> None:
    """Give the memory pool's cached, unused blocks back to the driver."""
    pool = _pool()
    if pool is not None:
        pool.free_all_blocks()
