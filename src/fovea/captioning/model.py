"""Image captioning: a CNN encoder and an LSTM decoder, optionally with soft attention.

The encoder is any convolutional ``fovea.models`` network cut before its pooling/classifier
head, giving a feature map (N, C, h, w). Its mean over positions, through a linear layer,
is the decoder's initial hidden state. Words are embedded and fed to the decoder with
teacher forcing (the true previous word); the loss is the temporal softmax loss, summed
over the real (non-``<NULL>``) words and divided by the batch size.

With ``attention=True`` ("show, attend and tell") each step also reads a context vector:
the softmax-weighted mean of the h·w feature vectors, weighted by how well each matches the
previous hidden state (scaled dot product after a learned projection); the decoder is then
an ``LSTMCell`` run step by step, and the weights are the attention maps.
"""

from __future__ import annotations

import fovea
import fovea.nn as nn
import fovea.nn.functional as F
from fovea.models import MODELS


class _ResNetFeatures(nn.Module):
    """A CIFAR ResNet without its pooling and classifier: (N, 3, H, W) → (N, 64, h, w)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        n = self.net
        return n.layer3(n.layer2(n.layer1(F.relu(n.bn1(n.conv1(x))))))


def build_encoder(name: str, image_size: int) -> nn.Module:
    """A ``fovea.models`` network as a feature extractor (its spatial feature map)."""
    if name not in MODELS:
        raise ValueError(f"caption: --encoder must be one of {sorted(MODELS)}, got {name!r}")
    net = MODELS[name](3, (image_size, image_size), 10)
    if isinstance(net, nn.Sequential):
        layers = list(net)
        cut = next((i for i, m in enumerate(layers) if isinstance(m, nn.Flatten)), None)
        if not cut:
            raise ValueError(f"caption: --encoder {name} has no convolutional feature map")
        return nn.Sequential(*layers[:cut])
    if hasattr(net, "layer3"):
        return _ResNetFeatures(net)
    raise ValueError(f"caption: --encoder {name} has no convolutional feature map")


class CaptionModel(nn.Module):
    """Encoder + word embedding + LSTM decoder (+ soft attention).

    Args:
        vocab_size: V (with ``<NULL>`` = 0, ``<START>`` = 1, ``<END>`` = 2).
        encoder: a module mapping (N, 3, S, S) to (N, C, h, w) (see :func:`build_encoder`).
        image_size: S, used once to find C, h and w.
        embed_dim, hidden_size: word vectors and decoder state.
        attention: soft attention over the h·w positions.
        freeze_encoder: keep the encoder's weights fixed (and in eval mode).
    """

    def __init__(self, vocab_size: int, encoder: nn.Module, image_size: int = 32,
                 embed_dim: int = 64, hidden_size: int = 256, attention: bool = False,
                 freeze_encoder: bool = False):
        super().__init__()
        self.encoder, self.attention = encoder, bool(attention)
        self.freeze_encoder = bool(freeze_encoder)
        with fovea.no_grad():
            encoder.eval()
            probe = encoder(fovea.zeros(1, 3, image_size, image_size))
            encoder.train()
        if probe.ndim != 4:
            raise ValueError(f"caption: the encoder must return (N, C, h, w), got shape "
                             f"{tuple(probe.shape)}")
        c = probe.shape[1]
        self.feature_shape = tuple(probe.shape[1:])
        if freeze_encoder:
            for p in encoder.parameters():
                p.requires_grad_(False)
        self.init_h = nn.Linear(c, hidden_size)
        self.embed = nn.Embedding(vocab_size, embed_dim)
        if self.attention:
            self.att_proj = nn.Linear(hidden_size, c)
            self.cell = nn.LSTMCell(embed_dim + c, hidden_size)
        else:
            self.lstm = nn.LSTM(embed_dim, hidden_size)
        self.head = nn.Linear(hidden_size, vocab_size)
        self.hidden_size = hidden_size

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()
        return self

    def encode(self, images):
        """(N, 3, S, S) → (features (N, h·w, C), h0 (N, H), c0 (N, H))."""
        f = self.encoder(images)
        n, c = f.shape[:2]
        feats = f.reshape(n, c, -1).transpose(1, 2)
        h0 = self.init_h(feats.mean(dim=1)).tanh()
        return feats, h0, fovea.zeros_like(h0)

    def attend(self, feats, h):
        """Soft attention: (context (N, C), weights (N, h·w))."""
        q = self.att_proj(h)  # (N, C)
        scores = (feats @ q.unsqueeze(2)).squeeze(2) / feats.shape[2] ** 0.5
        w = F.softmax(scores, dim=1)
        return (w.unsqueeze(2) * feats).sum(dim=1), w

    def step(self, feats, words, state):
        """One decoding step: words (N,) → (scores (N, V), state, attention weights or None)."""
        x = self.embed(words)
        h, c = state
        weights = None
        if self.attention:
            ctx, weights = self.attend(feats, h)
            h, c = self.cell(fovea.cat([x, ctx], 1), (h, c))
        else:
            out, (hn, cn) = self.lstm(x.unsqueeze(0), (h.unsqueeze(0), c.unsqueeze(0)))
            h, c = hn[0], cn[0]
        return self.head(h), (h, c), weights

    def forward(self, images, captions):
        """Teacher forcing: captions (N, L+2) int64 → scores (N, L+1, V) for words 1..L+1."""
        feats, h, c = self.encode(images)
        inputs = captions[:, :-1]
        if not self.attention:
            out, _ = self.lstm(self.embed(inputs.T), (h.unsqueeze(0), c.unsqueeze(0)))
            return self.head(out).transpose(0, 1)
        scores = []
        for t in range(inputs.shape[1]):
            s, (h, c), _ = self.step(feats, inputs[:, t], (h, c))
            scores.append(s)
        return fovea.stack(scores, 1)


def caption_loss(scores, captions, null: int = 0):
    """Temporal softmax loss: −Σ log p(true word) over non-``<NULL>`` targets, divided by N.

    scores (N, L+1, V); captions (N, L+2) (targets are captions[:, 1:]).
    """
    targets = captions[:, 1:]
    v = scores.shape[-1]
    total = F.cross_entropy(scores.reshape(-1, v), targets.reshape(-1), ignore_index=null,
                            reduction="sum")
    return total / scores.shape[0]
