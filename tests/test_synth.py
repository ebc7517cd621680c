"""helpers.data.synth: signals with the frequencies, levels and SNRs they promise."""
import re
import numpy as np
import pytest

import helpers as H


def peak_hz(y, sr):
    return np.argmax(np.abs(np.fft.rfft(y * np.hanning(len(y))))) * sr / len(y)


def test_tone_frequency_and_amplitude():
    y = H.tone(1000, 1.0, 16000, amplitude=0.25)
    assert len(y) == 16000 and y.dtype == np.float32
    assert peak_hz(y, 16000) == pytest.approx(1000, abs=1)
    assert np.abs(y).max() == pytest.approx(0.25, rel=1e-3)


def test_tone_above_nyquist_aliases():
    assert peak_hz(H.tone(9000, 1.0, 16000), 16000) == pytest.approx(7000, abs=1)


@pytest.mark.parametrize("method", ["linear", "exponential"])
def test_chirp_sweeps_between_its_ends(method):
    y = H.chirp(200, 2000, 1.0, 16000, method=method)
    assert peak_hz(y[:1600], 16000) < 500 and peak_hz(y[-1600:], 16000) > 1500


def test_noise_rms_color_and_determinism():
    white = H.noise(1.0, 16000, amplitude=0.1, seed=3)
    assert np.sqrt(np.mean(white**2)) == pytest.approx(0.1, rel=1e-3)
    np.testing.assert_array_equal(white, H.noise(1.0, 16000, amplitude=0.1, seed=3))
    pink = H.noise(1.0, 16000, color="pink")
    spectrum = np.abs(np.fft.rfft(pink)) ** 2
    assert spectrum[100:1000].mean() > 10 * spectrum[5000:8000].mean()


@pytest.mark.parametrize("snr", [-5, 0, 10, 30])
def test_add_noise_hits_the_snr(snr):
    clean = H.tone(440, 1.0, 16000)
    assert H.snr_db(clean, H.add_noise(clean, snr, sr=16000)) == pytest.approx(snr, abs=1e-3)


def test_add_noise_with_a_given_clip():
    clean = H.tone(440, 1.0, 16000)
    noisy = H.add_noise(clean, 5, noise_clip=H.noise(0.3, 16000, seed=1))
    assert H.snr_db(clean, noisy) == pytest.approx(5, abs=1e-3)


def test_chord_arpeggio_drums():
    chord = H.chord(["C4", "E4", "G4"], 0.5, 22050)
    assert np.abs(chord).max() == pytest.approx(0.5, rel=1e-3)
    arp = H.arpeggio(["A3", 440.0], 0.25, 22050)
    assert len(arp) == 2 * int(0.25 * 22050)
    assert peak_hz(arp[int(0.25 * 22050):], 22050) == pytest.approx(440, abs=5)
    for kind in H.data.synth.DRUMS:
        hit = H.drum(kind, 22050)
        assert np.abs(hit).max() == pytest.approx(0.8, rel=1e-3)
        assert np.abs(hit[: len(hit) // 10]).mean() > np.abs(hit[-len(hit) // 10:]).mean()


@pytest.mark.parametrize("call, message", [
    (lambda: H.tone(-5, 1, 16000), "freq_hz must be positive, got -5"),
    (lambda: H.tone("440", 1, 16000), "freq_hz must be a number, got '440' (str)"),
    (lambda: H.tone(float("nan"), 1, 16000), "freq_hz must be finite, got nan"),
    (lambda: H.tone(440, 1, 16000, phase=None), "phase (radians) must be a number, got None"),
    (lambda: H.tone(440, 0, 16000), "duration_s (seconds) must be positive, got 0"),
    (lambda: H.noise(1e6, 16000), "duration_s (seconds) must be at most 600, got 1000000.0"),
    (lambda: H.tone(440, 1, 16000, amplitude=3), "amplitude (1.0 is full scale) must be at most 1, got 3"),
    (lambda: H.tone(440, 1, 0), "sample rate"),
    (lambda: H.chirp(100, 200, 1, 16000, method="cubic"), "unknown chirp method 'cubic'"),
    (lambda: H.noise(1, 16000, color="blue"), "unknown noise color 'blue'"),
    (lambda: H.add_noise(H.tone(440, 1, 16000), 500), "snr (dB, the useful range) must be between -30 and 100, got 500"),
    (lambda: H.noise(1, 16000, seed=-1), "seed must be at least 0, got -1"),
    (lambda: H.chord([], 1, 16000), "at least one note"),
    (lambda: H.chord("C4", 1, 16000), "notes must be a list such as"),
    (lambda: H.arpeggio(["C4"], 0.5, 16000, harmonics=0), "harmonics must be at least 1, got 0"),
    (lambda: H.chord(["H9"], 1, 16000), "cannot read note 'H9'"),
    (lambda: H.drum("cowbell", 16000), "unknown drum 'cowbell'"),
    (lambda: H.snr_db(np.ones(3), np.ones(4)), "same shape"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_si_sdr_is_scale_invariant_and_exact_on_an_orthogonal_error():
    reference = H.tone(440, 1, 16000)
    error = H.tone(1000, 1, 16000)  # an integer number of periods of each: orthogonal to the reference
    error = error * np.sqrt(np.sum(reference.astype(np.float64) ** 2) / np.sum(error.astype(np.float64) ** 2) / 10)
    estimate = reference + error  # target energy / error energy = 10: 10 dB
    assert H.si_sdr_db(reference, estimate) == pytest.approx(10.0, abs=0.01)
    assert H.si_sdr_db(reference, 0.3 * estimate) == pytest.approx(H.si_sdr_db(reference, estimate), abs=1e-6)
    assert H.si_sdr_db(reference, reference) == float("inf")
    with pytest.raises(ValueError, match="must have the same shape"):
        H.si_sdr_db(reference, estimate[:-1])
