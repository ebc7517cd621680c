"""Notebook 06 through papermill: the smoke run against golden records, same-seed determinism, sweeps (the event
level, the live training's size, a random-weight model) with each run's records checked, and the committed default
run held to the issue's targets."""
import pytest

import golden
from helpers.core.records import read_records
from helpers.families.sensevoice import recipe
from helpers.notebook import runner
from notebook_runs import run_smoke, standard_tests
from planted import plant_sensevoice

STEM = "06_sensevoice"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


@pytest.mark.notebook
@pytest.mark.parametrize("params", [
    {"event_levels": [-40.0, 10.0]}, {"languages": ["zh"]}, {"itn_query": "withitn"}, {"itn_query": "woitn"},
    {"train_steps": 6, "train_per_corpus": 4}, {"model_id": "scratch"},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_sweep(params, tmp_path):
    records = run_smoke(STEM, tmp_path, **params).records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
    metrics = records["metrics"]
    if "event_levels" in params:
        assert sorted(records["event_sweep_f1"]) == sorted(str(level) for level in params["event_levels"])
    if "languages" in params:  # Mandarin clips only: no English score, the language query told "zh"
        assert "english_wer" not in metrics and "mandarin_cer" in metrics
        assert sorted(records["language_told_vs_auto"]) == ["auto", "zh"]
    if "itn_query" in params:  # numerals are scored only when some clip asks for them
        assert ("itn_accuracy" in metrics) == (params["itn_query"] == "withitn")
    if params.get("model_id") == "scratch":  # random weights read nothing: the labels are wrong, the words too
        assert records["model_kind"] == "scratch" and records["metrics"]["english_wer"] > 0.9
        assert records["metrics"]["language_accuracy"] < 0.9


def test_committed_default_run_holds_its_records():
    """The committed run as measured (sensevoice-mini misses the issue's recognition targets: README, zoo card)."""
    records = read_records(runner.list_notebooks([STEM])[0])
    golden.check(records, golden.load(STEM, "default"), require_all=False)
    metrics, live = records["metrics"], records["live_metrics"]
    assert metrics["style_accuracy"] >= recipe.TARGETS["style_accuracy"][1]  # met here (language too, on the card)
    for key in ("language_accuracy", "style_accuracy", "event_f1", "itn_accuracy"):  # the zoo model vs a minute
        assert metrics[key] > live[key], key
    assert metrics["english_wer"] < 0.5 * live["english_wer"] and metrics["mandarin_cer"] < 0.5 * live["mandarin_cer"]
    assert records["speedup_rtf"] > 3  # the non-autoregressive decode vs whisper-mini's, same clips (target 10×)


def test_the_real_path_runs_offline_from_the_hub_cache(tmp_path, monkeypatch):
    """FunAudioLLM/SenseVoiceSmall's folder layout and config (random weights, fewer blocks) planted in a hub cache:
    the notebook resolves it offline and every cell runs on it through funasr's AutoModel."""
    plant_sensevoice(tmp_path / "hf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    records = run_smoke(STEM, tmp_path, model_id="FunAudioLLM/SenseVoiceSmall").records
    assert records["model_kind"] == "hub"
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
