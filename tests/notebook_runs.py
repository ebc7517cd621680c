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


_first_smoke_runs = {}


def first_smoke_run(stem, tmp_path_factory):
    """The plain smoke run of ``stem``, made once per test worker: the golden check and the determinism check both
    read it (``--dist loadfile`` keeps a notebook's tests on one worker), which saves a smoke run per notebook."""
    if stem not in _first_smoke_runs:
        _first_smoke_runs[stem] = run_smoke(stem, tmp_path_factory.mktemp(stem))
    return _first_smoke_runs[stem]


def smoke_meets_golden(stem, tmp_path_factory):
    golden.check(first_smoke_run(stem, tmp_path_factory).records, golden.load(stem, "smoke"))


def same_seed_same_records(stem, tmp_path_factory, tmp_path):
    first = first_smoke_run(stem, tmp_path_factory).records
    second = run_smoke(stem, tmp_path).records
    deterministic = {name for name in first if not golden.is_timing(name)}
    assert deterministic, "the notebook records nothing to compare"
    assert {n: first[n] for n in deterministic} == {n: second[n] for n in deterministic}


def standard_tests(stem):
    """The two tests every notebook's module has, bound to ``stem``: its smoke run meets the golden records, and
    the same seed gives the same records. A module binds them by name so that pytest collects them there::

        test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records = standard_tests(STEM)
    """
    @pytest.mark.notebook
    def test_smoke_run_meets_golden_records(tmp_path_factory):
        smoke_meets_golden(stem, tmp_path_factory)

    @pytest.mark.notebook
    def test_same_seed_gives_identical_records(tmp_path_factory, tmp_path):
        same_seed_same_records(stem, tmp_path_factory, tmp_path)

    return test_smoke_run_meets_golden_records, test_same_seed_gives_identical_records
