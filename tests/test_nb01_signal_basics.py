"""Notebook 01 through papermill: the smoke run against golden records, same-seed determinism, and sweeps over
sample rates, FFT sizes and mel counts with each run's records checked."""
import pytest

import golden
from notebook_runs import run_smoke, standard_tests

STEM = "01_signal_basics"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


def expected_alias(f, fs):
    return abs(f - round(f / fs) * fs)


@pytest.mark.notebook
@pytest.mark.parametrize("params", [
    # sample rates, with the FFT scaled as one would (the HTK filterbank needs bins narrower than its bands)
    {"sample_rate": 8000}, {"sample_rate": 22050, "n_fft": 1024}, {"sample_rate": 44100, "n_fft": 2048, "hop_length": 441},
    # FFT sizes (fewer mels for the coarse 62 Hz bins of n_fft=256)
    {"n_fft": 256, "n_mels": 40}, {"n_fft": 1024, "hop_length": 256}, {"n_fft": 2048, "hop_length": 512},
    # mel counts (128 bands need the finer bins of n_fft=1024)
    {"n_mels": 40}, {"n_mels": 64}, {"n_mels": 128, "n_fft": 1024},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_sweep(params, tmp_path):
    records = run_smoke(STEM, tmp_path, **params, explorer=False).records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
    sr = params.get("sample_rate", 16000)
    assert records["alias_predicted_hz"] == expected_alias(9000.0, sr)
    assert abs(records["alias_measured_hz"] - records["alias_predicted_hz"]) <= 1.0
    hop = params.get("hop_length", 160)
    assert records["n_frames"] == 1 + round(records["duration_s"] * sr) // hop
