"""Checks of the values a user gives — counts, quantities, paths, parameters — that raise a ValueError naming the
value and what to give instead, before a library deep below fails with its own message (or, worse, does not fail).

Used by the helpers that take such values (features, synth, audio I/O, speech), by the runner (a notebook's
parameters against the types of their defaults) and by ``zoo train`` (recipe fields).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np


def check_whole(value, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int, if it is a whole number (not a bool, not a string) in ``minimum..maximum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        span = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValueError(f"{name} must be {span}, got {value}")
    return int(value)


def check_number(value, name: str, minimum: float | None = None, maximum: float | None = None,
                 positive: bool = False) -> float:
    """``value`` as a float, if it is a finite real number (not a bool, not a string), positive when asked, and
    within ``minimum..maximum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        span = (f"between {minimum:g} and {maximum:g}" if minimum is not None and maximum is not None else
                f"at least {minimum:g}" if minimum is not None else f"at most {maximum:g}")
        raise ValueError(f"{name} must be {span}, got {value!r}")
    return float(value)


def check_path(value, name: str = "path") -> Path:
    """``value`` as a Path (``~`` expanded), if it is a non-empty string or path-like object."""
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ValueError(f"{name} must be a file path such as 'clip.wav', got {value!r} ({type(value).__name__})")
    return Path(value).expanduser()


def _kind(value) -> str:
    return {bool: "a bool", int: "an int", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def check_like(value, default, name: str) -> None:
    """Raises ValueError unless ``value`` has the type of ``default``: an int where an int is expected, a number
    (int or float) for a float, a list whose items are like the default's items, and so on; a default of None
    accepts anything. Used where values arrive as text (``-p bit_depths=16``, ``--set d_model=128``)."""
    if default is None:
        return
    ok = (isinstance(value, bool) if isinstance(default, bool) else
          type(value) is int if isinstance(default, int) else
          type(value) in (int, float) if isinstance(default, float) else
          isinstance(value, type(default)))
    if not ok:
        raise ValueError(f"{name}={value!r} must be {_kind(default)} like its default {default!r}")
    if isinstance(default, list) and default:
        kinds = {type(item) for item in default}
        for item in value:
            if not any(type(item) is kind or (kind is float and type(item) is int) for kind in kinds):
                raise ValueError(f"{name}={value!r}: item {item!r} must be {_kind(default[0])} like those of its "
                                 f"default {default!r}")


def resolved_spec(cls, spec, fields: dict):
    """``spec`` (an instance of the frozen dataclass ``cls``) or ``cls(**fields)``, ``.resolved()``; a ValueError
    for both at once or for an unknown field, naming the fields. Used by the corpora (``make_corpus``,
    ``make_sounds``)."""
    import dataclasses

    if spec is not None and fields:
        raise ValueError(f"pass either a {cls.__name__} or keyword fields, not both")
    try:
        return (spec or cls(**fields)).resolved()
    except TypeError as err:
        raise ValueError(f"{err}; the fields are {[f.name for f in dataclasses.fields(cls)]}") from None
