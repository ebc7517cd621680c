"""The sound classifier that judges notebook 08's generated clips: a small CNN over the log-mel that names what a
clip sounds like — its kind and attribute ("beep · high"), its loudness, dry or with echo. It is trained on rendered
clips only, never on generated ones, so its accuracy on a generated clip measures whether the generator made the
sound the caption asked for; its penultimate layer is the embedding a Fréchet distance is computed in (the
"Fréchet audio distance" idea of Kilgour et al. 2019, with our classifier in place of VGGish). Released in the zoo
as sound-classifier-mini (``python -m helpers zoo train sound-classifier-mini``: the recipe at the end).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from ... import judges
from ...core.engine import RecipeFields, from_pretrained
from ...data.sounds import KINDS, LEVELS, Clip, make_sounds

SOUNDS = tuple(f"{kind} · {value}" for kind, (_, values, _) in KINDS.items() for value in values)
HEADS = {"sound": SOUNDS, "loudness": tuple(LEVELS), "echo": ("dry", "with echo")}
MEL_MEAN, MEL_STD = -8.0, 3.5  # of the corpus' log-mel (measured: mean −8.06, std 3.45)


def log_mels(audio) -> torch.Tensor:
    """The log-mel "images" of a batch of 16-kHz clips, ``(batch, 1, frames, 80)``: the packaged HiFi-GAN's mel
    (:func:`helpers.judges.vocoder_mel`), time along the height as AudioLDM lays it out."""
    audio = [np.asarray(a, np.float32) for a in audio]
    if not audio:
        raise ValueError("log_mels needs at least one clip")
    return torch.from_numpy(np.stack([judges.vocoder_mel(a).T for a in audio]))[:, None]


def conv_blocks(channels: tuple[int, ...]) -> nn.Sequential:
    """3×3 convolution, batch norm, ReLU and 2×2 max pooling, once per width in ``channels``, from one input
    channel (the log-mel): the front of the classifier and of CLAP-mini's audio tower."""
    layers, previous = [], 1
    for width in channels:
        layers += [nn.Conv2d(previous, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)]
        previous = width
    return nn.Sequential(*layers)


def pooled(convs: nn.Sequential, mel: torch.Tensor) -> torch.Tensor:
    """``convs`` over the normalised log-mel, then the mean and the max over the time–frequency plane side by side:
    ``(batch, 2 × channels)``."""
    hidden = convs((mel - MEL_MEAN) / MEL_STD)
    return torch.cat([hidden.mean(dim=(2, 3)), hidden.amax(dim=(2, 3))], dim=1)


