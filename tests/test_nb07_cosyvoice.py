"""Notebook 07 through papermill: the smoke run against golden records, same-seed determinism, sweeps (flow steps
and guidance; Mandarin alone voiced by Griffin-Lim; a random-weight model) with each run's records checked, the
committed default run held to what it measured, and a hub id rehearsed offline."""
import pytest

import golden
from helpers.core.records import read_records
from helpers.families.cosyvoice import recipe
from helpers.notebook import runner
from notebook_runs import run_smoke, standard_tests
from planted import plant_cosyvoice

STEM = "07_cosyvoice"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


@pytest.mark.notebook
@pytest.mark.parametrize("params", [
    {"steps_sweep": [1, 3], "guidance_sweep": [0.0, 2.0]}, {"languages": ["zh"], "vocoder": "griffin-lim"},
    {"model_id": "scratch"},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_sweep(params, tmp_path):
    records = run_smoke(STEM, tmp_path, **params).records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
    metrics = records["metrics"]
    if "steps_sweep" in params:
        assert sorted(records["steps_sweep"], key=int) == ["1", "3"]
        assert sorted(records["guidance_sweep"], key=float) == ["0.0", "2.0"]
    if "languages" in params:  # Mandarin only: no English judge ran, the seed sentence did
        assert "roundtrip_cer_en" not in metrics and "roundtrip_error_zh" in metrics and "seed_sentence_error" in records
    if params.get("model_id") == "scratch":  # random weights say nothing a recogniser can read
        assert records["model_kind"] == "scratch" and metrics["roundtrip_cer_en"] > 0.5
        assert "cfm_held_out" in records  # a scratch model is a miniature: the live lesson runs


def test_committed_default_run_holds_its_records():
    """The committed run as measured, and what its text says: the tokens carry the words but not the speaker, the zoo
    flow beats a minute of training yet barely uses its conditions and loses more words than the LM (section 5),
    the vocoders are not to blame (their ceilings), cloning lands nearer the prompt's voice than the others."""
    records = read_records(runner.list_notebooks([STEM])[0])
    golden.check(records, golden.load(STEM, "default"), require_all=False)
    probe, metrics, cfm = records["speaker_probe"], records["metrics"], records["cfm_held_out"]
    assert probe["mel"] > probe["tokens"]
    assert cfm["zoo"] < cfm["live"] and cfm["zoo"] < cfm["zoo, conditions dropped"] < 1.2 * cfm["zoo"]
    assert records["steps_sweep"]["10"]["error"] > records["lm_token_error"]["lm"] > records["lm_token_error"]["real"]
    assert all(records["vocoders"][name]["ceiling"] <= 0.05 for name in ("hifigan", "griffin-lim"))
    explained = records["frame_variance_explained"]  # a token says little of its frame, the flow's μ about half
    assert explained["token"] < 0.25 and explained["μ"] > 0.4
    for language in ("en", "zh"):
        assert metrics[f"similarity_prompt_{language}"] > metrics[f"similarity_other_{language}"], language
    assert metrics["roundtrip_cer_en_original"] <= metrics["roundtrip_cer_en"]  # the judge's floor on real speech
    assert set(recipe.TARGETS) == {"roundtrip_cer_en", "roundtrip_error_zh"}


def test_a_hub_id_runs_offline_from_the_hub_cache(tmp_path, monkeypatch):
    """A CosyVoiceMini on the hub (random weights, the zoo model's size), planted in a hub cache: the notebook resolves
    it offline and runs every section through the same calls; the live lesson, for miniatures only, is skipped."""
    plant_cosyvoice(tmp_path / "hf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    records = run_smoke(STEM, tmp_path, model_id="someone/cosyvoice-mini").records
    assert records["model_kind"] == "hub" and "cfm_held_out" not in records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
