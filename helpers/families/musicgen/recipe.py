"""musicgen-mini's recipe (``python -m helpers zoo train musicgen-mini``): the miniature MusicGen of :mod:`.model`
trained in two stages through the zoo's engine, as MusicGen is built —

1. ``codec``: the EnCodec-style codec (:mod:`.codec`) learns to reconstruct random crops of the music through
   its residual vector quantizer (:mod:`.rvq`: EMA codebooks, quantizer dropout);
2. ``lm``: the T5 text encoder and the decoder learn to predict the frozen codec's codes of whole clips, in the
   delay pattern (:mod:`.patterns`), cross-attending to the caption — and, ``melody_rate`` of the time, hearing
   the clip's melody (its dominant pitch class per chroma frame) in its input as well; the caption is dropped
   ``unconditional`` of the time (its memory zeroed, as transformers' classifier-free guidance does at generation);
   ``corrupt`` of the codes it reads are replaced by random ones, so that it learns to recover from its own slips
   when it reads what it sampled (exposure bias).

Data: the captioned music corpus (:mod:`helpers.data.music`), its held-out (root, quality, timbre) triples never
heard in training.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...core.engine import RecipeFields
from ...core.training import frozen
from ...data.music import every_caption, make_music
from . import codec as C
from . import model as M
from .patterns import delay


@dataclass(frozen=True)
class Recipe(RecipeFields):
    """A musicgen-mini run: ``n_train`` captioned clips (``n_test`` held out); ``codec_steps`` AdamW steps on
    batches of ``codec_batch`` crops of ``crop_s`` seconds at ``codec_rate``, then ``lm_steps`` on batches of
    ``lm_batch`` whole clips at ``lm_rate`` (each stage: warm-up ``warmup``, cosine decay); the codec has
    ``codec_filters`` filters in its first layer and weighs its waveform L1 ``waveform_weight`` against the log-mel
    L1 (a phase-blind mel loss leaves the decoder free to smear the tones into noise: 800 steps with weight 0.1 kept
    the chord of 41 % of held-out clips, with weight 10, 99 %); the LM hears the melody ``melody_rate`` of the time
    and no caption ``unconditional`` of the time, and reads ``corrupt`` of its input codes replaced at random. Probes
    of 1 200 LM steps on the released codec: 8 000 clips rather than 2 000 (which the LM learns by heart) lift the
    chord accuracy from 72 % to 81 %; the melody in the decoder's input rather than in its cross-attention memory lifts
    melody following from 37 % to 65 % (35 % and 39 % without the melody); 10 % of the input codes corrupted lifts
    it to 81 % and the chord accuracy to 84 % (the LM, 99 % right on the next arpeggio code when it reads the real
    ones, strayed after its first wrong sample: greedy decoding without guidance reproduced one clip exactly and lost
    another)."""

    seed: int = 0
    n_train: int = 8000
    n_test: int = 200
    codec_steps: int = 1500
    codec_batch: int = 8
    crop_s: float = 1.0
    codec_rate: float = 1e-3
    codec_filters: int = 8
    waveform_weight: float = C.WAVEFORM_WEIGHT
    lm_steps: int = 3000
    lm_batch: int = 32
    lm_rate: float = 1e-3
    warmup: float = 0.05
    melody_rate: float = 0.5
    unconditional: float = 0.1
    corrupt: float = 0.1


SMOKE = dict(n_train=8, n_test=8, codec_steps=2, codec_batch=4, lm_steps=2, lm_batch=4)


def corpus(recipe: Recipe, n_train: int | None = None):
    """The recipe's music corpus; ``n_train`` renders only its first training clips (a clip depends on its index, not
    on the corpus' size: the test clips and the first training clips are the same)."""
    return make_music(n_train=n_train or recipe.n_train, n_test=recipe.n_test, seed=recipe.seed)


class Crops(torch.utils.data.Dataset):
    """Item ``i``: a crop of ``samples`` from a training clip, both drawn from (seed, i)."""

    def __init__(self, audio: np.ndarray, samples: int, size: int, seed: int):
        self.audio, self.samples, self.size, self.seed = audio, samples, size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        clip = self.audio[int(rng.integers(len(self.audio)))]
        start = int(rng.integers(len(clip) - self.samples + 1))
        return {"audio": torch.from_numpy(clip[start:start + self.samples])}


class Captioned(torch.utils.data.Dataset):
    """Item ``i``: the index of a training clip (drawn from (seed, i)), its caption's tokens, its melody frames, and
    whether this item hears the melody and drops the caption."""

    def __init__(self, tokens, frames: torch.Tensor, size: int, seed: int, melody_rate: float, unconditional: float):
        self.tokens, self.frames, self.size, self.seed = tokens, frames, size, seed
        self.melody_rate, self.unconditional = melody_rate, unconditional

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        k = int(rng.integers(len(self.frames)))
        return {"index": torch.tensor(k), "input_ids": self.tokens.input_ids[k],
                "attention_mask": self.tokens.attention_mask[k], "frames": self.frames[k],
                "melody": torch.tensor(bool(rng.random() < self.melody_rate)),
                "drop": torch.tensor(bool(rng.random() < self.unconditional))}


