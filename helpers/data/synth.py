"""Synthetic signals: tones, chirps, noise at a given SNR, chords, arpeggios and drum hits.

Used by 01 (aliasing, quantization, STFT), by the corpus (noise at an SNR) and by the music notebooks.
Everything is deterministic: random parts take a ``seed``. Output is float32 mono.
"""
from __future__ import annotations

import numpy as np

from ..core.audio import check_audio, check_pair, check_sample_rate
from ..core.checks import check_number, check_whole

MAX_SECONDS = 600.0
DRUMS = ("kick", "snare", "hihat")


def _n_samples(duration_s: float, sr: int) -> int:
    duration_s = check_number(duration_s, "duration_s (seconds)", maximum=MAX_SECONDS, positive=True)
    return max(1, int(round(duration_s * sr)))


def _time(duration_s: float, sr: int) -> np.ndarray:
    sr = check_sample_rate(sr)
    return np.arange(_n_samples(duration_s, sr)) / sr


def _check_amplitude(amplitude: float) -> None:
    check_number(amplitude, "amplitude (1.0 is full scale)", maximum=1.0, positive=True)


def _fade(y: np.ndarray, sr: int, fade_s: float = 0.005) -> np.ndarray:
    """Raised-cosine fade in/out so that notes start and stop without clicks."""
    n = min(int(fade_s * sr), len(y) // 2)
    if n > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n))
        y[:n] *= ramp
        y[-n:] *= ramp[::-1]
    return y


def tone(freq_hz: float, duration_s: float, sr: int, amplitude: float = 0.5, phase: float = 0.0) -> np.ndarray:
    """A sine ``amplitude * sin(2π f t + phase)``. A ``freq_hz`` above sr/2 is allowed: it aliases (notebook 01)."""
    freq_hz = check_number(freq_hz, "freq_hz", positive=True)
    phase = check_number(phase, "phase (radians)")
    _check_amplitude(amplitude)
    t = _time(duration_s, sr)
    return (amplitude * np.sin(2 * np.pi * freq_hz * t + phase)).astype(np.float32)


def chirp(f0_hz: float, f1_hz: float, duration_s: float, sr: int, amplitude: float = 0.5,
          method: str = "linear") -> np.ndarray:
    """A sweep from ``f0_hz`` to ``f1_hz``; ``method`` is ``"linear"`` or ``"exponential"`` (log-frequency)."""
    f0_hz, f1_hz = check_number(f0_hz, "f0_hz", positive=True), check_number(f1_hz, "f1_hz", positive=True)
    _check_amplitude(amplitude)
    t = _time(duration_s, sr)
    T = len(t) / sr
    if method == "linear":
        phase = 2 * np.pi * (f0_hz * t + (f1_hz - f0_hz) * t**2 / (2 * T))
    elif method == "exponential":
        k = (f1_hz / f0_hz) ** (1 / T)
        phase = 2 * np.pi * f0_hz * (k**t - 1) / np.log(k) if f1_hz != f0_hz else 2 * np.pi * f0_hz * t
    else:
        raise ValueError(f"unknown chirp method {method!r}; use 'linear' or 'exponential'")
    return (amplitude * np.sin(phase)).astype(np.float32)


def noise(duration_s: float, sr: int, color: str = "white", amplitude: float = 0.1, seed: int = 0) -> np.ndarray:
    """Gaussian noise with RMS ``amplitude``; ``color`` is ``"white"`` (flat) or ``"pink"`` (1/f power)."""
    _check_amplitude(amplitude)
    n = _n_samples(duration_s, check_sample_rate(sr))
    rng = np.random.default_rng(check_whole(seed, "seed", minimum=0))
    white = rng.standard_normal(n)
    if color == "white":
        y = white
    elif color == "pink":
        spectrum = np.fft.rfft(white)
        f = np.arange(len(spectrum), dtype=float)
        f[0] = 1.0
        y = np.fft.irfft(spectrum / np.sqrt(f), n)
    else:
        raise ValueError(f"unknown noise color {color!r}; use 'white' or 'pink'")
    return (amplitude * y / np.sqrt(np.mean(y**2))).astype(np.float32)


def snr_db(reference, test) -> float:
    """Signal-to-noise ratio in dB of ``test`` against ``reference``: 10·log10(Σref² / Σ(test−ref)²)."""
    reference, test = check_pair(reference, test, ("reference", "test"))
    error = np.sum((test.astype(np.float64) - reference) ** 2)
    if error == 0:
        return float("inf")
    return float(10 * np.log10(np.sum(reference.astype(np.float64) ** 2) / error))


