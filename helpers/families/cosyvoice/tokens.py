"""Supervised semantic speech tokens (S3, CosyVoice §3.1) in miniature (notebook 07): a vector quantizer inserted
in the middle of a CTC speech recogniser and trained with it. The recognition loss shapes the codebook, so the
tokens keep what the words need and drop what they do not (the speaker, the loudness); the half of the recogniser
above the quantizer reads the words back **from the tokens alone**.

Frames: the vocoder's log-mel (100 per second) → two stride-2 convolutions → 25 tokens per second (CosyVoice 2's
rate; CosyVoice 1 used 50).
"""
from __future__ import annotations

import torch
from torch import nn

from ..ctc import ConformerBlock, ConvSubsampling, sinusoidal_positions

MEL_MEAN, MEL_STD = -5.0, 2.5  # the vocoder's natural-log mel, roughly standardised (measured on the corpus)
FRAMES_PER_TOKEN = 4
USAGE_DECAY = 0.95  # of the codewords' running use


def standardize(mel: torch.Tensor) -> torch.Tensor:
    return (mel - MEL_MEAN) / MEL_STD


def token_lengths(frames: torch.Tensor) -> torch.Tensor:
    """Tokens of ``frames`` mel frames: two stride-2 convolutions (kernel 3, padding 1)."""
    return (frames - 1) // 2 // 2 + 1


def quantize(z: torch.Tensor, codebook: torch.Tensor):
    """Nearest-codeword vector quantization on the unit sphere (cosine similarity, as in improved VQGAN): returns the
    ids, the unit-length inputs, the straight-through vectors (the codeword forward, the identity backward) and the codebook + commitment
    losses of VQ-VAE (van den Oord et al. 2017): ‖sg[z] − e‖² + β ‖z − sg[e]‖², β = 0.25."""
    z = nn.functional.normalize(z, dim=-1)
    codes = nn.functional.normalize(codebook, dim=-1)
    ids = (z @ codes.T).argmax(-1)
    e = codes[ids]
    loss = ((z.detach() - e) ** 2).sum(-1) + 0.25 * ((z - e.detach()) ** 2).sum(-1)
    return ids, z, z + (e - z).detach(), loss


class S3Tokenizer(nn.Module):
    """Mel → convolutional subsampling → ``lower`` Conformer blocks → quantizer (``codebook`` codewords of
    ``code_dim``) → ``upper`` Conformer blocks → CTC over the characters (``vocab`` incl. the blank)."""

    def __init__(self, n_mels: int = 80, vocab: int = 33, d_model: int = 128, codebook: int = 256,
                 code_dim: int = 32, lower: int = 2, upper: int = 2, dropout: float = 0.1):
        super().__init__()
        self.subsample = ConvSubsampling(n_mels, d_model)
        self.lower = nn.ModuleList(ConformerBlock(d_model, dropout=dropout) for _ in range(lower))
        self.to_code = nn.Linear(d_model, code_dim)
        self.codebook = nn.Parameter(torch.randn(codebook, code_dim))
        self.register_buffer("usage", torch.zeros(codebook))  # running use per batch; all 0: the first batch sets all
        self.from_code = nn.Linear(code_dim, d_model)
        self.upper = nn.ModuleList(ConformerBlock(d_model, dropout=dropout) for _ in range(upper))
        self.head = nn.Linear(d_model, vocab)
        self.d_model = d_model

    def _blocks(self, blocks, x, lengths):
        x = x + sinusoidal_positions(x.shape[1], self.d_model).to(x)
        padding = torch.arange(x.shape[1], device=x.device)[None, :] >= lengths[:, None]
        for block in blocks:
            x = block(x, padding)
        return x, padding

    def encode(self, mel: torch.Tensor, frames: torch.Tensor, quantized: bool = True):
        """Speech tokens ``(B, N)`` of a batch of log-mels ``(B, T, 80)``, their lengths, the unit-length encoder
        outputs, their straight-through vectors and the quantization loss per token (padding masked out by the
        caller). ``quantized=False`` bypasses the quantizer (the vectors are the encoder's own): the recogniser's
        warm-up, before the quantizer goes in."""
        x, lengths = self.subsample(standardize(mel), frames)
        x, padding = self._blocks(self.lower, x, lengths)
        x = self.to_code(x)
        if not quantized:
            z = nn.functional.normalize(x, dim=-1)
            return None, lengths, z, z, torch.zeros_like(z[..., 0])
        if self.training:
            self.restart_dead_codes(nn.functional.normalize(x[~padding], dim=-1))
        ids, z, vectors, loss = quantize(x, self.codebook)
        return ids, lengths, z, vectors, loss

    @torch.no_grad()
    def restart_dead_codes(self, z: torch.Tensor, threshold: float = 0.01) -> None:
        """Codebook expiry (Dhariwal et al. 2020, Zeghidour et al. 2021): a codeword whose running use
        (:attr:`usage`, per batch) is under ``threshold`` moves onto one of this batch's encoder outputs ``z`` (at
        the first batch, all of them: the codebook starts on the data). Without it the codebook collapses: the
        nearest-codeword rule sends every frame to the codeword that happens to start nearest the data (measured:
        all on one after 20 steps)."""
        dead = (self.usage < threshold).nonzero().flatten()
        if len(dead) and len(z):
            picks = torch.randint(len(z), (len(dead),), device=z.device)
            self.codebook[dead] = z[picks].detach().to(self.codebook.dtype)
            self.usage[dead] = 1.0

    def recognise(self, vectors: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """CTC log-probabilities ``(B, N, vocab)`` from quantized vectors: the upper half of the recogniser."""
        x, _ = self._blocks(self.upper, self.from_code(vectors), lengths)
        return self.head(x).log_softmax(-1)

    def recognise_tokens(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """CTC log-probabilities from token ids alone (the words the tokens carry)."""
        return self.recognise(nn.functional.normalize(self.codebook, dim=-1)[ids], lengths)

    def forward(self, mel, frames, text, text_lengths, quantized: bool = True):
        """CTC loss of the transcript + the mean quantization loss, and the parts to log (``quantized``: as in
        :meth:`encode`)."""
        ids, lengths, z, vectors, vq = self.encode(mel, frames, quantized)
        log_probs = self.recognise(vectors, lengths)
        ctc = nn.functional.ctc_loss(log_probs.transpose(0, 1), text, lengths, text_lengths, zero_infinity=True)
        if not quantized:
            return ctc, {"ctc": ctc.detach()}
        valid = torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None]
        vq = vq[valid].mean()
        used = torch.bincount(ids[valid], minlength=len(self.codebook)).float()
        if self.training:
            self.usage.mul_(USAGE_DECAY).add_((1 - USAGE_DECAY) * used)
        p = used / used.sum()
        perplexity = torch.exp(-(p[p > 0] * p[p > 0].log()).sum())
        return ctc + vq, {"ctc": ctc.detach(), "vq": vq.detach(), "code_perplexity": perplexity.detach()}
