"""CLAP in miniature (notebook 08; Elizalde et al. 2023, Wu et al. 2023): contrastive language–audio pretraining.
An audio tower (a CNN over the log-mel) and the pipeline's text tower (``ClapTextModelWithProjection``) map a clip
and its caption into one space, trained with the symmetric InfoNCE loss so that matching pairs score higher than
every mismatched pair of the batch. AudioLDM conditions its UNet on this space: on *audio* embeddings while training
(no captions needed), on *text* embeddings when generating.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from .classifier import conv_blocks, pooled


def info_nce(audio_embeds, text_embeds, logit_scale):
    """The symmetric InfoNCE loss of a batch of matching (audio, text) pairs: the embeddings are L2-normalised,
    ``logits[i, j] = exp(logit_scale)·⟨audioᵢ, textⱼ⟩``, and the loss is the mean of the cross-entropy of each audio
    row against its own text (audio → text) and of each text column against its own audio (text → audio).
    Written out with ``log_softmax``; equal to transformers' CLIP loss (``image_text_contrastive_loss``).
    transformers 5.23's ``ClapModel`` averages the text → audio term at its two temperatures instead (measured:
    its audio term transposes the audio-major logits back), so it is not the reference here."""
    a = audio_embeds / audio_embeds.norm(dim=-1, keepdim=True)
    t = text_embeds / text_embeds.norm(dim=-1, keepdim=True)
    logits = logit_scale.exp() * a @ t.T
    audio_to_text = -torch.diagonal(torch.log_softmax(logits, dim=1)).mean()
    text_to_audio = -torch.diagonal(torch.log_softmax(logits, dim=0)).mean()
    return (audio_to_text + text_to_audio) / 2


class AudioTower(nn.Module, PyTorchModelHubMixin):
    """Log-mel ``(batch, 1, frames, 80)`` → an ``embedding``-wide vector: the classifier's convolution blocks, mean
    and max pooling, a two-layer projection (as CLAP's); and the learned temperature ``logit_scale`` of the loss,
    starting at log(1/0.07) as in CLIP and CLAP."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64), embedding: int = 32):
        super().__init__()
        self.convs = conv_blocks(channels)
        width = 2 * channels[-1]
        self.project = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, embedding))
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.project(pooled(self.convs, mel))


def load_tower(folder) -> AudioTower:
    """The CLAP-mini audio tower saved beside a miniature pipeline (``folder/clap_audio``), in eval mode."""
    from pathlib import Path

    from ...core.engine import from_pretrained

    return from_pretrained(AudioTower, Path(folder) / "clap_audio").eval()


def text_embeddings(pipeline, captions: list[str]) -> torch.Tensor:
    """The CLAP text embeddings of ``captions``, L2-normalised, exactly as ``AudioLDMPipeline`` computes them to
    condition its UNet (padded to the tokenizer's length, projected, normalised)."""
    tokens = pipeline.tokenizer(list(captions), padding="max_length", max_length=pipeline.tokenizer.model_max_length,
                                truncation=True, return_tensors="pt")
    device = pipeline.text_encoder.device
    embeds = pipeline.text_encoder(tokens.input_ids.to(device), attention_mask=tokens.attention_mask.to(device)).text_embeds
    return nn.functional.normalize(embeds, dim=-1)


def distinct_caption_batch(captions: list[str], batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``batch_size`` items with pairwise different captions: InfoNCE treats every other item of the
    batch as a mismatch, so two clips with the same caption must not share a batch."""
    by_caption: dict[str, list[int]] = {}
    for i, caption in enumerate(captions):
        by_caption.setdefault(caption, []).append(i)
    if batch_size > len(by_caption):
        raise ValueError(f"a batch of {batch_size} distinct captions, but the data have only {len(by_caption)}")
    chosen = rng.choice(len(by_caption), batch_size, replace=False)
    groups = list(by_caption.values())
    return np.array([groups[g][rng.integers(len(groups[g]))] for g in chosen])


@torch.no_grad()
def retrieval(audio_embeds, clip_captions: list[str], caption_embeds, captions: list[str]) -> dict:
    """Top-1 retrieval accuracies in the shared space. ``text_to_audio``: for each distinct caption of the clips,
    whether the best-scoring clip has that caption. ``audio_to_text``: for each clip, whether its own caption scores
    highest among ``captions`` (e.g. every caption the grammar can say)."""
    a = nn.functional.normalize(torch.as_tensor(audio_embeds), dim=-1)
    t = nn.functional.normalize(torch.as_tensor(caption_embeds), dim=-1)
    scores = a @ t.T  # clips × captions
    index = {c: i for i, c in enumerate(captions)}
    missing = sorted(set(clip_captions) - set(index))
    if missing:
        raise ValueError(f"captions {missing[:3]} of the clips are not among the captions to rank")
    own = torch.tensor([index[c] for c in clip_captions])
    audio_to_text = (scores.argmax(dim=1) == own).float().mean().item()
    asked = sorted(set(clip_captions), key=index.get)
    best_clip = scores[:, [index[c] for c in asked]].argmax(dim=0)
    text_to_audio = float(np.mean([clip_captions[int(k)] == c for k, c in zip(best_clip, asked)]))
    return {"text_to_audio": text_to_audio, "audio_to_text": audio_to_text}
