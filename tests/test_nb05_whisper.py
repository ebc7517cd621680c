"""Notebook 05 through papermill: the smoke run (80 mel bands, transcribe, greedy) against golden records, same-seed
determinism, and sweeps that flip one setting each (128 mel bands, translate, beam search), each run's records
checked; the committed default run held to its golden records (the implementation-match checks and the measured
WER: the issue's 10 % target is not reached on a CPU budget, see the README)."""
import pytest

import golden
from helpers.notebook import runner
from helpers.core.records import read_records
from notebook_runs import run_smoke, standard_tests

STEM = "05_whisper"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


@pytest.mark.notebook
@pytest.mark.parametrize("params", [{"n_mels": 128}, {"task": "translate"}, {"decoding": "beam"}],
                         ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_sweep(params, tmp_path):
    records = run_smoke(STEM, tmp_path, **params).records
    golden.check(records, golden.load(STEM, "every_run"), require_all=False)
    assert records["n_mels"] == params.get("n_mels", 80)
    language, task = ("zh", "translate") if params.get("task") == "translate" else ("en", "transcribe")
    assert records["prompt"] == ["<|startoftranscript|>", f"<|{language}|>", f"<|{task}|>", "<|notimestamps|>"]
    decoding = params.get("decoding", "greedy")
    assert records["wer"] == records[f"wer_{decoding}"]


def test_committed_default_run_meets_its_golden_records():
    path = runner.list_notebooks([STEM])[0]
    golden.check(read_records(path), golden.load(STEM, "default"), require_all=False)
