"""Music we can describe: the synthetic music corpus with captions that notebook 09 (MusicGen) trains its codec and
its language model on, and scores generated music against.

A clip is two bars of accompaniment on one harmony — a root (12 pitch classes) and a quality (major, minor,
dominant seventh) — played as block chords or as an arpeggio, slow (90 BPM) or fast (150 BPM), on one of three
timbres (piano: decaying partials; organ: steady partials; strings: a bowed sawtooth with vibrato), with or without
drums (kick, snare, hi-hat), and with or without a melody of four of the chord's tones, one per beat, an octave above.
Its caption is written from these labels by a small grammar::

    a slow C major chord on piano · a fast F# minor arpeggio on organ with drums and a melody

**Held-out combinations test compositionality**: one (root, quality, timbre) triple in nine never occurs in
training (:func:`is_held_out`), although training hears that root, that quality and that timbre in other
combinations. The test split draws from every combination and flags the held-out ones (``Clip.held_out``).

A corpus is a pure function of its :class:`MusicSpec`, generated once and cached under a hash of the spec
(``.cache/music/<hash>``), like the speech and sound corpora.

>>> music = make_music(n_train=400, n_test=100)
>>> clip = music.train[0]; clip.caption, clip.root, clip.quality, clip.audio.shape
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from ..core.audio import check_sample_rate
from ..core.checks import check_number, check_whole, resolved_spec
from .clips import Captioned, check_split_sizes, load_corpus
from .synth import drum

MUSIC_VERSION = 1  # bump when generation changes, so that cached corpora are rebuilt
SAMPLE_RATE = 16_000
MAX_CLIPS = 20_000
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
QUALITIES = {"major": (0, 4, 7), "minor": (0, 3, 7), "seventh": (0, 4, 7, 10)}  # semitones above the root
TEXTURES = ("chord", "arpeggio")
TEMPI = {"slow": 90, "fast": 150}  # beats per minute
TIMBRES = ("piano", "organ", "strings")
PEAK = 0.8


def caption(root: str, quality: str, texture: str = "chord", tempo: str = "slow", timbre: str = "piano",
            drums: bool = False, melody: bool = False) -> str:
    """The caption of a clip: ``caption("F#", "minor", "arpeggio", "fast", "organ", drums=True)`` →
    ``"a fast F# minor arpeggio on organ with drums"``."""
    for name, value, allowed in (("root", root, PITCH_CLASSES), ("quality", quality, QUALITIES),
                                 ("texture", texture, TEXTURES), ("tempo", tempo, TEMPI), ("timbre", timbre, TIMBRES)):
        if value not in allowed:
            raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(allowed)}")
    extras = [part for part, on in (("drums", drums), ("a melody", melody)) if on]
    return f"a {tempo} {root} {quality} {texture} on {timbre}" + (f" with {' and '.join(extras)}" if extras else "")


def is_held_out(root: str, quality: str, timbre: str) -> bool:
    """Whether training never hears ``root`` ``quality`` on ``timbre``: one triple in nine, spread so that every
    root, quality and timbre is still heard in training."""
    return (PITCH_CLASSES.index(root) + 5 * list(QUALITIES).index(quality) + 7 * TIMBRES.index(timbre)) % 9 == 0


def harmonies(held_out: bool | None = None) -> list[tuple[str, str, str]]:
    """Every (root, quality, timbre); ``held_out=False`` only those training hears, ``True`` only the held-out
    ones, ``None`` all."""
    every = [(r, q, t) for r in PITCH_CLASSES for q in QUALITIES for t in TIMBRES]
    return [c for c in every if held_out is None or is_held_out(*c) == held_out]


def every_caption() -> list[str]:
    """Every caption the grammar can write (a tokenizer's training text)."""
    return [caption(root, quality, texture, tempo, timbre, drums, melody) for root, quality, timbre in harmonies()
            for texture in TEXTURES for tempo in TEMPI for drums in (False, True) for melody in (False, True)]


# ------------------------------------------------------------------------------------------------ rendering

def midi_to_hz(midi) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69) / 12)


