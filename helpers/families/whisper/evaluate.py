"""Held-out evaluation of a Whisper on the synthetic corpus: the metrics of whisper-mini's card (re-measured by the
tests) and of notebook 05. Scoring follows Whisper's own: text normalised before error rates (English by
openai-whisper's ``EnglishTextNormalizer`` then each digit a word, so that "123" and "one two three" score the same
digit by digit; Mandarin by its ``BasicTextNormalizer``, spaces removed, scored by characters).
"""
from __future__ import annotations

import re

import numpy as np
import torch

from .model import log_mel_batch
from .windows import FRAMES_PER_SECOND, SAMPLE_RATE, make_window, target_words

MAX_NEW_TOKENS = 224  # Whisper's limit per 30-s window
HOP_LENGTH, N_FRAMES = 160, 3000  # the feature extractor's 10-ms hop, and the frames of a 30-s window


def normalize(text: str, language: str = "en") -> str:
    """Whisper's text normalisation for scoring; English digits are then spelled out one word each, and the
    punctuation the normaliser keeps between digits ("8.5.38", "3:14") is dropped."""
    from whisper.normalizers import BasicTextNormalizer, EnglishTextNormalizer

    if language == "zh":
        return BasicTextNormalizer()(text).replace(" ", "")
    text = EnglishTextNormalizer()(text)
    digits = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    text = re.sub(r"\d", lambda m: f" {digits[int(m.group())]} ", text)
    return " ".join(re.sub(r"[^\w\s']", " ", text).split())  # what joined the digits ("8.5.38") goes too


def error_rate(references: list[str], hypotheses: list[str], language: str = "en") -> float:
    """WER (English) or CER (Mandarin) after :func:`normalize`, errors summed over the set."""
    from ...data.text import error_rates

    refs = [normalize(r, language) for r in references]
    hyps = [normalize(h, language) for h in hypotheses]
    return error_rates(refs, hyps, language)["cer" if language == "zh" else "wer"]


def features(clips, device="cpu") -> torch.Tensor:
    """30-s log-mel features of a list of 16-kHz clips (:func:`log_mel_batch`), ``(batch, 80, 3000)``."""
    batch = torch.zeros(len(clips), max(len(c) for c in clips))
    for i, clip in enumerate(clips):
        batch[i, :len(clip)] = torch.as_tensor(clip)
    return log_mel_batch(batch.to(device))


def generate(model, tokenizer, clips, language: str, task: str = "transcribe", timestamps: bool = False,
             num_beams: int = 1, batch_size: int = 16, max_new_tokens: int = MAX_NEW_TOKENS) -> list[list[int]]:
    """The tokens ``model.generate`` writes for each clip after the prompt (no special tokens but timestamps).
    An English-only (``*.en``) model is given no language or task: it has neither."""
    prompt = dict(language=language, task=task) if model.generation_config.is_multilingual else {}
    out = []
    for i in range(0, len(clips), batch_size):
        inputs = features(clips[i:i + batch_size], model.device)
        mask = torch.ones(inputs.shape[0], inputs.shape[-1], dtype=torch.long, device=model.device)  # whole windows
        with torch.no_grad():
            tokens = model.generate(inputs, attention_mask=mask, **prompt, return_timestamps=timestamps,
                                    num_beams=num_beams, max_length=max_new_tokens + 4)  # + the longest prompt
        # (transformers 5.23 warns at every max_new_tokens=…, not at max_length: DESIGN.md)
        for row in tokens.tolist():
            out.append([t for t in row if t < tokenizer.eos_token_id or (
                timestamps and t >= tokenizer.convert_tokens_to_ids("<|0.00|>"))])
    return out


def transcribe(model, tokenizer, clips, language: str, task: str = "transcribe", **options) -> list[str]:
    """Greedy (or beam) transcripts of 30-s-padded clips."""
    return [tokenizer.decode(t, skip_special_tokens=True).strip()
            for t in generate(model, tokenizer, clips, language, task, **options)]


