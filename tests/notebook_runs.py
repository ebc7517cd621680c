"""Shared steps of the notebook tests (tests/test_nbNN_*.py): a papermill run under the smoke profile, its
records held to tests/golden/, and the same-seed determinism check."""
import golden
from helpers import runner

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