def si_sdr_db(reference, estimate) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019): project ``estimate`` on ``reference``
    (target = α·reference with α = ⟨estimate, reference⟩ / ‖reference‖²) and compare the target's energy with the
    rest's, 10·log10(‖target‖² / ‖estimate − target‖²). A gain on the estimate does not change it. Used by the
    judges' tests and floors (RNNoise's gain) and by 02 (enhancement)."""
    reference, estimate = (x.astype(np.float64) for x in check_pair(reference, estimate))
    target = (estimate @ reference) / (reference @ reference) * reference
    residual = np.sum((estimate - target) ** 2)
    return float("inf") if residual == 0 else float(10 * np.log10(np.sum(target ** 2) / residual))


def add_noise(y, snr: float, sr: int = 16_000, color: str = "white", seed: int = 0, noise_clip=None) -> np.ndarray:
    """Returns ``y`` plus noise scaled so that the mixture has exactly ``snr`` dB SNR.

    The noise is generated (``color``, ``seed``) or taken from ``noise_clip`` (tiled/cropped to ``len(y)``).
    Used by 02 (enhancement) and by the corpus' optional noise.
    """
    y = check_audio(y)
    check_number(snr, "snr (dB, the useful range)", minimum=-30, maximum=100)
    if noise_clip is None:
        n = noise(len(y) / check_sample_rate(sr), sr, color=color, seed=seed)[: len(y)]
        n = np.pad(n, (0, len(y) - len(n)))
    else:
        n = check_audio(noise_clip, name="noise_clip")
        n = np.resize(n, len(y))
    gain = np.sqrt(np.sum(y.astype(np.float64) ** 2) / (np.sum(n.astype(np.float64) ** 2) * 10 ** (snr / 10)))
    return (y + gain * n).astype(np.float32)


def _to_hz(note) -> float:
    if isinstance(note, str):
        import librosa

        try:
            return float(librosa.note_to_hz(note))
        except librosa.ParameterError as err:
            raise ValueError(f"cannot read note {note!r}: use names like 'A4', 'C#3', 'Eb5' or a frequency in Hz") from err
    return check_number(note, "note frequency (Hz), or a name like 'A4',", positive=True)


def _notes_to_hz(notes) -> list[float]:
    if not isinstance(notes, (list, tuple, np.ndarray)):
        raise ValueError(f"notes must be a list such as ['C4', 'E4', 'G4'], got {notes!r}")
    return [_to_hz(n) for n in notes]


def _note(freq_hz: float, duration_s: float, sr: int, amplitude: float, harmonics: int) -> np.ndarray:
    """A plucked-string-like note: ``harmonics`` partials with 1/k amplitudes and an exponential decay."""
    harmonics = check_whole(harmonics, "harmonics")
    t = _time(duration_s, sr)
    partials = sum(np.sin(2 * np.pi * k * freq_hz * t) / k for k in range(1, harmonics + 1) if k * freq_hz < sr / 2)
    y = partials * np.exp(-3.0 * t / max(duration_s, 1e-3))
    return _fade(amplitude * y / (np.abs(y).max() + 1e-12), sr)


def chord(notes, duration_s: float, sr: int, amplitude: float = 0.5, harmonics: int = 4) -> np.ndarray:
    """Notes (names like ``"C4"`` or Hz) sounding together, e.g. ``chord(["C4", "E4", "G4"], 1.0, 22050)``."""
    _check_amplitude(amplitude)
    freqs = _notes_to_hz(notes)
    if not freqs:
        raise ValueError("chord needs at least one note")
    y = sum(_note(f, duration_s, sr, 1.0, harmonics) for f in freqs)
    return (amplitude * y / np.abs(y).max()).astype(np.float32)


def arpeggio(notes, note_s: float, sr: int, amplitude: float = 0.5, harmonics: int = 4) -> np.ndarray:
    """Notes played one after another, each ``note_s`` seconds long."""
    _check_amplitude(amplitude)
    freqs = _notes_to_hz(notes)
    if not freqs:
        raise ValueError("arpeggio needs at least one note")
    return np.concatenate([_note(f, note_s, sr, amplitude, harmonics) for f in freqs]).astype(np.float32)


def drum(kind: str, sr: int, duration_s: float = 0.3, amplitude: float = 0.8, seed: int = 0) -> np.ndarray:
    """One drum hit: ``"kick"`` (a falling 150→45 Hz sine), ``"snare"`` (tone + noise) or ``"hihat"`` (bright noise)."""
    _check_amplitude(amplitude)
    t = _time(duration_s, sr)
    rng = np.random.default_rng(check_whole(seed, "seed", minimum=0))
    if kind == "kick":
        freq = 45 + 105 * np.exp(-t / 0.03)
        y = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.15)
    elif kind == "snare":
        y = 0.4 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05) + rng.standard_normal(len(t)) * np.exp(-t / 0.07)
    elif kind == "hihat":
        y = np.diff(rng.standard_normal(len(t) + 1)) * np.exp(-t / 0.02)  # differencing tilts the noise up
    else:
        raise ValueError(f"unknown drum {kind!r}; use one of {', '.join(DRUMS)}")
    return (amplitude * y / np.abs(y).max()).astype(np.float32)
