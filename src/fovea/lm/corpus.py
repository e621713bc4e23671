"""Text for a character-level language model: files, Python's standard library, a vocabulary.

With no text of its own, fovea trains on the source files of the Python standard library
that runs it (every machine with Python has them): a few MB of real, structured text, in the
spirit of the well-known experiment on the Linux kernel's source.
"""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import numpy as np

_SKIP_DIRS = {"test", "tests", "site-packages", "dist-packages", "idlelib", "__pycache__"}


def stdlib_files() -> list[Path]:
    """The standard library's ``.py`` files (test suites and installed packages left out),
    in a fixed order (sorted paths), so the corpus is the same on every run."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = []
    for here, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]  # never walk the test suites
        files += [Path(here) / n for n in names if n.endswith(".py")]
    files.sort()
    if not files:
        raise FileNotFoundError(f"lm: no standard-library sources found under {root}")
    return files


def stdlib_corpus(max_chars: int | None = 3_000_000) -> str:
    """The standard library's sources, concatenated (up to ``max_chars`` characters)."""
    parts, total = [], 0
    for f in stdlib_files():
        try:
            text = f.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        parts.append(text)
        total += len(text)
        if max_chars is not None and total >= max_chars:
            break
    text = "".join(parts)
    return text if max_chars is None else text[:max_chars]


def load_text(path, max_chars: int | None = None) -> str:
    """A UTF-8 text file (undecodable bytes replaced); an empty file is an error."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"lm: --text {p}: no such file")
    text = p.read_text(encoding="utf-8", errors="replace")
    if max_chars is not None:
        text = text[:max_chars]
    if len(text) < 2:
        raise ValueError(f"lm: --text {p} is empty (a language model needs at least 2 "
                         f"characters, got {len(text)})")
    return text


def split_text(text: str, val_fraction: float = 0.05) -> tuple[str, str]:
    """(train, held-out): the held-out text is the last ``val_fraction`` of ``text``, one
    contiguous piece, so that no window of it was seen in training."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"lm: val_fraction must be in (0, 1), got {val_fraction}")
    cut = int(round(len(text) * (1 - val_fraction)))
    if cut < 1 or cut >= len(text):
        raise ValueError(f"lm: the text ({len(text)} characters) is too short to hold out "
                         f"{val_fraction:.0%} of it")
    return text[:cut], text[cut:]


class CharVocab:
    """The characters of a training text; index ``len(chars)`` is unknown (``<unk>``) for
    held-out characters never seen in training."""

    def __init__(self, chars):
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("CharVocab: characters must be distinct")
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars) + 1  # + <unk>

    @property
    def unk(self) -> int:
        return len(self.chars)

    def encode(self, text: str, strict: bool = False, what: str = "text") -> np.ndarray:
        """int64 indices; unseen characters become ``unk`` (``strict``: an error naming them)."""
        if strict:
            missing = sorted({c for c in text if c not in self.index})
            if missing:
                raise ValueError(f"lm: {what} contains characters not in the model's vocabulary: "
                                 f"{''.join(missing)!r}")
        get = self.index.get
        return np.fromiter((get(c, self.unk) for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[i] if i < len(self.chars) else "\ufffd" for i in ids)
