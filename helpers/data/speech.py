"""Speech synthesis with eSpeak NG, driven through ctypes (pip ``espeakng-loader``; no system package).

Used by 01 (a speech clip to analyse) and by the synthetic speech corpus (03 onwards). Speakers are
eSpeak voices plus variants (``"en+Alex"``, ``"en-us+f3"``); Mandarin goes through the
``cmn-latn-pinyin`` voice fed tone-numbered pinyin (:func:`to_pinyin`).

Determinism: libespeak-ng keeps state between utterances in function-level statics (the pitch-flutter
phase in wavegen.c, v1.52) that ``espeak_Terminate`` does not reset, so the same call gives slightly
different samples depending on what was spoken before. :func:`speak` therefore loads a fresh copy of the
library for every utterance (about 5 ms) and seeds its noise generator, making each call a pure function
of its arguments.

Word timings: eSpeak reports, through its synthesis callback, an event at the start of every word with its
position in the text and in the audio. :func:`speak_words` returns them with the audio — the ground truth for
Whisper's timestamps and for alignments (05 onwards).
"""
from __future__ import annotations

import _ctypes
import ctypes
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.audio import check_sample_rate, resample
from ..core.checks import check_whole

ESPEAK_SR = 22_050
RATE_RANGE = (80, 450)  # words per minute
PITCH_RANGE = (0, 99)
MANDARIN_VOICE = "cmn-latn-pinyin"
MAX_CHARS = 2_000
CJK = r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]"  # kana, Han, Hangul
CJK_VOICES = ("cmn", "yue", "hak", "ja", "ko")  # the eSpeak NG voices that read those scripts

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PARAM_RATE, _PARAM_PITCH = 1, 3
_EVENT_LIST_END, _EVENT_WORD, _EVENT_MESSAGE_END = 0, 1, 6
_lock = threading.Lock()


class _Event(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h (eSpeak NG 1.52): what happened, where in the text, where in the audio."""

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                   ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Word:
    """A spoken word and where it is in the audio (seconds): from its start event to the next word's start (the
    last word ends where eSpeak's output ends)."""

    text: str
    start: float
    end: float


def _paths() -> tuple[str, Path]:
    import espeakng_loader

    return espeakng_loader.get_library_path(), Path(espeakng_loader.get_data_path())


@lru_cache(maxsize=1)
def list_voices() -> list[str]:
    """The eSpeak NG voice names (language codes such as ``"en"``, ``"en-us"``, ``"cmn-latn-pinyin"``)."""
    _, data = _paths()
    return sorted({p.name.lower() for p in (data / "lang").rglob("*") if p.is_file()})


@lru_cache(maxsize=1)
def list_variants() -> list[str]:
    """The voice variants that turn one language into several speakers (``"Alex"``, ``"f3"``, ``"m3"`` ...)."""
    _, data = _paths()
    return sorted(p.name for p in (data / "voices" / "!v").iterdir() if p.is_file())


def check_voice(voice: str) -> str:
    """Returns ``voice`` if eSpeak NG has it (``language`` or ``language+variant``), else raises ValueError."""
    if not isinstance(voice, str) or not voice:
        raise ValueError(f"voice must be a name such as 'en' or 'en+Alex', got {voice!r}")
    language, _, variant = voice.partition("+")
    if language.lower() not in list_voices():
        close = [v for v in list_voices() if v.startswith(language.lower()[:2])][:8]
        raise ValueError(f"unknown eSpeak voice {language!r}; similar: {close or list_voices()[:8]} "
                         "(helpers.list_voices() lists all)")
    if variant and variant not in list_variants():
        raise ValueError(f"unknown voice variant {variant!r} in {voice!r}; e.g. {list_variants()[:10]} "
                         "(helpers.list_variants() lists all)")
    return voice


def _synthesize(text: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """One utterance in a freshly loaded libespeak-ng (see the module docstring), as int16 samples, and its word
    events as (byte position in the UTF-8 text, byte length, first sample)."""
    library, data = _paths()
    chunks: list[np.ndarray] = []
    words: list[tuple[int, int, int]] = []

    @_SYNTH_CALLBACK
    def collect(wav, n, events):
        i = 0
        while events[i].type != _EVENT_LIST_END:
            if events[i].type == _EVENT_WORD:
                words.append((events[i].text_position - 1, events[i].length, events[i].sample))
            i += 1
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    with _lock:
        lib = ctypes.CDLL(library, mode=ctypes.RTLD_LOCAL)
        try:
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                         ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
            lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
            sr = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data).encode(), _INITIALIZE_DONT_EXIT)
            if sr != ESPEAK_SR:
                raise RuntimeError(f"libespeak-ng failed to initialise from {data} (returned {sr})")
            lib.espeak_ng_SetRandSeed(1)
            lib.espeak_SetSynthCallback(collect)
            if lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise ValueError(f"eSpeak NG could not select voice {voice!r}")
            lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
            lib.espeak_SetParameter(_PARAM_PITCH, pitch, 0)
            encoded = text.encode("utf-8") + b"\0"
            status = lib.espeak_Synth(encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            lib.espeak_Synchronize()
            if status != 0:
                raise RuntimeError(f"espeak_Synth failed with status {status} for {text[:40]!r}")
        finally:
            lib.espeak_Terminate()
            _ctypes.dlclose(lib._handle)
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.int16)), words


