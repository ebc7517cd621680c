"""Speech enhancement without learning: noise and echo scenes, the metrics the field uses (SI-SDR is
:func:`helpers.si_sdr_db`; PESQ, STOI, ERLE here), noise reduction by spectral subtraction and a Wiener filter, and
an NLMS echo canceller with a double-talk detector. Used by notebook 02 (and its neural enhancer,
:mod:`helpers.families.enhancer`, which shares the STFT below).

Signals are float32 mono numpy arrays at one sample rate; every function that takes two signals refuses ones of
different lengths, and the scene builders refuse ones of different rates.
"""
from __future__ import annotations

import numpy as np

from ..core.audio import check_audio, check_pair, check_sample_rate
from ..core.checks import check_number, check_whole
from ..data.synth import add_noise, chord, noise

N_FFT = 512  # 32 ms at 16 kHz: 257 frequency bins of 31.25 Hz
HOP = 128  # 8 ms, a 75 % overlap: the Hann window then sums to a constant and the iSTFT is exact
NOISE_KINDS = ("white", "pink", "babble", "hum", "music")
CHORDS = (("C4", "E4", "G4"), ("A3", "C4", "E4"), ("F3", "A3", "C4"), ("G3", "B3", "D4"), ("D4", "F#4", "A4"),
          ("E3", "G#3", "B3"))


def check_same_rate(rate_a, rate_b, names=("speech", "noise")) -> int:
    """The common sample rate, or a ValueError naming both and the fix."""
    rate_a = check_sample_rate(rate_a, name=f"{names[0]} sample rate")
    rate_b = check_sample_rate(rate_b, name=f"{names[1]} sample rate")
    if rate_a != rate_b:
        raise ValueError(f"{names[0]} is at {rate_a} Hz and {names[1]} at {rate_b} Hz: resample {names[1]} first, "
                         f"helpers.resample({names[1]}, {rate_b}, {rate_a})")
    return rate_a


# ---------------------------------------------------------------------------------------------- scenes

def _at_rms(y, rms: float = 0.1) -> np.ndarray:
    """``y`` scaled to root-mean-square ``rms``, as float32: every noise kind leaves at the same level."""
    y = np.asarray(y, dtype=np.float64)
    return (rms * y / np.sqrt(np.mean(y ** 2))).astype(np.float32)


def hum(duration_s: float, sr: int, mains_hz: float = 50.0, harmonics: int = 12, seed: int = 0) -> np.ndarray:
    """Mains hum: ``harmonics`` multiples of ``mains_hz`` with amplitudes falling by 0.6 per harmonic and random
    phases, plus a little hiss; RMS 0.1."""
    rng = np.random.default_rng(check_whole(seed, "seed", minimum=0))
    n = max(1, int(round(check_number(duration_s, "duration_s", positive=True) * check_sample_rate(sr))))
    t = np.arange(n) / sr
    y = sum(0.6 ** k * np.sin(2 * np.pi * mains_hz * (k + 1) * t + rng.uniform(0, 2 * np.pi))
            for k in range(check_whole(harmonics, "harmonics")) if mains_hz * (k + 1) < sr / 2)
    return _at_rms(y + 0.05 * rng.standard_normal(n))


def music(duration_s: float, sr: int, chord_s: float = 0.5, seed: int = 0) -> np.ndarray:
    """Background music: random triads from :data:`CHORDS`, ``chord_s`` each, six harmonics; RMS 0.1."""
    rng = np.random.default_rng(check_whole(seed, "seed", minimum=0))
    n = max(1, int(round(check_number(duration_s, "duration_s", positive=True) * check_sample_rate(sr))))
    pieces, total = [], 0
    while total < n:
        pieces.append(chord(CHORDS[rng.integers(len(CHORDS))], chord_s, sr, harmonics=6))
        total += len(pieces[-1])
    return _at_rms(np.concatenate(pieces)[:n])


