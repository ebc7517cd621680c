"""The synthetic speech corpus that the ASR and TTS notebooks train and evaluate on (03 CTC, 04 wav2vec 2.0,
05 Whisper, 06 SenseVoice, 07 CosyVoice).

Utterances are synthesised with eSpeak NG (:mod:`helpers.data.speech`): English or Mandarin digit strings, command
words, or short sentences, each with its transcript, language and speaker. Speakers are eSpeak voices and variants
with per-utterance rate and pitch jitter; noise at a chosen SNR is optional. The **test split uses speakers that
the training split never hears**, so a test score measures generalisation, not memorisation.

A corpus is a pure function of its :class:`CorpusSpec`: it is generated once (with a progress bar), cached on
disk under a hash of the spec (``.cache/corpora/<hash>``, outside git), and reused by a rerun or another notebook.

>>> corpus = make_corpus(language="en", task="digits", n_train=800, n_test=200)
>>> utt = corpus.train[0]; utt.text, utt.speaker, utt.audio.shape
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.audio import check_sample_rate, resample
from ..core.cache import build_once, cache_dir
from ..core.checks import check_whole, resolved_spec
from ..core.runtime import progress
from .speech import ESPEAK_SR, MANDARIN_VOICE, Word, check_voice, speak_words, to_pinyin
from .synth import add_noise

CORPUS_VERSION = 2  # bump when generation changes, so that cached corpora are rebuilt
MAX_UTTERANCES = 50_000
LANGUAGES = ("en", "zh")
TASKS = ("digits", "words", "sentences")

DIGITS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "zh": tuple("零一二三四五六七八九"),
}
WORDS = {
    "en": ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "open", "close", "play", "pause",
           "next", "back", "louder", "quieter", "light", "music"),
    "zh": ("你好", "谢谢", "打开", "关闭", "开始", "停止", "音乐", "电灯", "上", "下", "左", "右", "前进", "后退",
           "大声", "小声"),
}
SENTENCE_PARTS = {  # (verbs, objects): sentences are "verb the object" / 动词+宾语
    "en": (("turn on", "turn off", "open", "close", "check", "play"),
           ("the light", "the radio", "the door", "the window", "the music", "the heater", "the camera")),
    "zh": (("打开", "关闭", "检查", "播放"), ("电灯", "收音机", "门", "窗户", "音乐", "空调", "相机")),
}
TRAIN_VARIANTS = ("m1", "m2", "m3", "m6", "f1", "f2", "f3", "Andy", "Annie", "Michael", "Alex", "travis")
TEST_VARIANTS = ("m4", "m5", "f4", "f5", "linda", "john")
SPEAKERS = {  # disjoint pools: the test split only hears voices (variant + accent) absent from training
    "en": {
        "train": tuple(f"{accent}+{v}" for accent in ("en-us", "en", "en-gb-x-rp", "en-029") for v in TRAIN_VARIANTS),
        "test": tuple(f"{accent}+{v}" for accent in ("en-us", "en-gb-scotland") for v in TEST_VARIANTS),
    },
    "zh": {
        "train": tuple(f"{MANDARIN_VOICE}+{v}" for v in TRAIN_VARIANTS),
        "test": tuple(f"{MANDARIN_VOICE}+{v}" for v in TEST_VARIANTS),
    },
}


@dataclass(frozen=True)
class CorpusSpec:
    """Everything that determines a corpus; its hash names the cache entry.

    ``language``: ``"en"`` or ``"zh"``. ``task``: ``"digits"`` (strings of ``min_words``..``max_words`` digits),
    ``"words"`` (command words) or ``"sentences"`` (verb + object commands). ``vocabulary`` replaces the task's
    default words (digits and words tasks). ``rate`` and ``pitch`` are the (low, high) ranges of the per-utterance
    jitter (eSpeak words per minute, 0..99). ``snr_db`` adds white noise at that SNR (None: clean).
    ``pad_s`` is the (low, high) range of silence added before and after each utterance.
    """

    language: str = "en"
    task: str = "digits"
    n_train: int = 800
    n_test: int = 200
    sample_rate: int = 16_000
    seed: int = 0
    min_words: int = 3
    max_words: int = 6
    vocabulary: tuple[str, ...] | None = None
    train_speakers: tuple[str, ...] | None = None
    test_speakers: tuple[str, ...] | None = None
    rate: tuple[int, int] = (140, 210)
    pitch: tuple[int, int] = (35, 65)
    snr_db: float | None = None
    pad_s: tuple[float, float] = (0.05, 0.25)

    def resolved(self) -> "CorpusSpec":
        """The spec with defaults filled in (vocabulary, speakers) and every field validated."""
        if self.language not in LANGUAGES:
            raise ValueError(f"unknown language {self.language!r}; the corpus speaks {LANGUAGES}")
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose one of {TASKS}")
        vocabulary = self.vocabulary
        if vocabulary is None and self.task != "sentences":
            vocabulary = (DIGITS if self.task == "digits" else WORDS)[self.language]
        if vocabulary is not None:
            vocabulary = tuple(vocabulary)
            if not vocabulary or not all(isinstance(w, str) and w.strip() for w in vocabulary):
                raise ValueError(f"the vocabulary is empty or has blank words: {vocabulary!r}; give at least one word")
        train = tuple(self.train_speakers or SPEAKERS[self.language]["train"])
        test = tuple(self.test_speakers or SPEAKERS[self.language]["test"])
        if not train or not test:
            raise ValueError("both splits need at least one speaker")
        overlap = sorted(set(train) & set(test))
        if overlap:
            raise ValueError(f"speakers {overlap} are in both splits; test speakers must be held out from training")
        for voice in train + test:
            check_voice(voice)
        for name in ("n_train", "n_test"):  # each split needs at least one utterance
            check_whole(getattr(self, name), f"{name} (utterances per split)")
        if self.n_train + self.n_test > MAX_UTTERANCES:
            raise ValueError(f"n_train + n_test = {self.n_train + self.n_test} is more than {MAX_UTTERANCES} "
                             "utterances; synthesise a smaller corpus")
        if not 1 <= self.min_words <= self.max_words <= 20:
            raise ValueError(f"need 1 ≤ min_words ≤ max_words ≤ 20, got {self.min_words}..{self.max_words}")
        if not 80 <= self.rate[0] <= self.rate[1] <= 450 or not 0 <= self.pitch[0] <= self.pitch[1] <= 99:
            raise ValueError(f"rate range {self.rate} must lie in 80..450 and pitch range {self.pitch} in 0..99")
        if not 0 <= self.pad_s[0] <= self.pad_s[1] <= 2:
            raise ValueError(f"pad_s range {self.pad_s} must lie in 0..2 seconds")
        check_sample_rate(self.sample_rate)
        return dataclasses.replace(self, vocabulary=vocabulary, train_speakers=train, test_speakers=test)

    def digest(self) -> str:
        fields = dataclasses.asdict(self)
        fields["version"] = CORPUS_VERSION
        return hashlib.sha256(json.dumps(fields, sort_keys=True, default=list).encode()).hexdigest()[:16]


@dataclass
class Utterance:
    """One synthesised utterance: its audio (float32 mono), transcript, who said it how, and its words with their
    times in the audio (eSpeak's word events; a Mandarin word is one character)."""

    id: str
    text: str
    language: str
    speaker: str
    rate: int
    pitch: int
    split: str
    sample_rate: int
    audio: np.ndarray = field(repr=False)
    words: list[Word] = field(default_factory=list, repr=False)

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate


def _transcript(spec: CorpusSpec, rng: np.random.Generator) -> str:
    if spec.task == "sentences":
        verbs, objects = SENTENCE_PARTS[spec.language]
        verb, obj = verbs[rng.integers(len(verbs))], objects[rng.integers(len(objects))]
        return f"{verb} {obj}" if spec.language == "en" else f"{verb}{obj}"
    n = int(rng.integers(spec.min_words, spec.max_words + 1))
    words = [spec.vocabulary[i] for i in rng.integers(len(spec.vocabulary), size=n)]
    return " ".join(words) if spec.language == "en" else "".join(words)


def _synthesise(spec: CorpusSpec, split: str, index: int) -> Utterance:
    """Utterance ``index`` of ``split``: a pure function of (spec, split, index)."""
    rng = np.random.default_rng([spec.seed, 0 if split == "train" else 1, index])
    speakers = spec.train_speakers if split == "train" else spec.test_speakers
    text = _transcript(spec, rng)
    speaker = speakers[rng.integers(len(speakers))]
    rate, pitch = (int(rng.integers(lo, hi + 1)) for lo, hi in (spec.rate, spec.pitch))
    spoken = text if spec.language == "en" else to_pinyin(text)
    audio, words = speak_words(spoken, voice=speaker, rate=rate, pitch=pitch)
    pads = (rng.uniform(*spec.pad_s, size=2) * ESPEAK_SR).astype(int)
    audio = resample(np.pad(audio, pads), ESPEAK_SR, spec.sample_rate)
    if spec.snr_db is not None:
        audio = add_noise(audio, spec.snr_db, sr=spec.sample_rate, seed=int(rng.integers(2**31)))
    names = [w.text for w in words] if spec.language == "en" or len(words) != len(text) else list(text)
    offset = pads[0] / ESPEAK_SR
    words = [Word(name, round(w.start + offset, 4), round(w.end + offset, 4)) for name, w in zip(names, words)]
    return Utterance(f"{split}-{index:05d}", text, spec.language, speaker, rate, pitch, split, spec.sample_rate,
                     audio.astype(np.float32), words)


def _write(spec: CorpusSpec, directory: Path) -> None:
    manifest = []
    for split, n in (("train", spec.n_train), ("test", spec.n_test)):
        audio = {}
        for i in progress(range(n), desc=f"synthesising {split}"):
            utt = _synthesise(spec, split, i)
            audio[utt.id] = np.round(utt.audio * 32767).astype(np.int16)
            manifest.append({k: v for k, v in dataclasses.asdict(utt).items() if k != "audio"})  # words as dicts
        np.savez(directory / f"{split}.npz", **audio)
    (directory / "manifest.jsonl").write_text("".join(json.dumps(m, ensure_ascii=False) + "\n" for m in manifest))
    (directory / "spec.json").write_text(json.dumps(dataclasses.asdict(spec), indent=1, ensure_ascii=False))


@dataclass
class Corpus:
    """A generated corpus: the two splits as lists of :class:`Utterance`, and where it is cached."""

    spec: CorpusSpec
    path: Path
    train: list[Utterance]
    test: list[Utterance]

    def split(self, name: str) -> list[Utterance]:
        if name not in ("train", "test"):
            raise ValueError(f"unknown split {name!r}; the corpus has 'train' and 'test'")
        return self.train if name == "train" else self.test

    def __iter__(self):
        """Plain iteration over (audio, text) of every utterance, train then test, for non-torch users."""
        for utt in self.train + self.test:
            yield utt.audio, utt.text

    def summary(self) -> str:
        parts = []
        for name in ("train", "test"):
            utts = self.split(name)
            hours = sum(u.seconds for u in utts) / 60
            parts.append(f"{name}: {len(utts)} utterances, {hours:.1f} min, {len({u.speaker for u in utts})} speakers")
        return " · ".join(parts)


class SpeechDataset:
    """A map-style torch dataset: item ``i`` is ``(features, target_ids)`` of ``utterances[i]``.

    ``featurize(audio, sample_rate)`` returns a ``(frames, dims)`` tensor and ``encode(text)`` a list of ids;
    both are applied once, up front. Use it with ``torch.utils.data.DataLoader(..., collate_fn=collate)``.
    """

    def __init__(self, utterances: list[Utterance], featurize, encode):
        import torch

        if not utterances:
            raise ValueError("a dataset needs at least one utterance")
        self.features = [featurize(u.audio, u.sample_rate) for u in utterances]
        self.targets = [torch.tensor(encode(u.text), dtype=torch.long) for u in utterances]

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, i: int):
        return self.features[i], self.targets[i]

    @property
    def lengths(self) -> list[int]:
        return [f.shape[0] for f in self.features]