def _check_request(text: str, voice: str, rate, pitch) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text to speak must be a non-empty string, got {text!r}")
    if len(text) > MAX_CHARS:
        raise ValueError(f"text is {len(text)} characters; speak at most {MAX_CHARS} at a time (split it)")
    control = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    if control:  # eSpeak reads C strings: it would stop at a NUL, silently
        raise ValueError(f"text holds the control character {control.group()!r} at position {control.start()} "
                         f"({text[max(0, control.start() - 10):control.start()]!r}…): remove it")
    language = check_voice(voice).split("+")[0].lower()
    if language == MANDARIN_VOICE and re.search(r"[\u4e00-\u9fff]", text):
        raise ValueError(f"the {MANDARIN_VOICE} voice reads pinyin, not characters: pass to_pinyin({text[:10]!r}) "
                         "or use speak_mandarin()")
    cjk = re.search(CJK, text)
    if cjk and language not in CJK_VOICES + (MANDARIN_VOICE,):
        raise ValueError(f"voice {voice!r} cannot read {cjk.group()!r} (Chinese, Japanese or Korean characters: "
                         f"eSpeak would spell them out as babble); use speak_mandarin() for Mandarin, or a voice of "
                         f"that language ({', '.join(CJK_VOICES)})")
    check_whole(rate, "rate (words per minute)", *RATE_RANGE)
    check_whole(pitch, "pitch", *PITCH_RANGE)


def speak_words(text: str, voice: str = "en", rate: int = 175, pitch: int = 50,
                sr: int | None = None) -> tuple[np.ndarray, list[Word]]:
    """Like :func:`speak`, and also the spoken words with their start and end times in seconds (eSpeak's word
    events; for Mandarin, one word per pinyin syllable). Used by the corpus (timestamps, alignments)."""
    _check_request(text, voice, rate, pitch)
    samples, events = _synthesize(text, voice, int(rate), int(pitch))
    if not np.any(samples):
        raise ValueError(f"eSpeak NG produced no sound for {text[:40]!r} with voice {voice!r}")
    encoded = text.encode("utf-8")
    starts = [sample for _, _, sample in events] + [len(samples)]
    words = [Word(encoded[position:position + length].decode("utf-8", "replace"), starts[i] / ESPEAK_SR,
                  starts[i + 1] / ESPEAK_SR) for i, (position, length, _) in enumerate(events)]
    y = samples.astype(np.float32) / 32768.0
    return (y if sr is None or sr == ESPEAK_SR else resample(y, ESPEAK_SR, check_sample_rate(sr))), words


def speak(text: str, voice: str = "en", rate: int = 175, pitch: int = 50, sr: int | None = None) -> np.ndarray:
    """Synthesises ``text`` and returns float32 mono audio at ``sr`` (default: eSpeak's own 22 050 Hz).

    ``voice`` is a language (``"en"``, ``"en-us"``, ``"cmn-latn-pinyin"``) optionally with a variant
    (``"en+Alex"``); ``rate`` is words per minute (80..450, default 175); ``pitch`` is 0..99 (default 50).
    Deterministic: the same arguments give the same samples. Leading/trailing silence is kept as eSpeak
    makes it. Raises ValueError for empty or over-long text, an unknown voice or an out-of-range parameter.
    """
    return speak_words(text, voice, rate, pitch, sr)[0]


def to_pinyin(hanzi: str) -> str:
    """Chinese characters → tone-numbered pinyin for eSpeak (``"你好，世界"`` → ``"ni3 hao3, shi4 jie4"``).

    Neutral tones get a 5; Chinese punctuation becomes a comma or full stop so that eSpeak pauses.
    """
    from pypinyin import Style, lazy_pinyin

    if not isinstance(hanzi, str) or not hanzi.strip():
        raise ValueError(f"text must be a non-empty string, got {hanzi!r}")
    words = []
    for token in lazy_pinyin(hanzi, style=Style.TONE3, neutral_tone_with_five=True):
        if re.fullmatch(r"[a-z]+[1-5]", token):
            words.append(token)
        elif token.strip() and words:
            words[-1] += "." if any(c in token for c in "。！？!?.") else ","
    if not words:
        raise ValueError(f"no Chinese syllables found in {hanzi!r}")
    return " ".join(words)


def speak_mandarin(hanzi: str, variant: str = "", rate: int = 150, pitch: int = 50,
                   sr: int | None = None) -> np.ndarray:
    """Mandarin speech from Chinese characters through pinyin and the ``cmn-latn-pinyin`` voice."""
    voice = MANDARIN_VOICE + (f"+{variant}" if variant else "")
    return speak(to_pinyin(hanzi), voice=voice, rate=rate, pitch=pitch, sr=sr)
