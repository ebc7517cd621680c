"""Notebook 08 through papermill: the smoke run against golden records, same-seed determinism, sweeps (guidance
scales, sampling steps, editing strengths, a random-weight model, the pipeline's own vocoder) with each run's records
checked, the committed default run held to what it measured, and the real pipeline id rehearsed offline."""
import pytest

import golden
from helpers.core.records import read_records
from helpers.notebook import runner
from notebook_runs import run_smoke, standard_tests
from planted import plant_audioldm

STEM = "08_audioldm"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


@pytest.mark.notebook
@pytest.mark.parametrize("params", [
    {"guidance_sweep": [0.0, 1.0, 6.0]}, {"steps_sweep": [1, 3]}, {"edit_strengths": [0.0, 1.0]},
    {"model_id": "scratch"}, {"vocoder": "packaged", "n_voiced": 2},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_sweep(params, tmp_path):
    records = run_smoke(STEM, tmp_path, **params).records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
    if "guidance_sweep" in params:
        assert sorted(records["guidance_sweep"], key=float) == [str(s) for s in params["guidance_sweep"]]
    if "steps_sweep" in params:
        assert sorted(records["steps_sweep_accuracy"], key=int) == [str(n) for n in params["steps_sweep"]]
    if "edit_strengths" in params:  # strength 0 returns the source itself: a chord, never the chirp asked for
        assert records["edit_target_kind"]["0.0"] == 0.0
    if params.get("model_id") == "scratch":
        assert records["model_kind"] == "scratch"


def test_committed_default_run_holds_its_records():
    """The committed run as measured (audioldm-mini misses the issue's targets: README, zoo card)."""
    records = read_records(runner.list_notebooks([STEM])[0])
    golden.check(records, golden.load(STEM, "default"), require_all=False)
    metrics, live = records["metrics"], records["live_metrics"]
    assert metrics["kind_accuracy"] > live["kind_accuracy"]  # the zoo model vs a minute of training
    for vocoder, scores in records["vocoder_kind_accuracy"].items():  # no vocoder makes generated mels better than real
        assert scores["generated"] <= scores["ceiling"], vocoder
    recall = records["chord_pitch_class_recall"]  # Basic Pitch hears the chords we render, and fewer after a vocoder
    assert recall["rendered chords (clean)"] >= 0.9
    assert recall["generated chords, Griffin-Lim"] <= recall["real chords' mels, Griffin-Lim"]
    sweep = records["guidance_sweep"]
    scales = sorted(sweep, key=float)
    diversity = [sweep[s]["diversity"] for s in scales]
    assert diversity == sorted(diversity, reverse=True)  # more guidance, less varied clips of one caption
    best = max(scales, key=lambda s: sweep[s]["kind_accuracy"])
    assert 1.0 < float(best) < max(map(float, scales))  # faithfulness peaks at a moderate scale


def test_the_real_path_runs_offline_from_the_hub_cache(tmp_path, monkeypatch):
    """cvssp/audioldm-s-full-v2's layout and structure (random weights, small widths) planted in a hub cache: the
    notebook resolves it offline, and every cell a real checkpoint runs (schedule and sampler checks, generation
    judged as audio, the sweeps) runs on it through AudioLDMPipeline; the miniature-only sections are skipped."""
    plant_audioldm(tmp_path / "hf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    records = run_smoke(STEM, tmp_path, model_id="cvssp/audioldm-s-full-v2").records
    assert records["model_kind"] == "hub" and "live_metrics" not in records and "vae_mel_l1" not in records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
