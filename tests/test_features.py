"""helpers.signal.features: the from-scratch STFT, mel and MFCC match librosa; bad parameters are refused."""
import re
import librosa
import numpy as np
import pytest
import scipy.fft

import helpers as H


@pytest.fixture(scope="module")
def speech():
    return H.speak("the quick brown fox", sr=16000)


@pytest.mark.parametrize("n_fft, hop", [(512, 160), (400, 160), (1024, 256), (256, 64)])
def test_stft_matches_librosa(speech, n_fft, hop):
    ours, ref = H.stft(speech, n_fft, hop), librosa.stft(speech, n_fft=n_fft, hop_length=hop)
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() < 1e-5 * np.abs(ref).max()


def test_stft_without_centering(speech):
    ours = H.stft(speech, 512, 128, center=False)
    np.testing.assert_allclose(ours, librosa.stft(speech, n_fft=512, hop_length=128, center=False), atol=1e-4)


@pytest.mark.parametrize("norm", ["slaney", None])
@pytest.mark.parametrize("htk, sr, n_fft, n_mels", [
    (False, 16000, 512, 80), (True, 16000, 512, 80), (False, 22050, 1024, 128), (True, 22050, 1024, 128),
    (False, 8000, 256, 40), (True, 8000, 256, 40),
    (False, 16000, 400, 128),  # Whisper large-v3's filterbank (the HTK scale leaves 4 of them empty, see below)
])
def test_mel_filterbank_matches_librosa(htk, norm, sr, n_fft, n_mels):
    ref = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, htk=htk, norm=norm)
    np.testing.assert_allclose(H.mel_filterbank(sr, n_fft, n_mels, htk=htk, norm=norm), ref,
                               atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("htk", [False, True])
def test_mel_scale_round_trip(htk):
    f = np.linspace(0, 20000, 500)
    np.testing.assert_allclose(H.hz_to_mel(f, htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-12)
    np.testing.assert_allclose(H.mel_to_hz(H.hz_to_mel(f, htk), htk), f, atol=1e-8)


def test_log_mel_and_mfcc_match_librosa(speech):
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=speech, sr=16000, n_fft=512, hop_length=160,
                                                             n_mels=80))
    assert np.abs(H.log_mel(speech, 16000) - ref).max() < 1e-3
    ours = H.mfcc(speech, 16000, n_mfcc=13, n_mels=40)
    ref = librosa.feature.mfcc(y=speech, sr=16000, n_mfcc=13, n_fft=512, hop_length=160, n_mels=40)
    assert np.abs(ours - ref).max() < 1e-5 * np.abs(ref).max()


def test_dct_matrix_is_orthonormal_dct2():
    D = H.dct_matrix(40, 40)
    np.testing.assert_allclose(D @ D.T, np.eye(40), atol=1e-12)
    np.testing.assert_allclose(D, scipy.fft.dct(np.eye(40), type=2, norm="ortho", axis=0), atol=1e-12)


def test_frame_and_window():
    frames = H.frame(np.arange(10.0), 4, 3)
    np.testing.assert_array_equal(frames, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])
    np.testing.assert_allclose(H.hann_window(8), librosa.filters.get_window("hann", 8))


def test_preemphasis_is_a_first_difference():
    y = H.preemphasis(np.array([1.0, 1.0, 1.0]), coef=0.5)
    np.testing.assert_allclose(y, [1.0, 0.5, 0.5])


@pytest.mark.parametrize("call, message", [
    (lambda: H.stft(np.ones(1000), n_fft=1), "n_fft (e.g. 512) must be at least 2, got 1"),
    (lambda: H.stft(np.ones(1000), n_fft="512"), "n_fft (e.g. 512) must be a whole number, got '512' (str)"),
    (lambda: H.stft(np.ones(1000), n_fft=512, hop_length=0), "hop_length must be between 1 and 512, got 0"),
    (lambda: H.stft(np.ones(100), n_fft=512, center=False), "shorter than one frame"),
    (lambda: H.mel_filterbank(16000, 512, 80, fmax=9000), "fmax ≤ sr/2"),
    (lambda: H.mel_filterbank(16000, 512, 0), "n_mels must be at least 1, got 0"),
    (lambda: H.mel_filterbank(16000, 512, 80, norm="l2"), "norm 'l2'"),
    (lambda: H.mel_filterbank(16000, 400, 128, htk=True), "4 of the 128 mel filters fall between FFT bins"),
    (lambda: H.mfcc(np.ones(4000), 16000, n_mfcc=50, n_mels=40), "n_mfcc must be between 1 and 40, got 50"),
    (lambda: H.frame(np.ones(1000), 400, 0), "hop_length must be at least 1, got 0"),
    (lambda: H.frame(np.ones(1000), -5, 2), "frame_length must be at least 1, got -5"),
    (lambda: H.frame(np.ones((2, 1000)), 400, 160), "frame splits a 1-D signal; got shape (2, 1000)"),
    (lambda: H.hann_window(1, periodic=False), "window length n must be at least 2, got 1"),
    (lambda: H.hann_window(2.5), "window length n must be a whole number, got 2.5 (float)"),
    (lambda: H.preemphasis(np.ones(10), coef=1.5), "pre-emphasis coefficient"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_notebook_01_exercise_5_htk_mfcc(speech):
    """The solution of notebook 01's exercise 5: HTK-style MFCCs (HTK scale, filters peaking at 1) from the helpers
    match librosa built the right way, and not librosa.feature.mfcc(htk=True), which keeps Slaney-normalised filters."""
    power = np.abs(H.stft(speech, 512, 160)) ** 2
    ours = H.dct_matrix(13, 40) @ H.power_to_db(H.mel_filterbank(16000, 512, 40, htk=True, norm=None) @ power)
    right = librosa.feature.mfcc(S=librosa.power_to_db(librosa.feature.melspectrogram(
        y=speech, sr=16000, n_fft=512, hop_length=160, n_mels=40, htk=True, norm=None)), n_mfcc=13)
    trap = librosa.feature.mfcc(y=speech, sr=16000, n_mfcc=13, n_fft=512, hop_length=160, n_mels=40, htk=True)
    assert np.abs(ours - right).max() / np.abs(right).max() < 1e-5
    assert np.abs(ours - trap).max() / np.abs(trap).max() > 0.1  # the trap is far off
