"""Records: named results that a notebook writes into its own outputs and that tests read back.

A record is a display output with the MIME type :data:`MIME` (the pattern that replaced the
unmaintained scrapbook), so it survives papermill, nbconvert and git. Every notebook records the numbers it
exists to produce; ``tests/`` holds them to ``tests/golden/`` and the runner prints them in its summary.

From the shell: ``python -m helpers records runs/default/01_signal_basics.ipynb`` prints them as JSON.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

MIME = "application/vnd.alm.record+json"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _jsonable(value, name: str):
    """numpy scalars/arrays → Python; rejects NaN/Inf and objects JSON cannot hold."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, name) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"record {name!r} is {value}: a metric must be finite (check the computation)")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"record {name!r} has type {type(value).__name__}; use numbers, strings, lists or dicts")


def record(name: str, value):
    """Displays ``value`` as the record ``name`` in the cell's output and returns the JSON-ready value.

    ``value`` may be a number, string, bool, list or dict of those (numpy types are converted).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"record name {name!r} must be an identifier such as 'stft_max_error'")
    value = _jsonable(value, name)
    from IPython.display import display

    display({MIME: {"name": name, "value": value}, "text/plain": f"{name} = {value!r}"}, raw=True)
    return value


def read_records(notebook) -> dict:
    """Returns ``{name: value}`` for every record in an executed notebook (a path or an nbformat node).

    A name recorded twice keeps its last value.
    """
    import nbformat

    if isinstance(notebook, (str, Path)):
        path = Path(notebook)
        if not path.is_file():
            raise FileNotFoundError(f"notebook not found: {path}")
        try:
            notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        except Exception as err:  # undecodable bytes, JSON that is not a notebook, a failed schema conversion
            raise ValueError(f"{path} is not a Jupyter notebook ({type(err).__name__}: "
                             f"{str(err).splitlines()[0][:120]}); give an executed .ipynb such as "
                             "runs/default/01_signal_basics.ipynb") from err
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if MIME in data:
                payload = data[MIME]
                if isinstance(payload, str):  # some writers store JSON MIME bundles as text
                    payload = json.loads(payload)
                found[payload["name"]] = payload["value"]
    return found
