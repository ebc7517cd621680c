"""Spectral features from scratch in numpy: framing, STFT, the mel scale and filterbank, log-mel, MFCC.

Written in notebook 01 as the lesson (each function is shown there and checked against librosa) and used
as plumbing by the ASR notebooks (03 onwards). The conventions follow librosa so that results match it:
periodic Hann window, centre padding with zeros, power spectrogram, Slaney-normalised mel filters.
"""
from __future__ import annotations

import numpy as np

from ..core.audio import check_audio, check_sample_rate
from ..core.checks import check_number, check_whole


def _check_fft(n_fft: int, hop_length: int | None) -> int:
    n_fft = check_whole(n_fft, "n_fft (e.g. 512)", minimum=2)
    return check_whole(n_fft // 4 if hop_length is None else hop_length, "hop_length", maximum=n_fft)


def hann_window(n: int, periodic: bool = True) -> np.ndarray:
    """Hann window ``0.5 − 0.5·cos(2πk/N)``; ``periodic=True`` (N = n, for spectral analysis) as librosa/scipy use,
    ``False`` (N = n − 1, symmetric: for filter design) needs n ≥ 2."""
    n = check_whole(n, "window length n", minimum=1 if periodic else 2)
    if n == 1:  # a window of one sample passes it, as scipy.signal.get_window('hann', 1) does
        return np.ones(1)
    N = n if periodic else n - 1
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / N)


