"""Residual vector quantization (SoundStream, EnCodec), written out for notebook 09 and trained for the zoo's
codec: quantize a vector to its nearest codeword, quantize what is left with the next codebook, and so on — each
codebook adds log2(size) bits per frame and refines the last one's error.

The codebooks learn as EnCodec's do, by exponential moving averages (EMA) of the vectors assigned to each codeword
(no gradient reaches them), initialised from the first batch and restarted from the batch when a codeword goes
unused; the encoder is pulled towards its codewords by the commitment loss ‖x − sg(q)‖², and gradients pass the
quantizer straight through. With quantizer dropout (SoundStream) each batch uses the first n codebooks, n drawn
from 1…N, so that any prefix of the codes decodes. :meth:`ResidualVQ.export` writes the codebooks into
transformers' ``EncodecResidualVectorQuantizer``, whose ``encode`` must then give the same codes (a test checks).
"""
from __future__ import annotations

import torch
from torch import nn


def nearest(vectors: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    """The index of the nearest codeword (Euclidean) of each row of ``vectors`` ``(N, D)`` in ``codebook``
    ``(K, D)``: argmin ‖x‖² − 2 x·e + ‖e‖², ``(N,)``."""
    distances = vectors.pow(2).sum(1, keepdim=True) - 2 * vectors @ codebook.T + codebook.pow(2).sum(1)[None]
    return distances.argmin(dim=1)


def quantize(vectors: torch.Tensor, codebooks: torch.Tensor, n: int | None = None):
    """Residual quantization of ``vectors`` ``(N, D)`` with the first ``n`` (default all) of ``codebooks``
    ``(Q, K, D)``: returns ``(codes (n, N), quantized (N, D))``, quantized being the sum of the chosen codewords."""
    residual, quantized, codes = vectors, torch.zeros_like(vectors), []
    for codebook in codebooks[: n or len(codebooks)]:
        index = nearest(residual, codebook)
        chosen = codebook[index]
        quantized, residual = quantized + chosen, residual - chosen
        codes.append(index)
    return torch.stack(codes), quantized


class ResidualVQ(nn.Module):
    """``n_codebooks`` EMA codebooks of ``size`` codewords of ``dim`` numbers. ``forward(x)`` on ``(B, dim, T)``
    returns ``(quantized, codes (n, B, T), commitment)``: straight-through quantized vectors, in training with the
    first n codebooks (n from 1…N at random with probability ``dropout``, else N) and with the EMA update."""

    def __init__(self, n_codebooks: int = 4, size: int = 256, dim: int = 64, decay: float = 0.99,
                 dropout: float = 0.5, dead: float = 0.1, epsilon: float = 1e-5):
        super().__init__()
        self.decay, self.dropout, self.dead, self.epsilon = decay, dropout, dead, epsilon
        self.register_buffer("codebooks", torch.zeros(n_codebooks, size, dim))
        self.register_buffer("counts", torch.zeros(n_codebooks, size))  # EMA of how often each codeword is chosen
        self.register_buffer("sums", torch.zeros(n_codebooks, size, dim))  # EMA of the vectors that chose it
        self.register_buffer("initialised", torch.zeros(n_codebooks, dtype=torch.bool))

    def forward(self, x: torch.Tensor, n: int | None = None):
        batch, dim, frames = x.shape
        vectors = x.permute(0, 2, 1).reshape(-1, dim)
        if n is None and self.training and torch.rand(()) < self.dropout:
            n = int(torch.randint(1, len(self.codebooks) + 1, ()))
        n = n or len(self.codebooks)
        residual, quantized, codes = vectors.detach(), torch.zeros_like(vectors), []
        for q in range(n):
            if self.training:
                self._learn(q, residual)
            index = nearest(residual, self.codebooks[q])
            chosen = self.codebooks[q][index]
            quantized, residual = quantized + chosen, residual - chosen
            codes.append(index.view(batch, frames))
        commitment = (vectors - quantized).pow(2).mean()
        quantized = vectors + (quantized - vectors).detach()  # straight through
        return quantized.view(batch, frames, dim).permute(0, 2, 1), torch.stack(codes), commitment

    @torch.no_grad()
    def _learn(self, q: int, residual: torch.Tensor) -> None:
        """One EMA step of codebook ``q`` on the residuals it quantizes: initialised from random residuals of the
        first batch; codewords whose count falls below ``dead`` are restarted from random residuals."""
        size = self.codebooks.shape[1]
        if not self.initialised[q]:
            self.codebooks[q] = residual[torch.randint(len(residual), (size,))]
            self.sums[q], self.counts[q], self.initialised[q] = self.codebooks[q].clone(), 1.0, True
        index = nearest(residual, self.codebooks[q])
        one_hot = nn.functional.one_hot(index, size).type(residual.dtype)
        self.counts[q].lerp_(one_hot.sum(0), 1 - self.decay)
        self.sums[q].lerp_(one_hot.T @ residual, 1 - self.decay)
        total = self.counts[q].sum()
        smoothed = (self.counts[q] + self.epsilon) / (total + size * self.epsilon) * total  # Laplace smoothing
        self.codebooks[q] = self.sums[q] / smoothed[:, None]
        dead = self.counts[q] < self.dead
        if dead.any():
            fresh = residual[torch.randint(len(residual), (int(dead.sum()),))]
            self.codebooks[q][dead], self.sums[q][dead], self.counts[q][dead] = fresh, fresh, 1.0

    def usage(self) -> torch.Tensor:
        """The fraction of each codebook's codewords in use (EMA count ≥ ``dead``), ``(n_codebooks,)``."""
        return (self.counts >= self.dead).float().mean(dim=1)

    @torch.no_grad()
    def export(self, quantizer) -> None:
        """Writes the codebooks into transformers' ``EncodecResidualVectorQuantizer`` (its ``embed``, ``embed_avg``,
        ``cluster_size`` buffers)."""
        if len(quantizer.layers) != len(self.codebooks):
            raise ValueError(f"the quantizer has {len(quantizer.layers)} codebooks, this RVQ {len(self.codebooks)}")
        for layer, codebook, counts, sums in zip(quantizer.layers, self.codebooks, self.counts, self.sums):
            layer.codebook.embed.copy_(codebook)
            layer.codebook.embed_avg.copy_(sums)
            layer.codebook.cluster_size.copy_(counts)
