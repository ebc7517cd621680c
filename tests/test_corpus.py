"""helpers.data.corpus: deterministic, cached, held-out speakers, torch dataset + collate, and clear bad-input errors."""
import numpy as np
import pytest
import torch

import helpers.data.corpus as C

SMALL = dict(n_train=6, n_test=3, min_words=1, max_words=2)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ALM_CACHE", str(tmp_path / "cache"))


def test_same_seed_gives_identical_audio_and_transcripts(tmp_path, monkeypatch):
    first = C.make_corpus(**SMALL, seed=3)
    monkeypatch.setenv("ALM_CACHE", str(tmp_path / "elsewhere"))  # a fresh cache: synthesised again
    second = C.make_corpus(**SMALL, seed=3)
    assert first.path != second.path
    for a, b in zip(first.train + first.test, second.train + second.test):
        assert (a.text, a.speaker, a.rate, a.pitch) == (b.text, b.speaker, b.rate, b.pitch)
        assert a.audio.tobytes() == b.audio.tobytes()
    other = C.make_corpus(**SMALL, seed=4)
    assert [u.text for u in other.train] != [u.text for u in first.train]


def test_second_call_is_a_cache_hit(monkeypatch):
    first = C.make_corpus(**SMALL)
    monkeypatch.setattr(C, "_synthesise", lambda *a: pytest.fail("synthesised again instead of loading the cache"))
    again = C.make_corpus(**SMALL)
    assert again.path == first.path and [u.text for u in again.train] == [u.text for u in first.train]


def test_test_speakers_are_held_out():
    corpus = C.make_corpus(n_train=40, n_test=20, min_words=1, max_words=1)
    train, test = {u.speaker for u in corpus.train}, {u.speaker for u in corpus.test}
    assert train and test and not train & test
    assert set(C.SPEAKERS["en"]["train"]).isdisjoint(C.SPEAKERS["en"]["test"])


def test_utterances_are_plausible_and_transcribed():
    corpus = C.make_corpus(**SMALL, snr_db=20.0)
    for utt in corpus.train:
        assert 0.3 < utt.seconds < 5 and utt.sample_rate == 16000 and utt.audio.dtype == np.float32
        assert 1 <= len(utt.text.split()) <= 2 and set(utt.text.split()) <= set(C.DIGITS["en"])
    assert "train: 6 utterances" in corpus.summary()
    assert len(list(corpus)) == 9 and isinstance(next(iter(corpus))[1], str)


def test_mandarin_transcripts_are_characters():
    corpus = C.make_corpus(language="zh", task="words", **SMALL)
    assert all(set(u.text) <= set("".join(C.WORDS["zh"])) for u in corpus.train)
    assert all(u.speaker.startswith("cmn-latn-pinyin") for u in corpus.train)


def test_sentences_and_custom_vocabulary():
    assert all(u.text.startswith(("turn", "open", "close", "check", "play"))
               for u in C.make_corpus(task="sentences", n_train=4, n_test=1).train)
    assert {w for u in C.make_corpus(task="words", vocabulary=("yes", "no"), **SMALL).train
            for w in u.text.split()} <= {"yes", "no"}


def test_dataset_and_collate_pad_with_lengths():
    corpus = C.make_corpus(**SMALL)
    data = C.SpeechDataset(corpus.train, lambda audio, sr: torch.ones(len(audio) // 160, 4),
                           lambda text: [ord(c) % 7 + 1 for c in text])
    batch = C.collate([data[i] for i in range(3)])
    assert batch["features"].shape == (3, max(data.lengths[:3]), 4)
    assert batch["feature_lengths"].tolist() == data.lengths[:3]
    assert batch["targets"].shape[0] == 3 and batch["target_lengths"].max() == batch["targets"].shape[1]


@pytest.mark.parametrize("fields, message", [
    (dict(language="fr"), "unknown language 'fr'"),
    (dict(task="poems"), "unknown task 'poems'"),
    (dict(vocabulary=()), "vocabulary is empty"),
    (dict(vocabulary=("yes", " ")), "blank words"),
    (dict(train_speakers=("en+Nobody",)), "unknown voice variant 'Nobody'"),
    (dict(test_speakers=("klingon",)), "unknown eSpeak voice 'klingon'"),
    (dict(train_speakers=("en+m1", "en+f1"), test_speakers=("en+f1",)), r"\['en\+f1'\] are in both splits"),
    (dict(n_train=0), "n_train \\(utterances per split\\) must be at least 1, got 0"),
    (dict(n_train="5"), "n_train \\(utterances per split\\) must be a whole number, got .5. \\(str\\)"),
    (dict(n_test=-5), "n_test \\(utterances per split\\) must be at least 1, got -5"),
    (dict(n_train=60_000), "more than 50000 utterances"),
    (dict(min_words=4, max_words=2), "min_words ≤ max_words"),
    (dict(rate=(10, 500)), "rate range"),
    (dict(colour="blue"), "unexpected keyword argument 'colour'"),
])
def test_bad_specs(fields, message):
    with pytest.raises(ValueError, match=message):
        C.make_corpus(**fields)


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        C.make_corpus(**SMALL).split("dev")
