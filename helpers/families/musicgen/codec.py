"""The zoo's codec for notebook 09: a transformers ``EncodecModel`` built from a small config — EnCodec's
convolutional encoder and decoder with an LSTM, at 16 kHz, 50 frames a second (hop 320 = 8·5·4·2), 4 codebooks of
256 codewords (1.6 kbit/s) — trained here with :class:`helpers.families.musicgen.rvq.ResidualVQ` in place of its
inference-only quantizer, on reconstruction losses alone: the waveform's L1 and the L1 of log-mels at three
resolutions (EnCodec adds adversarial losses and a loss balancer). Without a discriminator the log-mel alone does not
hold the tones: its bands are wider than a semitone below 1 kHz and it is blind to phase, and a decoder trained on it
smears the notes into noise; a heavy waveform L1 (weight 10, measured in the recipe) keeps them clean. MusicGen's
real codec: 32 kHz, 50 frames a second, 4 codebooks of 2048 (2.2 kbit/s).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ...signal.features import mel_filterbank
from .rvq import ResidualVQ

SAMPLE_RATE = 16_000
MINI = dict(sampling_rate=SAMPLE_RATE, audio_channels=1, num_filters=16, hidden_size=64, num_residual_layers=1,
            upsampling_ratios=[8, 5, 4, 2], num_lstm_layers=1, codebook_size=256, target_bandwidths=[0.4, 0.8, 1.6],
            use_causal_conv=False, normalize=False, chunk_length_s=None, overlap=None)
MEL_SCALES = (512, 1024, 2048)  # n_fft of the three log-mel losses (hop n_fft/4, 64 bands)
WAVEFORM_WEIGHT = 10.0  # of the waveform L1 against the log-mel L1 (see the module's docstring)


def build(seed: int = 0, **changes):
    """A random-initialised codec (``EncodecModel``) of :data:`MINI`'s config with ``changes``, its codebooks
    random too (standard normal, from ``seed``): transformers initialises them to zeros, and a codec whose codewords
    are all zero decodes silence whatever the codes (``model_id="scratch"``, the planted hub checkpoint). A trained
    codec's codebooks are the recipe's, exported over these."""
    from transformers import EncodecConfig, EncodecModel

    torch.manual_seed(seed)
    codec = EncodecModel(EncodecConfig(**{**MINI, **changes}))
    # transformers 5.23 initialises EnCodec so that what depends on the input fades layer by layer under the biases
    # (measured: its spread across clips falls from 0.11 after the first convolution to 0.0008 at the encoder's
    # output), and a codec trained from there learns nothing in a thousand steps. Every weight-normed convolution is
    # given filters of norm 1 and no bias: the encoder's output then spreads 0.3 across clips, the decoder's 0.13.
    with torch.no_grad():
        for name, parameter in codec.named_parameters():
            if name.endswith("weight.original0"):  # weight norm's magnitude g
                parameter.fill_(1.0)
            elif name.endswith("bias") and "lstm" not in name:
                parameter.zero_()
        generator = torch.Generator().manual_seed(seed)  # its own: the recipe's random draws stay as they were
        for layer in codec.quantizer.layers:
            layer.codebook.embed.copy_(torch.randn(layer.codebook.embed.shape, generator=generator))
    return codec


def bitrate(frame_rate: float, codebooks: int, codebook_size: int) -> float:
    """Bits per second of a codec's codes: frames per second × codebooks × log2(codebook size)."""
    return frame_rate * codebooks * math.log2(codebook_size)


