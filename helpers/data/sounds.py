"""Sounds we can name: the synthetic sound-event corpus with captions that notebook 08 (AudioLDM) learns to
generate from text, and that its classifier and CLAP miniature are trained on.

Eight kinds of sound, each with an attribute that changes how it sounds, plus two attributes every sound has —
its loudness (quiet / normal / loud, as a peak level) and whether it was recorded dry or in a reverberant room
("with echo": a simulated room impulse response, :func:`helpers.signal.enhance.room_impulse_response`). The
caption is written from the attributes by a small grammar::

    a loud high beep with echo · three fast drum hits · a quiet G major chord · a woman speaking loudly

**Held-out combinations test compositionality**: for each kind, its last attribute value *with echo* never occurs
in training ("a high beep with echo"), although the training split hears high beeps and beeps with echo. The test
split draws from every combination and flags the held-out ones (``Clip.held_out``).

A corpus is a pure function of its :class:`SoundSpec`, generated once and cached under a hash of the spec
(``.cache/sounds/<hash>``), like the speech corpus.

>>> sounds = make_sounds(n_train=400, n_test=100)
>>> clip = sounds.train[0]; clip.caption, clip.kind, clip.audio.shape
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..core.audio import check_sample_rate, resample
from ..core.checks import check_number, check_whole, resolved_spec
from .clips import Captioned, check_split_sizes, load_corpus
from .corpus import DIGITS, WORDS
from .speech import ESPEAK_SR, speak
from .synth import arpeggio, chirp, chord, drum, noise

SOUNDS_VERSION = 1  # bump when generation changes, so that cached corpora are rebuilt
SAMPLE_RATE = 16_000
MAX_CLIPS = 20_000
LEVELS = {"quiet": 0.1, "normal": 0.3, "loud": 0.9}  # peak amplitude of each loudness
ECHO_RT60_S = 1.0  # reverberation time of the room that "with echo" means

KINDS = {  # kind → (attribute name, its values, caption template: {loud} an adjective, {loudly} an adverb)
    "beep": ("pitch", ("low", "high"), "a {loud}{pitch} beep"),
    "chirp": ("direction", ("rising", "falling"), "a {loud}{direction} chirp"),
    "siren": ("speed", ("slow", "fast"), "a {loud}{speed} siren"),
    "drums": ("rhythm", ("two slow", "three fast", "four slow"), "{rhythm} {loud}drum hits"),
    "chord": ("harmony", ("C major", "A minor", "G major"), "a {loud}{harmony} chord"),
    "arpeggio": ("direction", ("rising", "falling"), "a {loud}{direction} arpeggio"),
    "noise": ("color", ("white", "pink"), "{loud}{color} noise in bursts"),
    "speech": ("voice", ("man", "woman"), "a {voice} speaking{loudly}"),
}
CHORDS = {"C major": ("C4", "E4", "G4"), "A minor": ("A3", "C4", "E4"), "G major": ("G3", "B3", "D4")}
VOICES = {"man": ("m1", "m2", "m3", "m4", "m6"), "woman": ("f1", "f2", "f3", "f4", "f5")}


def caption(kind: str, value: str, loudness: str = "normal", echo: bool = False) -> str:
    """The caption of a sound: ``caption("beep", "high", "loud", echo=True)`` → ``"a loud high beep with echo"``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of sound {kind!r}; choose one of {', '.join(KINDS)}")
    attribute, values, template = KINDS[kind]
    if value not in values:
        raise ValueError(f"{kind} has {attribute} {', '.join(map(repr, values))}, not {value!r}")
    if loudness not in LEVELS:
        raise ValueError(f"unknown loudness {loudness!r}; choose one of {', '.join(LEVELS)}")
    loud, loudly = ("", "") if loudness == "normal" else (f"{loudness} ", f" {loudness}ly")
    text = template.format(loud=loud, loudly=loudly, **{attribute: value})
    return f"{text} with echo" if echo else text


def is_held_out(kind: str, value: str, echo: bool) -> bool:
    """Whether (kind, value, echo) is one of the combinations that training never sees: each kind's last value
    with echo."""
    return echo and value == KINDS[kind][1][-1]


