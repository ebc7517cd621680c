"""Audio I/O: load, save, resample, normalise and validate waveforms.

Used by every notebook (01 onwards) and by the corpus builder. Waveforms are float32 numpy arrays;
mono is 1-D ``(n_samples,)``, multichannel is ``(n_channels, n_samples)`` as in librosa.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .checks import check_number, check_path

OGG_MAX_RATE = 200_000  # above it the Vorbis encoder in soundfile 0.14's libsndfile crashes the process (measured)
MAX_CHANNELS = 64  # more than any recording a notebook meets: a larger first axis is (samples, channels)
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 384_000
# Suffix -> libsndfile format name; MP3 needs libsndfile >= 1.1 (soundfile 0.12+ ships 1.2).
FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG", ".mp3": "MP3", ".aiff": "AIFF", ".aif": "AIFF"}


def supported_suffixes() -> list[str]:
    """The file suffixes that :func:`load` and :func:`save` accept with the installed libsndfile."""
    available = sf.available_formats()
    return [suffix for suffix, fmt in FORMATS.items() if fmt in available]


def check_sample_rate(sr, *, name: str = "sample rate") -> int:
    """Returns ``sr`` as an int, or raises ValueError if it is not a whole number of Hz in 1 kHz..384 kHz."""
    if isinstance(sr, bool) or not isinstance(sr, (int, np.integer, float, np.floating)):
        raise ValueError(f"{name} must be a number of Hz, got {sr!r} ({type(sr).__name__})")
    if float(sr) != int(sr) or not MIN_SAMPLE_RATE <= int(sr) <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"{name} {sr!r} Hz is not a usable sample rate: give a whole number between "
            f"{MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz (16000 for speech models, 44100/48000 for music)"
        )
    return int(sr)


def check_audio(y, *, sr: int | None = None, mono: bool = True, max_seconds: float | None = None,
                allow_silent: bool = False, name: str = "audio") -> np.ndarray:
    """Validates a waveform and returns it as float32.

    Integer PCM (int16/int32) is scaled to [-1, 1). Raises ValueError naming the problem and the fix for:
    a non-numeric dtype, the wrong rank (2-D where ``mono=True``: a stereo clip), no samples, NaN/Inf,
    all zeros (unless ``allow_silent``), or more than ``max_seconds`` (needs ``sr``).
    Used by every helper that takes audio.
    """
    if y is None or isinstance(y, (str, bytes, Path)):
        raise ValueError(f"{name} must be an array of samples, got {y!r}; load a file with helpers.load(path)")
    y = np.asarray(y)
    if y.dtype.kind in "iu":
        y = y.astype(np.float32) / float(np.iinfo(y.dtype).max + 1)
    elif y.dtype.kind != "f":
        raise ValueError(f"{name} has dtype {y.dtype}; expected float or integer PCM samples")
    y = y.astype(np.float32, copy=False)
    if mono and y.ndim != 1:
        hint = " (a multichannel clip: mix it down with helpers.to_mono)" if y.ndim == 2 else ""
        raise ValueError(f"{name} must be mono, a 1-D array, but has shape {y.shape}{hint}")
    if not mono and y.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (mono) or 2-D (channels, samples), but has shape {y.shape}")
    if y.size == 0 or y.shape[-1] == 0:
        raise ValueError(f"{name} is empty (shape {y.shape}): no samples to process")
    bad = int(np.count_nonzero(~np.isfinite(y)))
    if bad:
        raise ValueError(f"{name} contains {bad} NaN/Inf samples; clean them (e.g. np.nan_to_num) before use")
    if not allow_silent and not np.any(y):
        raise ValueError(f"{name} is silent (all {y.shape[-1]} samples are zero); check the source or the gain")
    if max_seconds is not None:
        if sr is None:
            raise ValueError("max_seconds needs the sample rate sr")
        seconds = y.shape[-1] / sr
        if seconds > max_seconds:
            raise ValueError(
                f"{name} is {seconds:.1f} s long, more than the {max_seconds:g} s this step accepts; "
                f"trim it (y[:int({max_seconds:g} * sr)]) or raise max_seconds"
            )
    return y


def check_pair(a, b, names=("reference", "estimate"), allow_silent_b: bool = True):
    """Two waveforms validated by :func:`check_audio` (the first must not be silent) and of the same shape, as float32
    arrays. Used by the measures that compare two signals (SNR, SI-SDR, PESQ, STOI, ERLE, NLMS)."""
    a = check_audio(a, name=names[0])
    b = check_audio(b, allow_silent=allow_silent_b, name=names[1])
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} has {a.shape[-1]} samples and {names[1]} {b.shape[-1]}: they must have the same "
                         "shape, the same clip at the same sample rate (trim or resample one of them)")
    return a, b


def to_mono(y) -> np.ndarray:
    """Mixes ``(n_channels, n_samples)`` down to ``(n_samples,)`` by averaging; mono passes through."""
    y = check_audio(y, mono=False, allow_silent=True)
    return y if y.ndim == 1 else y.mean(axis=0)


def resample(y, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality) of mono or ``(channels, samples)`` audio."""
    import librosa

    orig_sr = check_sample_rate(orig_sr, name="orig_sr")
    target_sr = check_sample_rate(target_sr, name="target_sr")
    y = check_audio(y, mono=False, allow_silent=True)
    if orig_sr == target_sr:
        return y
    return librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr, res_type="soxr_hq").astype(np.float32)


