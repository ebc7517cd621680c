"""wav2vec 2.0's self-supervised objective, written out (Baevski et al. 2020, section 3): span masking, the product
quantizer with a straight-through Gumbel softmax, distractors from the same utterance, the contrastive loss over
cosine similarities, and the diversity loss. Notebook 04 shows each piece and checks the total against
``transformers.Wav2Vec2ForPreTraining`` on the same inputs, masks and distractors.

Conventions follow transformers: features are ``(batch, frames, dim)``; a mask is ``(batch, frames)`` booleans,
True where the context network sees the learned mask embedding instead of the frame; distractor indices are
``(batch, frames, K)`` positions in the batch flattened to ``batch × frames``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def span_mask(length: int, mask_prob: float, mask_length: int, rng: np.random.Generator,
              min_masks: int = 0) -> np.ndarray:
    """One utterance's mask: ``round_random(mask_prob · length / mask_length)`` span starts drawn without
    replacement, each masking ``mask_length`` frames (at least ``min_masks`` spans). Spans overlap, so the masked
    fraction is below ``mask_prob``: with the paper's 0.65 and 10 frames, about half the frames
    (1 − (1 − 0.065)¹⁰ ≈ 0.49). The semantics of transformers' ``_compute_mask_indices``."""
    if not 0 <= mask_prob <= 1 or mask_length < 1:
        raise ValueError(f"need 0 ≤ mask_prob ≤ 1 and mask_length ≥ 1; got {mask_prob}, {mask_length}")
    if mask_length > length:
        raise ValueError(f"mask_length {mask_length} is longer than the utterance's {length} frames")
    starts = length - mask_length + 1
    count = min(max(int(mask_prob * length / mask_length + rng.random()), min_masks), starts, length // mask_length)
    mask = np.zeros(length, dtype=bool)
    chosen = rng.choice(starts, count, replace=False)
    mask[(chosen[:, None] + np.arange(mask_length)).ravel()] = True
    return mask


def span_masks(lengths, frames: int, mask_prob: float, mask_length: int, rng: np.random.Generator,
               min_masks: int = 2) -> torch.Tensor:
    """A batch of masks ``(batch, frames)``, each utterance masked within its own ``lengths[i]`` frames."""
    masks = np.zeros((len(lengths), frames), dtype=bool)
    for i, length in enumerate(lengths):
        masks[i, :length] = span_mask(int(length), mask_prob, mask_length, rng, min_masks)
    return torch.from_numpy(masks)


def sample_distractors(mask: torch.Tensor, num_negatives: int, rng: np.random.Generator) -> torch.Tensor:
    """For every masked frame, ``num_negatives`` other masked frames of the same utterance, uniformly, never the
    frame itself: indices ``(batch, frames, K)`` into the flattened batch (unmasked frames point at themselves;
    the loss ignores them). Distractors from the same utterance share its speaker and channel, so only the content
    tells them apart."""
    batch, frames = mask.shape
    indices = np.repeat(np.arange(batch * frames).reshape(batch, frames, 1), num_negatives, axis=2)
    for b in range(batch):
        masked = np.flatnonzero(mask[b].numpy())
        if len(masked) < 2:
            raise ValueError(f"utterance {b} has {len(masked)} masked frame(s); distractors need at least two")
        draw = rng.integers(0, len(masked) - 1, size=(len(masked), num_negatives))
        draw += draw >= np.arange(len(masked))[:, None]  # skip the frame itself, keep the others uniform
        indices[b, masked] = b * frames + masked[draw]
    return torch.from_numpy(indices)


def gumbel_softmax_straight_through(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """A one-hot choice per row whose gradient is the softmax's: add Gumbel noise −log(−log U), take the argmax
    forward, and let the gradient flow through softmax((logits + noise) / τ) (Jang et al. 2017). Draws its noise
    exactly as ``torch.nn.functional.gumbel_softmax``, so the two agree under the same seed."""
    noise = -torch.empty_like(logits).exponential_().log()  # −log(Exp(1)) is Gumbel(0, 1)
    soft = ((logits + noise) / temperature).softmax(dim=-1)
    hard = F.one_hot(soft.argmax(dim=-1), logits.shape[-1]).to(soft)
    return hard - soft.detach() + soft  # forward: hard; backward: d soft


def codebook_perplexity(probs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Σ over groups of exp(entropy) of the codebook's average use: ``probs (N, G, V)`` per frame, averaged over the
    (masked) frames. G·V when every entry is used equally, G when one entry per group takes everything."""
    if mask is not None:
        probs = probs[mask.reshape(-1)]
    average = probs.mean(dim=0)
    return torch.exp(-torch.special.xlogy(average, average).sum(dim=-1)).sum()


def quantize(quantizer, features: torch.Tensor, mask: torch.Tensor | None = None, temperature: float = 2.0,
             training: bool = True):
    """The product quantizer (G groups × V entries): a linear layer scores the entries of each group, one entry per
    group is chosen (Gumbel straight-through when training, argmax otherwise) and the chosen vectors are
    concatenated. ``quantizer`` holds the weights (transformers' ``Wav2Vec2GumbelVectorQuantizer``: ``weight_proj``
    and ``codevectors``). Returns the quantized frames ``(B, T, G·d)``, the codebook perplexity (soft
    probabilities without noise when training, the choices otherwise) and the chosen entries ``(B, T, G)``."""
    batch, frames, _ = features.shape
    groups, entries = quantizer.num_groups, quantizer.num_vars
    logits = quantizer.weight_proj(features).view(batch * frames * groups, entries)
    if training:
        choice = gumbel_softmax_straight_through(logits.float(), temperature).type_as(logits)
        probs = logits.view(batch * frames, groups, entries).float().softmax(dim=-1)
    else:
        choice = F.one_hot(logits.argmax(dim=-1), entries).to(logits)
        probs = choice.view(batch * frames, groups, entries)
    perplexity = codebook_perplexity(probs, mask)
    codebooks = quantizer.codevectors.view(groups, entries, -1)
    vectors = torch.einsum("ngv,gvd->ngd", choice.view(batch * frames, groups, entries), codebooks)
    return vectors.reshape(batch, frames, -1), perplexity, choice.view(batch, frames, groups, entries).argmax(-1)


def contrastive_logits(context: torch.Tensor, targets: torch.Tensor, distractors: torch.Tensor,
                       temperature: float = 0.1) -> torch.Tensor:
    """sim(c_t, q) / κ for the true quantized frame q_t (column 0) and its K distractors (columns 1…K), with cosine
    similarity: ``(B, T, 1 + K)``. A distractor identical to the true target (a collapsed codebook) gets −∞: it
    cannot be told apart, so it must not count against the model."""
    batch, frames, dim = targets.shape
    negatives = targets.reshape(batch * frames, dim)[distractors.reshape(-1)].view(batch, frames, -1, dim)
    candidates = torch.cat([targets.unsqueeze(2), negatives], dim=2)  # (B, T, 1 + K, D)
    logits = F.cosine_similarity(context.unsqueeze(2).float(), candidates.float(), dim=-1) / temperature
    same = (negatives == targets.unsqueeze(2)).all(dim=-1)
    return torch.cat([logits[..., :1], logits[..., 1:].masked_fill(same, float("-inf"))], dim=-1)


def contrastive_loss(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """−log softmax of the true target, summed over the masked frames (the paper's L_m; summed as in fairseq and
    transformers)."""
    masked = logits[mask]
    return F.cross_entropy(masked, torch.zeros(len(masked), dtype=torch.long, device=masked.device), reduction="sum")


def diversity_loss(perplexity: torch.Tensor, groups: int, entries: int, n_masked) -> torch.Tensor:
    """(G·V − perplexity) / (G·V), per masked frame (the paper's L_d): zero when the codebooks are used evenly."""
    return (groups * entries - perplexity) / (groups * entries) * n_masked


def pretraining_loss(model, input_values: torch.Tensor, mask: torch.Tensor, distractors: torch.Tensor,
                     attention_mask: torch.Tensor | None = None) -> dict:
    """wav2vec 2.0's loss L = L_m + α L_d for a ``transformers.Wav2Vec2ForPreTraining`` ``model``, computed here from
    its parts: the feature encoder and the context network (with the mask embedding at masked frames), the two
    projections, and the quantizer, contrastive and diversity pieces above. Returns ``loss``, ``contrastive``,
    ``diversity``, ``perplexity``, ``accuracy`` (the share of masked frames whose true target scores highest) and
    the chosen codebook ``codes``."""
    config = model.config
    outputs = model.wav2vec2(input_values, attention_mask=attention_mask, mask_time_indices=mask)
    context = model.project_hid(outputs.last_hidden_state)
    vectors, perplexity, codes = quantize(model.quantizer, model.dropout_features(outputs.extract_features), mask,
                                          model.quantizer.temperature, model.training)
    targets = model.project_q(vectors)
    logits = contrastive_logits(context, targets, distractors, config.contrastive_logits_temperature)
    contrastive = contrastive_loss(logits, mask)
    diversity = diversity_loss(perplexity, config.num_codevector_groups, config.num_codevectors_per_group, mask.sum())
    accuracy = (logits[mask].argmax(dim=-1) == 0).float().mean()
    return {"loss": contrastive + config.diversity_loss_weight * diversity, "contrastive": contrastive,
            "diversity": diversity, "perplexity": perplexity, "accuracy": accuracy, "codes": codes}