class Objective(nn.Module):
    """Both stages' losses on one module, as the zoo's engine wants it: ``forward(**batch, stage=name)``. The LM
    stage reads the codes of the training clips ``audio``, encoded once by the trained codec at its first step; the
    codec stage weighs its waveform L1 ``waveform_weight``."""

    def __init__(self, model, melody: M.MelodyInput, audio: np.ndarray,
                 waveform_weight: float = C.WAVEFORM_WEIGHT, corrupt: float = 0.0):
        super().__init__()
        self.autoencoder = C.Autoencoder(model.audio_encoder, waveform_weight=waveform_weight)
        self.model, self.melody, self.audio, self.corrupt = model, melody, audio, corrupt
        self.register_buffer("codes", torch.zeros(0, dtype=torch.long), persistent=False)

    def encode_all(self, batch_size: int = 64) -> torch.Tensor:
        """The codes ``(clips, K, T)`` of every training clip, by the codec as trained so far."""
        device = self.codes.device
        with frozen(self.autoencoder):
            return torch.cat([self.autoencoder.rvq(self.autoencoder.encoder(
                torch.from_numpy(self.audio[i:i + batch_size])[:, None].to(device)))[1].permute(1, 0, 2)
                for i in range(0, len(self.audio), batch_size)])

    def forward(self, audio=None, stage=None, index=None, input_ids=None, attention_mask=None, frames=None,
                melody=None, drop=None):
        if stage == "codec":
            return self.autoencoder(audio)
        from transformers.modeling_outputs import BaseModelOutput

        if not len(self.codes):
            self.codes = self.encode_all()
        pad = self.model.decoder.config.pad_token_id
        labels = delay(self.codes[index], pad).transpose(1, 2)  # (B, T + K - 1, K)
        inputs = self.model.prepare_decoder_input_ids_from_labels(labels)  # (B, K, T + K - 1): a step late
        if self.training and self.corrupt:  # codes replaced at random: it learns to recover from its slips
            slips = (torch.rand(inputs.shape, device=inputs.device) < self.corrupt) & (inputs != pad)
            inputs = torch.where(slips, torch.randint_like(inputs, pad), inputs)
        states = self.model.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        keep = attention_mask * ~drop[:, None]  # the caption dropped: its memory zeroed
        with M.melody_heard(self.model, self.melody, frames * melody[:, None, None]):  # no melody heard: zeros
            output = self.model(encoder_outputs=BaseModelOutput(last_hidden_state=states * keep[..., None]),
                                attention_mask=keep, decoder_input_ids=inputs, labels=labels)
        return output.loss, {"cross_entropy": output.loss.detach()}


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Trains musicgen-mini's two stages through the zoo's engine and saves it into ``directory`` (the model and
    processor with ``save_pretrained``, the melody input in ``melody/``)."""
    from functools import partial

    from accelerate import PartialState
    from torch.utils.data import default_collate

    from ...core.engine import Options, Stage, fit
    from ...core.training import stage_rate

    import tempfile

    torch.manual_seed(recipe.seed)
    clips = corpus(recipe).train
    with tempfile.TemporaryDirectory() as folder:
        tokenizer = M.train_tokenizer(every_caption(), folder)
    model, melody = M.build(tokenizer, C.build(seed=recipe.seed, num_filters=recipe.codec_filters), seed=recipe.seed)
    audio = np.stack([c.audio for c in clips])
    tokens = tokenizer([c.caption for c in clips], padding="longest", return_tensors="pt")
    frames = M.melody_frames(audio)
    stages = [Stage("codec", Crops(audio, int(recipe.crop_s * C.SAMPLE_RATE), recipe.codec_steps * recipe.codec_batch,
                                   recipe.seed), recipe.codec_steps, recipe.codec_batch),
              Stage("lm", Captioned(tokens, frames, recipe.lm_steps * recipe.lm_batch, recipe.seed + 1,
                                    recipe.melody_rate, recipe.unconditional), recipe.lm_steps, recipe.lm_batch)]
    objective = Objective(model, melody, audio, recipe.waveform_weight, recipe.corrupt)
    optimizer = torch.optim.AdamW(objective.parameters(), lr=recipe.lm_rate, weight_decay=0.0)
    lengths = tuple(stage.steps for stage in stages)
    peaks = (recipe.codec_rate / recipe.lm_rate, 1.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(stage_rate, stages=lengths, warmup=recipe.warmup,
                                                                    peaks=peaks))
    info = fit(objective, optimizer, schedule, stages, default_collate, options or Options(), Path(directory) / "state",
               log_path, desc="musicgen-mini", clip=1.0)
    trained = info.pop("model")
    if info["finished"] and PartialState().is_main_process:
        trained.autoencoder.export(trained.model.audio_encoder)
        M.save(trained.model.eval(), trained.melody.eval(), M.processor(tokenizer), directory)
    return info


# ---------------------------------------------------------------------------------------------- evaluation

CHECK_SUBSET = dict(clips=12)
JUDGE_SECONDS = 1.28  # the sound classifier whose embedding the Fréchet distance uses hears 1.28-s clips


def codec_quality(codec, audio, codebooks: int | None = None) -> dict:
    """The codec's reconstructions of ``audio`` (equal-length clips at its rate) from its first ``codebooks``
    codebooks (default all): SI-SDR (dB), log-mel L1, how often the chord read from the reconstruction is the one read
    from the original, and the fraction of chroma frames whose dominant pitch class survives."""
    from ...data.synth import si_sdr_db
    from ...signal.features import chroma
    from .evaluate import chords

    audio, sr = np.asarray(audio, np.float32), codec.config.sampling_rate
    rebuilt = C.decode(codec, C.encode(codec, audio, codebooks), audio.shape[1])
    mel = C.MelLoss(sr)(torch.from_numpy(rebuilt), torch.from_numpy(audio))
    dominant = np.mean([np.mean(chroma(a, sr).argmax(0) == chroma(b, sr).argmax(0)) for a, b in zip(audio, rebuilt)])
    return {"si_sdr": float(np.mean([si_sdr_db(a, b) for a, b in zip(audio, rebuilt)])), "mel_l1": float(mel),
            "chord_agreement": float(np.mean([a == b for a, b in zip(chords(audio, sr), chords(rebuilt, sr))])),
            "dominant_agreement": float(dominant)}


def frechet(generated, real, reference) -> tuple[float, float]:
    """The Fréchet distance of ``generated`` to ``real`` clips in the zoo sound classifier's embedding (their first
    :data:`JUDGE_SECONDS`, shorter clips padded with silence), and of other ``reference`` real clips to them: the floor."""
    from .. import released
    from ..audioldm.classifier import frechet_distance, load, predict

    judge = load(released("sound-classifier-mini"))
    n = int(JUDGE_SECONDS * C.SAMPLE_RATE)
    with torch.no_grad():
        embed = [predict(judge, [np.pad(a[:n], (0, max(0, n - len(a)))) for a in audio])["embedding"]
                 for audio in (generated, real, reference)]
    return frechet_distance(embed[0], embed[1]), frechet_distance(embed[2], embed[1])


def notes_chord_accuracy(audio, clips) -> float:
    """How often the chord read from Basic Pitch's notes (a real pretrained transcriber; each note's pitch class
    weighted by its duration × amplitude) is the captioned one."""
    from ... import judges
    from .evaluate import read_chord

    hits = 0
    for y, clip in zip(audio, clips):
        profile = np.zeros(12)
        for start, end, pitch, amplitude in judges.transcribe_notes(y, C.SAMPLE_RATE):
            profile[pitch % 12] += (end - start) * amplitude
        hits += read_chord(profile) == (clip.root, clip.quality) if profile.any() else 0
    return hits / len(clips)


def evaluate(directory, clips, reference, guidance_scale: float = 3.0, top_k: int = 50) -> dict:
    """musicgen-mini against ``clips`` (captioned, held-out): the codec's reconstructions with all codebooks, music
    generated from the captions (chord, key and tempo read from it — of all clips and of the held-out triples — the
    chord as Basic Pitch's notes say it, the Fréchet distance to the real clips against the ``reference`` clips'
    floor), and, for the clips with a melody, music generated from caption and melody, guided on the melody (how
    closely it follows)."""
    from .evaluate import chord_accuracy, melody_following, tempo_accuracy

    model, processor_, melody = M.load(directory)
    settings = dict(guidance_scale=guidance_scale, top_k=top_k)
    codec = codec_quality(model.audio_encoder, [c.audio for c in clips])
    scores = {f"codec_{k}": round(v, 4) for k, v in codec.items()}
    generated = M.generate(model, processor_, [c.caption for c in clips], **settings)
    scores |= {f"{k}_accuracy": round(v, 4) for k, v in chord_accuracy(generated, clips).items()}
    held = [i for i, c in enumerate(clips) if c.held_out]
    if held:
        scores["held_out_chord_accuracy"] = round(chord_accuracy(generated[held], [clips[i] for i in held])["chord"], 4)
    scores["tempo_accuracy"] = round(tempo_accuracy(generated, clips), 4)
    scores["notes_chord_accuracy"] = round(notes_chord_accuracy(generated, clips), 4)
    scores["notes_chord_ceiling"] = round(notes_chord_accuracy([c.audio for c in clips], clips), 4)
    distance, floor = frechet(generated, [c.audio for c in clips], [c.audio for c in reference])
    scores["frechet"], scores["frechet_floor"] = round(distance, 3), round(floor, 3)
    tuned = [c for c in clips if c.melody]
    if tuned and melody is not None:
        frames = M.melody_frames([c.audio for c in tuned])
        followed = M.generate(model, processor_, [c.caption for c in tuned], melody, frames, **settings)
        scores["melody_following"] = round(melody_following(followed, frames), 4)
        scores["melody_following_without"] = round(melody_following(generated[[clips.index(c) for c in tuned]],
                                                                    frames), 4)
    return scores


TARGETS = {"chord_accuracy": ("≥", 0.85), "key_accuracy": ("≥", 0.85), "melody_following": ("≥", 0.7),
           "codec_chord_agreement": ("≥", 0.95)}


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    music = corpus(recipe, n_train=recipe.n_test)
    return {"held_out": evaluate(directory, music.test, music.train[:len(music.test)]),
            "check": check(directory, recipe)}


def check(directory, recipe: Recipe) -> dict:
    n = CHECK_SUBSET["clips"]
    music = corpus(recipe, n_train=n)
    return evaluate(directory, music.test[:n], music.train[:n])


def build_scratch(directory, seed: int = 0) -> None:
    """``model_id="scratch"`` (notebook 09): a musicgen-mini folder with random weights (codec included)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        tokenizer = M.train_tokenizer(every_caption(), folder)
    model, melody = M.build(tokenizer, C.build(seed=seed, num_filters=Recipe.codec_filters), seed=seed)
    M.save(model, melody, M.processor(tokenizer), directory)