def babble(voices, n_samples: int, talkers: int = 4, seed: int = 0) -> np.ndarray:
    """Babble: ``talkers`` clips drawn from ``voices`` (other speakers' utterances), each tiled to ``n_samples``
    with a random start and gain, summed; RMS 0.1."""
    if not voices:
        raise ValueError("babble needs a list of speech clips (other speakers' utterances)")
    rng = np.random.default_rng(check_whole(seed, "seed", minimum=0))
    y = np.zeros(check_whole(n_samples, "n_samples"))
    for _ in range(check_whole(talkers, "talkers")):
        clip = check_audio(voices[rng.integers(len(voices))], name="babble voice")
        y += np.roll(np.resize(clip, n_samples), rng.integers(n_samples)) * rng.uniform(0.5, 1.0)
    return _at_rms(y)


def make_noise(kind: str, n_samples: int, sr: int, seed: int = 0, voices=None) -> np.ndarray:
    """A noise clip of one of :data:`NOISE_KINDS` (RMS 0.1): white, pink (1/f), babble (needs ``voices``), mains
    hum at 50 or 60 Hz (drawn from the seed), or music (chords)."""
    check_whole(n_samples, "n_samples")
    seconds = n_samples / check_sample_rate(sr)
    if kind in ("white", "pink"):
        y = noise(seconds, sr, color=kind, seed=seed)
    elif kind == "babble":
        y = babble(voices, n_samples, seed=seed)
    elif kind == "hum":
        y = hum(seconds, sr, mains_hz=(50.0, 60.0)[np.random.default_rng(seed).integers(2)], seed=seed)
    elif kind == "music":
        y = music(seconds, sr, seed=seed)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; choose one of {NOISE_KINDS}")
    return np.resize(y, n_samples)


def mix(speech, noise_clip, snr_db: float, sr: int, noise_sr: int | None = None) -> np.ndarray:
    """``speech`` plus ``noise_clip`` (tiled or cropped to its length) scaled to ``snr_db`` dB SNR. A noise at
    another rate (``noise_sr``) is refused, not silently mixed at the wrong pitch."""
    check_same_rate(sr, sr if noise_sr is None else noise_sr)
    return add_noise(speech, snr_db, sr=sr, noise_clip=noise_clip)


def room_impulse_response(sr: int, rt60_s: float = 0.4, room_m=(6.0, 4.5, 3.0), source_m=(1.5, 3.0, 1.5),
                          microphone_m=(4.0, 1.8, 1.2)) -> np.ndarray:
    """The impulse response from a source to a microphone in a shoebox room with reverberation time ``rt60_s``
    (image-source method, pyroomacoustics; wall absorption from Sabine's formula), scaled to a direct-path peak of 1
    and starting at the direct sound."""
    import pyroomacoustics as pra

    sr = check_sample_rate(sr)
    rt60_s = check_number(rt60_s, "rt60_s (seconds)", minimum=0.05, maximum=2.0)
    room_m = [check_number(v, "room_m (metres)", positive=True) for v in room_m]
    for name, point in (("source_m", source_m), ("microphone_m", microphone_m)):
        if len(point) != 3 or not all(0 < p < size for p, size in zip(point, room_m)):
            raise ValueError(f"{name}={tuple(point)} must be three coordinates inside the room {tuple(room_m)}")
    absorption, max_order = pra.inverse_sabine(rt60_s, room_m)
    room = pra.ShoeBox(room_m, fs=sr, materials=pra.Material(absorption), max_order=max_order)
    room.add_source(list(source_m))
    room.add_microphone(list(microphone_m))
    room.compute_rir()
    rir = np.asarray(room.rir[0][0], dtype=np.float64)
    start = int(np.argmax(np.abs(rir)))
    return (rir[start:] / np.abs(rir[start])).astype(np.float32)


def reverberate(y, rir) -> np.ndarray:
    """``y`` convolved with ``rir``, cut to the length of ``y``."""
    from scipy.signal import fftconvolve

    y, rir = check_audio(y), check_audio(rir, name="impulse response")
    return fftconvolve(y, rir)[: len(y)].astype(np.float32)


# ---------------------------------------------------------------------------------------------- metrics

def pesq(reference, estimate, sr: int = 16_000) -> float:
    """Wide-band PESQ (ITU-T P.862.2; Rix et al. 2001) of ``estimate`` against ``reference``, on its MOS-LQO scale
    (about 1.0 to 4.64), through the ``pesq`` package. Wide-band PESQ is defined at 16 kHz only."""
    from pesq import NoUtterancesError, pesq as _pesq

    reference, estimate = check_pair(reference, estimate)
    if check_sample_rate(sr) != 16_000:
        raise ValueError(f"wide-band PESQ needs 16000 Hz, got {sr}; resample both signals to 16 kHz first")
    try:
        return float(_pesq(sr, reference.astype(np.float64), estimate.astype(np.float64), "wb"))
    except NoUtterancesError:
        raise ValueError("PESQ found no speech in the reference; give it a clip with speech, at least 0.25 s") from None


