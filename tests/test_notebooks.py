"""Every notebook, run through papermill with the smoke profile: its records meet tests/golden/, and a second
run with the same seed records exactly the same numbers. (Sweeps live in test_nbNN_*.py; nbval re-executes the
committed notebooks with their defaults.)"""
import pytest

import golden
from helpers import runner

NOTEBOOKS = [p.stem for p in runner.list_notebooks()]
SMOKE = runner.load_profile("smoke")


def run_smoke(stem, out_dir, **extra):
    path = runner.list_notebooks([stem])[0]
    result = runner.run_notebook(path, out_dir / path.name, {**SMOKE.parameters_for(path), **extra})
    assert result.ok, f"{stem} failed: {result.error}"
    return result


@pytest.mark.notebook
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_smoke_run_meets_golden_records(stem, tmp_path):
    golden.check(run_smoke(stem, tmp_path).records, golden.load(stem, "smoke"))


@pytest.mark.notebook
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_same_seed_gives_identical_records(stem, tmp_path):
    first = run_smoke(stem, tmp_path / "first").records
    second = run_smoke(stem, tmp_path / "second").records
    deterministic = {name for name in first if not golden.is_timing(name)}
    assert deterministic, "the notebook records nothing to compare"
    assert {n: first[n] for n in deterministic} == {n: second[n] for n in deterministic}


def test_every_notebook_has_a_golden_file_and_a_smoke_entry():
    for stem in NOTEBOOKS:
        assert (golden.GOLDEN / f"{stem}.yaml").exists(), f"add tests/golden/{stem}.yaml"
        assert stem in SMOKE.overrides, f"add {stem} to the smoke profile in notebooks/profiles.yaml"
