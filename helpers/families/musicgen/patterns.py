"""Codebook interleaving patterns (MusicGen §2.2), written out for notebook 09: how K parallel streams of codes —
one per codebook, T frames each — become one sequence a language model predicts step by step.

- **flattening**: every code of frame 1, then of frame 2, …: exact autoregression, K·T steps;
- **parallel**: all K codes of a frame in one step: T steps, but codebook k cannot see codebook k−1 of its own
  frame;
- **delay** (MusicGen's choice): codebook k is shifted k frames to the right, so that one step predicts codebook 0
  of frame t, codebook 1 of frame t−1, …: T + K − 1 steps, and each codebook sees the coarser ones of its frame.

Pads fill what the shift leaves empty. :func:`delay` agrees with transformers' ``build_delay_pattern_mask`` (a test
checks).
"""
from __future__ import annotations

import torch

PATTERNS = ("flatten", "parallel", "delay")


def steps(pattern: str, codebooks: int, frames: int) -> int:
    """Decoding steps a pattern needs for ``frames`` frames of ``codebooks`` codes."""
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; choose one of {', '.join(PATTERNS)}")
    return {"flatten": codebooks * frames, "parallel": frames, "delay": frames + codebooks - 1}[pattern]


def flatten(codes: torch.Tensor) -> torch.Tensor:
    """``(B, K, T)`` → ``(B, K·T)``: frame by frame, codebook by codebook."""
    return codes.transpose(1, 2).reshape(len(codes), -1)


def unflatten(sequence: torch.Tensor, codebooks: int) -> torch.Tensor:
    """The inverse of :func:`flatten`: ``(B, K·T)`` → ``(B, K, T)``."""
    return sequence.reshape(len(sequence), -1, codebooks).transpose(1, 2)


def delay(codes: torch.Tensor, pad: int) -> torch.Tensor:
    """``(B, K, T)`` → ``(B, K, T + K − 1)``: codebook k shifted k steps right, the gaps filled with ``pad``."""
    batch, codebooks, frames = codes.shape
    delayed = torch.full((batch, codebooks, frames + codebooks - 1), pad, dtype=codes.dtype, device=codes.device)
    for k in range(codebooks):
        delayed[:, k, k:k + frames] = codes[:, k]
    return delayed


def undelay(delayed: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`delay`: ``(B, K, T + K − 1)`` → ``(B, K, T)``."""
    codebooks = delayed.shape[1]
    frames = delayed.shape[2] - codebooks + 1
    if frames < 1:
        raise ValueError(f"a delayed sequence of {codebooks} codebooks needs at least {codebooks} steps, "
                         f"got {delayed.shape[2]}")
    return torch.stack([delayed[:, k, k:k + frames] for k in range(codebooks)], dim=1)
