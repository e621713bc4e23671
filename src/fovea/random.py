"""Random number generators, as ``torch.Generator`` and ``torch.random``.

Every random function of fovea (``rand``, ``randn``, dropout masks, ``nn.init``, the data
loaders' shuffling) draws from a :class:`Generator`: the one passed as ``generator=``, or
:data:`default_generator`, which :func:`manual_seed` reseeds. A ``Generator`` *is* a
``numpy.random.Generator`` (PCG64), so NumPy's sampling methods are available on it and code
written for NumPy generators takes it as is. Numbers are drawn on the host and moved to the
tensor's device; the streams are fovea's own (the same seed gives other numbers than
PyTorch's), but a seed always gives the same numbers in fovea.

    g = fovea.Generator().manual_seed(0)
    a = fovea.rand(3, generator=g)          # independent of the default generator
    state = g.get_state()                   # a uint8 tensor
    b = fovea.rand(3, generator=g)
    g.set_state(state)
    assert fovea.equal(fovea.rand(3, generator=g), b)
"""

from __future__ import annotations

import secrets

import numpy as np

from fovea import backends
from fovea.errors import DTypeError, ShapeError

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state"]

DEFAULT_SEED = 0
"""The seed of :data:`default_generator` when a program starts (fovea starts repeatable;
PyTorch draws a random one)."""

_STATE_BYTES = 45  # PCG64 state (16) + increment (16) + has_uint32 (1) + uinteger (4) + seed (8)


class Generator(np.random.Generator):
    """A seedable stream of random numbers (``torch.Generator``).

    Args:
        device: the device of the tensors drawn with it (``"cpu"`` or a registered device;
            numbers are drawn on the host either way).
    """

    def __init__(self, device="cpu"):
        if backends.device(device).type != "cpu":
            backends.get(device)  # a clear error if that device has no backend
        super().__init__(np.random.PCG64(DEFAULT_SEED))
        self.device = backends.device(device)
        self._initial_seed = DEFAULT_SEED

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed`` (any int; negative seeds wrap as in PyTorch);
        returns this generator."""
        seed = int(seed) % 2**64
        self.bit_generator.state = np.random.PCG64(seed).state
        self._initial_seed = seed
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the seed."""
        s = secrets.randbits(63)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        """The seed this generator was last seeded with."""
        return self._initial_seed

    def get_state(self):
        """The generator's state as a uint8 tensor of 45 bytes (give it to :meth:`set_state`)."""
        from fovea.creation import from_numpy

        st = self.bit_generator.state
        words = [st["state"]["state"], st["state"]["inc"]]
        raw = b"".join(w.to_bytes(16, "little") for w in words)
        raw += bytes([st["has_uint32"]]) + st["uinteger"].to_bytes(4, "little")
        raw += self._initial_seed.to_bytes(8, "little")
        return from_numpy(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restore a state from :meth:`get_state`; returns this generator."""
        a = np.asarray(new_state.numpy() if hasattr(new_state, "numpy") else new_state)
        if a.dtype != np.uint8:
            raise DTypeError(f"set_state: expected a uint8 tensor, got dtype {a.dtype}")
        if a.shape != (_STATE_BYTES,):
            raise ShapeError(f"set_state: expected a state of shape ({_STATE_BYTES},) from "
                             f"get_state(), got shape {a.shape}")
        raw = a.tobytes()
        self.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[:16], "little"),
                      "inc": int.from_bytes(raw[16:32], "little")},
            "has_uint32": raw[32], "uinteger": int.from_bytes(raw[33:37], "little")}
        self._initial_seed = int.from_bytes(raw[37:], "little")
        return self

    def __call__(self) -> Generator:
        # NOTE: fovea <= 0.1 exposed the default generator as a function
        # (``default_generator()``); calling the object keeps such code working.
        return self

    def __repr__(self) -> str:
        return f"<fovea.Generator object on {self.device}>"

    def __reduce__(self):
        # NumPy's own reduce would rebuild a plain numpy Generator (pickle, deepcopy, worker
        # processes): rebuild a fovea.Generator with the same device, stream and seed.
        return _rebuild, (str(self.device), self.get_state().numpy().tobytes())


def _rebuild(device: str, state: bytes) -> Generator:
    from fovea.creation import from_numpy

    g = Generator(device)
    return g.set_state(from_numpy(np.frombuffer(state, dtype=np.uint8).copy()))


default_generator = Generator()
"""The generator that random functions use when none is given."""


def manual_seed(seed: int) -> Generator:
    """Seed :data:`default_generator` (for repeatable runs); returns it, as PyTorch does."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed :data:`default_generator` from the operating system's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed :data:`default_generator` was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state():
    """:data:`default_generator`'s state (a uint8 tensor)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore :data:`default_generator`'s state from :func:`get_rng_state`."""
    default_generator.set_state(new_state)


def numpy_generator(generator) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``, or the default one when None."""
    if generator is None:
        return default_generator
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator: expected a fovea.Generator, got {type(generator).__name__}")
    return generator
