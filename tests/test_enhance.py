"""helpers.signal.enhance and helpers.families.enhancer (notebook 02): hand-made cases with known answers (SI-SDR,
ERLE, NLMS on a known echo path, the Geigel detector, the Wiener gain), library agreement (torchmetrics, pyroomacoustics),
bad inputs, and the exercises' solutions."""
import numpy as np
import pytest
import torch

import helpers as H
from helpers.families import enhancer
from helpers.signal import enhance as E

SR = 16_000


def speech_like(seconds=2.0, seed=0):
    """A voiced-sound stand-in (no eSpeak needed): harmonics of a 120–180 Hz fundamental, switched on and off by a
    2.5-Hz envelope, so that it has pauses and a spectrum unlike white noise's."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(120, 180)
    voiced = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 25))
    envelope = np.maximum(np.sin(2 * np.pi * 2.5 * t + rng.uniform(0, 2 * np.pi)), 0)
    return (0.1 * voiced * envelope).astype(np.float32)


def test_si_sdr_matches_torchmetrics_and_a_known_answer():
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

    clean = speech_like()
    noisy = E.mix(clean, E.make_noise("pink", len(clean), SR, seed=3), 5.0, SR)
    library = float(scale_invariant_signal_distortion_ratio(torch.from_numpy(noisy).double(),
                                                            torch.from_numpy(clean).double(), zero_mean=False))
    assert H.si_sdr_db(clean, noisy) == pytest.approx(library, abs=1e-6)
    assert H.snr_db(clean, noisy) == pytest.approx(5.0, abs=1e-4)  # the mixture has the SNR asked for
    # an estimate that is the reference plus an orthogonal error of a tenth of its energy: exactly 10 dB
    error = np.roll(clean, 1234)
    error -= (error @ clean) / (clean @ clean) * clean
    error *= np.sqrt((clean @ clean) / (error @ error) / 10)
    assert H.si_sdr_db(clean, 2.0 * (clean + error)) == pytest.approx(10.0, abs=1e-3)


def test_metrics_refuse_mismatched_or_silent_signals():
    clean = speech_like()
    with pytest.raises(ValueError, match="same clip at the same sample rate"):
        E.stoi(clean, clean[:-10])
    with pytest.raises(ValueError, match="silent"):
        E.pesq(np.zeros_like(clean), clean)
    with pytest.raises(ValueError, match="needs 16000 Hz"):
        E.pesq(clean, clean, sr=8000)
    with pytest.raises(ValueError, match="silent"):
        E.erle_db(np.zeros(100), np.ones(100))
    with pytest.raises(ValueError, match="noise at 8000 Hz: resample"):
        E.mix(clean, clean, 0.0, SR, noise_sr=8000)
    with pytest.raises(ValueError, match="unknown noise kind"):
        E.make_noise("traffic", 100, SR)
    with pytest.raises(ValueError, match="babble needs"):
        E.make_noise("babble", 100, SR)


def test_pesq_and_stoi_rank_a_clean_estimate_above_a_noisy_one():
    clean = speech_like(3.0)
    noisy = E.mix(clean, E.make_noise("white", len(clean), SR, seed=1), 0.0, SR)
    assert E.pesq(clean, clean) > 4.0 > E.pesq(clean, noisy)
    assert E.stoi(clean, clean) == pytest.approx(1.0, abs=1e-6) and E.stoi(clean, noisy) < 0.95


def test_noise_kinds_have_the_promised_level_and_character():
    voices = [speech_like(1.0, seed=s) for s in range(3)]
    for kind in E.NOISE_KINDS:
        y = E.make_noise(kind, SR, SR, seed=5, voices=voices)
        assert y.shape == (SR,) and y.dtype == np.float32
        assert np.sqrt(np.mean(y.astype(np.float64) ** 2)) == pytest.approx(0.1, rel=0.05), kind
        assert np.array_equal(y, E.make_noise(kind, SR, SR, seed=5, voices=voices))  # deterministic
    spectrum = np.abs(np.fft.rfft(E.hum(1.0, SR, mains_hz=50.0)))
    assert np.argmax(spectrum) == 50  # 1-Hz bins: the mains fundamental is the strongest line


def test_room_impulse_response_has_the_asked_reverberation_time():
    import pyroomacoustics as pra

    rir = E.room_impulse_response(SR, 0.5)
    assert np.argmax(np.abs(rir)) == 0 and rir[0] == pytest.approx(1.0)
    assert pra.experimental.measure_rt60(rir, SR, decay_db=20) == pytest.approx(0.5, rel=0.3)
    with pytest.raises(ValueError, match="inside the room"):
        E.room_impulse_response(SR, 0.5, microphone_m=(9.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="rt60_s"):
        E.room_impulse_response(SR, 5.0)


def test_the_wiener_gain_follows_the_snr():
    noise_power = np.ones((4, 1))
    loud = np.full((4, 50), 10.0, dtype=complex)  # γ = 100: the decision-directed ξ settles near 99
    quiet = np.full((4, 50), 1.0, dtype=complex)  # γ = 1: nothing above the noise, the gain falls to its floor
    assert np.abs(E.wiener(loud, noise_power))[:, -1] == pytest.approx(10 * 99 / 100, rel=0.02)
    assert np.abs(E.wiener(quiet, noise_power, min_gain=0.1))[:, -1] == pytest.approx(0.1)
    subtracted = E.spectral_subtraction(np.full((1, 1), 2.0 + 0j), np.ones((1, 1)))  # |S|² = 4 − 1
    assert abs(subtracted[0, 0]) == pytest.approx(np.sqrt(3))


def test_classical_filters_improve_white_noise():
    clean = speech_like(3.0)
    noisy = E.mix(clean, E.make_noise("white", len(clean), SR, seed=2), 0.0, SR)
    spectrum = E.stft(noisy)
    psd = E.noise_psd(spectrum)
    for out in (E.spectral_subtraction(spectrum, psd), E.wiener(spectrum, psd)):
        assert H.si_sdr_db(clean, E.istft(out, len(noisy))) > H.si_sdr_db(clean, noisy) + 2
    assert np.allclose(E.istft(spectrum, len(noisy)), noisy, atol=1e-5)  # the STFT pair is exact
    with pytest.raises(ValueError, match="no pause frames"):
        E.noise_psd(spectrum, np.zeros(spectrum.shape[1], bool))


def test_nlms_identifies_a_known_echo_path_and_matches_pyroomacoustics():
    import pyroomacoustics as pra

    rng = np.random.default_rng(0)
    far = (0.3 * rng.standard_normal(3 * SR)).astype(np.float32)
    path = np.array([0.0, 0.5, -0.3, 0.2, 0.0, 0.1], dtype=np.float32)  # a hand-made echo path
    mic = np.convolve(far, path)[: len(far)].astype(np.float32)
    residual, w = E.nlms(far, mic, taps=8, step=0.5)
    assert np.allclose(w[:6], path, atol=1e-4) and np.abs(w[6:]).max() < 1e-4
    assert E.erle_db(mic[SR:], residual[SR:]) > 60
    reference = pra.adaptive.NLMS(length=8, mu=0.5)
    for x_n, d_n in zip(far[:2000], mic[:2000]):
        reference.update(x_n, d_n)
    _, w2000 = E.nlms(far[:2000], mic[:2000], taps=8, step=0.5, eps=0.0)
    assert np.allclose(w2000, reference.w, atol=1e-6)
    frozen, w_frozen = E.nlms(far, mic, taps=8, freeze=np.ones(len(far), bool))  # never adapts
    assert not w_frozen.any() and np.array_equal(frozen, mic)
    with pytest.raises(ValueError, match="same clip"):
        E.nlms(far, mic[:-1])
    with pytest.raises(ValueError, match="step"):
        E.nlms(far, mic, step=2.5)
    with pytest.raises(ValueError, match="one flag per sample"):
        E.nlms(far, mic, freeze=np.zeros(10, bool))


def test_erle_curve_and_the_geigel_detector():
    rng = np.random.default_rng(1)
    far = (0.3 * rng.standard_normal(SR)).astype(np.float32)
    echo = 0.2 * far
    near = np.zeros(SR, np.float32)
    near[SR // 2:] = 0.8 * np.sign(rng.standard_normal(SR // 2))  # a loud near-end talker in the second half
    talk = E.geigel_double_talk(far, echo + near, threshold=0.5, window=64, hold=0)
    assert not talk[: SR // 2].any() and talk[SR // 2:].mean() > 0.5
    held = E.geigel_double_talk(far, echo + near, threshold=0.5, window=64, hold=100)
    assert held.sum() >= talk.sum()
    assert E.erle_curve(echo, 0.1 * echo, 1600) == pytest.approx(np.full(10, 20.0))


def test_the_enhancer_is_causal_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    model = enhancer.MaskEnhancer(hidden=16, layers=1).eval()
    x = torch.randn(1, SR)
    with torch.no_grad():
        spectrum = model.spectrum(x)
        changed = spectrum.clone()
        changed[:, 60:] *= 3  # changing later frames must not change earlier gains
        assert torch.equal(model.mask(spectrum)[:, :60], model.mask(changed)[:, :60])
    model.save_pretrained(tmp_path)
    loaded = enhancer.load(tmp_path)
    assert np.array_equal(enhancer.enhance(model, x[0].numpy()), enhancer.enhance(loaded, x[0].numpy()))
    clean = torch.randn(2, SR)
    assert enhancer.negative_si_sdr(clean, 3 * clean).max() < -60  # a gain is no error


def test_mixtures_are_a_pure_function_of_the_index():
    clips = [speech_like(1.5, seed=s) for s in range(3)]
    data = enhancer.Mixtures(clips, clips, 10, seed=4, seconds=1.0)
    first, again = data[3], data[3]
    assert torch.equal(first["noisy"], again["noisy"]) and first["noisy"].shape == (SR,)
    assert not torch.equal(data[4]["noisy"], first["noisy"])


def test_exercise_1_oracle_noise():
    """Exercise 1: the Wiener filter with the true noise spectrum is at least as good as with the pause estimate."""
    clean = speech_like(3.0)
    noise = E.make_noise("pink", len(clean), SR, seed=8)
    noisy = E.mix(clean, noise, 0.0, SR)
    spectrum = E.stft(noisy)
    oracle = np.mean(np.abs(E.stft(noisy - clean)) ** 2, axis=1, keepdims=True)
    with_oracle = H.si_sdr_db(clean, E.istft(E.wiener(spectrum, oracle), len(noisy)))
    with_estimate = H.si_sdr_db(clean, E.istft(E.wiener(spectrum, E.noise_psd(spectrum)), len(noisy)))
    assert with_oracle >= with_estimate - 0.1


def test_exercise_4_lms_needs_normalisation():
    """Exercise 4: plain LMS (w += μ·e·x) with a step that suits quiet input diverges on input 10× louder; NLMS
    converges on both."""
    rng = np.random.default_rng(2)
    path = np.array([0.4, -0.2, 0.1])

    def lms(far, mic, mu, taps=4):
        w, x = np.zeros(taps), np.concatenate([np.zeros(taps - 1), far])
        for n in range(len(far)):
            window = x[n: n + taps][::-1]
            e = mic[n] - w @ window
            w += mu * e * window
        return w

    for level, diverges in ((0.1, False), (1.0, True)):
        far = level * rng.standard_normal(4000)
        mic = np.convolve(far, path)[: len(far)]
        with np.errstate(over="ignore", invalid="ignore"):
            w = lms(far, mic, mu=0.6)
        assert (not np.all(np.isfinite(w)) or np.abs(w).max() > 10) == diverges
        _, w_nlms = E.nlms(far.astype(np.float32), mic.astype(np.float32), taps=4, step=0.5)
        assert np.allclose(w_nlms[:3], path, atol=1e-3)
