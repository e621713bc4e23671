"""BLEU-1..4 of generated captions against their references, with nltk's ``corpus_bleu``.

nltk is an optional dependency: ``pip install 'fovea[caption]'``.
"""

from __future__ import annotations

import warnings

from fovea.data.shapes_captions import tokenize
from fovea.errors import UserError


class NLTKMissing(UserError, ImportError):
    """nltk is not installed: one line with how to install it (``fovea caption`` exits 2)."""

def require_nltk():
    """nltk's ``corpus_bleu``, or :class:`NLTKMissing` with how to install it."""
    try:
        from nltk.translate.bleu_score import corpus_bleu
    except ImportError:
        raise NLTKMissing("caption: BLEU needs nltk; install it with pip install "
                          "'fovea[caption]' (or pip install nltk)") from None
    return corpus_bleu


WEIGHTS = {1: (1.0,), 2: (0.5, 0.5), 3: (1 / 3, 1 / 3, 1 / 3), 4: (0.25, 0.25, 0.25, 0.25)}


def corpus_bleu_scores(references: list[list[str]], hypotheses: list[str]) -> dict[str, float]:
    """{"bleu1": ..., "bleu4": ...}: corpus-level BLEU-n (uniform n-gram weights, nltk's
    brevity penalty, no smoothing) of ``hypotheses`` (one caption per image) against
    ``references`` (a list of captions per image)."""
    corpus_bleu = require_nltk()
    if len(references) != len(hypotheses):
        raise ValueError(f"bleu: {len(references)} reference lists but {len(hypotheses)} "
                         "hypotheses")
    refs = [[tokenize(r) for r in rs] for rs in references]
    hyps = [tokenize(h) for h in hypotheses]
    with warnings.catch_warnings():  # nltk warns when an n-gram order has no match (BLEU 0)
        warnings.simplefilter("ignore", UserWarning)
        return {f"bleu{n}": float(corpus_bleu(refs, hyps, weights=w))
                for n, w in WEIGHTS.items()}
