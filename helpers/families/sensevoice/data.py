"""Rich-label speech for SenseVoice (notebook 06): every utterance carries a language, a speaking style, an audio
event and an inverse-text-normalisation switch, and its target is SenseVoice's rich transcription
``<|en|><|NEUTRAL|><|Beep|><|withitn|>123``.

The speech is the corpus's (:mod:`helpers.data.corpus`: eSpeak NG, English and Mandarin digits and commands, test
voices never heard in training). What we can label honestly:

- **style** stands where SenseVoice has emotion: three *prosody classes* (speaking rate, pitch and loudness), not
  emotions — :data:`STYLES`;
- **event**: a sound mixed into the speech at ``event_db`` (event-to-speech energy ratio over the clip, dB; the beeps,
  hits and bursts are short, so where they sound they are some 5-10 dB louder than that) — :data:`EVENTS`;
- **ITN**: with ``<|withitn|>`` a digit string is written in numerals ("one two three" → "123", "一二三" → "123"),
  with ``<|woitn|>`` as spoken words; commands have no numbers and read the same either way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ...core.checks import check_whole
from ...data.corpus import DIGITS, make_corpus
from ...data.synth import drum, noise, tone
from ...signal.enhance import music

SAMPLE_RATE = 16_000
LANGUAGES = ("en", "zh")
TASKS = ("digits", "sentences")
# prosody class → (eSpeak rate range in words per minute, pitch range 0..99, gain): stand-ins for emotion
STYLES = {"NEUTRAL": ((150, 190), (40, 60), 0.5),
          "FAST_HIGH": ((250, 300), (72, 92), 1.0),
          "SLOW_LOW": ((95, 125), (8, 28), 0.2)}
EVENTS = ("Speech", "Beep", "Drum", "BGM", "Noise")  # "Speech": nothing mixed in, as SenseVoice labels clean speech
ITN = ("withitn", "woitn")
EVENT_DB = (-20.0, -10.0)
NUMERALS = {language: {word: str(i) for i, word in enumerate(words)} for language, words in DIGITS.items()}


def inverse_normalise(text: str, language: str) -> str:
    """ITN of our transcripts: a string of digit words becomes numerals ("one two" → "12", "一二" → "12"); any other
    text is returned unchanged. Used by 06 for the ``<|withitn|>`` targets."""
    if language not in NUMERALS:
        raise ValueError(f"unknown language {language!r}; ITN knows {sorted(NUMERALS)}")
    words = text.split() if language == "en" else list(text)
    if words and all(w in NUMERALS[language] for w in words):
        return "".join(NUMERALS[language][w] for w in words)
    return text


def rich_tokens(language: str, style: str, event: str, itn: bool) -> str:
    """The four task tokens in SenseVoice's order: language, emotion (here: style), event, text normalisation."""
    return f"<|{language}|><|{style}|><|{event}|><|{'withitn' if itn else 'woitn'}|>"


RICH = re.compile(r"<\|([^|]+)\|>")


def parse_rich(text: str) -> dict:
    """Splits a rich transcription into its fields: ``{"language", "style", "event", "itn", "text"}``. The task
    tokens are read from the start, in any number (a miniature may emit fewer or repeat one): each lands in the field
    whose vocabulary has it, unknown ones are ignored; missing fields are None. Used by 06 and its tests."""
    fields = {"language": None, "style": None, "event": None, "itn": None}
    position = 0
    while (match := RICH.match(text, position)) is not None:
        name = match.group(1)
        key = ("language" if name in LANGUAGES else "style" if name in STYLES else "event" if name in EVENTS
               else "itn" if name in ITN else None)
        if key is not None and fields[key] is None:
            fields[key] = name == "withitn" if key == "itn" else name
        position = match.end()
    return {**fields, "text": text[position:].strip()}