CARD = {
    "language": ["en"],
    "pipeline_tag": "text-to-audio",
    "tags": ["musicgen", "encodec", "residual-vector-quantization", "miniature", "synthetic-music"],
    "dataset": "captioned synthetic music (helpers.data.music)",
    "held_out": "new renderings, and (root, quality, timbre) triples never trained on",
    "metric_names": {
        "codec_si_sdr": "SI-SDR (dB) of the codec's reconstructions from all 4 codebooks",
        "codec_mel_l1": "log-mel L1 of the codec's reconstructions (three resolutions)",
        "codec_chord_agreement": "the chord read from the reconstruction is the one read from the original",
        "codec_dominant_agreement": "chroma frames whose dominant pitch class survives the codec",
        "key_accuracy": "the root read from the generated clip's chroma is the captioned one",
        "chord_accuracy": "the root and quality read from the generated clip's chroma are the captioned ones",
        "held_out_chord_accuracy": "chord accuracy on (root, quality, timbre) triples never trained on",
        "tempo_accuracy": "the tempo heard in the generated clip's onsets is the captioned one",
        "notes_chord_accuracy": "the chord read from Basic Pitch's notes of the generated clip is the captioned one",
        "notes_chord_ceiling": "the same on the real clips (Basic Pitch's ceiling)",
        "frechet": "Fréchet distance of generated to real clips in sound-classifier-mini's embedding",
        "frechet_floor": "Fréchet distance of other real clips to them (the floor)",
        "melody_following": "chroma frames of music generated from caption + melody (guidance on the melody) whose "
                            "dominant pitch class is the melody's",
        "melody_following_without": "the same for music generated from the caption alone (the baseline)",
    },
    "data": {"corpus": (f"helpers.data.music.make_music(n_train={Recipe.n_train}, n_test={Recipe.n_test}, "
                        f"seed={Recipe.seed}): 2-s captioned clips at 16 kHz — 12 roots × 3 qualities, chord or "
                        "arpeggio, 90 or 150 BPM, piano / organ / strings, with or without drums and a melody; 12 of "
                        "the 108 (root, quality, timbre) triples held out of training")},
    "description": ("A miniature MusicGen (notebook 09): a transformers `MusicgenForConditionalGeneration` — a T5 "
                    "text encoder with a word-level sentencepiece vocabulary, an EnCodec-style codec (16 kHz, 50 "
                    "frames/s, 4 codebooks of 256: 1.6 kbit/s) trained with EMA residual vector quantization, and a "
                    "decoder over the codes in the delay pattern cross-attending to the text — plus a melody input "
                    "(`melody/`) that adds a chromagram's dominant pitch class to the decoder's input at the time it "
                    "sounds. Trained on captioned synthetic music; stored in float16. Judged by chroma rules, by Basic "
                    "Pitch (a real note transcriber that a pip wheel carries) and by the zoo's sound classifier."),
}
