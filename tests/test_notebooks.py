"""Every notebook has what the regression harness needs: a golden file, a smoke profile entry and a test module
(tests/test_nbNN_name.py: smoke run against golden records, same-seed determinism, parameter sweeps)."""
from pathlib import Path

import golden
from helpers.notebook import runner
from notebook_runs import SMOKE


def test_every_notebook_is_covered():
    for path in runner.list_notebooks():
        assert (golden.GOLDEN / f"{path.stem}.yaml").exists(), f"add tests/golden/{path.stem}.yaml"
        assert path.stem in SMOKE.overrides, f"add {path.stem} to the smoke profile in notebooks/profiles.yaml"
        module = Path(__file__).parent / f"test_nb{path.stem}.py"
        assert module.exists(), f"add {module.name} (smoke, determinism and sweeps)"