@dataclass
class RichUtterance:
    """One labelled clip: the speech of ``speaker`` in ``style`` with ``event`` mixed in at ``event_db``; ``spoken`` is
    what was said, ``text`` the target transcript (``spoken`` after ITN when ``itn``)."""

    id: str
    language: str
    task: str
    style: str
    event: str
    event_db: float
    itn: bool
    spoken: str
    text: str
    speaker: str
    audio: np.ndarray = field(repr=False)

    @property
    def rich(self) -> str:
        """The full target: the four task tokens, then the transcript."""
        return rich_tokens(self.language, self.style, self.event, self.itn) + self.text

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def event_sound(event: str, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """``n_samples`` of the background ``event`` (unscaled): a few beeps, drum hits or noise bursts at random times,
    or chords throughout (BGM); zeros for ``"Speech"``."""
    sr, out = SAMPLE_RATE, np.zeros(n_samples, np.float32)
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}; choose one of {EVENTS}")
    if event == "BGM":
        return music(n_samples / sr, sr, chord_s=float(rng.uniform(0.3, 0.6)), seed=int(rng.integers(2**31)))
    if event == "Speech":
        return out
    for _ in range(int(rng.integers(2, 5))):
        if event == "Beep":
            sound = tone(float(rng.uniform(700, 2500)), 0.12, sr)
        elif event == "Drum":
            sound = drum(str(rng.choice(["kick", "snare", "hihat"])), sr, seed=int(rng.integers(2**31)))
        else:
            sound = noise(float(rng.uniform(0.15, 0.35)), sr, color=str(rng.choice(["white", "pink"])),
                          seed=int(rng.integers(2**31)))
        start = int(rng.integers(0, max(1, n_samples - len(sound))))
        piece = sound[:n_samples - start]
        out[start:start + len(piece)] += piece
    return out


def mix_event(speech: np.ndarray, event: str, event_db: float, rng: np.random.Generator) -> np.ndarray:
    """``speech`` with ``event`` added so that the event's energy over the clip is ``event_db`` relative to the
    speech's; a peak above 0.99 is scaled down to it (never clipped)."""
    sound = event_sound(event, len(speech), rng)
    gain = np.sqrt(np.mean(speech ** 2) / max(np.mean(sound ** 2), 1e-12)) * 10 ** (event_db / 20)
    mixed = speech + gain * sound if event != "Speech" else speech
    return (mixed / max(1.0, np.abs(mixed).max() / 0.99)).astype(np.float32)  # no clipping


def rich_utterances(split: str, n_per_corpus: int, seed: int = 0, event_db: tuple[float, float] = EVENT_DB,
                    languages=LANGUAGES, styles=tuple(STYLES), events=EVENTS, itn: bool | None = None
                    ) -> list[RichUtterance]:
    """``n_per_corpus`` utterances of ``split`` for every (language, task, style): speech from the cached corpus of
    that style's prosody (:data:`STYLES`), then an event drawn from ``events`` mixed in at a level drawn from
    ``event_db`` (a pair: low, high), and the ITN switch drawn at even odds (or ``itn`` for all: True, False). A pure
    function of its arguments; the speech, events and levels do not depend on ``itn``."""
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; use 'train' or 'test'")
    check_whole(n_per_corpus, "n_per_corpus")
    for name, chosen, known in (("languages", languages, LANGUAGES), ("styles", styles, tuple(STYLES)),
                                ("events", events, EVENTS)):
        if not chosen or set(chosen) - set(known):
            raise ValueError(f"{name} {tuple(chosen)!r} must be a non-empty subset of {known}")
    low, high = event_db
    if not -40 <= low <= high <= 20:
        raise ValueError(f"event_db range {event_db} must lie in -40..20 dB (event-to-speech energy)")
    out = []
    for language in languages:
        for task in TASKS:
            for style in styles:
                rate, pitch, gain = STYLES[style]
                corpus = make_corpus(language=language, task=task, rate=rate, pitch=pitch, seed=seed,
                                     n_train=n_per_corpus if split == "train" else 1,
                                     n_test=n_per_corpus if split == "test" else 1)
                for i, utt in enumerate(corpus.split(split)):
                    rng = np.random.default_rng([seed, LANGUAGES.index(language), TASKS.index(task),
                                                 list(STYLES).index(style), split == "test", i])
                    event = events[int(rng.integers(len(events)))]
                    level = float(rng.uniform(low, high))
                    written = bool(rng.random() < 0.5) if itn is None else itn
                    audio = mix_event(utt.audio * gain, event, level, rng)
                    text = inverse_normalise(utt.text, language) if written else utt.text
                    out.append(RichUtterance(f"{language}-{task}-{style}-{utt.id}", language, task, style, event,
                                             round(level, 2), written, utt.text, text, utt.speaker, audio))
    return out
