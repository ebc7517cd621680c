"""Training a Whisper miniature: packed windows and the guided-attention loss. Used by 05."""
from __future__ import annotations


def pack_windows(utterances, min_seconds: float, max_seconds: float, rng) -> list[list]:
    """Groups utterances (in the given order) into windows of ``min_seconds``..``max_seconds`` of speech — the
    30-s windows Whisper is trained on, filled with several utterances instead of padding."""
    if not 0 < min_seconds <= max_seconds <= 30:
        raise ValueError(f"need 0 < min_seconds ≤ max_seconds ≤ 30, got {min_seconds}, {max_seconds}")
    windows, current, seconds, target = [], [], 0.0, rng.uniform(min_seconds, max_seconds)
    for utt in utterances:
        if current and seconds + utt.seconds > target:
            windows.append(current)
            current, seconds, target = [], 0.0, rng.uniform(min_seconds, max_seconds)
        current.append(utt)
        seconds += utt.seconds
    return windows + ([current] if current else [])


def guided_attention_loss(attention, centres, width: float = 15.0):
    """Tachibana et al. (2017): penalise cross-attention far from where each token is spoken.

    ``attention`` is ``(batch, queries, frames)`` (averaged over layers and heads); ``centres`` gives, per batch
    item, the expected frame of each query, or None for queries without a target (the prompt). The loss is the mean
    attention mass outside a Gaussian of ``width`` frames around the centre.
    """
    import torch

    batch, queries, n_frames = attention.shape
    expected = torch.full((batch, queries), float("nan"))
    for b, item in enumerate(centres):
        expected[b, : len(item)] = torch.tensor([float("nan") if c is None else c for c in item])
    mask = ~expected.isnan()
    frames = torch.arange(n_frames, dtype=attention.dtype)
    penalty = 1 - torch.exp(-0.5 * ((frames - expected.nan_to_num(0.0)[..., None]) / width) ** 2)
    return (attention * penalty).sum(-1)[mask].mean()
