"""Fine-tuning wav2vec 2.0 with CTC on a few labelled utterances, and what the frozen layers know (notebook 04).

- :func:`finetune_ctc` follows the paper's recipe (Baevski et al. 2020, section 4.3 and appendix B) at miniature
  scale: ``Wav2Vec2ForCTC.from_pretrained`` of the pretrained folder (a new linear CTC head over the characters),
  the convolutional feature encoder frozen throughout, only the head trained for the first ``head_only`` share of
  the steps, and a tri-state learning rate (10 % warm-up, 40 % hold, 50 % decay). Two departures, measured on
  wav2vec2-mini (notebook 04 says why): the head learns at 30× the body's rate, and no masking by default.
- :func:`transcribe` decodes greedily with the processor, exactly as for ``facebook/wav2vec2-base-960h``.
- :func:`layer_features` and :func:`probe_accuracy`: linear probes on frozen features, layer by layer.
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from .recipe import normalise


@contextlib.contextmanager
def quiet_transformers():
    """transformers 5.23 logs a warning for every head that ``from_pretrained`` initialises afresh (the CTC head of
    a pretraining checkpoint: expected, and said in the notebook); silenced for the duration."""
    from transformers.utils import logging

    before = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(before)


def tri_state(step: int, steps: int) -> float:
    """The learning-rate factor of the paper's tri-state schedule: linear warm-up over the first 10 % of the steps,
    constant for 40 %, linear decay to zero over the last 50 %."""
    warm, hold = 0.1 * steps, 0.5 * steps
    if step < warm:
        return (step + 1) / warm
    return 1.0 if step < hold else max(0.0, (steps - step) / (steps - hold))


def finetune_ctc(pretrained, processor, utterances, steps: int = 200, batch_size: int = 4,
                 learning_rate: float = 1e-3, head_learning_rate: float = 3e-2, head_only: float = 0.1,
                 mask_time_prob: float = 0.0,
                 seed: int = 0, device: str = "cpu", desc: str = "fine-tuning"):
    """A ``Wav2Vec2ForCTC`` built from ``pretrained`` (a folder or hub id of a wav2vec 2.0 checkpoint) and trained on
    ``utterances`` (their audio and transcripts) for ``steps`` batches of ``batch_size`` drawn with replacement, the
    new head at ``head_learning_rate`` (it starts from random and must move fast; the pretrained body moves slowly),
    ``mask_time_prob`` of the frames masked in each batch. Returns the model (eval mode) and the losses."""
    from transformers import Wav2Vec2ForCTC

    from ...core.runtime import progress

    tokenizer = processor.tokenizer
    torch.manual_seed(seed)
    with quiet_transformers():
        model = Wav2Vec2ForCTC.from_pretrained(
            pretrained, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, ctc_loss_reduction="mean",
            ctc_zero_infinity=True, mask_time_prob=mask_time_prob, mask_time_length=10, mask_time_min_masks=0,
            layerdrop=0.0, ignore_mismatched_sizes=True).to(device)  # a fine-tuned checkpoint's head has its own vocabulary
    model.freeze_feature_encoder()
    clips = [normalise(u.audio) for u in utterances]
    labels = [torch.tensor(tokenizer(u.text).input_ids) for u in utterances]
    head = list(model.lm_head.parameters())
    body = [p for p in model.parameters() if p.requires_grad and all(p is not h for h in head)]
    optimizer = torch.optim.AdamW([{"params": body}, {"params": head, "lr": head_learning_rate}],
                                  lr=learning_rate, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: tri_state(step, steps))
    rng = np.random.default_rng(seed)
    losses = []
    model.train()
    for step in progress(range(steps), desc=desc):
        head_phase = step < head_only * steps
        for parameter in model.wav2vec2.encoder.parameters():
            parameter.requires_grad_(not head_phase)
        chosen = rng.integers(len(clips), size=min(batch_size, len(clips)))
        longest = max(len(clips[i]) for i in chosen)
        audio = torch.zeros(len(chosen), longest)
        for row, i in enumerate(chosen):
            audio[row, : len(clips[i])] = torch.from_numpy(clips[i])
        target = torch.nn.utils.rnn.pad_sequence([labels[i] for i in chosen], batch_first=True, padding_value=-100)
        loss = model(audio.to(device), labels=target.to(device)).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    for parameter in model.wav2vec2.encoder.parameters():
        parameter.requires_grad_(True)
    return model.eval(), losses


@torch.no_grad()
def transcribe(model, processor, clips, device: str = "cpu") -> list[str]:
    """Greedy CTC transcripts of 16-kHz ``clips``, one at a time (no padding): the processor normalises, the model
    gives logits, ``batch_decode`` collapses repeats, drops the blank and turns ``|`` into spaces."""
    texts = []
    for clip in clips:
        inputs = processor(clip, sampling_rate=16_000, return_tensors="pt")
        logits = model(inputs.input_values.to(device)).logits
        texts.append(processor.batch_decode(logits.argmax(dim=-1).cpu())[0])
    return texts


@torch.no_grad()
def layer_features(encoder, clip) -> list[np.ndarray]:
    """The frozen model's frames at every layer for one clip: the projected features before the Transformer
    (layer 0) and the output of each Transformer layer, ``(frames, width)`` each."""
    values = torch.from_numpy(normalise(clip)).unsqueeze(0).to(encoder.device)
    hidden = encoder(values, output_hidden_states=True).hidden_states
    return [h[0].float().cpu().numpy() for h in hidden]


def probe_accuracy(train_x, train_y, test_x, test_y, seed: int = 0) -> float:
    """Held-out accuracy of a linear probe (multinomial logistic regression on standardised features): how much of
    the labels a linear read-out of the frozen features recovers."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, C=0.5, random_state=seed))
    probe.fit(train_x, train_y)
    return float(probe.score(test_x, test_y))


def word_labels(utterance, frames: int, hop_seconds: float = 0.02) -> np.ndarray:
    """The word spoken at each frame (eSpeak's word events: start to the next word's start), ``""`` outside words."""
    centres = (np.arange(frames) + 0.5) * hop_seconds
    labels = np.full(frames, "", dtype=object)
    for word in utterance.words:
        labels[(centres >= word.start) & (centres < word.end)] = word.text
    return labels
