"""Captioned clip corpora, shared by the sound corpus (notebook 08) and the music corpus (notebook 09): clips rendered
one by one into ``audio.npz`` (16-bit) beside a ``manifest.jsonl`` of their other fields, cached under a hash of the
corpus' spec."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.cache import build_once, cache_dir
from ..core.checks import check_whole
from ..core.runtime import progress


def check_split_sizes(n_train, n_test, maximum: int) -> None:
    """Refuses split sizes that are not whole numbers, or that add up to more than ``maximum`` clips."""
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        check_whole(value, f"{name} (clips per split)")
    if n_train + n_test > maximum:
        raise ValueError(f"n_train + n_test = {n_train + n_test} is more than {maximum} clips; generate a smaller "
                         "corpus")


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


@dataclass
class Captioned:
    """A generated captioned corpus: its spec, where it is cached, and the two splits as lists of clips."""

    spec: object
    path: Path
    train: list
    test: list

    def summary(self) -> str:
        held_out = sum(c.held_out for c in self.test)
        return (f"train: {len(self.train)} clips · test: {len(self.test)} clips ({held_out} of held-out "
                f"combinations) · {len({c.caption for c in self.train + self.test})} distinct captions")


def load_corpus(kind: type, spec, folder: str, render: Callable[[object, str, int], object],
                clip: Callable[..., object]):
    """``kind`` (a :class:`Captioned`) of ``spec``: clip ``i`` of a split is ``render(spec, split, i)``, rendered once
    into ``.cache/<folder>/<spec.digest()>`` and read back as ``clip`` objects."""
    path = build_once(cache_dir(folder, spec.digest()),
                      lambda directory: write_clips(directory, {"train": spec.n_train, "test": spec.n_test},
                                                    lambda split, i: render(spec, split, i), noun=folder))
    splits = read_clips(path, clip)
    return kind(spec, path, splits.get("train", []), splits.get("test", []))