class MelLoss(nn.Module):
    """Mean L1 distance of log-mels (64 bands, natural log of power + 1e-5) at the n_ffts of :data:`MEL_SCALES`."""

    def __init__(self, sr: int = SAMPLE_RATE, scales=MEL_SCALES):
        super().__init__()
        self.scales = tuple(scales)
        for n_fft in self.scales:
            self.register_buffer(f"mel_{n_fft}", torch.tensor(mel_filterbank(sr, n_fft, 64), dtype=torch.float32),
                                 persistent=False)
            self.register_buffer(f"window_{n_fft}", torch.hann_window(n_fft), persistent=False)

    def log_mel(self, y: torch.Tensor, n_fft: int) -> torch.Tensor:
        spectrum = torch.stft(y, n_fft, n_fft // 4, window=getattr(self, f"window_{n_fft}"), return_complex=True)
        return torch.log(getattr(self, f"mel_{n_fft}") @ spectrum.abs().pow(2) + 1e-5)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum((self.log_mel(estimate, n) - self.log_mel(target, n)).abs().mean() for n in self.scales) / len(
            self.scales)


class Autoencoder(nn.Module):
    """The codec in training: ``forward(audio (B, samples), stage=...)`` → ``(loss, parts)`` for the zoo's engine:
    the encoder, the RVQ, the decoder, and the losses (``mel`` + ``waveform_weight``·L1 +
    ``commitment_weight``·commitment)."""

    def __init__(self, codec, waveform_weight: float = WAVEFORM_WEIGHT, commitment_weight: float = 1.0,
                 quantizer_dropout: float = 0.5):
        super().__init__()
        config = codec.config
        self.encoder, self.decoder = codec.encoder, codec.decoder
        self.rvq = ResidualVQ(config.num_quantizers, config.codebook_size, config.codebook_dim,
                              dropout=quantizer_dropout)
        self.mel_loss = MelLoss(config.sampling_rate)
        self.waveform_weight, self.commitment_weight = waveform_weight, commitment_weight

    def reconstruct(self, audio: torch.Tensor, n: int | None = None):
        quantized, codes, commitment = self.rvq(self.encoder(audio[:, None]), n)
        return self.decoder(quantized)[:, 0, : audio.shape[-1]], codes, commitment

    def forward(self, audio: torch.Tensor, stage=None):
        estimate, _, commitment = self.reconstruct(audio)
        mel = self.mel_loss(estimate, audio)
        waveform = (estimate - audio).abs().mean()
        loss = mel + self.waveform_weight * waveform + self.commitment_weight * commitment
        return loss, {"mel_l1": mel.detach(), "waveform_l1": waveform.detach(), "commitment": commitment.detach()}

    def export(self, codec):
        """Writes the trained codebooks into ``codec``'s quantizer (the encoder and decoder are ``codec``'s own)."""
        self.rvq.export(codec.quantizer)
        return codec


@torch.no_grad()
def encode(codec, audio, n: int | None = None) -> torch.Tensor:
    """Codes ``(B, n, frames)`` of ``audio`` ``(B, samples)`` or a list of equal-length clips, with the first ``n``
    codebooks (default all), through transformers' ``EncodecModel.encode``. The first ``n`` codes of residual
    quantization do not depend on the later codebooks, so the codes are taken at the codec's full bandwidth and cut:
    transformers 5.23 accepts only the bandwidths of ``config.target_bandwidths`` (MusicGen's EnCodec: 2.2 kbit/s)."""
    audio = torch.as_tensor(np.asarray(audio), dtype=torch.float32)
    n = n or codec.config.num_quantizers
    if not 1 <= n <= codec.config.num_quantizers:
        raise ValueError(f"n={n!r}: this codec has {codec.config.num_quantizers} codebooks")
    return codec.encode(audio[:, None], bandwidth=max(codec.config.target_bandwidths)).audio_codes[0][:, :n]


@torch.no_grad()
def decode(codec, codes: torch.Tensor, samples: int | None = None) -> np.ndarray:
    """Audio ``(B, samples)`` decoded from codes ``(B, n, frames)`` through transformers' ``EncodecModel.decode``."""
    audio = codec.decode(codes[None], [None]).audio_values[:, 0]
    return audio[:, :samples].numpy() if samples else audio.numpy()
