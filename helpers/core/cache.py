"""The on-disk cache for what the notebooks build (synthetic corpora, miniature models), outside git.

Used by ``models`` (miniatures) and by the corpus (03 onwards). Entries are directories named by a content hash,
built once and reused by later notebooks, reruns and test workers.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable


def cache_dir(*parts: str) -> Path:
    """The project's cache (corpora, miniatures): ``$ALM_CACHE`` or ``.cache/`` at the repository root."""
    root = Path(os.environ.get("ALM_CACHE") or Path(__file__).resolve().parents[2] / ".cache")
    for part in parts:
        if not isinstance(part, str) or not part or part in (".", "..") or "/" in part or "\\" in part:
            raise ValueError(f"cache folder names must be plain names such as 'corpora', got {part!r}")
    return root.joinpath(*parts)


def build_once(target: Path, builder: Callable[[Path], None]) -> Path:
    """Runs ``builder(directory)`` unless ``target`` is already complete, and returns ``target``.

    The builder writes into a private temporary directory that is renamed into place at the end, so that an
    interrupted build leaves nothing behind and two processes building at once (pytest workers) do not collide.
    """
    if (target / ".complete").exists():
        return target
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        builder(partial)
        (partial / ".complete").touch()
        partial.rename(target)
    except OSError:
        if not (target / ".complete").exists():  # not a lost race with another process: a real failure
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target
