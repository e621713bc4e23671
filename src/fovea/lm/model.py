"""The character-level recurrent language model: embedding → RNN/LSTM/GRU → linear."""

from __future__ import annotations

import fovea.nn as nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class CharLM(nn.Module):
    """Scores of the next character at every step.

    Args:
        vocab_size: V (the model's characters plus ``<unk>``).
        hidden_size, num_layers, dropout: of the recurrent layers.
        cell: ``"lstm"``, ``"gru"`` or ``"rnn"`` (tanh).
        embedding_dim: size of each character's learned vector.

    Shapes: ``forward(ids (T, B) int64, state)`` → (logits (T, B, V), state), time-major
    (as the recurrent layers run fastest); ``state`` as the recurrent layer's (None: zeros).
    """

    def __init__(self, vocab_size: int, hidden_size: int = 256, num_layers: int = 2,
                 cell: str = "lstm", embedding_dim: int = 64, dropout: float = 0.0):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"CharLM: cell must be one of {sorted(CELLS)}, got {cell!r}")
        self.cell = cell
        self.embed = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = CELLS[cell](embedding_dim, hidden_size, num_layers,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state
