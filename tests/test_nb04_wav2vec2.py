"""Notebook 04 through papermill: the smoke run against golden records, same-seed determinism, sweeps over the
number of labelled utterances and the mask probability with each run's records checked, the real path rehearsed on
planted facebook/wav2vec2-base and -base-960h checkpoints (real configs, random weights, offline), and the
committed default run held to the issue's targets."""
import pytest

import golden
from helpers.core.records import read_records
from helpers.notebook import runner
from notebook_runs import run_smoke, standard_tests
from planted import plant_wav2vec2

STEM = "04_wav2vec2"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


@pytest.mark.notebook
@pytest.mark.parametrize("params", [
    {"label_counts": [10, 50]}, {"label_counts": [200]}, {"mask_prob": 0.3}, {"mask_prob": 0.9, "mask_length": 5},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_sweep(params, tmp_path):
    records = run_smoke(STEM, tmp_path, **params).records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
    counts = params.get("label_counts", [10])
    assert sorted(records["few_label_cer"]) == sorted(f"{start}, {n}" for start in ("mini", "random weights")
                                                      for n in counts)
    if "mask_prob" in params:  # more span starts, more of the utterance hidden, and the same as transformers'
        p, length = params["mask_prob"], params.get("mask_length", 10)
        assert records["mask_share_ours"] == pytest.approx(1 - (1 - p / length) ** length, abs=0.05)


@pytest.mark.parametrize("repo", ["facebook/wav2vec2-base", "facebook/wav2vec2-base-960h"])
def test_the_real_path_runs_offline_from_the_hub_cache(repo, tmp_path, monkeypatch):
    """The real BASE configs, planted with random weights in a hub cache: probes, fine-tuning and (for -960h) the
    real processor's transcription run with HF_HUB_OFFLINE=1."""
    plant_wav2vec2(tmp_path / "hf", repo)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    records = run_smoke(STEM, tmp_path, model_id=repo, n_test=2, probe_utterances=6).records
    assert records["model_kind"] == "hub"
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
    assert ("real_cer" in records) == repo.endswith("-960h")
    assert (repo in records["pretext_accuracy"]) == (not repo.endswith("-960h"))


def test_committed_default_run_meets_the_targets():
    path = runner.list_notebooks([STEM])[0]
    records = read_records(path)
    golden.check(records, golden.load(STEM, "default"), require_all=False)
    cer = records["few_label_cer"]
    for n in (10, 50, 200):  # pretraining beats random weights at every label count
        assert cer[f"mini, {n}"] < cer[f"random weights, {n}"] - 0.15, n
    # the target with 50 labels, and its control from scratch
    assert cer["mini, 50"] <= 0.15 < 0.5 < cer["random weights, 50"]
    for probe, margin in (("probe_word_best", 0.2), ("probe_speaker_best", 0.1)):  # clearly above random init
        assert records[probe]["mini"] > records[probe]["random weights"] + margin, probe
