"""Character-level language models (lecture 10): the corpus, count-based n-gram baselines,
a recurrent model, training with truncated backpropagation through time, sampling, and the
cells' interpretability (``fovea lm``). See docs/recurrent.md."""

from fovea.lm.corpus import CharVocab, load_text, split_text, stdlib_corpus
from fovea.lm.model import CharLM
from fovea.lm.ngram import NGramModel

__all__ = ["CharVocab", "CharLM", "NGramModel", "load_text", "split_text", "stdlib_corpus"]
