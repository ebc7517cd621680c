"""Notebook 05_whisper_real through papermill: the smoke run against golden records (the three runtimes agree, the
conversion matches CTranslate2), same-seed determinism of its deterministic records, and the committed default run
held to its golden records (tiny.en's WER before and after fine-tuning, the int8 deployment); and the real path
from a planted hub-cache checkpoint."""
import pytest

import golden
from helpers.core.records import read_records
from helpers.notebook import runner
from notebook_runs import run_smoke, standard_tests
from planted import plant_whisper

STEM = "05_whisper_real"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


def test_committed_default_run_meets_its_golden_records():
    path = runner.list_notebooks([STEM])[0]
    golden.check(read_records(path), golden.load(STEM, "default"), require_all=False)


@pytest.mark.notebook
def test_the_real_path_runs_offline_from_the_hub_cache(tmp_path, monkeypatch):
    """openai/whisper-tiny.en's real config with random weights, planted in a hub cache: the hub-id path converts it
    to CTranslate2 itself (no wheel), fine-tunes, exports and runs the three runtimes without any download. Random
    weights write until the length limit, so only the path is checked, not the numbers."""
    plant_whisper(tmp_path / "hf", "openai/whisper-tiny.en")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    records = run_smoke(STEM, tmp_path, model_id="openai/whisper-tiny.en").records
    assert records["model_kind"] == "hub"
    assert set(records["wer_after"]) == set(records["wer_int8_deployed"]) == {"digits", "commands", "free sentences"}
