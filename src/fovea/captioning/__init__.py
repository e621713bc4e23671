"""Image captioning (lecture 10): a CNN encoder, an LSTM decoder with optional soft
attention, greedy/sampled/beam decoding, BLEU, training runs (``fovea caption``).
See docs/recurrent.md."""

from fovea.captioning.decode import beam_search, greedy
from fovea.captioning.model import CaptionModel, build_encoder, caption_loss

__all__ = ["CaptionModel", "beam_search", "build_encoder", "caption_loss", "greedy"]
