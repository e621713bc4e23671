"""Decoding captions from a trained model: greedy, sampling and beam search.

Every decoder runs the whole batch at once and stops at ``<END>`` or ``max_length`` words.
Returns word ids (N, max_length) padded with ``<NULL>`` after ``<END>``, and with
``return_attention`` the attention weights (N, max_length, h·w) of each generated word.
"""

from __future__ import annotations

import numpy as np

import fovea

START, END, NULL = 1, 2, 0


def _check(max_length: int) -> None:
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"caption: max_length must be a positive integer, got {max_length!r}")


def greedy(model, images, max_length: int, return_attention: bool = False,
           temperature: float | None = None, generator: np.random.Generator | None = None):
    """The likeliest word at each step (or, with ``temperature``, a word drawn from the
    softmax of scores / temperature)."""
    _check(max_length)
    if temperature is not None and not temperature > 0:
        raise ValueError(f"caption: temperature must be positive, got {temperature}")
    model.eval()
    rng = generator if generator is not None else np.random.default_rng()
    with fovea.no_grad():
        feats, h, c = model.encode(images)
        n = images.shape[0]
        words = np.full(n, START, dtype=np.int64)
        out = np.full((n, max_length), NULL, dtype=np.int64)
        att = np.zeros((n, max_length, feats.shape[1]))
        done = np.zeros(n, dtype=bool)
        state = (h, c)
        for t in range(max_length):
            scores, state, w = model.step(feats, fovea.tensor(words), state)
            z = scores.numpy().astype(np.float64)
            z[:, [NULL, START]] = -np.inf
            if temperature is None:
                words = z.argmax(1)
            else:
                p = np.exp((z - z.max(1, keepdims=True)) / temperature)
                p /= p.sum(1, keepdims=True)
                words = (p.cumsum(1) > rng.random((n, 1))).argmax(1)
            out[~done, t] = words[~done]
            if w is not None:
                att[:, t] = w.numpy()
            done |= words == END
            if done.all():
                break
    return (out, att) if return_attention else out


def beam_search(model, images, max_length: int, beam_size: int = 3,
                return_attention: bool = False):
    """Keep the ``beam_size`` likeliest partial captions (sum of log-probabilities); a
    finished caption (at ``<END>``) keeps its score and competes with the open ones."""
    _check(max_length)
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"caption: beam_size must be a positive integer, got {beam_size!r}")
    model.eval()
    k = beam_size
    with fovea.no_grad():
        feats, h, c = model.encode(images)
        n, p = images.shape[0], feats.shape[1]
        rep = np.repeat(np.arange(n), k)
        feats_k = feats[fovea.tensor(rep)]
        state = (h[fovea.tensor(rep)], c[fovea.tensor(rep)])
        scores = np.zeros((n, k))
        scores[:, 1:] = -np.inf  # all beams start identical: keep one
        seqs = np.full((n, k, max_length), NULL, dtype=np.int64)
        atts = np.zeros((n, k, max_length, p))
        done = np.zeros((n, k), dtype=bool)
        words = np.full(n * k, START, dtype=np.int64)
        for t in range(max_length):
            logits, state, w = model.step(feats_k, fovea.tensor(words), state)
            z = logits.numpy().astype(np.float64)
            z[:, [NULL, START]] = -np.inf
            logp = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
            v = logp.shape[1]
            logp = logp.reshape(n, k, v)
            # a finished beam continues only with <NULL> at no cost
            logp[done] = -np.inf
            logp[done, NULL] = 0.0
            total = (scores[:, :, None] + logp).reshape(n, k * v)
            best = np.argsort(-total, axis=1, kind="stable")[:, :k]
            src, words_nk = best // v, best % v
            scores = np.take_along_axis(total, best, 1)
            rows = np.arange(n)[:, None]
            seqs = seqs[rows, src]
            atts = atts[rows, src]
            done = done[rows, src]
            seqs[:, :, t] = np.where(done, NULL, words_nk)
            if w is not None:
                atts[:, :, t] = w.numpy().reshape(n, k, p)[rows, src]
            done = done | (words_nk == END)
            flat = (rows * k + src).reshape(-1)
            state = tuple(s[fovea.tensor(flat)] for s in state)
            words = np.where(done, END, words_nk).reshape(-1)
            if done.all():
                break
        top = scores.argmax(1)
        out = seqs[np.arange(n), top]
        att = atts[np.arange(n), top]
    return (out, att) if return_attention else out
