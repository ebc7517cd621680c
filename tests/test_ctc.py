"""helpers.families.ctc: the collapse map, the loss against PyTorch and brute force, and the decoders on known cases."""
import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.families import ctc


@pytest.mark.parametrize("path, expected", [
    ([1, 1, 0, 2, 2, 0, 2], [1, 2, 2]), ([0, 0, 0], []), ([3], [3]), ([1, 0, 1, 1, 0], [1, 1]),
])
def test_collapse(path, expected):
    assert ctc.collapse(path) == expected


def test_loss_of_a_single_frame_is_minus_log_p():
    log_probs = torch.log(torch.tensor([[0.2, 0.8]]))
    assert ctc.ctc_loss(log_probs, [1]).item() == pytest.approx(-math.log(0.8))


def test_two_frames_sum_three_alignments():
    p = torch.tensor([[0.5, 0.5], [0.25, 0.75]])  # paths for "a": aa, a-, -a
    expected = -math.log(0.5 * 0.75 + 0.5 * 0.25 + 0.5 * 0.75)
    assert ctc.ctc_loss(p.log(), [1]).item() == pytest.approx(expected)


def test_repeated_labels_need_a_blank_between_them():
    log_probs = torch.full((2, 2), math.log(0.5))
    assert math.isinf(ctc.ctc_loss(log_probs, [1, 1]).item())  # "a a" cannot fit in 2 frames
    assert math.isfinite(ctc.ctc_loss(torch.full((3, 2), math.log(0.5)), [1, 1]).item())  # "a - a"


@pytest.mark.parametrize("seed", range(3))
def test_matches_torch_value_and_gradient(seed):
    g = torch.Generator().manual_seed(seed)
    T, C, L = 30, 6, 8
    logits = torch.randn(T, C, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(1, C, (L,), generator=g)
    ours = ctc.ctc_loss(logits.log_softmax(-1), target)
    (grad_ours,) = torch.autograd.grad(ours, logits)
    ref = F.ctc_loss(logits.log_softmax(-1).unsqueeze(1), target.unsqueeze(0), torch.tensor([T]), torch.tensor([L]),
                     reduction="sum")
    (grad_ref,) = torch.autograd.grad(ref, logits)
    assert ours.item() == pytest.approx(ref.item(), rel=1e-10)
    torch.testing.assert_close(grad_ours, grad_ref, rtol=0, atol=1e-10)


def test_matches_brute_force_enumeration():
    rng = np.random.default_rng(0)
    for target in ([1], [1, 2], [2, 2], [1, 2, 1]):
        logits = torch.tensor(rng.normal(size=(6, 3)))
        log_probs = logits.log_softmax(-1)
        assert ctc.ctc_loss(log_probs, target).item() == pytest.approx(
            ctc.ctc_loss_brute_force(log_probs.numpy(), target), rel=1e-10)


def test_brute_force_refuses_huge_cases_and_blank_targets():
    with pytest.raises(ValueError, match="too many to enumerate"):
        ctc.ctc_loss_brute_force(np.zeros((30, 5)), [1])
    with pytest.raises(ValueError, match="contains the blank"):
        ctc.ctc_loss(torch.zeros(3, 3), [0, 1])


def test_greedy_and_beam_on_a_case_where_they_differ():
    # each frame: blank 0.6, "a" 0.4. Best path "--" → "", but p("a") = 0.64 > p("") = 0.36.
    log_probs = np.log([[0.6, 0.4], [0.6, 0.4]])
    assert ctc.greedy_decode(log_probs) == []
    assert ctc.prefix_beam_search(log_probs, beam_size=4) == [1]


def test_beam_search_keeps_doubled_labels_apart_from_repeats():
    frames = np.log(np.array([[0.01, 0.98, 0.01], [0.98, 0.01, 0.01], [0.01, 0.98, 0.01]]))
    assert ctc.prefix_beam_search(frames, beam_size=4) == [1, 1] == ctc.greedy_decode(frames)
    with pytest.raises(ValueError, match="beam_size 0"):
        ctc.prefix_beam_search(frames, beam_size=0)


def test_forced_alignment_is_the_best_path_found_by_enumeration():
    rng = np.random.default_rng(1)
    for target in ([1], [1, 2], [2, 2], [1, 2, 1]):
        log_probs = torch.tensor(rng.normal(size=(7, 3))).log_softmax(-1).numpy()
        paths = [p for p in itertools.product(range(3), repeat=7) if ctc.collapse(p) == target]
        best = max(paths, key=lambda p: log_probs[np.arange(7), p].sum())
        first = [t for t in range(7) if best[t] != 0 and (t == 0 or best[t - 1] != best[t])]
        assert ctc.forced_align(log_probs, target) == first


def test_forced_alignment_refuses_targets_that_do_not_fit():
    with pytest.raises(ValueError, match="does not fit in 2 frames"):
        ctc.forced_align(np.log(np.full((2, 3), 1 / 3)), [1, 1])
    with pytest.raises(ValueError, match="contains the blank"):
        ctc.forced_align(np.zeros((3, 3)), [0])