def _note(midi: float, seconds: float, timbre: str, sr: int) -> np.ndarray:
    """One note of ``timbre``, ``seconds`` long, peak 1."""
    t = np.arange(int(seconds * sr)) / sr
    f0 = midi_to_hz(midi)
    if timbre == "piano":  # struck: partials 1/k, the higher ones dying faster
        y = sum(np.sin(2 * np.pi * k * f0 * t) / k * np.exp(-t * (2.5 + 1.5 * k)) for k in range(1, 7))
    elif timbre == "organ":  # blown: steady partials 1, 2, 3, 4, 6, 8
        y = sum(a * np.sin(2 * np.pi * k * f0 * t) for k, a in ((1, 1.0), (2, 0.6), (3, 0.4), (4, 0.3), (6, 0.15),
                                                                (8, 0.1)))
    else:  # strings, bowed: a band-limited sawtooth with 5-Hz vibrato and a slow attack
        phase = 2 * np.pi * f0 * np.cumsum(1 + 0.004 * np.sin(2 * np.pi * 5 * t)) / sr
        y = sum(np.sin(k * phase) / k for k in range(1, 11)) * np.minimum(1.0, t / 0.08)
    y = y * np.minimum(1.0, (seconds - t) / 0.02)  # a 20-ms release: no click at the note's end
    return (y / (np.abs(y).max() + 1e-12)).astype(np.float32)


def _add(y: np.ndarray, event: np.ndarray, onset_s: float, sr: int, gain: float) -> None:
    start = int(round(onset_s * sr))
    event = event[: max(0, len(y) - start)]
    y[start:start + len(event)] += gain * event


@dataclass
class Clip:
    """One captioned music clip: its audio (float32 mono) and the labels its caption was written from. ``melody``
    holds its melody's pitch classes, one per beat (empty without a melody)."""

    id: str
    caption: str
    root: str
    quality: str
    texture: str
    tempo: str
    timbre: str
    drums: bool
    melody: list[int]
    held_out: bool
    split: str
    sample_rate: int
    audio: np.ndarray = field(repr=False)


def render(root: str, quality: str, texture: str = "chord", tempo: str = "slow", timbre: str = "piano",
           drums: bool = False, melody: list[int] | tuple[int, ...] = (), seconds: float = 2.0,
           sr: int = SAMPLE_RATE, seed: int = 0) -> np.ndarray:
    """``seconds`` of the music that :func:`caption` describes, peak ``PEAK``; ``melody`` lists the pitch class
    of the melody note on each beat (cycled). Deterministic in ``seed`` (the voicing's octave, the drums' noise)."""
    caption(root, quality, texture, tempo, timbre)  # validates the labels
    seconds = check_number(seconds, "seconds (clip length)", minimum=0.5, maximum=10.0)
    rng = np.random.default_rng(check_whole(seed, "seed", minimum=0))
    beat = 60.0 / TEMPI[tempo]
    bass = 48 + PITCH_CLASSES.index(root)  # the root in octave 3, the chord above it in octave 4
    notes = [bass + 12 + step for step in QUALITIES[quality]]
    y = np.zeros(int(round(seconds * sr)), np.float32)
    n_beats = int(np.ceil(seconds / beat))
    if texture == "chord":  # the whole chord struck on every beat
        for b in range(n_beats):
            for midi in [bass] + notes:
                _add(y, _note(midi, beat, timbre, sr), b * beat, sr, 0.5 / len(notes) ** 0.5)
    else:  # the chord's notes one after another on eighth notes, up and back down
        cycle = [bass] + notes
        for i in range(2 * n_beats):
            _add(y, _note(cycle[i % len(cycle)], beat / 2, timbre, sr), i * beat / 2, sr, 0.5)
    line = [int(m) for m in melody]
    if any(not 0 <= m < 12 for m in line):
        raise ValueError(f"melody {list(melody)} must list pitch classes 0–11 (0 = C, 1 = C#, …)")
    for b in range(n_beats if line else 0):  # one melody note per beat, the line repeated to fill the clip
        _add(y, _note(72 + line[b % len(line)], beat, timbre, sr), b * beat, sr, 0.4)
    if drums:
        for eighth in range(2 * n_beats):
            kind = "hihat" if eighth % 2 else ("kick" if eighth % 4 == 0 else "snare")
            hit = drum(kind, sr, duration_s=0.15, seed=int(rng.integers(2**31)))
            _add(y, hit, eighth * beat / 2, sr, {"kick": 0.7, "snare": 0.4, "hihat": 0.15}[kind])
    return (PEAK * y / (np.abs(y).max() + 1e-12)).astype(np.float32)


