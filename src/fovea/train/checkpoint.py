"""Checkpoints: model weights as safetensors (PyTorch key names) plus the whole training state,
written atomically so that a crash or Ctrl-C never leaves a half-written checkpoint.

Layout of a run directory::

    RUN/checkpoints/epoch-0003/model.safetensors      weights after epoch 3
    RUN/checkpoints/epoch-0003/best.safetensors       best-validation weights so far
    RUN/checkpoints/epoch-0003/optimizer.safetensors  optimizer state arrays
    RUN/checkpoints/epoch-0003/state.json             epoch, history, RNG, scheduler, config
    RUN/checkpoints/LATEST                            "epoch-0003" (replaced atomically)

A checkpoint directory is complete before ``LATEST`` points at it; the previous one is
removed only afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from pathlib import Path

import numpy as np

from fovea.tensor import Tensor


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated or belongs to a different model."""


def _temporary(parent: Path, prefix: str, make) -> Path:
    """Create a new uniquely named temporary entry in ``parent`` with ``make(path)``.

    ``make`` creates with ``O_EXCL`` / ``mkdir`` (which fail if the name exists), so the name
    is claimed atomically even across processes, and with mode 0o666 / 0o777: the kernel
    applies the user's umask, unlike ``tempfile`` (which forces 0600 / 0700).
    """
    for _ in range(100):
        path = parent / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            return make(path)
        except FileExistsError:
            continue
    raise FileExistsError(f"{parent}: cannot create a temporary name for {prefix!r}")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory + rename.

    The file gets the permissions of a plain ``open(path, "w")`` (0o666 less the umask). An
    ``OSError`` while writing (disk full: ``ENOSPC``) names ``path`` and leaves the previous
    content of ``path`` untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fds: list[int] = []

        def make(p: Path) -> Path:
            fds.append(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return p

        tmp = _temporary(path.parent, f".{path.name}.", make)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        try:
            _write_all(fds[0], data)
            os.fsync(fds[0])
        finally:
            os.close(fds[0])
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _naming(exc, path) from None
        raise


def _naming(exc: OSError, path: Path) -> OSError:
    """``exc`` with ``path`` as its file name: "[Errno 28] No space left on device: 'p'"."""
    if exc.errno is None:
        return OSError(f"{path}: {exc}")
    return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def make_temporary_dir(parent, prefix: str) -> Path:
    """A new, uniquely named directory in ``parent`` (mode 0o777 less the umask)."""
    parent = _mkdir(Path(parent))

    def make(p: Path) -> Path:
        os.mkdir(p, 0o777)
        return p

    return _temporary(parent, prefix, make)


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def save_weights(state_dict: dict, path, metadata: dict | None = None) -> None:
    """Save a state dict (name -> Tensor/array) as a safetensors file, atomically."""
    from safetensors.numpy import save

    arrays = {}
    for k, v in state_dict.items():
        a = _host(v._data if isinstance(v, Tensor) else v)
        # NOTE: not np.ascontiguousarray, which turns 0-d arrays (num_batches_tracked) into 1-d.
        arrays[k] = a if a.flags.c_contiguous else a.copy(order="C")
    meta = {k: str(v) for k, v in (metadata or {}).items()}
    atomic_write_bytes(path, save(arrays, metadata=meta or None))


def _host(a) -> np.ndarray:
    """An array's values on the host (a GPU array is copied; NumPy's is returned as is)."""
    if type(a) is np.ndarray:
        return a
    from fovea import backends

    return np.asarray(backends.for_array(a).to_host(a)) if backends.is_array(a) else np.asarray(a)


def load_weights(path) -> dict[str, np.ndarray]:
    """Read a safetensors file into ``{name: array}``, with a clear error if it is broken."""
    from safetensors.numpy import load

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        return load(path.read_bytes())
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc}); the file is "
                              "truncated or corrupt") from None