def stoi(reference, estimate, sr: int = 16_000, extended: bool = False) -> float:
    """Short-time objective intelligibility (Taal et al. 2011), 0..1, through ``pystoi`` (which works at 10 kHz
    and drops silent frames); ``extended`` gives ESTOI."""
    from pystoi import stoi as _stoi

    reference, estimate = check_pair(reference, estimate)
    return float(_stoi(reference.astype(np.float64), estimate.astype(np.float64), check_sample_rate(sr),
                       extended=extended))


def erle_db(microphone, residual) -> float:
    """Echo return loss enhancement: how many dB quieter the canceller's ``residual`` is than the ``microphone``
    signal, 10·log10(Σmic² / Σres²). Meaningful where only the far end talks (single talk)."""
    microphone, residual = check_pair(microphone, residual, ("microphone", "residual"))
    error = np.sum(residual.astype(np.float64) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(np.sum(microphone.astype(np.float64) ** 2) / error))


def erle_curve(microphone, residual, frame: int = 1600) -> np.ndarray:
    """ERLE in dB over consecutive frames of ``frame`` samples: the canceller's convergence curve."""
    microphone, residual = check_pair(microphone, residual, ("microphone", "residual"))
    n = len(microphone) // check_whole(frame, "frame") * frame
    mic = np.sum(microphone[:n].reshape(-1, frame).astype(np.float64) ** 2, axis=1)
    res = np.sum(residual[:n].reshape(-1, frame).astype(np.float64) ** 2, axis=1)
    return 10 * np.log10((mic + 1e-12) / (res + 1e-12))


# ---------------------------------------------------------------------------------------------- noise reduction

def stft(y, n_fft: int = N_FFT, hop_length: int = HOP) -> np.ndarray:
    """Complex STFT ``(bins, frames)``: Hann window, centred frames (librosa's convention)."""
    import librosa

    return librosa.stft(check_audio(y, allow_silent=True), n_fft=n_fft, hop_length=hop_length)


def istft(spectrum, length: int, hop_length: int = HOP) -> np.ndarray:
    """The waveform of ``length`` samples whose :func:`stft` is ``spectrum`` (overlap-add)."""
    import librosa

    return librosa.istft(spectrum, hop_length=hop_length, length=length).astype(np.float32)


def pause_frames(spectrum, quantile: float = 0.2, margin_db: float = 3.0) -> np.ndarray:
    """A simple voice activity detector on STFT frames: True for the pauses, the frames whose energy lies within
    ``margin_db`` of the ``quantile`` of all frame energies (the quietest fifth are assumed to be noise alone)."""
    energy_db = 10 * np.log10(np.sum(np.abs(spectrum) ** 2, axis=0) + 1e-12)
    return energy_db <= np.quantile(energy_db, check_number(quantile, "quantile", minimum=0, maximum=1)) + margin_db


def noise_psd(spectrum, pauses=None) -> np.ndarray:
    """The noise power spectrum ``(bins, 1)``: the mean |Y|² over the pause frames (:func:`pause_frames` by
    default)."""
    pauses = pause_frames(spectrum) if pauses is None else np.asarray(pauses, dtype=bool)
    if not pauses.any():
        raise ValueError("no pause frames to estimate the noise from; pass a clip with pauses or a noise estimate")
    return np.mean(np.abs(spectrum[:, pauses]) ** 2, axis=1, keepdims=True)


def spectral_subtraction(spectrum, noise_power, oversubtraction: float = 1.0, floor: float = 0.02) -> np.ndarray:
    """Boll (1979) in the power domain: |Ŝ|² = max(|Y|² − α·N, β·|Y|²), with the noisy phase. ``oversubtraction``
    is α, ``floor`` β; the floor keeps bins from reaching zero (where the musical noise comes from)."""
    power = np.abs(spectrum) ** 2
    clean = np.maximum(power - oversubtraction * noise_power, floor * power)
    return spectrum * np.sqrt(clean / np.maximum(power, 1e-12))


