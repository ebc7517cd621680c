"""helpers.core.runtime: seeding, device choice (no silent fallback), timer and real-time factor."""
import random
import time

import numpy as np
import pytest
import torch

import helpers as H


def draw():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_seed_everything_repeats_every_generator():
    H.seed_everything(7)
    first = draw()
    H.seed_everything(7)
    assert draw() == first


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        H.seed_everything(seed)


def test_pick_device():
    assert H.pick_device("auto") in ("cpu", "cuda", "mps")
    assert H.pick_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="device 'tpu' is not one of"):
        H.pick_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_unavailable_cuda_is_an_error_not_a_fallback():
    with pytest.raises(ValueError, match="'cuda' was asked for but is not available"):
        H.pick_device("cuda")


def test_timer_and_rtf():
    with H.Timer() as t:
        time.sleep(0.05)
    assert 0.04 < t.seconds < 1
    assert t.rtf(t.seconds * 10) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="audio_seconds must be positive"):
        t.rtf(0)


def test_progress_and_versions():
    assert list(H.progress(range(3), desc="x", disable=True)) == [0, 1, 2]
    line = H.versions("numpy", "no-such-package")
    assert line.startswith("python 3.") and f"numpy {np.__version__}" in line and "(not installed)" in line