def load_model_weights(model, path) -> None:
    """Load weights into ``model``; a checkpoint of a different model gets a clear error."""
    weights = load_weights(path)
    try:
        model.load_state_dict(weights)
    except ValueError as exc:
        raise CheckpointError(f"{path}: does not fit this model: {exc}") from None


def _optimizer_arrays(opt_state: dict) -> tuple[dict, dict]:
    """Split an optimizer state dict into arrays (for safetensors) and JSON-able rest."""
    arrays, meta = {}, {}
    for idx, st in opt_state["state"].items():
        meta[str(idx)] = {}
        for k, v in st.items():
            if isinstance(v, Tensor | np.ndarray):
                arrays[f"{idx}.{k}"] = _host(v._data if isinstance(v, Tensor) else v)
            else:
                meta[str(idx)][k] = v.item() if isinstance(v, np.generic) else v
    return arrays, {"state": meta, "param_groups": opt_state["param_groups"]}


def _optimizer_state(arrays: dict, meta: dict) -> dict:
    state: dict = {}
    for idx, scalars in meta["state"].items():
        state[int(idx)] = dict(scalars)
    for key, arr in arrays.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = arr.copy()
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(run_dir, epoch: int, model, optimizer, best_state: dict | None,
                    state: dict, extra: dict | None = None) -> Path:
    """Write the checkpoint after ``epoch`` and point ``LATEST`` at it (then drop the older).

    ``extra`` maps names to more state dicts (e.g. ``{"ema": ...}``), each saved as
    ``NAME.safetensors`` beside the model."""
    root = Path(run_dir) / "checkpoints"
    name = f"epoch-{epoch:04d}"
    tmp_dir = make_temporary_dir(root, f".{name}.")
    try:
        save_weights(model.state_dict(), tmp_dir / "model.safetensors")
        if best_state is not None:
            save_weights(best_state, tmp_dir / "best.safetensors")
        for key, sd in (extra or {}).items():
            save_weights(sd, tmp_dir / f"{key}.safetensors")
        opt_arrays, opt_meta = _optimizer_arrays(optimizer.state_dict())
        save_weights(opt_arrays, tmp_dir / "optimizer.safetensors")
        state = dict(state, epoch=epoch, optimizer=opt_meta)
        atomic_write_text(tmp_dir / "state.json", json.dumps(state, indent=1, default=_json))
        final = root / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp_dir, final)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    previous = read_latest(run_dir)
    atomic_write_text(root / "LATEST", name)
    if previous is not None and previous.name != name:
        shutil.rmtree(previous, ignore_errors=True)
    return final


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p


def _json(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot serialise {type(o).__name__} in a checkpoint")


def read_latest(run_dir) -> Path | None:
    """The directory of the latest complete checkpoint, or None if there is none."""
    root = Path(run_dir) / "checkpoints"
    latest = root / "LATEST"
    if not latest.is_file():
        return None
    path = root / latest.read_text().strip()
    return path if path.is_dir() else None


def load_checkpoint(run_dir) -> dict:
    """Read the latest checkpoint of a run: weights, best weights, optimizer state, state."""
    path = read_latest(run_dir)
    if path is None:
        raise CheckpointError(f"{run_dir}: no checkpoint to resume from (no "
                              f"{Path(run_dir) / 'checkpoints' / 'LATEST'})")
    state_file = path / "state.json"
    try:
        state = json.loads(state_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{state_file}: unreadable training state ({exc})") from None
    out = {"state": state, "model": load_weights(path / "model.safetensors"), "path": path}
    best = path / "best.safetensors"
    out["best"] = load_weights(best) if best.exists() else None
    out["extra"] = {p.stem: load_weights(p) for p in sorted(path.glob("*.safetensors"))
                    if p.stem not in ("model", "best", "optimizer")}
    out["optimizer"] = _optimizer_state(load_weights(path / "optimizer.safetensors"),
                                        state["optimizer"])
    return out