def wiener(spectrum, noise_power, smoothing: float = 0.98, min_gain: float = 0.1) -> np.ndarray:
    """A Wiener filter G = ξ/(1+ξ) with the a-priori SNR ξ tracked by Ephraim & Malah's (1984) decision-directed
    rule: ξ_t = a·|Ŝ_{t−1}|²/N + (1−a)·max(γ_t − 1, 0), γ_t = |Y_t|²/N the a-posteriori SNR, a = ``smoothing``.
    The smoothing is what removes most musical noise; ``min_gain`` limits the attenuation."""
    noise_power = np.maximum(np.asarray(noise_power, dtype=np.float64).reshape(-1), 1e-12)
    gamma = np.abs(spectrum) ** 2 / noise_power[:, None]
    gains = np.empty(spectrum.shape)
    previous = np.zeros(spectrum.shape[0])  # |Ŝ_{t−1}|² / N
    for t in range(spectrum.shape[1]):
        xi = smoothing * previous + (1 - smoothing) * np.maximum(gamma[:, t] - 1, 0)
        gains[:, t] = np.maximum(xi / (1 + xi), min_gain)
        previous = gains[:, t] ** 2 * gamma[:, t]
    return spectrum * gains


# ---------------------------------------------------------------------------------------------- echo

def nlms(far_end, microphone, taps: int = 256, step: float = 0.5, eps: float = 1e-3, freeze=None):
    """Normalised LMS echo canceller (Haykin): the filter w estimates the loudspeaker-to-microphone path, the echo
    estimate is ŷ[n] = wᵀx[n] over the last ``taps`` far-end samples x[n], the residual e[n] = mic[n] − ŷ[n] is the
    output, and w += μ·e[n]·x[n] / (xᵀx + ε) with μ = ``step`` (0 < μ < 2 for stability). Where ``freeze`` is True
    (double talk), w is not updated; ε keeps the step small where the far end is (nearly) silent, instead of dividing
    microphone noise by almost nothing. Returns ``(residual, weights)``."""
    far_end, microphone = check_pair(far_end, microphone, ("far_end", "microphone"), allow_silent_b=False)
    taps = check_whole(taps, "taps", maximum=len(far_end))
    step = check_number(step, "step (μ)", minimum=0, maximum=2)
    freeze = np.zeros(len(far_end), bool) if freeze is None else np.asarray(freeze, dtype=bool)
    if freeze.shape != far_end.shape:
        raise ValueError(f"freeze must have one flag per sample ({len(far_end)}), got shape {freeze.shape}")
    x = np.concatenate([np.zeros(taps - 1), far_end.astype(np.float64)])
    w = np.zeros(taps)
    residual = np.empty(len(far_end))
    for n in range(len(far_end)):
        window = x[n: n + taps][::-1]  # far_end[n], far_end[n-1], …, far_end[n-taps+1]
        e = microphone[n] - w @ window
        residual[n] = e
        if not freeze[n]:
            w += step * e * window / (window @ window + eps)
    return residual.astype(np.float32), w


def geigel_double_talk(far_end, microphone, threshold: float = 0.5, window: int = 256, hold: int = 800) -> np.ndarray:
    """The Geigel double-talk detector: near-end speech is declared where |mic[n]| exceeds ``threshold`` times the
    loudest far-end sample of the last ``window`` samples (an echo is quieter than what caused it), and held for
    ``hold`` samples. Returns a flag per sample, for :func:`nlms`'s ``freeze``."""
    far_end, microphone = check_pair(far_end, microphone, ("far_end", "microphone"))
    window, hold = check_whole(window, "window"), check_whole(hold, "hold", minimum=0)
    loudest = _causal_max(np.abs(far_end), window)
    talk = np.abs(microphone) > check_number(threshold, "threshold", positive=True) * loudest
    return _causal_max(talk.astype(np.uint8), hold + 1).astype(bool)


def _causal_max(x: np.ndarray, size: int) -> np.ndarray:
    """out[n] = max(x[n-size+1 .. n]): a running maximum over the last ``size`` samples."""
    from scipy.ndimage import maximum_filter1d

    return maximum_filter1d(x, size=size, origin=(size - 1) // 2, mode="constant")
