"""Whisper's training windows, built from the synthetic corpus, and their labels. Used by whisper-mini's recipe
(:mod:`.recipe`), its evaluation and 05.

Whisper trains on 30-s windows cut from long recordings, with the transcript of what the window holds, as text
tokens or as segments between timestamp tokens. We cut them from a *stream* of corpus utterances with pauses between
them: a window holds one utterance (like a test clip) or several, in English or Mandarin, with or without timestamps,
sometimes after ``<|startofprev|>`` and the previous text, and for Mandarin digits sometimes with the translate task
(English words). An utterance cut by the window's end gets only its start timestamp — Whisper's convention, which
tells a long-form decoder where to resume. eSpeak's word events give every timestamp.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...data.speech import Word

SAMPLE_RATE = 16_000
WINDOW_SECONDS = 30.0
FRAMES_PER_SECOND = 50  # encoder positions per second (20 ms each)
ENGLISH_DIGITS = dict(zip("零一二三四五六七八九", ("zero", "one", "two", "three", "four", "five", "six", "seven",
                                                  "eight", "nine")))


@dataclass
class Placed:
    """An utterance placed in a window: its target text, its words (window times) and whether it ends inside."""

    text: str
    words: list[Word]
    source_text: str  # the transcript in the spoken language (the CTC target)
    complete: bool

    @property
    def start(self) -> float:
        return self.words[0].start

    @property
    def end(self) -> float:
        return self.words[-1].end


@dataclass
class Window:
    """One training (or test) example: 30 s of audio and what the decoder should write for it."""

    audio: np.ndarray
    language: str
    task: str
    timestamps: bool
    placed: list[Placed]
    previous_text: str = ""


def target_words(utterance, task: str) -> tuple[str, list[Word]]:
    """What Whisper writes for ``utterance`` and the words of it with their times: the transcript, or for the
    translate task (Mandarin digits) one English word per character, spoken where the character is."""
    if task == "transcribe":
        return utterance.text, list(utterance.words)
    if utterance.language != "zh" or not set(utterance.text) <= set(ENGLISH_DIGITS):
        raise ValueError(f"only Mandarin digits are translated here, not {utterance.text!r}")
    words = [Word(ENGLISH_DIGITS[w.text], w.start, w.end) for w in utterance.words]
    return " ".join(w.text for w in words), words


def _shifted(words, offset: float) -> list[Word]:
    return [Word(w.text, round(w.start + offset, 4), round(w.end + offset, 4)) for w in words]


def join_texts(texts, language: str) -> str:
    """Several transcripts as one: words are separated by spaces in English, characters run on in Mandarin."""
    return ("" if language == "zh" else " ").join(texts)


def make_window(pool, rng: np.random.Generator, language: str, task: str, timestamps: bool, single: bool,
                with_prompt: bool = False, seconds: float = WINDOW_SECONDS) -> Window:
    """A window of ``seconds`` from ``pool`` (utterances of one language): one utterance within 0.5 s of the start
    (``single``), or a stretch of a stream of utterances with 0.1–1.0 s pauses. Without timestamps, audio from a cut
    utterance onwards is silenced, so that the text covers exactly what is heard."""
    n = int(seconds * SAMPLE_RATE)
    audio = np.zeros(n, np.float32)
    if single:
        utts, starts = [pool[int(rng.integers(len(pool)))]], [rng.uniform(0, 0.5)]
        previous = []
    else:
        stream, position = [], 0.0
        while position < seconds + 8:
            utt = pool[int(rng.integers(len(pool)))]
            stream.append((utt, position))
            position += utt.seconds + rng.uniform(0.1, 1.0)
        first = int(rng.integers(1, 4))  # a few utterances before the window: the previous text
        origin = stream[first][1]
        previous = [u for u, _ in stream[:first]]
        utts = [u for u, _ in stream[first:]]
        starts = [p - origin for _, p in stream[first:]]
    placed = []
    for utt, start in zip(utts, starts):
        begin = int(round(start * SAMPLE_RATE))
        if begin >= n:
            break
        text, words = target_words(utt, task)
        words = _shifted(words, begin / SAMPLE_RATE)
        if words[0].start > seconds - 0.1:  # only its leading pause is in the window
            break
        complete = words[-1].end <= seconds - 0.02
        if not complete and not timestamps:
            break
        audio[begin:begin + len(utt.audio)] = utt.audio[: n - begin]
        placed.append(Placed(text, words, utt.text, complete))
        if not complete:
            break
    written = "en" if task == "translate" else language
    previous_text = join_texts([target_words(u, task)[0] for u in previous], written) if with_prompt else ""
    return Window(audio, language, task, timestamps, placed, previous_text)


def single_window(utterance, task: str = "transcribe", timestamps: bool = False) -> Window:
    """One utterance at the start of a 30-s window (as a test clip is decoded), labelled for ``task``."""
    audio = np.zeros(int(WINDOW_SECONDS * SAMPLE_RATE), np.float32)
    audio[:len(utterance.audio)] = utterance.audio
    text, words = target_words(utterance, task)
    return Window(audio, utterance.language, task, timestamps, [Placed(text, words, utterance.text, True)])


def timestamp_token(seconds: float, timestamp_begin: int) -> int:
    """The token ``<|t|>`` for the 20-ms step nearest ``seconds`` (0.00 … 30.00)."""
    return timestamp_begin + int(np.clip(round(seconds * FRAMES_PER_SECOND), 0, WINDOW_SECONDS * FRAMES_PER_SECOND))


class Labeller:
    """Turns :class:`Window` objects into decoder inputs, labels, CTC targets and guided-attention centres with a
    Whisper tokenizer. Special-token ids come from the tokenizer (English-only checkpoints number them differently)."""

    def __init__(self, tokenizer, ctc_vocabulary: list[int] | None = None, max_prompt_tokens: int = 64):
        from .model import byte_lengths

        self.tokenizer = tokenizer
        ids = tokenizer.convert_tokens_to_ids
        self.sot, self.eot = ids("<|startoftranscript|>"), tokenizer.eos_token_id
        self.sot_prev, self.no_timestamps = ids("<|startofprev|>"), ids("<|notimestamps|>")
        self.timestamp_begin = ids("<|0.00|>")
        self.byte_lengths = byte_lengths(tokenizer)
        self.ctc_index = {t: i + 1 for i, t in enumerate(ctc_vocabulary or [])}
        self.max_prompt_tokens = max_prompt_tokens
        self.multilingual = len(tokenizer) > 51_864  # English-only (*.en) vocabularies have 51 864 ids

    def text_ids(self, text: str) -> list[int]:
        """The tokens of a transcript as Whisper writes it: English after a space, Mandarin without."""
        return self.tokenizer.encode(" " + text if text.isascii() else text, add_special_tokens=False)

    def token_times(self, text: str, words: list[Word]) -> tuple[list[int], list[float | None]]:
        """The tokens of ``text`` and the time each is spoken: a token lies in the word whose bytes it covers, at
        its share of the word's duration; tokens of words that eSpeak did not report get None."""
        ids = self.text_ids(text)
        prefix = 1 if text.isascii() else 0  # the leading space
        encoded = text.encode("utf-8")
        spans, cursor = [], 0
        for word in words:
            found = encoded.find(word.text.encode("utf-8"), cursor)
            if found < 0:
                continue
            spans.append((found, found + len(word.text.encode("utf-8")), word))
            cursor = found + len(word.text.encode("utf-8"))
        by_word: dict[int, list[int]] = {}
        position, owners = -prefix, []
        for k, token in enumerate(ids):
            middle = position + self.byte_lengths[token] / 2
            owner = next((j for j, (a, b, _) in enumerate(spans) if a <= middle < b), None)
            owners.append(owner)
            if owner is not None:
                by_word.setdefault(owner, []).append(k)
            position += self.byte_lengths[token]
        times: list[float | None] = []
        for k, owner in enumerate(owners):
            if owner is None:
                times.append(None)
                continue
            members, word = by_word[owner], spans[owner][2]
            times.append(word.start + (members.index(k) + 0.5) / len(members) * (word.end - word.start))
        return ids, times

    def prompt(self, language: str, task: str, timestamps: bool, previous_text: str = "") -> list[int]:
        """``[<|startofprev|> previous…] <|startoftranscript|> <|lang|> <|task|> [<|notimestamps|>]``; an English-only
        tokenizer's prompt has no language or task token."""
        ids = self.tokenizer.convert_tokens_to_ids
        tokens = [self.sot_prev] + self.text_ids(previous_text)[-self.max_prompt_tokens:] if previous_text else []
        tokens += [self.sot] + ([ids(f"<|{language}|>"), ids(f"<|{task}|>")] if self.multilingual else [])
        return tokens + ([] if timestamps else [self.no_timestamps])

    def __call__(self, window: Window) -> dict:
        """``input_ids`` (prompt + target), ``labels`` (-100 where nothing is predicted: the previous text and the
        task tokens; a multilingual model's language token is predicted, which trains language detection), ``centres`` (the frame each
        label is spoken at, or None), ``ctc_targets`` and ``ctc_frames`` (the frames before a cut utterance)."""
        language = "en" if window.task == "translate" else window.language
        target, centres = [], []
        if window.timestamps:
            for piece in window.placed:
                target.append(timestamp_token(piece.start, self.timestamp_begin))
                centres.append(piece.start)
                if not piece.complete:
                    break
                ids, times = self.token_times(piece.text, piece.words)
                target += ids + [timestamp_token(piece.end, self.timestamp_begin)]
                centres += times + [piece.end]
        elif window.placed:  # one text for the window (Mandarin characters run on, so it tokenises as a whole)
            target, centres = self.token_times(join_texts([p.text for p in window.placed], language),
                                               [w for p in window.placed for w in p.words])
        target.append(self.eot)
        centres.append(None)
        prompt = self.prompt(window.language, window.task, window.timestamps, window.previous_text)
        sot_at = prompt.index(self.sot)
        input_ids = prompt + target[:-1]
        labels = [-100] * len(input_ids)
        if self.multilingual:
            labels[sot_at] = prompt[sot_at + 1]  # the language token
        for k, token in enumerate(target):
            labels[len(prompt) - 1 + k] = token
        frames = [None] * len(input_ids)
        for k, t in enumerate(centres):
            frames[len(prompt) - 1 + k] = None if t is None else t * FRAMES_PER_SECOND
        complete = [p for p in window.placed if p.complete]
        ctc_targets = [self.ctc_index[t] for p in complete for t in self.text_ids(p.source_text)
                       if t in self.ctc_index]
        cut = next((p.start for p in window.placed if not p.complete), len(window.audio) / SAMPLE_RATE)
        return {"input_ids": input_ids, "labels": labels, "centres": frames, "ctc_targets": ctc_targets,
                "ctc_frames": int(cut * FRAMES_PER_SECOND)}
