"""Interpretable cells (lecture 10): which units of a character model track what.

:func:`cell_activations` runs a trained model over a text one character at a time and keeps
each step's cell state (an LSTM's c_t, squashed with tanh; the hidden state of a GRU or
RNN). :func:`text_features` computes, per character, what a cell might track: being inside
a string literal, the current line's indentation, the position in the line. :func:`search`
ranks cells by the absolute correlation of their activation with each feature, and
:func:`render_html` / :func:`render_png` colour every character by one cell's activation.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

import fovea

FEATURES = ("in_quote", "indentation", "line_position")


def cell_activations(model, ids: np.ndarray, layer: int | None = None) -> np.ndarray:
    """(len(ids), H): the chosen layer's cell after reading each character."""
    layers = model.rnn.num_layers
    layer = layers - 1 if layer is None else layer
    if not 0 <= layer < layers:
        raise IndexError(f"lm cells: --layer {layer} is out of range for a model with "
                         f"{layers} layers")
    model.eval()
    state, rows = None, []
    with fovea.no_grad():
        for i in ids:
            _, state = model(fovea.tensor(np.array([[i]], dtype=np.int64)), state)
            if isinstance(state, tuple):
                rows.append(np.tanh(state[1][layer, 0].numpy()))
            else:
                rows.append(state[layer, 0].numpy())
    return np.stack(rows).astype(np.float64) if rows else np.zeros((0, 0))


def text_features(text: str) -> dict[str, np.ndarray]:
    """Per character: inside a '…' or "…" literal (1/0; reset at each newline), the current
    line's count of leading spaces, the character's position in its line."""
    n = len(text)
    in_quote, indent, pos = np.zeros(n), np.zeros(n), np.zeros(n)
    quote, col, lead, leading = None, 0, 0, True
    for i, ch in enumerate(text):
        if ch == "\n":
            quote, col, lead, leading = None, 0, 0, True
            continue
        if leading and ch == " ":
            lead += 1
        else:
            leading = False
        if quote is None and ch in "'\"":
            quote = ch
        elif quote is not None and ch == quote:
            quote = None
            in_quote[i] = 1  # the closing quote is still part of the literal
        in_quote[i] = max(in_quote[i], quote is not None)
        col += 1
        indent[i], pos[i] = lead, col
    return {"in_quote": in_quote, "indentation": indent, "line_position": pos}


def search(acts: np.ndarray, features: dict[str, np.ndarray], top: int = 3) -> dict:
    """For each feature, the ``top`` cells by |Pearson correlation| as (cell, r) pairs."""
    a = acts - acts.mean(0)
    a_norm = np.sqrt((a * a).sum(0))
    result = {}
    for name, f in features.items():
        fc = f - f.mean()
        denom = a_norm * np.sqrt((fc * fc).sum())
        r = np.divide(fc @ a, denom, out=np.zeros(acts.shape[1]), where=denom > 0)
        order = np.argsort(-np.abs(r))[:top]
        result[name] = [(int(c), float(r[c])) for c in order]
    return result


def _rgb(v: float) -> tuple[int, int, int]:
    """Blue (−1) through white (0) to red (+1)."""
    v = float(np.clip(v, -1, 1))
    if v >= 0:
        return 255, int(255 * (1 - v)), int(255 * (1 - v))
    return int(255 * (1 + v)), int(255 * (1 + v)), 255


def _colour(v: float) -> str:
    return "rgb({},{},{})".format(*_rgb(v))


def render_html(text: str, values: np.ndarray, title: str) -> str:
    """A page with every character on a background coloured by its value in [−1, 1]."""
    spans = []
    for ch, v in zip(text, values):
        shown = "↵\n" if ch == "\n" else html.escape(ch)
        spans.append(f'<span style="background:{_colour(v)}">{shown}</span>')
    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<h3>{html.escape(title)}</h3><pre style='font:13px monospace'>"
            + "".join(spans) + "</pre>\n")


def render_png(text: str, values: np.ndarray, title: str, path) -> None:
    """The same as an image: a character grid, one coloured box per character."""
    from fovea.train.report import _figure, _save

    plt = _figure()
    lines, row, col, cells = 1, 0, 0, []
    for ch, v in zip(text, values):
        cells.append((row, col, ch, v))
        col += 1
        if ch == "\n":
            row, col = row + 1, 0
            lines += 1
    width = max((c for _, c, _, _ in cells), default=0) + 1
    fig, ax = plt.subplots(figsize=(max(4, width * 0.11), max(2, lines * 0.2)))
    for r, c, ch, v in cells:
        ax.add_patch(plt.Rectangle((c, -r - 1), 1, 1, color=tuple(x / 255 for x in _rgb(v))))
        if ch.strip():
            ax.text(c + 0.5, -r - 0.5, ch, ha="center", va="center", fontsize=7,
                    family="monospace")
    ax.set_xlim(0, width)
    ax.set_ylim(-lines, 0)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    _save(fig, path)


def run_cells(run_dir, text_file=None, chars: int = 2000, cell: int | None = None,
              layer: int | None = None, out="cells.html") -> list[str]:
    """``fovea lm cells``: search the cells, render one (or the best of each feature)."""
    from fovea.lm.corpus import load_text
    from fovea.lm.train import held_out_text, load_lm

    model, vocab, info = load_lm(run_dir)
    text = load_text(text_file, chars) if text_file else held_out_text(info)[:chars]
    ids = vocab.encode(text, strict=True, what="the text")
    acts = cell_activations(model, ids, layer)
    if cell is not None and not 0 <= cell < acts.shape[1]:
        raise IndexError(f"lm cells: --cell {cell} is out of range for {acts.shape[1]} cells")
    found = search(acts, text_features(text))
    lines = [f"{name}: " + ", ".join(f"cell {c} (r = {r:+.2f})" for c, r in cells)
             for name, cells in found.items()]
    shown = [cell] if cell is not None else list(dict.fromkeys(v[0][0] for v in found.values()))
    out = Path(out)
    if out.suffix.lower() == ".png":
        for c in shown:
            path = out if len(shown) == 1 else out.with_name(f"{out.stem}-{c}{out.suffix}")
            render_png(text, acts[:, c], f"cell {c}", path)
            lines.append(f"cell {c} written to {path}")
    elif out.suffix.lower() in (".html", ".htm"):
        pages = [render_html(text, acts[:, c], f"cell {c}: " + ", ".join(
            f"{n} r = {r:+.2f}" for n, cs in found.items() for cc, r in cs if cc == c))
            for c in shown]
        from fovea.train.checkpoint import atomic_write_text

        atomic_write_text(out, "\n".join(pages))
        lines.append(f"cells {', '.join(map(str, shown))} written to {out}")
    else:
        raise ValueError(f"lm cells: --out must end in .html or .png, got {out}")
    return lines
