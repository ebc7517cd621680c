"""Runtime plumbing: seeding, device choice, timing with real-time factor, progress bars, versions.

Used by the setup cell of every notebook.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import random
import time

import numpy as np

DEVICES = ("auto", "cpu", "cuda", "mps")


def seed_everything(seed: int) -> int:
    """Seeds Python's ``random``, numpy's legacy global RNG and torch (CPU and CUDA). Returns the seed."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        return int(seed)
    torch.manual_seed(seed)
    return int(seed)


def pick_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` if available, else ``"mps"``, else ``"cpu"``.

    An explicit ``"cuda"``/``"mps"`` that is not available raises ValueError (never a silent CPU fallback).
    """
    import torch

    if device not in DEVICES:
        raise ValueError(f"device {device!r} is not one of {DEVICES}")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (device == "cuda" and not cuda) or (device == "mps" and not mps):
        raise ValueError(f"device {device!r} was asked for but is not available here; use device='auto' or 'cpu'")
    return device


def cpu_threads() -> int:
    """This process's share of the cores: ``OMP_NUM_THREADS`` when set (the test workers and kernels set it), else
    every core it may run on. Runtimes with their own thread pools (CTranslate2, onnxruntime) are given this."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else len(os.sched_getaffinity(0))


class Timer:
    """Wall-clock timer; ``rtf(audio_seconds)`` is the real-time factor (compute time / audio duration).

    >>> with Timer() as t:
    ...     transcribe(clip)
    >>> t.rtf(len(clip) / sr)   # < 1 means faster than real time
    """

    def __init__(self):
        self.seconds = 0.0
        self._start = None

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False

    def rtf(self, audio_seconds: float) -> float:
        if not audio_seconds > 0:
            raise ValueError(f"audio_seconds must be positive to compute a real-time factor, got {audio_seconds!r}")
        return self.seconds / audio_seconds


def progress(iterable=None, total=None, desc: str = "", **kwargs):
    """A text progress bar (tqdm) that works the same in JupyterLab, papermill runs and terminals.

    Plain text rather than a widget, so that an executed notebook shows the final bar without a widget state;
    it refreshes at most every 2 s to keep committed outputs small.
    """
    from tqdm.std import tqdm

    kwargs.setdefault("mininterval", 2.0)
    kwargs.setdefault("ncols", 90)
    return tqdm(iterable, total=total, desc=desc, **kwargs)


def versions(*packages: str) -> str:
    """One line: Python and the given packages' versions, e.g. ``versions("numpy", "librosa")``."""
    parts = [f"python {platform.python_version()}"]
    for name in packages:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return " · ".join(parts)