def frame(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Splits ``y`` into overlapping frames, shape ``(n_frames, frame_length)`` (a strided view, no copy)."""
    frame_length = check_whole(frame_length, "frame_length")
    hop_length = check_whole(hop_length, "hop_length")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"frame splits a 1-D signal; got shape {y.shape} (mix a multichannel clip down first)")
    if len(y) < frame_length:
        raise ValueError(f"signal of {len(y)} samples is shorter than one frame ({frame_length}); pad it or use center=True")
    n_frames = 1 + (len(y) - frame_length) // hop_length
    return np.lib.stride_tricks.as_strided(
        y, shape=(n_frames, frame_length), strides=(y.strides[0] * hop_length, y.strides[0]), writeable=False)


def stft(y, n_fft: int = 512, hop_length: int | None = None, center: bool = True) -> np.ndarray:
    """Short-time Fourier transform, complex ``(1 + n_fft//2, n_frames)``, matching ``librosa.stft`` defaults.

    Frames of ``n_fft`` samples every ``hop_length`` (default n_fft//4), a periodic Hann window, and with
    ``center=True`` n_fft//2 zeros on each side so that frame t is centred on sample t·hop_length.
    """
    hop_length = _check_fft(n_fft, hop_length)
    y = check_audio(y, allow_silent=True).astype(np.float64)
    if center:
        y = np.pad(y, n_fft // 2, mode="constant")
    frames = frame(y, n_fft, hop_length) * hann_window(n_fft)
    return np.fft.rfft(frames, axis=1).T


def hz_to_mel(f, htk: bool = False):
    """Hz → mel. HTK: 2595·log10(1 + f/700). Slaney (default): linear to 1 kHz (3 mel per 200 Hz), log above."""
    f = np.asarray(f, dtype=float)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(f < min_log_hz, f / f_sp, min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep)


def mel_to_hz(m, htk: bool = False):
    """Mel → Hz, the inverse of :func:`hz_to_mel`."""
    m = np.asarray(m, dtype=float)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m < min_log_mel, m * f_sp, min_log_hz * np.exp(logstep * (m - min_log_mel)))


def mel_filterbank(sr: int, n_fft: int, n_mels: int = 80, fmin: float = 0.0, fmax: float | None = None,
                   htk: bool = False, norm: str | None = "slaney") -> np.ndarray:
    """Triangular mel filters, shape ``(n_mels, 1 + n_fft//2)``, matching ``librosa.filters.mel``.

    ``n_mels + 2`` points equally spaced in mel between ``fmin`` and ``fmax`` (default sr/2) give the feet and
    peaks of the triangles; ``norm="slaney"`` scales each to unit area (2 / bandwidth in Hz), ``None`` to peak 1.
    """
    sr = check_sample_rate(sr)
    fmin = check_number(fmin, "fmin (Hz)")
    fmax = sr / 2 if fmax is None else check_number(fmax, "fmax (Hz)")
    if not 0 <= fmin < fmax <= sr / 2:
        raise ValueError(f"need 0 ≤ fmin < fmax ≤ sr/2 = {sr / 2:g} Hz, got fmin={fmin!r}, fmax={fmax!r}")
    n_mels = check_whole(n_mels, "n_mels")
    n_fft = check_whole(n_fft, "n_fft (e.g. 512)", minimum=2)
    if norm not in ("slaney", None):
        raise ValueError(f"norm {norm!r} must be 'slaney' or None")
    fft_hz = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    widths = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0, np.minimum(rising, falling))
    empty = np.flatnonzero(weights.max(axis=1) == 0)
    if empty.size:
        raise ValueError(f"{empty.size} of the {n_mels} mel filters fall between FFT bins and are empty "
                         f"(n_fft={n_fft} gives {sr / n_fft:.0f} Hz bins at {sr} Hz): use fewer mels or a larger n_fft")
    if norm == "slaney":
        weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    return weights


def power_to_db(S, ref: float = 1.0, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """10·log10(max(S, amin) / ref), floored at ``top_db`` below the maximum (as ``librosa.power_to_db``)."""
    if top_db is not None:
        check_number(top_db, "top_db (dB below the peak)", positive=True)
    S_db = 10.0 * np.log10(np.maximum(amin, S)) - 10.0 * np.log10(max(amin, ref))
    return np.maximum(S_db, S_db.max() - top_db) if top_db is not None else S_db


def log_mel(y, sr: int, n_fft: int = 512, hop_length: int = 160, n_mels: int = 80, fmin: float = 0.0,
            fmax: float | None = None, htk: bool = False, top_db: float | None = 80.0) -> np.ndarray:
    """Log-mel spectrogram in dB, ``(n_mels, n_frames)``: mel filterbank · |STFT|², then :func:`power_to_db`."""
    power = np.abs(stft(y, n_fft=n_fft, hop_length=hop_length)) ** 2
    return power_to_db(mel_filterbank(sr, n_fft, n_mels, fmin, fmax, htk) @ power, top_db=top_db)


def preemphasis(y, coef: float = 0.97) -> np.ndarray:
    """y[n] − coef·y[n−1]: a first-order high-pass that tilts speech's spectrum up (+6 dB/octave towards high f)."""
    if not 0 <= check_number(coef, "pre-emphasis coefficient") < 1:
        raise ValueError(f"pre-emphasis coefficient {coef!r} must be in [0, 1)")
    y = check_audio(y)
    return np.concatenate([y[:1], y[1:] - coef * y[:-1]]).astype(np.float32)


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II basis ``(n_out, n_in)``: row k is √(2/N)·cos(πk(2n+1)/2N), row 0 scaled by 1/√2."""
    n = np.arange(n_in)
    basis = np.cos(np.pi * np.arange(n_out)[:, None] * (2 * n[None, :] + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    basis[0] /= np.sqrt(2.0)
    return basis


def mfcc(y, sr: int, n_mfcc: int = 13, n_fft: int = 512, hop_length: int = 160, n_mels: int = 40,
         fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Mel-frequency cepstral coefficients ``(n_mfcc, n_frames)``: the DCT-II of the log-mel spectrum."""
    check_whole(n_mfcc, "n_mfcc", maximum=check_whole(n_mels, "n_mels"))
    return dct_matrix(n_mfcc, n_mels) @ log_mel(y, sr, n_fft, hop_length, n_mels, fmin, fmax)


def chroma_filterbank(sr: int, n_fft: int, center_octave: float = 5.0, octave_width: float = 2.0) -> np.ndarray:
    """Pitch-class filters, shape ``(12, 1 + n_fft//2)``, row 0 = C, as ``librosa.filters.chroma`` (tuning 0).

    Each FFT bin above 0 Hz sits at a fractional pitch (in semitones); its weight for pitch class c is a Gaussian
    bump in the distance from the bin's pitch to the nearest c (width: half the bin's spacing in semitones, at
    least half a semitone), each bin's 12 weights scaled to unit length, then the bins weighted by a Gaussian over
    octaves centred ``center_octave`` octaves above A0 (27.5 Hz: 880 Hz), ``octave_width`` octaves wide.
    The 0 Hz bin is given a pitch 1.5 octaves below the first bin, as librosa does. Used by notebook 09.
    """
    sr = check_sample_rate(sr)
    n_fft = check_whole(n_fft, "n_fft (e.g. 2048)", minimum=2)
    hz = np.arange(1, n_fft) * sr / n_fft  # the first bins of the full spectrum, as librosa reckons them
    semitones = 12 * np.log2(hz / 27.5)  # above A0
    semitones = np.concatenate([[semitones[0] - 18.0], semitones])  # the 0 Hz bin, made up
    spacing = np.append(np.maximum(np.diff(semitones), 1.0), 1.0)
    distance = (semitones[None, :] - np.arange(12)[:, None] + 6 + 120) % 12 - 6  # to each class, in [-6, 6)
    weights = np.exp(-0.5 * (2 * distance / spacing) ** 2)
    weights /= np.linalg.norm(weights, axis=0, keepdims=True)
    weights *= np.exp(-0.5 * ((semitones / 12 - center_octave) / octave_width) ** 2)
    return np.roll(weights, -3, axis=0)[:, : 1 + n_fft // 2]  # rows counted from A → from C


def chroma(y, sr: int, n_fft: int = 2048, hop_length: int = 320) -> np.ndarray:
    """Chromagram ``(12, n_frames)``: the pitch-class filters · |STFT|², each frame scaled to peak 1 (as
    ``librosa.feature.chroma_stft(tuning=0)``). Notebook 09 scores chords, keys and melodies with it."""
    power = np.abs(stft(y, n_fft=n_fft, hop_length=hop_length)) ** 2
    energy = chroma_filterbank(sr, n_fft) @ power
    return energy / np.maximum(energy.max(axis=0, keepdims=True), np.finfo(float).tiny)
