"""A small neural speech enhancer: a causal GRU that estimates a mask on STFT magnitudes (RNNoise-sized, Valin
2018), trained on our speech mixed with noise, its zoo recipe (``python -m helpers zoo train enhancer-mini``) and its
evaluation. Used by notebook 02.

The mask network sees log-compressed magnitudes of the noisy STFT frame by frame (no future frames: it could run
in real time with 8-ms hops), and multiplies the noisy spectrum by a gain in 0..1 per bin; the noisy phase is kept.
It is trained on the waveform it produces, by maximising SI-SDR (the negative SI-SDR is the loss).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from ..core.engine import RecipeFields, from_pretrained
from ..signal.enhance import HOP, N_FFT, NOISE_KINDS, make_noise, mix
from .ctc import corpus  # the speech it trains and tests on: notebook 03's corpus (ctc-mini's too)

SAMPLE_RATE = 16_000


class MaskEnhancer(nn.Module, PyTorchModelHubMixin):
    """Noisy waveform ``(batch, samples)`` → enhanced waveform: STFT (``n_fft``, ``hop``), a mask from
    log(1 + 10·|Y|) through a linear layer, ``layers`` GRU layers of ``hidden`` units and a sigmoid, iSTFT.
    ``save_pretrained`` / ``from_pretrained`` come from huggingface_hub's mixin (config.json + model.safetensors)."""

    def __init__(self, hidden: int = 128, layers: int = 2, n_fft: int = N_FFT, hop: int = HOP):
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        bins = n_fft // 2 + 1
        self.project = nn.Linear(bins, hidden)
        self.gru = nn.GRU(hidden, hidden, layers, batch_first=True)
        self.gain = nn.Linear(hidden, bins)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def spectrum(self, audio: torch.Tensor) -> torch.Tensor:
        """Complex STFT ``(batch, frames, bins)``: the same frames as :func:`helpers.signal.enhance.stft`."""
        return torch.stft(audio, self.n_fft, self.hop, window=self.window, return_complex=True).transpose(1, 2)

    def mask(self, spectrum: torch.Tensor) -> torch.Tensor:
        """The gain in 0..1 for every bin of every frame of a noisy ``spectrum``."""
        features = torch.log1p(10 * spectrum.abs())
        hidden, _ = self.gru(torch.relu(self.project(features)))
        return torch.sigmoid(self.gain(hidden))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        spectrum = self.spectrum(audio)
        enhanced = (self.mask(spectrum) * spectrum).transpose(1, 2)
        return torch.istft(enhanced, self.n_fft, self.hop, window=self.window, length=audio.shape[-1])


def load(directory, device="cpu") -> MaskEnhancer:
    """The enhancer saved in ``directory`` (``from_pretrained``), in eval mode on ``device``."""
    return from_pretrained(MaskEnhancer, directory).to(device).eval()


def build_scratch(directory, seed: int = 0) -> None:
    """A random-weight enhancer saved into ``directory`` (``model_id="scratch"``)."""
    torch.manual_seed(seed)
    MaskEnhancer().save_pretrained(directory)


