"""Every notebook has what the regression harness needs: a golden file, a smoke profile entry and a test module
(tests/test_nbNN_name.py: smoke run against golden records, same-seed determinism, parameter sweeps)."""
import re
from pathlib import Path

import nbformat
import pytest

import golden
from helpers.notebook import runner
from notebook_runs import SMOKE


def test_every_notebook_is_covered():
    for path in runner.list_notebooks():
        assert (golden.GOLDEN / f"{path.stem}.yaml").exists(), f"add tests/golden/{path.stem}.yaml"
        assert path.stem in SMOKE.overrides, f"add {path.stem} to the smoke profile in notebooks/profiles.yaml"
        module = Path(__file__).parent / f"test_nb{path.stem}.py"
        assert module.exists(), f"add {module.name} (smoke, determinism and sweeps)"


HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("path", runner.list_notebooks(), ids=lambda p: p.stem)
def test_every_notebook_glosses_its_key_terms_in_chinese(path):
    """A glossary table (English | 中文) at the end, and every Chinese term of it given in the text before, at the
    term's first use (DESIGN.md, anatomy of a notebook)."""
    nb = nbformat.read(str(path), as_version=4)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert "**Glossary · 术语表**" in text, "add a glossary table to the summary"
    body, glossary = text.split("**Glossary · 术语表**")
    rows = re.findall(r"^\| (?!English|---)([^|]+?) \| ([^|]+?) \|$", glossary, re.M)
    assert len(rows) >= 8 and all(HAN.search(chinese) for _, chinese in rows)
    unglossed = [part for _, chinese in rows for part in chinese.split(" / ") if part not in body]
    assert not unglossed, f"give these terms in Chinese at their first use: {unglossed}"
