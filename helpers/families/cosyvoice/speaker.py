"""An x-vector speaker encoder in miniature (Snyder et al. 2018; notebook 07): time-delay (dilated 1-D convolution)
layers over the log-mel, statistics pooling (the mean and standard deviation over time) and a linear embedding,
trained to tell the training voices apart. CosyVoice conditions its language model and flow on such an embedding
(CAM++ there); the real GE2E encoder of :mod:`helpers.judges` judges the result, untrained here."""
from __future__ import annotations

import torch
from torch import nn

from .tokens import standardize


class SpeakerEncoder(nn.Module):
    """Mel ``(B, T, 80)`` → unit-length embedding ``(B, dim)``; ``classes`` are the directions of the ``speakers`` training voices."""

    def __init__(self, n_mels: int = 80, dim: int = 64, channels: int = 128, speakers: int = 60):
        super().__init__()
        layers, width = [], n_mels
        for kernel, dilation in ((5, 1), (3, 2), (3, 3)):
            layers += [nn.Conv1d(width, channels, kernel, dilation=dilation, padding=dilation * (kernel // 2)),
                       nn.ReLU(), nn.BatchNorm1d(channels)]
            width = channels
        self.frames = nn.Sequential(*layers, nn.Conv1d(channels, 2 * channels, 1), nn.ReLU())
        self.embed = nn.Linear(4 * channels, dim)
        self.classes = nn.Parameter(0.1 * torch.randn(speakers, dim))  # one direction per training voice

    def forward(self, mel: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        h = self.frames(standardize(mel).transpose(1, 2))  # (B, C, T)
        valid = (torch.arange(h.shape[2], device=h.device)[None, :] < frames[:, None]).unsqueeze(1).float()
        n = valid.sum(-1)
        mean = (h * valid).sum(-1) / n
        std = (((h - mean[..., None]) ** 2 * valid).sum(-1) / n).clamp(min=1e-6).sqrt()
        return nn.functional.normalize(self.embed(torch.cat([mean, std], -1)), dim=-1)

    def loss(self, mel, frames, speaker):
        """Cross-entropy over the training voices (scaled cosine logits, a normalised-softmax classifier)."""
        logits = 16.0 * self(mel, frames) @ nn.functional.normalize(self.classes, dim=-1).T
        loss = nn.functional.cross_entropy(logits, speaker)
        return loss, {"speaker_ce": loss.detach(), "speaker_accuracy": (logits.argmax(-1) == speaker).float().mean()}