def negative_si_sdr(clean: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """The training loss: −SI-SDR in dB per item (the same definition as :func:`helpers.si_sdr_db`)."""
    scale = (estimate * clean).sum(-1, keepdim=True) / ((clean * clean).sum(-1, keepdim=True) + 1e-8)
    target = scale * clean
    return -10 * torch.log10((target ** 2).sum(-1) / (((estimate - target) ** 2).sum(-1) + 1e-8) + 1e-8)


@torch.no_grad()
def enhance(model: MaskEnhancer, audio, device="cpu") -> np.ndarray:
    """``model``'s enhanced version of one clip (float32 numpy, same length)."""
    model.eval()
    x = torch.as_tensor(np.asarray(audio, dtype=np.float32), device=device)[None]
    return model(x)[0].float().cpu().numpy()


class Mixtures(torch.utils.data.Dataset):
    """Item ``i``: a ``seconds`` crop of a speech clip mixed with a noise of a random kind (``kinds``) at an SNR
    drawn from ``snr_range``, at a random level — ``{"noisy", "clean"}`` tensors; a pure function of (seed, i), so
    that a resumed zoo run reads the same items. Babble is made of ``voices`` (other speakers' clips)."""

    def __init__(self, clips, voices, size: int, seed: int = 0, seconds: float = 2.0, snr_range=(-5.0, 10.0),
                 kinds=NOISE_KINDS):
        self.clips, self.voices, self.size, self.seed = clips, voices, size, seed
        self.length, self.snr_range, self.kinds = int(seconds * SAMPLE_RATE), snr_range, tuple(kinds)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        clip = self.clips[rng.integers(len(self.clips))]
        clip = np.pad(clip, (0, max(0, self.length - len(clip))))
        start = rng.integers(len(clip) - self.length + 1)
        clean = clip[start: start + self.length]
        kind = self.kinds[rng.integers(len(self.kinds))]
        noise = make_noise(kind, self.length, SAMPLE_RATE, seed=int(rng.integers(2 ** 31)), voices=self.voices)
        if not clean.any():  # a crop of the silence around an utterance: the target is silence, the input noise
            clean = clean + np.float32(1e-4) * rng.standard_normal(self.length).astype(np.float32)
        noisy = mix(clean, noise, float(rng.uniform(*self.snr_range)), SAMPLE_RATE)
        gain = rng.uniform(0.1, 0.9) / max(np.abs(noisy).max(), 1e-6)
        return {"noisy": torch.from_numpy(noisy * gain), "clean": torch.from_numpy(clean * gain)}


def train_live(model: MaskEnhancer, dataset: Mixtures, steps: int, batch_size: int = 16, learning_rate: float = 2e-3,
               device="cpu") -> list[float]:
    """The live lesson's loop (notebook 02): AdamW with a one-cycle schedule over ``steps`` batches, a progress bar;
    returns the loss (−SI-SDR, dB) of every step."""
    from ..core.training import one_cycle, train_loop

    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    schedule = one_cycle(optimizer, learning_rate, steps)
    loader = iter(torch.utils.data.DataLoader(dataset, batch_size=batch_size,
                                              generator=torch.Generator().manual_seed(0)))

    def step(_):
        batch = next(loader)
        loss = negative_si_sdr(batch["clean"].to(device), model(batch["noisy"].to(device))).mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        schedule.step()
        return loss.item()

    return train_loop(step, steps, desc="training the enhancer")


# ---------------------------------------------------------------------------------------------- the zoo recipe

@dataclass(frozen=True)
class Recipe(RecipeFields):
    """Everything that determines an enhancer-mini run (its card records these fields): ``steps`` batches of
    ``batch_size`` two-second mixtures of the training speakers' English digits (``n_train`` utterances) with the five
    noise kinds at −5..10 dB; babble from other training speakers. Held-out: ``n_test`` utterances of the test
    speakers, mixed at 0 dB with new draws of each noise kind (babble from test speakers)."""

    seed: int = 0
    n_train: int = 1000
    n_test: int = 200
    hidden: int = 128
    layers: int = 2
    steps: int = 3000
    batch_size: int = 16
    learning_rate: float = 2e-3
    warmup: float = 0.05


SMOKE = dict(n_train=24, n_test=10, hidden=16, layers=1, steps=3, batch_size=2)
CHECK_SUBSET = dict(per_kind=2)  # held-out clips per noise kind that the tests re-measure


class _Objective(nn.Module):
    """The engine's view of the model: a batch in, the loss and its parts out."""

    def __init__(self, model: MaskEnhancer):
        super().__init__()
        self.model = model

    def forward(self, noisy, clean, stage=None):
        loss = negative_si_sdr(clean, self.model(noisy)).mean()
        return loss, {"neg_si_sdr": loss.detach()}


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Trains enhancer-mini through the zoo's engine (:func:`helpers.core.engine.fit`) and saves it into
    ``directory`` when the run is finished; returns what the card reports."""
    from functools import partial
    from pathlib import Path

    from accelerate import PartialState
    from torch.utils.data import default_collate

    from ..core.engine import Options, Stage, fit
    from ..core.training import stage_rate

    torch.manual_seed(recipe.seed)
    speech = corpus(recipe)
    clips = [u.audio for u in speech.train]
    data = Mixtures(clips, clips, recipe.steps * recipe.batch_size, seed=recipe.seed)
    model = MaskEnhancer(recipe.hidden, recipe.layers)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(stage_rate, stages=(recipe.steps,),
                                                                    warmup=recipe.warmup))
    info = fit(_Objective(model), optimizer, schedule, [Stage("mixtures", data, recipe.steps, recipe.batch_size)],
               default_collate, options or Options(), Path(directory) / "state", log_path, desc="enhancer-mini",
               clip=5.0)
    trained = info.pop("model").model
    if info["finished"] and PartialState().is_main_process:
        trained.eval().save_pretrained(directory)
    return info


def held_out_scenes(recipe: Recipe, per_kind: int | None = None, snr_db: float = 0.0) -> list[dict]:
    """The held-out test: test-speaker utterances, each mixed at ``snr_db`` with a new draw of one noise kind
    (cycling through :data:`NOISE_KINDS`; babble from other test speakers): ``{"kind", "clean", "noisy"}``."""
    test = corpus(recipe).test
    voices = [u.audio for u in test]
    count = len(test) if per_kind is None else per_kind * len(NOISE_KINDS)
    scenes = []
    for i, utterance in enumerate(test[:count]):
        kind = NOISE_KINDS[i % len(NOISE_KINDS)]
        noise = make_noise(kind, len(utterance.audio), SAMPLE_RATE, seed=10_000 + i, voices=voices[:i] + voices[i + 1:])
        scenes.append({"kind": kind, "clean": utterance.audio,
                       "noisy": mix(utterance.audio, noise, snr_db, SAMPLE_RATE)})
    return scenes


def evaluate(model: MaskEnhancer, scenes: list[dict], with_pesq: bool = True) -> dict:
    """SI-SDR improvement (dB) per noise kind and over all scenes, and the PESQ and STOI gains over the noisy input
    (means; ``with_pesq`` False skips the two slower metrics)."""
    from ..data.synth import si_sdr_db
    from ..signal.enhance import pesq, stoi

    gains, pesq_gain, stoi_gain = {}, [], []
    for scene in scenes:
        clean, noisy = scene["clean"], scene["noisy"]
        enhanced = enhance(model, noisy)
        gains.setdefault(scene["kind"], []).append(si_sdr_db(clean, enhanced) - si_sdr_db(clean, noisy))
        if with_pesq:
            pesq_gain.append(pesq(clean, enhanced) - pesq(clean, noisy))
            stoi_gain.append(stoi(clean, enhanced) - stoi(clean, noisy))
    result = {f"si_sdri_{kind}": round(float(np.mean(v)), 3) for kind, v in gains.items()}
    result["si_sdri"] = round(float(np.mean([g for v in gains.values() for g in v])), 3)
    if with_pesq:
        result |= {"pesq_gain": round(float(np.mean(pesq_gain)), 3), "stoi_gain": round(float(np.mean(stoi_gain)), 3)}
    return result


TARGETS = {"si_sdri": ("≥", 8.0)}  # issue 16, at 0 dB input SNR


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    """The card's numbers: ``held_out`` on every held-out scene at 0 dB, ``check`` on :data:`CHECK_SUBSET`."""
    model = load(directory)
    return {"held_out": evaluate(model, held_out_scenes(recipe)), "check": check(directory, recipe)}


def check(directory, recipe: Recipe) -> dict:
    """The card's ``check`` metrics (SI-SDR improvements only), small enough for the tests to re-measure."""
    model = load(directory)
    return evaluate(model, held_out_scenes(recipe, **CHECK_SUBSET), with_pesq=False)


CARD = {
    "language": ["en"],
    "library_name": "pytorch",  # huggingface_hub's PyTorchModelHubMixin
    "pipeline_tag": "audio-to-audio",
    "tags": ["speech-enhancement", "noise-suppression", "miniature", "synthetic-speech", "espeak-ng"],
    "dataset": "synthetic eSpeak NG digits (helpers.data.corpus) mixed with synthetic noise (helpers.signal.enhance)",
    "metric_names": {"si_sdri": "SI-SDR improvement (dB), all noise kinds, 0 dB input",
                     **{f"si_sdri_{k}": f"SI-SDR improvement (dB), {k} noise, 0 dB input" for k in NOISE_KINDS},
                     "pesq_gain": "wide-band PESQ gain over the noisy input", "stoi_gain": "STOI gain over the noisy input"},
    "data": {"corpus": "helpers.data.corpus.make_corpus(language='en', task='digits'): strings of 3–6 digits, eSpeak NG "
                       "voices with rate and pitch jitter, 16 kHz (notebook 03's corpus)",
             "noise": "white, pink, babble (4 other talkers), mains hum (50/60 Hz + harmonics), music (triads); "
                      "training mixtures at −5..10 dB SNR, two-second crops, random level",
             "train_speakers": "48 English voices (4 accents × 12 variants)",
             "test_speakers": "12 English voices none of which is heard in training; test noises are new draws "
                              "(other seeds, babble from test speakers)"},
    "description": (
        "A causal mask-estimating enhancer (a linear layer, two GRU layers of 128 units, a sigmoid gain per STFT bin; "
        "512-point STFT, 8-ms hop, 16 kHz) trained from random weights by `helpers.families.enhancer` with the "
        "negative SI-SDR as loss. It loads with `MaskEnhancer.from_pretrained`. It knows only eSpeak voices and the "
        "five synthetic noise kinds: a teaching model for notebook 02, not a denoiser for real recordings."),
}