def combinations(held_out: bool | None = None) -> list[tuple[str, str, str, bool]]:
    """Every (kind, value, loudness, echo) the grammar can say; ``held_out=False`` only those training sees,
    ``True`` only the held-out ones, ``None`` all."""
    every = [(kind, value, loudness, echo) for kind, (_, values, _) in KINDS.items() for value in values
             for loudness in LEVELS for echo in (False, True)]
    return [c for c in every if held_out is None or is_held_out(c[0], c[1], c[3]) == held_out]


# ------------------------------------------------------------------------------------------------ rendering

def _place(event: np.ndarray, n: int, onset: int) -> np.ndarray:
    """``event`` starting at sample ``onset`` of ``n`` samples of silence, cut at the end."""
    y = np.zeros(n, np.float32)
    event = event[: max(0, n - onset)]
    y[onset:onset + len(event)] = event
    return y


def _siren(speed: str, seconds: float, sr: int, rng) -> np.ndarray:
    """A tone whose frequency swings ±25 % around a centre, slowly (1.5 Hz) or fast (6 Hz)."""
    t = np.arange(int(seconds * sr)) / sr
    centre = rng.uniform(600, 1000)
    frequency = centre * (1 + 0.25 * np.sin(2 * np.pi * (1.5 if speed == "slow" else 6.0) * t))
    return 0.5 * np.sin(2 * np.pi * np.cumsum(frequency) / sr).astype(np.float32)


def _drums(rhythm: str, sr: int, rng) -> np.ndarray:
    count, tempo = rhythm.split()
    interval = 0.3 if tempo == "slow" else 0.14
    hits = [drum(str(rng.choice(["kick", "snare"])), sr, duration_s=0.2, seed=int(rng.integers(2**31)))
            for _ in range({"two": 2, "three": 3, "four": 4}[count])]
    y = np.zeros(int(interval * sr) * (len(hits) - 1) + len(hits[0]), np.float32)
    for i, hit in enumerate(hits):
        y[i * int(interval * sr):][: len(hit)] += hit
    return y


def _bursts(color: str, sr: int, rng) -> np.ndarray:
    """Three or four 120-ms bursts of noise with 100–160-ms gaps."""
    parts = []
    for _ in range(int(rng.integers(3, 5))):
        parts += [noise(0.12, sr, color=color, amplitude=0.3, seed=int(rng.integers(2**31))),
                  np.zeros(int(rng.uniform(0.10, 0.16) * sr), np.float32)]
    return np.concatenate(parts)


def _speech(voice: str, sr: int, rng) -> np.ndarray:
    words = [str(w) for w in rng.choice(DIGITS["en"] + WORDS["en"], size=2)]
    variant = str(rng.choice(VOICES[voice]))
    audio = speak(" ".join(words), voice=f"en-us+{variant}", rate=int(rng.integers(170, 220)),
                  pitch=int(rng.integers(35, 65)))
    return resample(audio, ESPEAK_SR, sr)


def _event(kind: str, value: str, sr: int, rng) -> np.ndarray:
    """The dry sound of ``kind`` with attribute ``value``, at its own level."""
    if kind == "beep":
        frequency = rng.uniform(300, 500) if value == "low" else rng.uniform(1500, 2500)
        return chirp(frequency, frequency, rng.uniform(0.4, 0.8), sr)
    if kind == "chirp":
        low, high = rng.uniform(250, 400), rng.uniform(2500, 4000)
        start, end = (low, high) if value == "rising" else (high, low)
        return chirp(start, end, rng.uniform(0.6, 0.9), sr, method="exponential")
    if kind == "siren":
        return _siren(value, 1.0, sr, rng)
    if kind == "drums":
        return _drums(value, sr, rng)
    if kind == "chord":
        return chord(list(CHORDS[value]), rng.uniform(0.7, 1.0), sr, harmonics=int(rng.integers(3, 7)))
    if kind == "arpeggio":
        root = (60, 62, 65, 67)[int(rng.integers(4))]  # MIDI C4, D4, F4 or G4: a major arpeggio over an octave
        notes = [440 * 2 ** ((root + step - 69) / 12) for step in (0, 4, 7, 12)]
        return arpeggio(notes if value == "rising" else notes[::-1], 0.22, sr, harmonics=int(rng.integers(3, 7)))
    if kind == "noise":
        return _bursts(value, sr, rng)
    return _speech(value, sr, rng)


