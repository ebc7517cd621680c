"""Small acoustic models for CTC speech recognition: convolutional subsampling, then a BiLSTM or a Conformer.

Used by 03 (trained there on the synthetic corpus) and the later ASR notebooks. Inputs are log-mel features
``(batch, frames, n_mels)`` with their lengths; outputs are log-probabilities ``(batch, frames/4, vocab)`` with
the subsampled lengths, the shapes ``torch.nn.functional.ctc_loss`` wants (after a transpose).

- :class:`BiLSTMCTC` — in the spirit of Graves & Jaitly (2014): a deep bidirectional LSTM over the spectrogram,
  with the 4× convolutional subsampling of modern recipes in front (fewer, richer frames: faster and better).
- :class:`ConformerCTC` — Gulati et al. (2020): macaron feed-forward, self-attention and a convolution module
  per block, as in WeNet's U2 / Conformer-CTC (here with absolute sinusoidal positions instead of relative ones).
"""
from __future__ import annotations

import math

import torch
from torch import nn

MODELS = ("lstm", "conformer")


def log_mel_features(audio, sample_rate: int = 16_000, n_mels: int = 80) -> torch.Tensor:
    """ASR input features: log-mel (25 ms windows every 10 ms, from :func:`helpers.log_mel`), normalised per
    utterance to zero mean and unit variance, as a ``(frames, n_mels)`` float tensor."""
    from .features import log_mel

    S = log_mel(audio, sample_rate, n_fft=int(0.025 * sample_rate), hop_length=int(0.01 * sample_rate),
                n_mels=n_mels)
    S = (S - S.mean()) / (S.std() + 1e-5)
    return torch.tensor(S.T, dtype=torch.float32)


def subsampled_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Frame counts after two stride-2 convolutions (kernel 3, padding 1)."""
    return (lengths - 1) // 2 // 2 + 1


class ConvSubsampling(nn.Module):
    """Two stride-2 3×3 convolutions over (time, mel): 4× fewer frames, then a linear projection to ``d_model``."""

    def __init__(self, n_mels: int, d_model: int, channels: int = 16):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, channels, 3, 2, 1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, 2, 1), nn.ReLU())
        freq = (n_mels - 1) // 2 // 2 + 1
        self.project = nn.Sequential(nn.Linear(channels * freq, d_model), nn.LayerNorm(d_model))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        x = self.conv(x.unsqueeze(1))  # (B, C, T/4, F/4)
        b, c, t, f = x.shape
        return self.project(x.transpose(1, 2).reshape(b, t, c * f)), subsampled_lengths(lengths)


class BiLSTMCTC(nn.Module):
    """Conv subsampling → ``layers`` bidirectional LSTM layers → linear → log-softmax over ``vocab_size``.

    Padded frames are processed like real ones (no packing: twice as fast on a CPU); batches of similar
    lengths (:func:`helpers.length_batches`) keep the padding to a few frames, and decoding one utterance at a
    time has none.
    """

    def __init__(self, n_mels: int, vocab_size: int, d_model: int = 128, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.subsample = ConvSubsampling(n_mels, d_model)
        self.rnn = nn.LSTM(d_model, d_model, num_layers=layers, bidirectional=True, batch_first=True,
                           dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(2 * d_model, vocab_size)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor):
        x, lengths = self.subsample(features, lengths)
        x, _ = self.rnn(x)
        return self.head(x).log_softmax(dim=-1), lengths


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """The Transformer's fixed positions: sin/cos of position × geometric frequencies, ``(length, d_model)``."""
    position = torch.arange(length).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class ConformerBlock(nn.Module):
    """½·FFN → multi-head self-attention → convolution module → ½·FFN → LayerNorm, each with a residual."""

    def __init__(self, d_model: int, heads: int = 4, kernel_size: int = 15, dropout: float = 0.1):
        super().__init__()

        def feed_forward():
            return nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, 4 * d_model), nn.SiLU(),
                                 nn.Dropout(dropout), nn.Linear(4 * d_model, d_model), nn.Dropout(dropout))

        self.ff1, self.ff2 = feed_forward(), feed_forward()
        self.attention_norm = nn.LayerNorm(d_model)
        self.attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.conv_norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Conv1d(d_model, 2 * d_model, 1)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel_size, padding=kernel_size // 2, groups=d_model)
        self.batch_norm = nn.BatchNorm1d(d_model)
        self.pointwise_out = nn.Conv1d(d_model, d_model, 1)
        self.dropout = nn.Dropout(dropout)
        self.final_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        h = self.attention_norm(x)
        x = x + self.dropout(self.attention(h, h, h, key_padding_mask=padding, need_weights=False)[0])
        h = nn.functional.glu(self.pointwise_in(self.conv_norm(x).transpose(1, 2)), dim=1)  # (B, d, T)
        h = h.masked_fill(padding.unsqueeze(1), 0.0)  # padded frames must not leak into the depthwise conv
        h = self.pointwise_out(nn.functional.silu(self.batch_norm(self.depthwise(h))))
        x = x + self.dropout(h.transpose(1, 2))
        return self.final_norm(x + 0.5 * self.ff2(x))


class ConformerCTC(nn.Module):
    """Conv subsampling → sinusoidal positions → ``layers`` Conformer blocks → linear → log-softmax."""

    def __init__(self, n_mels: int, vocab_size: int, d_model: int = 96, layers: int = 3, heads: int = 4,
                 kernel_size: int = 15, dropout: float = 0.1):
        super().__init__()
        self.subsample = ConvSubsampling(n_mels, d_model)
        self.blocks = nn.ModuleList(ConformerBlock(d_model, heads, kernel_size, dropout) for _ in range(layers))
        self.head = nn.Linear(d_model, vocab_size)
        self.d_model = d_model

    def forward(self, features: torch.Tensor, lengths: torch.Tensor):
        x, lengths = self.subsample(features, lengths)
        x = x + sinusoidal_positions(x.shape[1], self.d_model).to(x)
        padding = torch.arange(x.shape[1], device=x.device)[None, :] >= lengths[:, None]
        for block in self.blocks:
            x = block(x, padding)
        return self.head(x).log_softmax(dim=-1), lengths


def build_ctc_model(kind: str, n_mels: int, vocab_size: int, **sizes) -> nn.Module:
    """``kind="lstm"`` → :class:`BiLSTMCTC`, ``"conformer"`` → :class:`ConformerCTC` (sizes passed through)."""
    if kind == "lstm":
        return BiLSTMCTC(n_mels, vocab_size, **sizes)
    if kind == "conformer":
        return ConformerCTC(n_mels, vocab_size, **sizes)
    raise ValueError(f"unknown model {kind!r}; choose one of {MODELS}")
