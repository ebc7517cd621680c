"""Captioned clip corpora on disk, shared by the sound corpus (notebook 08) and the music corpus (notebook 09):
clips rendered one by one into ``audio.npz`` (16-bit) beside a ``manifest.jsonl`` of their other fields."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.runtime import progress


def write_clips(directory: Path, counts: dict[str, int], render: Callable[[str, int], object],
                noun: str = "clips") -> None:
    """Writes ``counts[split]`` clips of each split, clip ``i`` being ``render(split, i)`` (a dataclass with an
    ``id`` and an ``audio`` field), with a progress bar per split."""
    rows, audio = [], {}
    for split, n in counts.items():
        for i in progress(range(n), desc=f"rendering {split} {noun}"):
            clip = render(split, i)
            audio[clip.id] = np.round(np.clip(clip.audio, -1, 1) * 32767).astype(np.int16)
            rows.append({k: v for k, v in dataclasses.asdict(clip).items() if k != "audio"})
    np.savez(directory / "audio.npz", **audio)
    (directory / "manifest.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def read_clips(path: Path, make: Callable[..., object]) -> dict[str, list]:
    """The clips written by :func:`write_clips` under ``path``, as ``make(**fields, audio=float32 audio)``, by
    split."""
    rows = [json.loads(line) for line in (path / "manifest.jsonl").read_text().splitlines()]
    splits: dict[str, list] = {}
    with np.load(path / "audio.npz") as audio:
        for row in rows:
            splits.setdefault(row["split"], []).append(make(**row, audio=audio[row["id"]].astype(np.float32) / 32767))
    return splits