def segments(tokens: list[int], tokenizer) -> list[tuple[float, float, str]]:
    """``(start, end, text)`` of each segment written between two timestamp tokens."""
    begin = tokenizer.convert_tokens_to_ids("<|0.00|>")
    found, start, text = [], None, []
    for token in tokens:
        if token >= begin:
            time = (token - begin) / FRAMES_PER_SECOND
            if start is None:
                start = time
            else:
                found.append((start, time, tokenizer.decode(text).strip()))
                start, text = None, []
        elif start is not None:
            text.append(token)
    return found


def token_timestamps(model, tokenizer, clip, language: str = "en", max_length: int = 40) -> list[tuple[int, float]]:
    """``(token, start in s)`` of each text token greedy decoding writes for ``clip``, timed by dynamic time warping
    over the alignment heads' cross-attention (``generate(return_token_timestamps=True)``), within the frames that
    hold audio. transformers 5.23 switches the whole model to eager attention for this and leaves it so (every later
    pass several times slower on a CPU): the attention implementation is restored afterwards. Used by 05."""
    heard = torch.zeros(1, N_FRAMES, dtype=torch.long, device=model.device)
    heard[:, : len(clip) // HOP_LENGTH] = 1
    prompt = dict(language=language) if model.generation_config.is_multilingual else {}
    saved = model.config._attn_implementation
    try:
        with torch.no_grad():
            out = model.generate(features([clip], model.device), attention_mask=heard, return_token_timestamps=True,
                                 max_length=max_length, **prompt)
    finally:
        model.set_attn_implementation(saved)
    return [(t, s) for t, s in zip(out["sequences"][0].tolist(), out["token_timestamps"][0].tolist())
            if t < tokenizer.eos_token_id]


def detect_language(model, tokenizer, clips, batch_size: int = 32) -> list[str]:
    """The most likely of Whisper's language tokens after ``<|startoftranscript|>`` for each clip."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    codes = list(LANGUAGES)[:99]
    ids = tokenizer.convert_tokens_to_ids([f"<|{c}|>" for c in codes])
    start = tokenizer.convert_tokens_to_ids("<|startoftranscript|>")
    found = []
    for i in range(0, len(clips), batch_size):
        inputs = features(clips[i:i + batch_size], model.device)
        with torch.no_grad():
            logits = model(input_features=inputs,
                           decoder_input_ids=torch.full((len(inputs), 1), start, device=model.device)).logits
        found += [codes[k] for k in logits[:, -1, ids].argmax(-1).tolist()]
    return found


def timestamp_error(model, tokenizer, pools: dict, n_windows: int = 20, seed: int = 0,
                    max_new_tokens: int = MAX_NEW_TOKENS) -> tuple[float, float]:
    """Mean absolute error (s) of segment starts and ends against eSpeak's word positions on windows of several
    held-out utterances (``pools``: language → utterances, taken in turn), each reference segment matched to the
    predicted one that starts nearest; and the share of reference segments found (a predicted start within 1 s)."""
    rng = np.random.default_rng([seed, 2])
    errors, found, total = [], 0, 0
    languages = list(pools)
    windows = [make_window(pools[languages[k % len(languages)]], rng, languages[k % len(languages)], "transcribe",
                           timestamps=True, single=False) for k in range(n_windows)]
    for k in range(n_windows):
        window = windows[k]
        predicted = segments(generate(model, tokenizer, [window.audio], window.language, timestamps=True,
                                      max_new_tokens=max_new_tokens)[0], tokenizer)
        for piece in (p for p in window.placed if p.complete):
            total += 1
            if not predicted:
                continue
            start, end, _ = min(predicted, key=lambda s: abs(s[0] - piece.start))
            if abs(start - piece.start) <= 1.0:
                found += 1
                errors += [abs(start - piece.start), abs(end - piece.end)]
    return (float(np.mean(errors)) if errors else float("nan")), found / max(1, total)


def long_clip(utterances, minutes: float, seed: int = 0, task: str = "transcribe") -> tuple[np.ndarray, str]:
    """A long recording made of utterances with 0.3–1.0 s pauses, and its transcript."""
    rng = np.random.default_rng([seed, 3])
    pieces, texts, seconds = [], [], 0.0
    while seconds < minutes * 60:
        utt = utterances[int(rng.integers(len(utterances)))]
        pause = np.zeros(int(rng.uniform(0.3, 1.0) * SAMPLE_RATE), np.float32)
        pieces += [utt.audio, pause]
        texts.append(target_words(utt, task)[0])
        seconds += (len(utt.audio) + len(pause)) / SAMPLE_RATE
    language = utterances[0].language
    return np.concatenate(pieces), ("" if language == "zh" and task == "transcribe" else " ").join(texts)


def openai_model(model):
    """The same weights as an openai-whisper ``Whisper`` (for its ``transcribe``: sequential long-form decoding)."""
    import whisper

    from .model import to_openai

    checkpoint = to_openai(model.float())
    converted = whisper.model.Whisper(whisper.model.ModelDimensions(**checkpoint["dims"]))
    converted.load_state_dict(checkpoint["model_state_dict"])
    return converted.to(model.device).eval()


def evaluate(model, tokenizer, test_sets: dict, longform_minutes: float = 2.0, timestamp_windows: int = 20,
             seed: int = 0, max_new_tokens: int = MAX_NEW_TOKENS) -> dict:
    """The card's metrics on held-out speakers. ``test_sets`` maps ``(language, task)`` → test utterances for the
    four sources (English and Mandarin digits and sentences). ``max_new_tokens`` per window: Whisper's 224, fewer
    for an untrained model (the recipe's smoke run), which writes until the limit."""
    english = test_sets["en", "digits"] + test_sets["en", "sentences"]
    mandarin = test_sets["zh", "digits"] + test_sets["zh", "sentences"]
    limit = dict(max_new_tokens=max_new_tokens)
    metrics = {
        "english_wer": error_rate([u.text for u in english],
                                  transcribe(model, tokenizer, [u.audio for u in english], "en", **limit)),
        "mandarin_cer": error_rate([u.text for u in mandarin],
                                   transcribe(model, tokenizer, [u.audio for u in mandarin], "zh", **limit), "zh"),
        "translate_wer": error_rate([target_words(u, "translate")[0] for u in test_sets["zh", "digits"]],
                                    transcribe(model, tokenizer, [u.audio for u in test_sets["zh", "digits"]], "zh",
                                               "translate", **limit)),
    }
    detected = detect_language(model, tokenizer, [u.audio for u in english + mandarin])
    metrics["language_accuracy"] = float(np.mean([d == u.language for d, u in zip(detected, english + mandarin)]))
    pools = {"en": english, "zh": mandarin}
    metrics["timestamp_mae"], metrics["segments_found"] = timestamp_error(model, tokenizer, pools,
                                                                          timestamp_windows, seed, max_new_tokens)
    audio, reference = long_clip(english, longform_minutes, seed)
    torch.manual_seed(seed)  # temperature fallback samples with torch's generator
    result = openai_model(model).transcribe(audio, language="en", fp16=False, condition_on_previous_text=True,
                                            sample_len=max_new_tokens)
    metrics["longform_wer"] = error_rate([reference], [result["text"]])
    return {k: round(float(v), 4) for k, v in metrics.items()}


def load(directory, device: str = "cpu"):
    """A saved Whisper (fp32, eval mode) and its processor."""
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    model = WhisperForConditionalGeneration.from_pretrained(directory, dtype=torch.float32).to(device).eval()
    return model, WhisperProcessor.from_pretrained(directory)
