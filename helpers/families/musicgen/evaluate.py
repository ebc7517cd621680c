"""Judges of notebook 09's music: what a clip's chroma says its chord, key and melody are, its tempo, and a
Fréchet distance between sets of clips — each read against its own floor on the corpus' real clips.

The chord reader is a rule, not a model: the root is the pitch class whose triad (root, fifth, the stronger
third) has the most chroma energy; the quality is minor when the minor third outweighs the major third, else
seventh when the minor seventh carries more than :data:`SEVENTH_SHARE` of the fifth's energy, else major.
"""
from __future__ import annotations

import numpy as np

from ...data.music import PITCH_CLASSES, TEMPI
from ...signal.features import chroma

SEVENTH_SHARE = 0.35


def read_chord(profile) -> tuple[str, str]:
    """``(root, quality)`` of a 12-bin chroma profile (C first), by the rule of the module's docstring."""
    profile = np.asarray(profile, dtype=np.float64)
    if profile.shape != (12,):
        raise ValueError(f"a chroma profile has 12 bins, got shape {profile.shape}")
    rotated = np.stack([np.roll(profile, -r) for r in range(12)])  # rotated[r][i]: i semitones above root r
    root = int(np.argmax(rotated[:, 0] + rotated[:, 7] + np.maximum(rotated[:, 3], rotated[:, 4])))
    x = rotated[root]
    quality = "minor" if x[3] > x[4] else ("seventh" if x[10] > SEVENTH_SHARE * x[7] else "major")
    return PITCH_CLASSES[root], quality


def chords(audio, sr: int = 16_000) -> list[tuple[str, str]]:
    """The chord :func:`read_chord` reads in each clip's mean chroma."""
    return [read_chord(chroma(np.asarray(y), sr).mean(axis=1)) for y in audio]


def chord_accuracy(audio, clips, sr: int = 16_000) -> dict:
    """How often the chord read from each clip of ``audio`` matches its ``clips`` label: ``key`` (the root) and
    ``chord`` (root and quality)."""
    found = chords(audio, sr)
    return {"key": float(np.mean([f[0] == c.root for f, c in zip(found, clips)])),
            "chord": float(np.mean([f == (c.root, c.quality) for f, c in zip(found, clips)]))}


def onset_envelope(y, sr: int = 16_000, hop_length: int = 160) -> np.ndarray:
    """Spectral flux: the summed rise of the log-mel from frame to frame (100 frames a second)."""
    from ...signal.features import log_mel

    mel = log_mel(np.asarray(y), sr, n_fft=1024, hop_length=hop_length, n_mels=64)
    return np.maximum(0.0, np.diff(mel, axis=1)).sum(axis=0)


def tempo(y, sr: int = 16_000, hop_length: int = 160) -> str:
    """``"slow"`` or ``"fast"``: the tempo of :data:`helpers.data.music.TEMPI` whose beat and eighth-note lags
    carry more of the onset envelope's autocorrelation."""
    envelope = onset_envelope(y, sr, hop_length)
    envelope = envelope - envelope.mean()
    correlation = np.correlate(envelope, envelope, mode="full")[len(envelope) - 1:]
    frames_per_s = sr / hop_length

    def strength(bpm: float) -> float:
        lags = [int(round(60 / bpm * frames_per_s * f)) for f in (1.0, 0.5)]
        return sum(correlation[lag] for lag in lags if lag < len(correlation))

    return max(TEMPI, key=lambda name: strength(TEMPI[name]))


def tempo_accuracy(audio, clips, sr: int = 16_000) -> float:
    return float(np.mean([tempo(y, sr) == c.tempo for y, c in zip(audio, clips)]))


def melody_following(audio, frames, sr: int = 16_000, stride: int = 4, hop_length: int = 320) -> float:
    """The fraction of melody frames (one-hot ``frames`` ``(B, F, 12)``, one per ``stride`` chroma frames) whose
    pitch class is the dominant one of ``audio``'s chroma at the same time."""
    hits = total = 0
    for y, wanted in zip(audio, np.asarray(frames)):
        heard = chroma(np.asarray(y), sr, hop_length=hop_length).argmax(axis=0)[::stride]
        n = min(len(heard), len(wanted))
        hits += int(np.sum(heard[:n] == wanted[:n].argmax(axis=1)))
        total += n
    return hits / max(total, 1)
