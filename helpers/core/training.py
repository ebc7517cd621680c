"""Training plumbing shared by the notebooks that train models (03 onwards): length-bucketed batches,
SpecAugment masking, a loop with a progress bar that returns the loss curve, the learning-rate schedules (the
notebooks' one-cycle, the zoo recipes' warm-up and cosine per stage), and the frozen parts of a staged recipe."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import numpy as np

from .runtime import progress


def length_batches(lengths, batch_size: int, seed: int = 0):
    """Endless batches of indices whose items have similar lengths (so that little padding is needed).

    Each epoch sorts the items by length with a little random jitter, cuts them into batches of ``batch_size``
    and yields the batches in random order.
    """
    lengths = np.asarray(lengths, dtype=float)
    if not 1 <= batch_size <= len(lengths):
        raise ValueError(f"batch_size {batch_size!r} must be between 1 and the number of items ({len(lengths)})")
    rng = np.random.default_rng(seed)
    while True:
        order = np.argsort(lengths * rng.uniform(0.9, 1.1, len(lengths)))
        batches = [order[i:i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)]
        for b in rng.permutation(len(batches)):
            yield batches[b]


def spec_augment(features, lengths, rng: np.random.Generator, freq_masks: int = 1, freq_width: int = 10,
                 time_masks: int = 2, time_width: int = 10):
    """SpecAugment (Park et al., 2019) without time warping: zero random bands of mel channels and of frames.

    ``features`` is a ``(batch, frames, n_mels)`` tensor, masked in place and returned.
    """
    n_mels = features.shape[-1]
    for b, length in enumerate(int(n) for n in lengths):
        for _ in range(freq_masks):
            width = int(rng.integers(0, freq_width + 1))
            start = int(rng.integers(0, max(1, n_mels - width)))
            features[b, :, start:start + width] = 0
        for _ in range(time_masks):
            width = int(rng.integers(0, min(time_width, length // 5) + 1))
            start = int(rng.integers(0, max(1, length - width)))
            features[b, start:start + width, :] = 0
    return features


def train_loop(step: Callable[[int], float], steps: int, desc: str = "training") -> list[float]:
    """Calls ``step(i)`` (one optimisation step returning its loss) ``steps`` times under a progress bar that
    shows the running loss, and returns the list of losses (the loss curve)."""
    if steps < 1:
        raise ValueError(f"steps {steps!r} must be at least 1")
    losses = []
    bar = progress(range(steps), desc=desc)
    for i in bar:
        losses.append(float(step(i)))
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}", refresh=False)
    return losses


def one_cycle(optimizer, max_lr: float, steps: int, warmup: float = 0.1):
    """A one-cycle learning-rate schedule (warm up over ``warmup`` of the steps, then anneal): the schedule of the
    notebooks' training loops. The warm-up is at least two steps, so that very short (smoke) runs work too."""
    import torch

    if steps < 3:
        raise ValueError(f"a one-cycle schedule needs at least 3 steps, got {steps}")
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps,
                                               pct_start=max(warmup, 2 / steps))


def stage_rate(step: int, stages: tuple[int, ...], warmup: float, peaks: tuple[float, ...] | None = None) -> float:
    """The learning-rate factor at ``step``: in each stage (``stages``: their lengths) a linear warm-up over
    ``warmup`` of its steps to the stage's peak (``peaks``, default 1), then a cosine decay to zero."""
    import math

    peaks = peaks or (1.0,) * len(stages)
    i, n, peak = step, stages[-1], peaks[-1]
    for length, top in zip(stages, peaks):
        if i < length:
            n, peak = length, top
            break
        i -= length
    rise = max(1, int(warmup * n))
    return peak * ((i + 1) / rise if i < rise else 0.5 * (1 + math.cos(math.pi * (i - rise) / max(1, n - rise))))


@contextmanager
def frozen(*parts):
    """Runs the block with ``parts`` (modules trained by earlier stages of a staged recipe) in eval mode and without
    gradients, then restores each one's mode. Used by the audioldm and cosyvoice recipes."""
    import torch

    modes = [part.training for part in parts]
    for part in parts:
        part.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for part, mode in zip(parts, modes):
            part.train(mode)
