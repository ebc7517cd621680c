"""wav2vec2-mini: wav2vec 2.0 pretrained by the project on unlabelled synthetic speech (``python -m helpers zoo
train wav2vec2-mini``), and the batches of notebook 04's live pretraining.

No transcript is read: the data are the audio of English and Mandarin utterances (digits, command words, short
sentences) by the corpus's training voices. Each batch crops its utterances to the shortest of them (fairseq's
way: no padding, so the group-normalised encoder never sees silence it did not hear), normalises each crop, and
draws the masks and distractors from a generator seeded by the batch's item numbers (a pure function of the
recipe). The Gumbel temperature falls from 2 to 0.5 over the run, the learning rate warms up and decays linearly
(Baevski et al. 2020, section 4.2).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...core.engine import RecipeFields
from . import objective
from .model import SAMPLE_RATE, feature_extractor, mini_config, output_frames

CORPORA = (("en", "digits"), ("en", "words"), ("en", "sentences"), ("zh", "digits"), ("zh", "words"),
           ("zh", "sentences"))


@dataclass(frozen=True)
class Recipe(RecipeFields):
    """Everything that determines a wav2vec2-mini run: ``n_per_corpus`` training utterances of each of
    :data:`CORPORA` (their audio only), ``steps`` batches of ``batch_size`` crops of at most ``max_seconds``, AdamW
    at ``learning_rate`` with ``warmup`` then linear decay, the Gumbel temperature from ``temperature[0]`` to
    ``temperature[1]``; held out: ``n_test`` utterances per corpus by voices never heard."""

    seed: int = 0
    n_per_corpus: int = 1000
    n_test: int = 40
    steps: int = 8000
    batch_size: int = 16
    max_seconds: float = 2.5
    learning_rate: float = 1e-3
    warmup: float = 0.08
    temperature: tuple[float, float] = (2.0, 0.5)


SMOKE = dict(n_per_corpus=8, n_test=4, steps=3, batch_size=4)
CHECK_SUBSET = dict(utterances_per_corpus=10)


def corpora(n_train: int, n_test: int, seed: int = 0) -> dict:
    """The unlabelled speech: (language, task) → :class:`helpers.data.corpus.Corpus` (the transcripts are there, and
    pretraining never reads them)."""
    from ...data.corpus import make_corpus

    return {(language, task): make_corpus(language=language, task=task, n_train=n_train, n_test=n_test, seed=seed)
            for language, task in CORPORA}


def normalise(audio) -> np.ndarray:
    """Zero mean, unit variance: what ``Wav2Vec2FeatureExtractor(do_normalize=True)`` does to each utterance."""
    audio = np.asarray(audio, dtype=np.float32)
    return (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)


class Crops(torch.utils.data.Dataset):
    """Item ``i``: a clip (float32 audio) and ``i`` (the collate's seed). The clips are sorted by length into buckets
    of ``bucket`` clips; every item of batch ``i // batch_size`` draws from one bucket chosen by (seed, batch), so
    that cropping a batch to its shortest clip wastes little (fairseq batches by length for the same reason)."""

    def __init__(self, clips: list[np.ndarray], size: int, seed: int, batch_size: int, bucket: int = 200):
        ordered = sorted(clips, key=len)
        self.buckets = [ordered[k:k + bucket] for k in range(0, len(ordered), bucket)]
        self.size, self.seed, self.batch_size = size, seed, batch_size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int):
        bucket = self.buckets[int(np.random.default_rng([self.seed, i // self.batch_size]).integers(len(self.buckets)))]
        return bucket[int(np.random.default_rng([self.seed, i]).integers(len(bucket)))], i


class MaskedBatches:
    """Collates :class:`Crops` items into ``input_values (B, samples)``, ``mask (B, frames)`` and ``distractors
    (B, frames, K)``: every clip cropped at a random offset to the shortest clip of the batch (at most
    ``max_seconds``) and normalised; masks and distractors drawn with the model's config."""

    def __init__(self, config, max_seconds: float, seed: int):
        self.config, self.max_samples, self.seed = config, int(max_seconds * SAMPLE_RATE), seed

    def __call__(self, items) -> dict:
        clips, numbers = zip(*items)
        rng = np.random.default_rng([self.seed, *numbers])
        samples = min(self.max_samples, *(len(c) for c in clips))
        crops = []
        for clip in clips:
            start = int(rng.integers(len(clip) - samples + 1))
            crops.append(normalise(clip[start:start + samples]))
        frames = output_frames(self.config, samples)
        mask = objective.span_masks([frames] * len(crops), frames, self.config.mask_time_prob,
                                    self.config.mask_time_length, rng, self.config.mask_time_min_masks)
        return {"input_values": torch.from_numpy(np.stack(crops)), "mask": mask,
                "distractors": objective.sample_distractors(mask, self.config.num_negatives, rng)}


def gumbel_temperature(step: int, steps: int, start: float, end: float) -> float:
    """Exponential decay from ``start`` to ``end`` over ``steps`` (the paper decays by a constant factor per
    update, from 2 to 0.5)."""
    return start * (end / start) ** min(1.0, step / max(1, steps - 1))


class Pretraining(nn.Module):
    """The recipe's objective: ``Wav2Vec2ForPreTraining`` under :func:`objective.pretraining_loss`, with the Gumbel
    temperature set from its own step counter (a buffer, so a resumed run continues the schedule)."""

    def __init__(self, model, steps: int, temperature: tuple[float, float]):
        super().__init__()
        self.model, self.steps, self.temperature = model, steps, temperature
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def forward(self, input_values, mask, distractors, stage=None):
        self.model.set_gumbel_temperature(gumbel_temperature(int(self.step), self.steps, *self.temperature))
        if self.training:
            self.step += 1
        out = objective.pretraining_loss(self.model, input_values, mask.to(input_values.device),
                                         distractors.to(input_values.device))
        n_masked = mask.sum()
        return out["loss"] / n_masked, {"contrastive": out["contrastive"].detach() / n_masked,
                                        "diversity": out["diversity"].detach() / n_masked,
                                        "accuracy": out["accuracy"].detach(), "perplexity": out["perplexity"].detach()}


def build_scratch(directory, seed: int = 0) -> None:
    """``model_id="scratch"``: a random wav2vec2-mini with its feature extractor, saved into ``directory``."""
    from transformers import Wav2Vec2ForPreTraining

    torch.manual_seed(seed)
    Wav2Vec2ForPreTraining(mini_config()).save_pretrained(directory)
    feature_extractor().save_pretrained(directory)


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Pretrains wav2vec2-mini through the zoo's engine; saves it (and its feature extractor) into ``directory``."""
    from functools import partial
    from pathlib import Path

    from accelerate import PartialState
    from transformers import Wav2Vec2ForPreTraining

    from ...core.engine import Options, Stage, fit
    from ...core.training import stage_rate

    torch.manual_seed(recipe.seed)
    clips = [u.audio for corpus in corpora(recipe.n_per_corpus, recipe.n_test, recipe.seed).values()
             for u in corpus.train]
    model = Wav2Vec2ForPreTraining(mini_config())
    data = Crops(clips, recipe.steps * recipe.batch_size, recipe.seed, recipe.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(stage_rate, stages=(recipe.steps,),
                                                                    warmup=recipe.warmup))
    info = fit(Pretraining(model, recipe.steps, recipe.temperature), optimizer, schedule,
               [Stage("crops", data, recipe.steps, recipe.batch_size)],
               MaskedBatches(model.config, recipe.max_seconds, recipe.seed), options or Options(),
               Path(directory) / "state", log_path, desc="wav2vec2-mini", clip=5.0)
    trained = info.pop("model").model
    if info["finished"] and PartialState().is_main_process:
        trained.eval().save_pretrained(directory)
        feature_extractor().save_pretrained(directory)
    return info


@torch.no_grad()
def contrastive_accuracy(model, clips, seed: int = 0, max_seconds: float = 2.5) -> dict:
    """The objective on held-out ``clips``, one at a time, in eval mode (argmax codes, no dropout), with masks and
    distractors from ``seed``: mean ``accuracy`` (true target ranked first among 1 + K), ``contrastive`` loss per
    masked frame, and the codebook ``perplexity`` over all frames."""
    model.eval()
    batches = MaskedBatches(model.config, max_seconds, seed)
    accuracy, loss, codes = [], [], []
    for i, clip in enumerate(clips):
        batch = batches([(clip, i)])
        out = objective.pretraining_loss(model, batch["input_values"], batch["mask"], batch["distractors"])
        accuracy.append(out["accuracy"].item())
        loss.append(out["contrastive"].item() / batch["mask"].sum().item())
        codes.append(out["codes"][0])
    groups, entries = model.config.num_codevector_groups, model.config.num_codevectors_per_group
    used = torch.cat(codes)
    probs = torch.nn.functional.one_hot(used, entries).float()
    return {"accuracy": round(float(np.mean(accuracy)), 4), "contrastive": round(float(np.mean(loss)), 4),
            "perplexity": round(objective.codebook_perplexity(probs).item(), 2),
            "chance": round(1 / (1 + model.config.num_negatives), 4), "codebook_size": groups * entries}


def held_out_clips(recipe: Recipe, per_corpus: int | None = None) -> list[np.ndarray]:
    return [u.audio for corpus in corpora(recipe.n_per_corpus, recipe.n_test, recipe.seed).values()
            for u in corpus.test[:per_corpus]]


def load(directory):
    """The pretrained model saved in ``directory`` (``Wav2Vec2ForPreTraining.from_pretrained``), in eval mode."""
    from transformers import Wav2Vec2ForPreTraining

    return Wav2Vec2ForPreTraining.from_pretrained(directory).eval()


def evaluate(directory, clips) -> dict:
    measured = contrastive_accuracy(load(directory), clips)
    return {key: measured[key] for key in ("accuracy", "contrastive", "perplexity")}


TARGETS: dict = {}  # the targets are measured by notebook 04 (probes, fine-tuning with few labels)


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    return {"held_out": evaluate(directory, held_out_clips(recipe)), "check": check(directory, recipe)}


def check(directory, recipe: Recipe) -> dict:
    """The card's ``check`` metrics on the first :data:`CHECK_SUBSET` held-out utterances of each corpus."""
    return evaluate(directory, held_out_clips(recipe, CHECK_SUBSET["utterances_per_corpus"]))


CARD = {
    "language": ["en", "zh"],
    "library_name": "transformers",
    "pipeline_tag": "feature-extraction",
    "tags": ["wav2vec2", "self-supervised", "pretraining", "miniature", "synthetic-speech", "espeak-ng"],
    "dataset": "synthetic eSpeak NG speech, unlabelled (helpers.data.corpus)",
    "metric_names": {"accuracy": "contrastive accuracy (true target first of 1 + 50), held-out voices",
                     "contrastive": "contrastive loss per masked frame, held-out voices",
                     "perplexity": "codebook perplexity (of 2 × 64 entries), held-out voices"},
    "data": {"corpus": "helpers.data.corpus.make_corpus for English and Mandarin digits, command words and short "
                       "sentences (6 corpora), 16 kHz, clean; the audio only: no transcript is read",
             "train_speakers": "48 English voices (4 accents × 12 variants) and 12 Mandarin voice variants",
             "test_speakers": "12 English and 6 Mandarin voices none of which is heard in training"},
    "description": (
        "wav2vec 2.0 (Baevski et al. 2020) in miniature, pretrained by the project without labels: the real "
        "convolutional feature encoder's kernels and strides (a 25-ms receptive field every 20 ms) with 64 "
        "channels, a convolutional relative position embedding, a 4-layer Transformer of width 128, and a product "
        "quantizer of 2 codebooks × 64 entries; the contrastive task with 50 distractors, masking 0.65 × spans of 10 "
        "frames, diversity loss weight 0.1. Load it with `Wav2Vec2ForPreTraining.from_pretrained` (features: "
        "`Wav2Vec2Model`), fine-tune it with `Wav2Vec2ForCTC.from_pretrained` as notebook 04 does."),
}