def collate(batch) -> dict:
    """Pads a list of ``(features, targets)`` into ``features (B, T, D)``, ``targets (B, L)`` (padded with 0)
    and their true ``feature_lengths`` and ``target_lengths``."""
    import torch
    from torch.nn.utils.rnn import pad_sequence

    features, targets = zip(*batch)
    return {
        "features": pad_sequence(features, batch_first=True),
        "feature_lengths": torch.tensor([f.shape[0] for f in features]),
        "targets": pad_sequence(targets, batch_first=True),
        "target_lengths": torch.tensor([len(t) for t in targets]),
    }


def make_corpus(spec: CorpusSpec | None = None, **fields) -> Corpus:
    """Generates (or loads from the cache) the corpus of ``spec``, or of ``CorpusSpec(**fields)``."""
    spec = resolved_spec(CorpusSpec, spec, fields)
    path = build_once(cache_dir("corpora", f"{spec.language}-{spec.task}-{spec.digest()}"),
                      lambda directory: _write(spec, directory))
    rows = [json.loads(line) for line in (path / "manifest.jsonl").read_text().splitlines()]
    splits = {}
    for name in ("train", "test"):
        with np.load(path / f"{name}.npz") as audio:
            splits[name] = [Utterance(**{**row, "words": [Word(**w) for w in row["words"]]},
                                      audio=audio[row["id"]].astype(np.float32) / 32767)
                            for row in rows if row["split"] == name]
    return Corpus(spec, path, splits["train"], splits["test"])
