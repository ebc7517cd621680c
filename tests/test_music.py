"""The captioned music corpus (helpers.data.music) and the chromagram (helpers.signal.features.chroma): the grammar,
the held-out combinations, validation, and that each caption's chord can be read back from its audio's chroma."""
import librosa
import numpy as np
import pytest

from helpers.data import music
from helpers.signal.features import chroma, chroma_filterbank

SR = music.SAMPLE_RATE


def test_captions_follow_the_grammar():
    assert music.caption("F#", "minor", "arpeggio", "fast", "organ", drums=True) == \
        "a fast F# minor arpeggio on organ with drums"
    assert music.caption("C", "major") == "a slow C major chord on piano"
    assert music.caption("Bb", "seventh", timbre="strings", drums=True, melody=True) == \
        "a slow Bb seventh chord on strings with drums and a melody"


@pytest.mark.parametrize("args, message", [
    (("H", "major"), "unknown root 'H'"),
    (("C", "diminished"), "unknown quality 'diminished'"),
    (("C", "major", "chord", "slow", "kazoo"), "unknown timbre 'kazoo'"),
])
def test_a_caption_outside_the_grammar_is_refused(args, message):
    with pytest.raises(ValueError, match=message):
        music.caption(*args)


def test_held_out_triples_leave_every_root_quality_and_timbre_in_training():
    held, seen = music.harmonies(held_out=True), music.harmonies(held_out=False)
    assert len(held) + len(seen) == 12 * 3 * 3 and len(held) == 12
    for position, values in enumerate((music.PITCH_CLASSES, music.QUALITIES, music.TIMBRES)):
        assert {h[position] for h in seen} == set(values)


def test_render_is_deterministic_and_refuses_a_bad_melody():
    a = music.render("A", "minor", "arpeggio", "fast", "strings", drums=True, melody=[9, 0, 4, 0], seed=3)
    b = music.render("A", "minor", "arpeggio", "fast", "strings", drums=True, melody=[9, 0, 4, 0], seed=3)
    assert a.shape == (2 * SR,) and np.array_equal(a, b) and np.isclose(np.abs(a).max(), music.PEAK)
    with pytest.raises(ValueError, match=r"melody \[12\] must list pitch classes 0–11"):
        music.render("C", "major", melody=[12])
    with pytest.raises(ValueError, match="seconds"):
        music.render("C", "major", seconds=0.1)


@pytest.mark.parametrize("n_fft", [512, 2048, 4096])
def test_chroma_filters_match_librosa(n_fft):
    assert np.allclose(chroma_filterbank(SR, n_fft), librosa.filters.chroma(sr=SR, n_fft=n_fft, tuning=0.0),
                       atol=1e-6)


def test_chroma_matches_librosa_and_finds_the_chord():
    y = music.render("E", "major", timbre="organ", seed=1)
    ours = chroma(y, SR)
    reference = librosa.feature.chroma_stft(y=y, sr=SR, n_fft=2048, hop_length=320, tuning=0.0)
    assert ours.shape == reference.shape and np.allclose(ours, reference, atol=1e-5)
    strongest = set(np.argsort(ours.mean(axis=1))[-3:])
    assert strongest == {4, 8, 11}, "E major is E, G#, B"


def test_the_corpus_is_cached_deterministic_and_holds_out_its_triples(tmp_path, monkeypatch):
    monkeypatch.setenv("ALM_CACHE", str(tmp_path))
    first = music.make_music(n_train=30, n_test=30, seed=5)
    again = music.make_music(n_train=30, n_test=30, seed=5)
    assert first.path == again.path and all(np.array_equal(a.audio, b.audio) for a, b in zip(first.test, again.test))
    assert not any(c.held_out for c in first.train)
    assert all(c.held_out == music.is_held_out(c.root, c.quality, c.timbre) for c in first.test)
    assert all(("a melody" in c.caption) == bool(c.melody) for c in first.train + first.test)
    with pytest.raises(ValueError, match="melody"):
        music.make_music(n_train=3, n_test=3, melody=1.5)
