"""helpers.core.records: records written by a kernel-less display and read back from a notebook file, and the CLI."""
import json
import subprocess
import sys

import nbformat
import numpy as np
import pytest

import helpers as H
from helpers.core.records import MIME


def notebook_with(*records):
    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [nbformat.v4.new_output("display_data", data={MIME: {"name": n, "value": v}, "text/plain": "x"})
                    for n, v in records]
    nb = nbformat.v4.new_notebook()
    nb.cells = [cell]
    return nb


def test_record_displays_the_mime_bundle(capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append(obj))
    value = H.record("snr_db", np.float32(12.5))
    assert value == 12.5 and isinstance(value, float)
    assert shown == [{MIME: {"name": "snr_db", "value": 12.5}, "text/plain": "snr_db = 12.5"}]


def test_record_converts_numpy_containers(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: None)
    assert H.record("per_bit", {4: np.float64(25.3), "8": [np.int64(1), 2]}) == {"4": 25.3, "8": [1, 2]}


@pytest.mark.parametrize("name, value, message", [
    ("bad name", 1, "must be an identifier"),
    ("x", float("nan"), "must be finite"),
    ("x", {"a": float("inf")}, "must be finite"),
    ("x", object(), "has type object"),
])
def test_bad_records(monkeypatch, name, value, message):
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: None)
    with pytest.raises(ValueError, match=message):
        H.record(name, value)


def test_read_records_from_file_last_value_wins(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook_with(("a", 1), ("b", {"x": 2}), ("a", 3)), str(path))
    assert H.read_records(path) == {"a": 3, "b": {"x": 2}}


def test_read_records_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebook not found"):
        H.read_records(tmp_path / "none.ipynb")


def test_records_cli_prints_json(tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook_with(("wer", 0.05)), str(path))
    out = subprocess.run([sys.executable, "-m", "helpers", "records", str(path)], capture_output=True, text=True,
                         check=True).stdout
    assert json.loads(out) == {"wer": 0.05}


@pytest.mark.parametrize("content", [b"[1, 2]", b'{"a": 1}', bytes(range(200, 256)) * 4])
def test_records_of_what_is_not_a_notebook(tmp_path, content):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not a Jupyter notebook .*; give an executed .ipynb"):
        H.read_records(path)
    done = subprocess.run([sys.executable, "-m", "helpers", "records", str(path)], capture_output=True, text=True)
    assert done.returncode == 2 and "is not a Jupyter notebook" in done.stderr and "Traceback" not in done.stderr
