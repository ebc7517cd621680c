"""The text front end of cosyvoice-mini (notebook 07): the characters its recogniser writes and its language model
reads. English is lower-cased letters; Mandarin is spoken through tone-numbered pinyin (``"三四"`` → ``"san1 si4"``),
as the corpus's eSpeak voice reads it, so that one small alphabet serves both languages."""
from __future__ import annotations

import re

from ...data.speech import to_pinyin

CHARACTERS = " abcdefghijklmnopqrstuvwxyz12345"
LANGUAGES = ("en", "zh")


def normalize(text: str, language: str) -> str:
    """``text`` as the model's characters: lower case, pinyin for Mandarin, punctuation and repeated spaces dropped.
    Characters the model cannot say are refused by name (a silent drop would lose words)."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} must be one of {LANGUAGES}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    spoken = to_pinyin(text) if language == "zh" else text.lower()
    spoken = re.sub(r"[,.!?;:'\"，。！？、]", " ", spoken)
    spoken = re.sub(r"\s+", " ", spoken).strip()
    alphabet = CHARACTERS if language == "zh" else CHARACTERS.rstrip("12345")  # tone digits: pinyin only
    unknown = sorted(set(spoken) - set(alphabet))
    if unknown:
        raise ValueError(f"cannot say {unknown} in {text!r}: the miniature reads English letters (numbers written "
                         "as words) and Mandarin as Chinese characters, read through pinyin")
    return spoken


def text_ids(text: str, language: str) -> list[int]:
    """The character ids of :func:`normalize`'s text: 1 … len(CHARACTERS); 0 is CTC's blank and the padding."""
    return [CHARACTERS.index(c) + 1 for c in normalize(text, language)]


def joined_ids(first: list[int], second: list[int]) -> list[int]:
    """The ids of two texts said one after the other, a space between: zero-shot synthesis reads its prompt's text
    and then its own this way (and the recipe's LM learns on two utterances of one voice joined so)."""
    return list(first) + [CHARACTERS.index(" ") + 1] + list(second)


def decode(ids) -> str:
    """Characters of ids (blank and padding dropped)."""
    return "".join(CHARACTERS[i - 1] for i in ids if 0 < i <= len(CHARACTERS))
