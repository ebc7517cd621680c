"""The captioned sound corpus (helpers.data.sounds): the grammar, the held-out combinations, and that each caption's
words are true of its audio."""
import numpy as np
import pytest

from helpers.data import sounds

SR = sounds.SAMPLE_RATE


def centroid_hz(y) -> float:
    spectrum = np.abs(np.fft.rfft(y))
    return float(np.sum(np.fft.rfftfreq(len(y), 1 / SR) * spectrum) / np.sum(spectrum))


def test_captions_follow_the_grammar():
    assert sounds.caption("beep", "high", "loud", echo=True) == "a loud high beep with echo"
    assert sounds.caption("drums", "three fast") == "three fast drum hits"
    assert sounds.caption("chord", "G major", "quiet") == "a quiet G major chord"
    assert sounds.caption("speech", "woman", "loud") == "a woman speaking loudly"
    assert sounds.caption("noise", "pink") == "pink noise in bursts"
    every = sounds.combinations()
    assert len(every) == len({sounds.caption(*c) for c in every}), "two combinations share a caption"


@pytest.mark.parametrize("args, message", [
    (("dog", "big"), "unknown kind of sound 'dog'"),
    (("beep", "medium"), "beep has pitch 'low', 'high', not 'medium'"),
    (("beep", "low", "deafening"), "unknown loudness 'deafening'"),
])
def test_a_caption_outside_the_grammar_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        sounds.caption(*args)


def test_held_out_combinations_are_each_kinds_last_value_with_echo():
    held = sounds.combinations(held_out=True)
    assert {(kind, value) for kind, value, _, _ in held} == {(k, v[-1]) for k, (_, v, _) in sounds.KINDS.items()}
    assert all(echo for *_, echo in held)
    seen = sounds.combinations(held_out=False)
    assert len(seen) + len(held) == len(sounds.combinations())
    # compositionality: every held-out value is heard dry, and every kind is heard with echo, in training
    assert all((k, v, l, False) in seen and any(c[0] == k and c[3] for c in seen) for k, v, l, _ in held)


def test_rendering_is_deterministic_and_at_the_asked_level():
    a = sounds.render("siren", "fast", "quiet", seed=5)
    np.testing.assert_array_equal(a, sounds.render("siren", "fast", "quiet", seed=5))
    assert not np.array_equal(a, sounds.render("siren", "fast", "quiet", seed=6))
    assert a.dtype == np.float32 and len(a) == round(1.28 * SR)
    for loudness, peak in sounds.LEVELS.items():
        assert np.abs(sounds.render("chord", "A minor", loudness, seed=1)).max() == pytest.approx(peak, rel=1e-5)


def test_the_caption_is_true_of_the_audio():
    low, high = (centroid_hz(sounds.render("beep", p, seed=2)) for p in ("low", "high"))
    assert low < 600 < 1400 < high
    rising = sounds.render("chirp", "rising", seed=2)
    assert centroid_hz(rising[: SR // 4]) < centroid_hz(rising[SR // 2: SR * 3 // 4])
    falling = sounds.render("chirp", "falling", seed=2)
    assert centroid_hz(falling[: SR // 4]) > centroid_hz(falling[SR // 2: SR * 3 // 4])
    for rhythm in sounds.KINDS["drums"][1]:  # count the hits: jumps of the 10-ms envelope to twice its level
        envelope = np.abs(np.r_[np.zeros(160), sounds.render("drums", rhythm, "loud", seed=4)])
        envelope = envelope.reshape(-1, 160).max(axis=1) + 1e-3
        onsets = np.flatnonzero((envelope[1:] > 0.2) & (envelope[1:] > 2 * envelope[:-1]))
        assert len(onsets) == {"two": 2, "three": 3, "four": 4}[rhythm.split()[0]], rhythm
    import librosa

    chroma = librosa.feature.chroma_stft(y=sounds.render("chord", "A minor", seed=0), sr=SR).mean(axis=1)
    assert set(np.argsort(chroma)[-3:]) == {9, 0, 4}  # A, C, E


def test_echo_is_a_reverberant_tail():
    dry, wet = (sounds.render("beep", "low", echo=echo, seed=3) for echo in (False, True))
    tail = slice(int(0.9 * SR), None)  # the beep stops by 0.9 s
    assert np.sqrt(np.mean(dry[tail] ** 2)) < 1e-4 < 3e-3 < np.sqrt(np.mean(wet[tail] ** 2))


def test_the_corpus_holds_out_combinations_from_training(tmp_path, monkeypatch):
    monkeypatch.setenv("ALM_CACHE", str(tmp_path))
    corpus = sounds.make_sounds(n_train=60, n_test=40, seed=1)
    assert not any(c.held_out for c in corpus.train)
    assert any(c.held_out for c in corpus.test)
    clip = corpus.test[3]
    assert clip.caption == sounds.caption(clip.kind, clip.value, clip.loudness, clip.echo)
    again = sounds.make_sounds(n_train=60, n_test=40, seed=1)  # from the cache
    assert again.path == corpus.path
    np.testing.assert_array_equal(again.test[3].audio, clip.audio)
    assert np.abs(clip.audio).max() == pytest.approx(sounds.LEVELS[clip.loudness], abs=1e-4)  # 16-bit in the cache
    assert "held-out combinations" in corpus.summary()


@pytest.mark.parametrize("fields, message", [
    (dict(kinds=("beep", "dog")), "must be a non-empty selection"),
    (dict(n_train=0), "n_train"),
    (dict(n_train=19_000, n_test=2000), "more than 20000 clips"),
    (dict(seconds=0.1), "seconds"),
    (dict(colour="red"), "the fields are"),
])
def test_a_bad_spec_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        sounds.make_sounds(**fields)
