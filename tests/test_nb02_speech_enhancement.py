"""Notebook 02 through papermill: the smoke run against golden records, same-seed determinism, sweeps over the
input SNR and the noise kind with each run's records checked, and the committed default run held to the issue's
targets (neural SI-SDR improvement ≥ 8 dB at 0 dB, PESQ and STOI above the noisy input and the Wiener filter, notebook
03's recogniser (zoo ctc-mini) at most half its noisy CER on enhanced speech, NLMS ERLE ≥ 20 dB)."""
import pytest

import golden
from helpers.core.records import read_records
from helpers.notebook import runner
from notebook_runs import run_smoke, standard_tests
from planted import plant_enhancer

STEM = "02_speech_enhancement"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


@pytest.mark.notebook
@pytest.mark.parametrize("params", [
    {"snr_db": -5.0}, {"snr_db": 5.0}, {"snr_db": 10.0},
    {"noise_kind": "pink"}, {"noise_kind": "babble"}, {"noise_kind": "hum"}, {"noise_kind": "music"},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_sweep(params, tmp_path):
    records = run_smoke(STEM, tmp_path, **params).records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
    assert records["noisy_si_sdr"] == pytest.approx(params.get("snr_db", 0.0), abs=1.0)  # SI-SDR ≈ SNR for noise
    # the zoo enhancer helps at every input SNR, and more where there is more noise to remove
    assert records["neural_si_sdri"] > 0
    assert records["wiener_si_sdr"] > records["noisy_si_sdr"] - 1.0


def test_a_users_own_recording(tmp_path):
    """Section 8 on a file: a stereo 44.1-kHz recording is loaded as 16-kHz mono and enhanced by every method."""
    import numpy as np

    import helpers as H
    from helpers.signal import enhance as E

    speech = H.speak("turn on the light", voice="en+f3", sr=44_100)
    noisy = E.mix(speech, E.make_noise("hum", len(speech), 44_100, seed=3), 5.0, 44_100)
    path = H.save(tmp_path / "mine.wav", np.stack([noisy, noisy]), 44_100)
    records = run_smoke(STEM, tmp_path, audio_path=str(path), n_test=5).records
    assert records["yours_duration_s"] == pytest.approx(len(speech) / 44_100, abs=0.01)
    assert records["yours_neural_bak"] > records["yours_input_bak"]  # DNSMOS: less background after the network


def test_a_missing_recording_is_a_clear_error(tmp_path):
    path = runner.list_notebooks([STEM])[0]
    result = runner.run_notebook(path, tmp_path / path.name, {"audio_path": str(tmp_path / "nowhere.wav"),
                                                              "n_test": 5, "train_steps": 3})
    assert not result.ok and "nowhere.wav" in result.error and "FileNotFoundError" in result.error


def test_the_real_path_runs_offline_from_the_hub_cache(tmp_path, monkeypatch):
    """A hub id (an enhancer a user pushed) loads from the hub cache with HF_HUB_OFFLINE=1 and runs every cell."""
    plant_enhancer(tmp_path / "hf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    records = run_smoke(STEM, tmp_path, model_id="someone/mask-enhancer").records
    assert records["model_kind"] == "hub"
    untrained = {"neural_si_sdri", "neural_pesq", "neural_stoi", "neural_bak", "neural_ovrl", "neural_si_sdr"}
    golden.check(records, {k: v for k, v in golden.load(STEM, "every_run").items() if k not in untrained},
                 require_all=False)


def test_committed_default_run_meets_the_targets():
    path = runner.list_notebooks([STEM])[0]
    records = read_records(path)
    golden.check(records, golden.load(STEM, "default"), require_all=False)
    for metric in ("pesq", "stoi"):  # PESQ and STOI improve over the noisy input and over the Wiener filter
        assert records[f"neural_{metric}"] > max(records[f"noisy_{metric}"], records[f"wiener_{metric}"]), metric
    assert records["ctc_cer_neural"] <= 0.5 * records["ctc_cer_noisy"]  # enhancement halves notebook 03's CER
