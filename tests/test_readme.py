"""README.md and README.zh-CN.md say the same: every notebook, zoo model and make target appears in both (and every
notebook of notebooks/ and every make target of the Makefile in the English one)."""
import re
from pathlib import Path

import helpers as H

ROOT = Path(__file__).resolve().parents[1]
ENGLISH, CHINESE = (ROOT / name for name in ("README.md", "README.zh-CN.md"))


def listed(text: str) -> dict:
    return {"notebooks": set(re.findall(r"\(notebooks/(\d\d_\w+)\.ipynb\)", text)),
            "zoo models": set(re.findall(r"\(zoo/([\w-]+)/README\.md\)", text)),
            "make targets": set(re.findall(r"^\| `make (\w+)", text, re.M))}


def test_both_readmes_list_the_same_notebooks_models_and_targets():
    english, chinese = listed(ENGLISH.read_text()), listed(CHINESE.read_text())
    assert english == chinese
    assert english["notebooks"] == {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert english["zoo models"] == set(H.zoo.zoo_models())
    documented = set(re.findall(r"^(\w+):.*## ", (ROOT / "Makefile").read_text(), re.M)) - {"help", "setup"}
    assert documented <= english["make targets"]


def test_each_readme_links_the_other():
    assert "(README.zh-CN.md)" in ENGLISH.read_text() and "(README.md)" in CHINESE.read_text()
