"""Text for ASR: a character tokenizer with a CTC blank, and error rates (CER/WER) with a confusion view.

Used by 03 (CTC) and the later ASR notebooks. Error rates come from jiwer; for Mandarin, whose transcripts have
no spaces, words are characters, so WER equals CER.
"""
from __future__ import annotations

from collections import Counter

BLANK = "<blank>"


class CharTokenizer:
    """Characters ↔ ids, with the CTC blank at id 0. Built from the training transcripts.

    >>> tok = CharTokenizer.from_texts(["one two", "three"])
    >>> tok.decode(tok.encode("two")) == "two"
    """

    def __init__(self, characters):
        characters = list(dict.fromkeys(characters))
        if not characters:
            raise ValueError("a tokenizer needs at least one character")
        self.symbols = [BLANK] + characters
        self.ids = {c: i for i, c in enumerate(self.symbols)}

    @classmethod
    def from_texts(cls, texts) -> "CharTokenizer":
        return cls(sorted(set("".join(texts))))

    def __len__(self) -> int:
        return len(self.symbols)

    @property
    def blank(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - set(self.ids) - {BLANK})
        if unknown:
            raise ValueError(f"characters {unknown} of {text!r} are not in the tokenizer's {len(self) - 1} symbols")
        return [self.ids[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.symbols[int(i)] for i in ids if int(i) != self.blank)


def _words(text: str, language: str) -> str:
    return " ".join(text.replace(" ", "")) if language == "zh" else text


def error_rates(references: list[str], hypotheses: list[str], language: str = "en") -> dict:
    """``{"cer": ..., "wer": ...}`` over a whole test set (errors summed over utterances, then divided)."""
    import jiwer

    for name, texts in (("references", references), ("hypotheses", hypotheses)):
        if not isinstance(texts, (list, tuple)) or not all(isinstance(t, str) for t in texts):
            raise ValueError(f"{name} must be a list of transcripts (strings), got {texts!r:.80}")
    if len(references) != len(hypotheses) or not references:
        raise ValueError(f"need as many hypotheses as references (got {len(hypotheses)} and {len(references)})")
    if any(not r.strip() for r in references):
        raise ValueError("a reference transcript is empty; error rates are undefined for it")
    hypotheses = [h if h.strip() else "∅" for h in hypotheses]  # jiwer rejects empty strings; ∅ counts as errors
    return {
        "cer": float(jiwer.cer(references, hypotheses)),
        "wer": float(jiwer.wer([_words(r, language) for r in references], [_words(h, language) for h in hypotheses])),
    }


def confusions(references: list[str], hypotheses: list[str], top: int = 10) -> list[tuple[str, str, int]]:
    """The most frequent character errors as ``(reference, hypothesis, count)``; '' marks a deletion/insertion."""
    import jiwer

    counts = Counter()
    for ref, hyp in zip(references, hypotheses):
        if not hyp:
            counts.update((c, "") for c in ref)
            continue
        alignment = jiwer.process_characters(ref, hyp)
        for chunk in alignment.alignments[0]:
            r = ref[chunk.ref_start_idx:chunk.ref_end_idx]
            h = hyp[chunk.hyp_start_idx:chunk.hyp_end_idx]
            if chunk.type == "substitute":
                counts.update(zip(r, h))
            elif chunk.type == "delete":
                counts.update((c, "") for c in r)
            elif chunk.type == "insert":
                counts.update(("", c) for c in h)
    return [(r, h, n) for (r, h), n in counts.most_common(top)]
