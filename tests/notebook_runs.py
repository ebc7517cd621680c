"""Shared steps of the notebook tests (tests/test_nbNN_*.py): a papermill run under the smoke profile, its
records held to tests/golden/, and the same-seed determinism check."""
import pytest

import golden
from helpers.notebook import runner

SMOKE = runner.load_profile("smoke")


def run_smoke(stem, out_dir, **extra):
    """Runs notebook ``stem`` with the smoke profile plus ``extra`` parameters; fails the test if it fails."""
    path = runner.list_notebooks([stem])[0]
    result = runner.run_notebook(path, out_dir / path.name, {**SMOKE.parameters_for(path), **extra})
    assert result.ok, f"{stem} failed: {result.error}"
    return result


def smoke_meets_golden(stem, tmp_path):
    golden.check(run_smoke(stem, tmp_path).records, golden.load(stem, "smoke"))


def same_seed_same_records(stem, tmp_path):
    first = run_smoke(stem, tmp_path / "first").records
    second = run_smoke(stem, tmp_path / "second").records
    deterministic = {name for name in first if not golden.is_timing(name)}
    assert deterministic, "the notebook records nothing to compare"
    assert {n: first[n] for n in deterministic} == {n: second[n] for n in deterministic}


def standard_tests(stem):
    """The two tests every notebook's module has, bound to ``stem``: its smoke run meets the golden records, and
    the same seed gives the same records. A module binds them by name so that pytest collects them there::

        test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)
    """
    @pytest.mark.notebook
    def test_smoke_run_meets_golden_records(tmp_path):
        smoke_meets_golden(stem, tmp_path)

    @pytest.mark.notebook
    def test_same_seed_gives_identical_records(tmp_path):
        same_seed_same_records(stem, tmp_path)

    return test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records