def normalize(y, peak: float = 0.9) -> np.ndarray:
    """Scales audio so that its largest absolute sample is ``peak`` (default 0.9, i.e. -0.9 dBFS)."""
    check_number(peak, "peak (full scale is 1.0)", maximum=1.0, positive=True)
    y = check_audio(y, mono=False)
    return (y * (peak / np.abs(y).max())).astype(np.float32)


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in supported_suffixes():
        raise ValueError(
            f"unsupported audio format '{path.suffix or path.name}' for {path}; "
            f"use one of {', '.join(supported_suffixes())} (convert with ffmpeg or sox)"
        )


def load(path, sr: int | None = 16_000, mono: bool = True, max_seconds: float | None = None):
    """Loads an audio file as float32 and returns ``(y, sr)``.

    ``sr=None`` keeps the file's own rate; otherwise the audio is resampled to ``sr`` (default 16 kHz).
    ``mono=True`` (default) averages the channels. Raises FileNotFoundError for a missing file and
    ValueError for an unsupported or unreadable format, empty/silent/NaN audio, or a clip longer than
    ``max_seconds``. Used by every notebook that accepts the user's own audio.
    """
    path = check_path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give an audio file in it")
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path} (check the path; it is relative to {Path.cwd()})")
    _check_suffix(path)
    try:
        data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise ValueError(f"cannot read {path} as {path.suffix} audio ({err}); is the file complete and valid?") from err
    y = data.T  # (channels, samples)
    y = check_audio(y, sr=file_sr, mono=False, max_seconds=max_seconds, name=str(path))
    y = y.mean(axis=0) if mono else (y[0] if y.shape[0] == 1 else y)
    if sr is not None:
        y = resample(y, file_sr, sr)
    return y, (file_sr if sr is None else int(sr))


def save(path, y, sr: int, overwrite: bool = False) -> Path:
    """Writes float audio to ``path`` (WAV/FLAC/OGG/MP3 by suffix; 16-bit PCM for WAV/FLAC): mono ``(samples,)`` or
    ``(channels, samples)``, at most :data:`MAX_CHANNELS` channels.

    Refuses to replace an existing file unless ``overwrite=True``. The file is written under a temporary name and
    renamed when complete, so that a failed write leaves nothing behind (and an overwritten file intact). Returns
    the path.
    """
    path = check_path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name in it, such as {path / 'clip.wav'}")
    _check_suffix(path)
    sr = check_sample_rate(sr)
    y = check_audio(y, mono=False, allow_silent=True)
    if y.ndim == 2 and y.shape[0] > MAX_CHANNELS:
        hint = " — it looks like (samples, channels): pass y.T" if y.shape[1] <= MAX_CHANNELS else ""
        raise ValueError(f"audio of shape {y.shape} has {y.shape[0]} channels, more than {MAX_CHANNELS}; "
                         f"give (channels, samples){hint}")
    if path.suffix.lower() == ".ogg" and sr > OGG_MAX_RATE:  # libsndfile 1.2 (soundfile 0.14) segfaults there
        raise ValueError(f"Ogg Vorbis cannot hold {sr} Hz (at most {OGG_MAX_RATE}); resample, or save as .flac/.wav")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    peak = float(np.abs(y).max())
    if peak > 1.0:
        raise ValueError(f"audio peaks at {peak:.2f} > 1.0 and would clip; scale it first (helpers.normalize)")
    path.parent.mkdir(parents=True, exist_ok=True)
    subtype = "PCM_16" if path.suffix.lower() in (".wav", ".flac", ".aiff", ".aif") else None
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        sf.write(str(partial), y.T, sr, subtype=subtype, format=FORMATS[path.suffix.lower()])
        partial.replace(path)
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise ValueError(f"cannot write {path} as {path.suffix} audio at {sr} Hz ({err})") from err
    finally:
        partial.unlink(missing_ok=True)
    return path