@lru_cache(maxsize=2)
def _echo(sr: int) -> np.ndarray:
    """The impulse response of the room that "with echo" means (computed once per sample rate)."""
    from ..signal.enhance import room_impulse_response

    return room_impulse_response(sr, rt60_s=ECHO_RT60_S, room_m=(9.0, 7.0, 4.0), source_m=(2.0, 5.5, 1.6),
                                 microphone_m=(7.0, 1.5, 1.4))


def render(kind: str, value: str, loudness: str = "normal", echo: bool = False, seconds: float = 1.28,
           sr: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """One clip of ``seconds``: the sound that :func:`caption` describes, starting within its first 0.1 s, in the
    room with echo if asked, scaled to the loudness' peak. Deterministic in ``seed``."""
    caption(kind, value, loudness, echo)  # validates the combination
    seconds = check_number(seconds, "seconds (clip length)", minimum=0.5, maximum=10.0)
    rng = np.random.default_rng(check_whole(seed, "seed", minimum=0))
    n = int(round(seconds * sr))
    y = _place(_event(kind, value, sr, rng), n, int(rng.uniform(0, 0.1) * sr))
    if echo:
        from scipy.signal import fftconvolve

        y = fftconvolve(y, _echo(sr))[:n]
    return (LEVELS[loudness] * y / np.abs(y).max()).astype(np.float32)


# ------------------------------------------------------------------------------------------------ the corpus

@dataclass(frozen=True)
class SoundSpec:
    """Everything that determines a sound corpus; its hash names the cache entry. ``kinds`` restricts the kinds
    of sound (default: all eight). ``hold_out``: the training split never draws the held-out combinations (a
    generator's corpus); False lets it draw every combination (the corpus of the classifier that judges one)."""

    n_train: int = 1200
    n_test: int = 240
    seconds: float = 1.28
    sample_rate: int = SAMPLE_RATE
    seed: int = 0
    kinds: tuple[str, ...] = tuple(KINDS)
    hold_out: bool = True

    def resolved(self) -> "SoundSpec":
        kinds = tuple(self.kinds)
        unknown = [k for k in kinds if k not in KINDS]
        if not kinds or unknown:
            raise ValueError(f"kinds {list(kinds)} must be a non-empty selection of {', '.join(KINDS)}")
        check_split_sizes(self.n_train, self.n_test, MAX_CLIPS)
        check_number(self.seconds, "seconds (clip length)", minimum=0.5, maximum=10.0)
        check_sample_rate(self.sample_rate)
        return dataclasses.replace(self, kinds=kinds)

    def digest(self) -> str:
        fields = {**dataclasses.asdict(self), "version": SOUNDS_VERSION}
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=list).encode()).hexdigest()[:16]


@dataclass
class Clip:
    """One captioned clip: its audio (float32 mono) and the attributes its caption was written from."""

    id: str
    caption: str
    kind: str
    value: str
    loudness: str
    echo: bool
    held_out: bool
    split: str
    sample_rate: int
    audio: np.ndarray = field(repr=False)


def _clip(spec: SoundSpec, split: str, index: int) -> Clip:
    """Clip ``index`` of ``split``: a pure function of (spec, split, index)."""
    rng = np.random.default_rng([spec.seed, 0 if split == "train" else 1, index])
    pool = [c for c in combinations(held_out=False if split == "train" and spec.hold_out else None)
            if c[0] in spec.kinds]
    kind, value, loudness, echo = pool[int(rng.integers(len(pool)))]
    audio = render(kind, value, loudness, echo, spec.seconds, spec.sample_rate, seed=int(rng.integers(2**31)))
    return Clip(f"{split}-{index:05d}", caption(kind, value, loudness, echo), kind, value, loudness, echo,
                is_held_out(kind, value, echo), split, spec.sample_rate, audio)


class Sounds(Captioned):
    """A generated sound corpus: ``spec``, ``path`` (its cache), the ``train`` and ``test`` lists of :class:`Clip`."""


def make_sounds(spec: SoundSpec | None = None, **fields) -> Sounds:
    """Renders (or loads from the cache) the sound corpus of ``spec``, or of ``SoundSpec(**fields)``."""
    return load_corpus(Sounds, resolved_spec(SoundSpec, spec, fields), "sounds", _clip, Clip)