class SoundClassifier(nn.Module, PyTorchModelHubMixin):
    """Log-mel ``(batch, 1, frames, 80)`` → logits of each head in :data:`HEADS`: a block of 3×3 convolution, batch
    norm, ReLU and 2×2 pooling per width in ``channels``, then mean and max over the time–frequency plane, projected
    to an ``embedding``-wide vector, and one linear layer per head."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64), embedding: int = 64):
        super().__init__()
        self.convs = conv_blocks(channels)
        self.project = nn.Linear(2 * channels[-1], embedding)
        self.heads = nn.ModuleDict({name: nn.Linear(embedding, len(classes)) for name, classes in HEADS.items()})

    def embed(self, mel: torch.Tensor) -> torch.Tensor:
        """The ``embedding``-wide vector of each clip (the Fréchet distance's space), before the ReLU that feeds
        the heads (so that no dimension is dead)."""
        return self.project(pooled(self.convs, mel))

    def forward(self, mel: torch.Tensor) -> dict:
        embedding = torch.relu(self.embed(mel))
        return {name: head(embedding) for name, head in self.heads.items()}


def targets(clips: list[Clip]) -> dict:
    """The class index of each clip for each head."""
    return {"sound": torch.tensor([SOUNDS.index(f"{c.kind} · {c.value}") for c in clips]),
            "loudness": torch.tensor([HEADS["loudness"].index(c.loudness) for c in clips]),
            "echo": torch.tensor([int(c.echo) for c in clips])}


@torch.no_grad()
def predict(model: SoundClassifier, audio, batch_size: int = 64) -> dict:
    """The predicted class of each clip for each head, and each clip's embedding (``"embedding"``). ``audio``: 16-kHz
    clips, or their log-mels as :func:`log_mels` returns them (a generator's mel, judged before any vocoder)."""
    mels = audio if isinstance(audio, torch.Tensor) else log_mels(audio)
    parts = [(model(chunk), model.embed(chunk)) for chunk in mels.split(batch_size)]
    predicted = {name: torch.cat([logits[name] for logits, _ in parts]).argmax(dim=1) for name in HEADS}
    return {**predicted, "embedding": torch.cat([e for _, e in parts]).numpy()}


def accuracy(model: SoundClassifier, audio, clips: list[Clip]) -> dict:
    """How often the classifier hears in ``audio`` (clips or log-mels, as :func:`predict` takes them) what ``clips``
    (the captions asked for) say: the kind of sound, the kind and its attribute together, the loudness and the echo,
    each a fraction."""
    predicted, wanted = predict(model, audio), targets(clips)
    kind = [SOUNDS[i].split(" · ")[0] for i in predicted["sound"]]
    return {"kind": float(np.mean([k == c.kind for k, c in zip(kind, clips)])),
            **{name: float((predicted[name] == wanted[name]).float().mean()) for name in HEADS}}


def load(directory) -> SoundClassifier:
    """The classifier saved in ``directory``, in eval mode."""
    return from_pretrained(SoundClassifier, directory).eval()


def frechet_distance(a, b) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of embeddings (rows):
    ‖μₐ − μ_b‖² + Tr(Σₐ + Σ_b − 2(ΣₐΣ_b)^½). 0 for identical sets; read it against the distance between two sets of
    real clips (the floor), since it is biased upwards for small sets."""
    from scipy import linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two sets of at least 2 embeddings of the same width, got {a.shape} and {b.shape}")
    ridge = 1e-6 * np.eye(a.shape[1])  # fewer clips than dimensions leave a covariance singular: sqrtm then warns
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    root = linalg.sqrtm(cov_a @ cov_b)
    root = root.real if np.iscomplexobj(root) else root  # rounding can leave a tiny imaginary part
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b - 2 * root))


# ---------------------------------------------------------------------------------------------- the zoo recipe

@dataclass(frozen=True)
class Recipe(RecipeFields):
    """A sound-classifier-mini run: ``n_train`` rendered clips of every combination the caption grammar can say
    (the held-out ones too: the judge must know them) from the corpus of ``corpus_seed`` — other renderings than the
    generator's corpus (seed 0) — ``steps`` AdamW batches of ``batch_size`` at ``learning_rate`` (warm-up ``warmup``,
    cosine decay); tested on ``n_test`` clips of the same corpus' test split."""

    seed: int = 0
    corpus_seed: int = 1
    n_train: int = 1600
    n_test: int = 240
    channels: tuple[int, ...] = (16, 32, 64)
    embedding: int = 64
    steps: int = 1000
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup: float = 0.1


SMOKE = dict(n_train=16, n_test=8, channels=(4, 8), embedding=8, steps=3, batch_size=4)
CHECK_SUBSET = dict(clips=60)  # the first held-out clips the tests re-measure


def corpus(recipe: Recipe):
    return make_sounds(n_train=recipe.n_train, n_test=recipe.n_test, seed=recipe.corpus_seed, hold_out=False)


class LabelledMels(torch.utils.data.Dataset):
    """Item ``i``: the log-mel and the labels of clip ``order[i % n]``, the order reshuffled every epoch from
    ``seed`` (a pure function of ``i``, as the zoo's engine requires). The log-mels are computed once."""

    def __init__(self, clips: list[Clip], size: int, seed: int):
        self.mels, self.labels = log_mels([c.audio for c in clips]), targets(clips)
        self.size, self.seed = size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        n = len(self.mels)
        k = int(np.random.default_rng([self.seed, i // n]).permutation(n)[i % n])
        return {"mel": self.mels[k], **{name: labels[k] for name, labels in self.labels.items()}}


class Objective(nn.Module):
    """The engine's view of the classifier: the sum of the heads' cross-entropies."""

    def __init__(self, model: SoundClassifier):
        super().__init__()
        self.model = model

    def forward(self, mel, stage=None, **labels):
        logits = self.model(mel)
        losses = {name: nn.functional.cross_entropy(logits[name], labels[name]) for name in HEADS}
        return sum(losses.values()), {name: loss.detach() for name, loss in losses.items()}


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Trains sound-classifier-mini through the zoo's engine and saves it into ``directory``."""
    from functools import partial

    from accelerate import PartialState
    from torch.utils.data import default_collate

    from ...core.engine import Options, Stage, fit
    from ...core.training import stage_rate

    torch.manual_seed(recipe.seed)
    data = LabelledMels(corpus(recipe).train, recipe.steps * recipe.batch_size, recipe.seed)
    model = SoundClassifier(tuple(recipe.channels), recipe.embedding)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(stage_rate, stages=(recipe.steps,),
                                                                    warmup=recipe.warmup))
    info = fit(Objective(model), optimizer, schedule, [Stage("sounds", data, recipe.steps, recipe.batch_size)],
               default_collate, options or Options(), Path(directory) / "state", log_path,
               desc="sound-classifier-mini", clip=5.0)
    trained = info.pop("model").model
    if info["finished"] and PartialState().is_main_process:
        trained.eval().save_pretrained(directory)
    return info


def evaluate(directory, clips: list[Clip]) -> dict:
    return {name: round(value, 4) for name, value in accuracy(load(directory), [c.audio for c in clips],
                                                              clips).items()}


TARGETS = {"kind": ("≥", 0.98), "sound": ("≥", 0.95), "loudness": ("≥", 0.95), "echo": ("≥", 0.95)}


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    return {"held_out": evaluate(directory, corpus(recipe).test), "check": check(directory, recipe)}


def check(directory, recipe: Recipe) -> dict:
    return evaluate(directory, corpus(recipe).test[:CHECK_SUBSET["clips"]])


CARD = {
    "language": ["en"],
    "library_name": "pytorch",  # huggingface_hub's PyTorchModelHubMixin
    "pipeline_tag": "audio-classification",
    "tags": ["audio-classification", "sound-events", "judge", "miniature", "synthetic-audio"],
    "dataset": "synthetic captioned sounds (helpers.data.sounds), every combination of the caption grammar",
    "held_out": "new renderings of every caption",
    "metric_names": {"kind": "kind of sound accuracy (8 kinds)",
                     "sound": "kind and attribute accuracy (19 classes, e.g. 'beep · high')",
                     "loudness": "loudness accuracy (quiet / normal / loud)", "echo": "dry or with echo accuracy"},
    "data": {"corpus": "helpers.data.sounds.make_sounds(seed=1, hold_out=False): 1.28-s clips at 16 kHz of 8 kinds "
                       "of sound (" + ", ".join(KINDS) + "), each with an attribute, 3 loudness levels (peak "
                       "0.1 / 0.3 / 0.9) and dry or in a simulated room (RT60 1 s)",
             "test": "new renderings (other random draws of pitch, timing, voice) of every combination"},
    "description": (
        "The judge of notebook 08's generated clips: a CNN of three 3×3 convolution blocks over the 80-band log-mel "
        "of the packaged HiFi-GAN (`helpers.judges.vocoder_mel`), mean and max pooling into a 64-wide embedding, "
        "and one linear head each for the kind and attribute, the loudness and the echo. Trained on rendered clips "
        "only, never on generated ones, and on other renderings than the generator's: its accuracy on a generated "
        "clip says whether the generator made the sound its caption asked for, and its embedding is the space of "
        "the Fréchet distance. It loads with `SoundClassifier.from_pretrained`."),
}
