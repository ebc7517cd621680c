"""helpers.judges: each real pretrained judge on a case with a known answer, and the checks that refuse a swapped
package or bad input."""
import numpy as np
import pytest

import helpers as H
from helpers import judges as J
from helpers.core import packages


@pytest.fixture(scope="module")
def sentence():
    return H.speak("turn on the light and play the music", voice="en-us", sr=16000)


def test_every_weight_file_is_pinned_and_present():
    for name in J.WEIGHTS:
        assert J.weights(name).exists()


def test_a_swapped_weight_file_is_refused(monkeypatch):
    packages.packaged_file.cache_clear()
    package, version, relative, _ = J.WEIGHTS["speaker"]
    monkeypatch.setitem(J.WEIGHTS, "speaker", (package, version, relative, "f" * 64))
    with pytest.raises(ValueError, match=r"not the file that resemblyzer 0.1.4 ships.*--force-reinstall"):
        J.weights("speaker")


def test_recognition_reads_clear_speech(sentence):
    assert J.transcribe([sentence])[0].lower().startswith("turn on the")
    assert J.word_error_rate(["turn on the light and play the music"], J.transcribe([sentence])) < 0.3


def test_noise_lowers_dnsmos_background_score(sentence):
    clean = J.dnsmos(sentence)
    noisy = J.dnsmos(H.add_noise(sentence, 5, sr=16000, seed=0))
    assert set(clean) == {"sig", "bak", "ovrl", "p808"}
    assert noisy["bak"] < clean["bak"] - 1 and 1 <= noisy["ovrl"] <= 5
    with pytest.raises(ValueError, match="outside ±1"):
        J.dnsmos(sentence * 3)


def test_aecmos_prefers_a_removed_echo(sentence):
    rng = np.random.default_rng(0)
    far = H.speak("one two three four five six seven", voice="en+m3", sr=16000)[: len(sentence)]
    far = np.pad(far, (0, len(sentence) - len(far)))
    echo = np.convolve(far, rng.normal(0, 0.1, 400) * np.exp(-np.arange(400) / 80))[: len(far)]
    microphone = sentence + echo
    perfect = J.aecmos(far, microphone, sentence)
    untouched = J.aecmos(far, microphone, microphone)
    assert perfect["echo"] > untouched["echo"]
    with pytest.raises(ValueError, match="same length"):
        J.aecmos(far[:-10], microphone, sentence)


def test_vad_finds_speech_where_the_padding_ends(sentence):
    padded = np.concatenate([np.zeros(16000, np.float32), sentence, np.zeros(16000, np.float32)])
    regions = J.speech_regions(padded)
    onset = 1.0 + np.argmax(np.abs(sentence) > 0.02) / 16000
    assert len(regions) >= 1 and abs(regions[0][0] - onset) < 0.2
    assert abs(regions[-1][1] - (1.0 + len(sentence) / 16000)) < 0.3


def test_same_speaker_scores_above_another_speaker():
    a1 = H.speak("open the window please", voice="en+m3", sr=16000)
    a2 = H.speak("close the door and check the heater", voice="en+m3", sr=16000)
    b = H.speak("close the door and check the heater", voice="en-us+f4", sr=16000)
    same = J.cosine(J.speaker_embedding(a1), J.speaker_embedding(a2))
    other = J.cosine(J.speaker_embedding(a1), J.speaker_embedding(b))
    assert same > other
    assert J.speaker_embedding(a1).shape == (256,)


def test_equal_error_rate():
    assert J.equal_error_rate([0.9, 0.8, 0.7], [0.1, 0.2, 0.3]) == 0.0
    assert J.equal_error_rate([0.9, 0.2], [0.8, 0.1]) == 0.5
    with pytest.raises(ValueError, match="both"):
        J.equal_error_rate([], [0.1])


def test_basic_pitch_hears_a_triad(capfd):
    notes = J.transcribe_notes(H.chord(["C4", "E4", "G4"], 2.0, 22050), 22050)
    assert {60, 64, 67} <= {pitch for *_, pitch, _ in notes}
    assert "Warning" not in capfd.readouterr().err


def test_rnnoise_raises_si_sdr_on_white_noise(sentence):
    noisy = H.add_noise(sentence, 0, sr=16000, seed=1)
    denoised = J.rnnoise(noisy)
    assert denoised.shape == sentence.shape
    assert H.si_sdr_db(sentence, denoised) > H.si_sdr_db(sentence, noisy) + 5


def test_hifigan_resynthesis_keeps_the_words():
    corpus = H.make_corpus(language="en", task="sentences", n_train=1, n_test=8, seed=5)
    references = [u.text for u in corpus.test]
    originals = [u.audio for u in corpus.test]
    resynthesised = [J.vocode(J.vocoder_mel(a)) for a in originals]
    assert all(abs(len(r) - len(a)) <= 160 for r, a in zip(resynthesised, originals))
    floor = J.word_error_rate(references, J.transcribe(originals))
    assert J.word_error_rate(references, J.transcribe(resynthesised)) <= floor + 0.15


def test_vocoder_inputs_are_checked():
    with pytest.raises(ValueError, match=r"shape \(80, frames\)"):
        J.vocode(np.zeros((64, 10)))
    with pytest.raises(ValueError, match="'hifigan' or 'griffin-lim'"):
        J.vocode(np.zeros((80, 10)), method="wavenet")


def test_a_judge_without_a_wheel_here_is_skipped_with_a_reason(monkeypatch):
    assert J.skip_reason("rnnoise") is None
    monkeypatch.setattr(J, "RNNOISE", ("pyrnnoise-for-macos", "0.4.5"))
    assert "Linux x86_64 and Windows only" in J.skip_reason("rnnoise")
    with pytest.raises(FileNotFoundError, match="RNNoise is skipped"):
        J.rnnoise(np.ones(1600, np.float32) * 0.1)