def _melody(quality: str, root: str, rng) -> list[int]:
    """Four pitch classes of the harmony's chord tones, no note twice in a row."""
    tones = [(PITCH_CLASSES.index(root) + s) % 12 for s in QUALITIES[quality]]
    line = [int(rng.choice(tones))]
    while len(line) < 4:
        line.append(int(rng.choice([t for t in tones if t != line[-1]])))
    return line


# ------------------------------------------------------------------------------------------------ the corpus

@dataclass(frozen=True)
class MusicSpec:
    """Everything that determines a music corpus; its hash names the cache entry. ``melody`` and ``drums``: the
    fraction of clips that have one. ``hold_out``: the training split never draws the held-out combinations."""

    n_train: int = 2000
    n_test: int = 200
    seconds: float = 2.0
    sample_rate: int = SAMPLE_RATE
    seed: int = 0
    melody: float = 0.5
    drums: float = 0.3
    hold_out: bool = True

    def resolved(self) -> "MusicSpec":
        check_split_sizes(self.n_train, self.n_test, MAX_CLIPS)
        check_number(self.seconds, "seconds (clip length)", minimum=0.5, maximum=10.0)
        check_number(self.melody, "melody (fraction of clips with a melody)", minimum=0.0, maximum=1.0)
        check_number(self.drums, "drums (fraction of clips with drums)", minimum=0.0, maximum=1.0)
        check_sample_rate(self.sample_rate)
        return self

    def digest(self) -> str:
        fields = {**dataclasses.asdict(self), "version": MUSIC_VERSION}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def _clip(spec: MusicSpec, split: str, index: int) -> Clip:
    """Clip ``index`` of ``split``: a pure function of (spec, split, index)."""
    rng = np.random.default_rng([spec.seed, 0 if split == "train" else 1, index])
    pool = harmonies(held_out=False if split == "train" and spec.hold_out else None)
    root, quality, timbre = pool[int(rng.integers(len(pool)))]
    texture, tempo = str(rng.choice(TEXTURES)), str(rng.choice(list(TEMPI)))
    drums, has_melody = bool(rng.random() < spec.drums), bool(rng.random() < spec.melody)
    melody = _melody(quality, root, rng) if has_melody else []
    audio = render(root, quality, texture, tempo, timbre, drums, melody, spec.seconds, spec.sample_rate,
                   seed=int(rng.integers(2**31)))
    return Clip(f"{split}-{index:05d}", caption(root, quality, texture, tempo, timbre, drums, has_melody), root,
                quality, texture, tempo, timbre, drums, melody, is_held_out(root, quality, timbre), split,
                spec.sample_rate, audio)


class Music(Captioned):
    """A generated music corpus: ``spec``, ``path`` (its cache), the ``train`` and ``test`` lists of :class:`Clip`."""


def make_music(spec: MusicSpec | None = None, **fields) -> Music:
    """Renders (or loads from the cache) the music corpus of ``spec``, or of ``MusicSpec(**fields)``."""
    return load_corpus(Music, resolved_spec(MusicSpec, spec, fields), "music", _clip, Clip)
