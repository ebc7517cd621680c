"""SenseVoice's front end written out (notebook 06), to be checked against funasr's ``WavFrontend``: Kaldi-style
log-mel filterbank energies (fbank), low frame rate stacking (LFR) and global CMVN read from a Kaldi ``am.mvn``.

Defaults are SenseVoiceSmall's: 16 kHz, 25-ms Hamming frames every 10 ms, 80 mel bands, LFR m = 7, n = 6 (each output
frame stacks 7 input frames and the output advances 6: 60 ms per frame, 560 dimensions).
"""
from __future__ import annotations

import numpy as np

from ...core.audio import check_audio

FLOAT_EPS = float(np.finfo(np.float32).eps)  # Kaldi's floor under the log


def kaldi_mel_banks(n_mels: int = 80, n_fft: int = 512, sr: int = 16_000, low_hz: float = 20.0,
                    high_hz: float | None = None) -> np.ndarray:
    """Kaldi's triangular mel filters, ``(n_mels, n_fft // 2 + 1)``: triangles evenly spaced on the mel scale
    ``1127 ln(1 + f / 700)`` between ``low_hz`` and ``high_hz`` (Nyquist), weights computed in mel, not in Hz."""
    high_hz = sr / 2 if high_hz is None else high_hz
    mel = lambda f: 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)  # noqa: E731
    edges = np.linspace(mel(low_hz), mel(high_hz), n_mels + 2)
    bins = mel(np.arange(n_fft // 2) * sr / n_fft)  # Kaldi leaves the Nyquist bin out
    left, centre, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    weights = np.maximum(0.0, np.minimum((bins - left) / (centre - left), (right - bins) / (right - centre)))
    return np.pad(weights, ((0, 0), (0, 1))).astype(np.float32)


def fbank(audio, sr: int = 16_000, n_mels: int = 80, frame_ms: float = 25.0, shift_ms: float = 10.0,
          preemphasis: float = 0.97) -> np.ndarray:
    """Kaldi fbank of float audio in [-1, 1], ``(frames, n_mels)``, as funasr's ``WavFrontend`` computes it with
    dither 0: samples scaled to 16-bit range, frames without padding (``snip_edges``), each frame's DC removed, then
    pre-emphasis, a Hamming window, zero-padding to a power of two, the power spectrum, the mel filters, the log."""
    y = check_audio(audio, sr=sr).astype(np.float64) * 32768.0
    length, shift = int(sr * frame_ms / 1000), int(sr * shift_ms / 1000)
    if len(y) < length:
        raise ValueError(f"the clip has {len(y)} samples, fewer than one {frame_ms:g}-ms frame ({length})")
    n_frames = 1 + (len(y) - length) // shift
    frames = np.lib.stride_tricks.sliding_window_view(y, length)[::shift][:n_frames].copy()
    frames -= frames.mean(axis=1, keepdims=True)
    frames[:, 1:] -= preemphasis * frames[:, :-1].copy()
    frames[:, 0] -= preemphasis * frames[:, 0]
    frames *= np.hamming(length)  # 0.54 - 0.46 cos(2πn / (N - 1)): Kaldi's "hamming"
    n_fft = 1 << (length - 1).bit_length()
    power = np.abs(np.fft.rfft(frames, n=n_fft)) ** 2
    energies = power @ kaldi_mel_banks(n_mels, n_fft, sr).T
    return np.log(np.maximum(energies, FLOAT_EPS)).astype(np.float32)


def stack_frames(features: np.ndarray, m: int = 7, n: int = 6) -> np.ndarray:
    """Low frame rate (LFR): output frame ``i`` concatenates input frames ``i·n - (m-1)/2 … i·n + (m-1)/2``, the
    first frame repeated on the left and the last on the right where they run out; ``ceil(T / n)`` frames of
    ``m × dims``."""
    features = np.asarray(features, dtype=np.float32)
    frames = features.shape[0]
    out_frames = -(-frames // n)
    left = (m - 1) // 2
    right = max(0, (out_frames - 1) * n + m - (frames + left))
    padded = np.concatenate([np.repeat(features[:1], left, 0), features, np.repeat(features[-1:], right, 0)])
    return np.stack([padded[i * n:i * n + m].reshape(-1) for i in range(out_frames)])


def cmvn_stats(features: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Global mean and standard deviation of every dimension over all frames of ``features``."""
    stacked = np.concatenate(features).astype(np.float64)
    return stacked.mean(0).astype(np.float32), np.sqrt(stacked.var(0) + 1e-8).astype(np.float32)


def write_am_mvn(path, mean: np.ndarray, std: np.ndarray) -> None:
    """CMVN in the Kaldi nnet1 text format that funasr's ``WavFrontend`` reads (``am.mvn`` in a SenseVoice folder):
    an ``<AddShift>`` of ``-mean`` and a ``<Rescale>`` of ``1 / std``."""
    dims = len(mean)
    vector = lambda v: "[ " + " ".join(f"{x:.8g}" for x in v) + " ]"  # noqa: E731
    text = (f"<Nnet>\n<Splice> {dims} {dims}\n[ 0 ]\n<AddShift> {dims} {dims}\n<LearnRateCoef> 0 {vector(-mean)}\n"
            f"<Rescale> {dims} {dims}\n<LearnRateCoef> 0 {vector(1.0 / std)}\n</Nnet>\n")
    with open(path, "w") as f:
        f.write(text)


def apply_cmvn(features: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``(features + shift) * scale``: what the ``am.mvn`` of :func:`write_am_mvn` does."""
    return ((features + shift) * scale).astype(np.float32)


def features(audio, shift: np.ndarray, scale: np.ndarray, sr: int = 16_000) -> np.ndarray:
    """The whole front end: fbank → LFR 7/6 → CMVN, ``(frames, 560)``."""
    return apply_cmvn(stack_frames(fbank(audio, sr)), shift, scale)
