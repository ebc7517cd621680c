"""Notebook 05_whisper_real through papermill: the smoke run against golden records (the three runtimes agree, the
conversion matches CTranslate2), same-seed determinism of its deterministic records, and the committed default run
held to its golden records (tiny.en's WER before and after fine-tuning, the int8 deployment)."""
import golden
from helpers.core.records import read_records
from helpers.notebook import runner
from notebook_runs import standard_tests

STEM = "05_whisper_real"

test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)


def test_committed_default_run_meets_its_golden_records():
    path = runner.list_notebooks([STEM])[0]
    golden.check(read_records(path), golden.load(STEM, "default"), require_all=False)
