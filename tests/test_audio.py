"""helpers.core.audio: load/save/resample/normalise, and a clear error for every bad input."""
import re
import numpy as np
import pytest
import soundfile as sf

import helpers as H


@pytest.fixture
def clip():
    return H.tone(440, 0.5, 16000)


def test_save_load_round_trip_resamples_and_mixes_down(tmp_path, clip):
    stereo = np.stack([clip, 0.5 * clip])
    path = H.save(tmp_path / "a.wav", stereo, 16000)
    y, sr = H.load(path, sr=8000)
    assert sr == 8000 and y.ndim == 1 and y.dtype == np.float32
    assert len(y) == 4000
    native, native_sr = H.load(path, sr=None, mono=False)
    assert native_sr == 16000 and native.shape == (2, 8000)
    np.testing.assert_allclose(native[0], clip, atol=1 / 2**15)


@pytest.mark.parametrize("suffix", [".flac", ".ogg", ".mp3"])
def test_compressed_formats_load(tmp_path, clip, suffix):
    path = H.save(tmp_path / f"a{suffix}", clip, 16000)
    y, sr = H.load(path, sr=16000)
    assert sr == 16000 and abs(len(y) - len(clip)) < 2000  # mp3 adds encoder padding
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(clip**2)), rel=0.1)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="audio file not found: .*nope.wav"):
        H.load(tmp_path / "nope.wav")


def test_unsupported_format(tmp_path):
    (tmp_path / "a.xyz").write_bytes(b"123")
    with pytest.raises(ValueError, match=r"unsupported audio format '.xyz'.*\.wav"):
        H.load(tmp_path / "a.xyz")


def test_unreadable_file(tmp_path):
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.raises(ValueError, match="cannot read .*broken.wav"):
        H.load(tmp_path / "broken.wav")


def test_empty_file(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(ValueError, match="is empty"):
        H.load(tmp_path / "empty.wav")


def test_silent_file(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros(1600, np.float32), 16000)
    with pytest.raises(ValueError, match="is silent"):
        H.load(tmp_path / "silent.wav")


def test_too_long(tmp_path, clip):
    path = H.save(tmp_path / "a.wav", clip, 16000)
    with pytest.raises(ValueError, match=r"0.5 s long, more than the 0.2 s"):
        H.load(path, max_seconds=0.2)


@pytest.mark.parametrize("bad, message", [
    (np.array([0.1, np.nan, 0.2]), "1 NaN/Inf samples"),
    (np.array([0.1, np.inf]), "1 NaN/Inf samples"),
    (np.array(["a", "b"]), "dtype <U1"),
    (np.zeros((2, 2, 2)), r"must be mono, a 1-D array, but has shape \(2, 2, 2\)"),
    (np.ones((2, 100)), "multichannel clip: mix it down"),
    (np.zeros(0), "is empty"),
])
def test_check_audio_rejects(bad, message):
    with pytest.raises(ValueError, match=message):
        H.check_audio(bad)


def test_integer_pcm_is_scaled():
    y = H.check_audio(np.array([16384, -32768], dtype=np.int16))
    np.testing.assert_allclose(y, [0.5, -1.0])


@pytest.mark.parametrize("sr", [0, -16000, 10**7, 16000.5, "16k", True, None])
def test_absurd_sample_rates(sr):
    with pytest.raises(ValueError, match="sample rate|must be a number"):
        H.check_sample_rate(sr)


def test_resample_changes_length_and_keeps_a_tone(clip):
    y = H.resample(clip, 16000, 22050)
    assert len(y) == 11025
    peak = np.argmax(np.abs(np.fft.rfft(y))) * 22050 / len(y)
    assert peak == pytest.approx(440, abs=3)


def test_normalize(clip):
    assert np.abs(H.normalize(clip, peak=0.5)).max() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="silent"):
        H.normalize(np.zeros(10))
    with pytest.raises(ValueError, match=r"peak \(full scale is 1.0\) must be at most 1, got 2"):
        H.normalize(clip, peak=2)


def test_save_refuses_to_overwrite_and_to_clip(tmp_path, clip):
    path = H.save(tmp_path / "a.wav", clip, 16000)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        H.save(path, clip, 16000)
    H.save(path, clip, 16000, overwrite=True)
    with pytest.raises(ValueError, match="would clip"):
        H.save(tmp_path / "b.wav", 2 * clip / np.abs(clip).max(), 16000)


def test_to_mono():
    assert H.to_mono(np.ones((2, 5))).shape == (5,)
    assert H.to_mono(np.ones(5)).shape == (5,)


def test_save_refuses_bad_targets_and_layouts_and_leaves_nothing_behind(tmp_path, clip):
    with pytest.raises(ValueError, match=r"has 8000 channels, more than 64; .* it looks like \(samples, channels\): "
                                         r"pass y.T"):
        H.save(tmp_path / "a.wav", np.stack([clip, clip], axis=1), 16000)
    with pytest.raises(ValueError, match="is a folder; give a file name in it"):
        H.save(tmp_path, clip, 16000)
    with pytest.raises(ValueError, match="path must be a file path such as 'clip.wav', got None"):
        H.save(None, clip, 16000)
    kept = H.save(tmp_path / "b.mp3", clip, 16000)
    before = kept.read_bytes()
    with pytest.raises(ValueError, match="cannot write .*b.mp3 as .mp3 audio at 1000 Hz .*only supports sample rates"):
        H.save(kept, clip, 1000, overwrite=True)  # libsndfile refuses: the file it was to replace is intact
    assert kept.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["b.mp3"]
    with pytest.raises(ValueError, match="Ogg Vorbis cannot hold 384000 Hz"):  # libsndfile would crash the process
        H.save(tmp_path / "c.ogg", clip, 384000)


@pytest.mark.parametrize("path, error, message", [
    (None, ValueError, "path must be a file path such as 'clip.wav', got None (NoneType)"),
    ("", ValueError, "path must be a file path such as 'clip.wav', got ''"),
    (3, ValueError, "path must be a file path such as 'clip.wav', got 3 (int)"),
])
def test_load_refuses_what_is_not_a_path(path, error, message):
    with pytest.raises(error, match=re.escape(message)):
        H.load(path)


def test_load_refuses_a_folder(tmp_path):
    with pytest.raises(ValueError, match="is a folder; give an audio file in it"):
        H.load(tmp_path)
