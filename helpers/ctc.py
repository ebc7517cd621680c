"""Connectionist Temporal Classification from scratch: the collapse map, the loss, two decoders and forced alignment.

Written in notebook 03 as the lesson (each function is shown there and checked against PyTorch or brute force),
and reused by the later ASR notebooks. Conventions follow ``torch.nn.functional.ctc_loss``: ``log_probs`` are
log-softmax outputs of shape ``(T, C)`` (frames × symbols) and the blank is symbol 0 unless said otherwise.

Graves et al. (2006), *Connectionist Temporal Classification: Labelling Unsegmented Sequence Data with Recurrent
Neural Networks*; Hannun et al. (2014), *First-Pass Large Vocabulary Continuous Speech Recognition using
Bi-Directional Recurrent DNNs* (prefix beam search).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

NEVER = -1e30  # log-probability of an impossible state in the α recursion

def collapse(path, blank: int = 0) -> list[int]:
    """The CTC many-to-one map B: merge repeated symbols, then drop blanks (``a a - b b - b`` → ``a b b``)."""
    out, previous = [], None
    for symbol in path:
        symbol = int(symbol)
        if symbol != previous and symbol != blank:
            out.append(symbol)
        previous = symbol
    return out


def ctc_loss(log_probs, target, blank: int = 0):
    """−log p(target | x) by the forward (α) recursion in log space, for one utterance; differentiable (torch).

    The target ``y`` (length L) is extended with blanks to ``ℓ = (-, y1, -, y2, …, yL, -)`` (length 2L+1).
    ``α_t(s)`` is the log-probability of all alignment prefixes ending at frame t in state s:

        α_t(s) = logsumexp(α_{t−1}(s), α_{t−1}(s−1), [α_{t−1}(s−2) if ℓ_s ≠ blank and ℓ_s ≠ ℓ_{s−2}]) + log y_t(ℓ_s)

    and the loss is −logsumexp(α_{T−1}(2L), α_{T−1}(2L−1)). Returns ``inf`` when no alignment fits in T frames.
    """
    import torch

    target = [int(t) for t in target]
    if blank in target:
        raise ValueError(f"the target contains the blank symbol {blank}")
    T = log_probs.shape[0]
    extended = [blank]
    for symbol in target:
        extended += [symbol, blank]
    S = len(extended)
    # "log 0" as a huge negative number rather than -inf: logsumexp over impossible states then stays finite and
    # so does its gradient (with -inf, autograd produces 0 · inf = NaN for the states no alignment reaches).
    impossible = torch.full((S,), NEVER, dtype=log_probs.dtype)
    emit = log_probs[:, extended]  # (T, S): log y_t(ℓ_s)
    # may we skip from s−2 to s? only onto a label that differs from the label two states back
    skip = torch.tensor([s >= 2 and extended[s] != blank and extended[s] != extended[s - 2] for s in range(S)])
    alpha = torch.cat([emit[0, :2], impossible[2:]])  # an alignment starts with a blank or the first label
    for t in range(1, T):
        step = torch.cat([impossible[:1], alpha[:-1]])  # from s−1
        jump = torch.where(skip, torch.cat([impossible[:2], alpha[:-2]]), impossible)  # from s−2
        alpha = torch.logsumexp(torch.stack([alpha, step, jump]), dim=0) + emit[t]
    loss = -torch.logsumexp(alpha[-2:], dim=0)  # it ends on the last label or the final blank
    return loss if loss < -NEVER / 2 else torch.tensor(math.inf, dtype=log_probs.dtype)


def ctc_loss_brute_force(log_probs, target, blank: int = 0) -> float:
    """−log p(target | x) by enumerating all C^T frame paths and summing those that collapse to ``target``.

    Exponential: only for tiny checks (T·log C small). Returns ``inf`` if no path collapses to the target.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    T, C = log_probs.shape
    if C**T > 2_000_000:
        raise ValueError(f"{C}^{T} = {C**T} paths is too many to enumerate; use T·log(C) ≤ 21")
    target = [int(t) for t in target]
    total = -math.inf
    for path in itertools.product(range(C), repeat=T):
        if collapse(path, blank) == target:
            total = np.logaddexp(total, log_probs[np.arange(T), path].sum())
    return float(-total)


def greedy_decode(log_probs, blank: int = 0) -> list[int]:
    """Best-path decoding: the most likely symbol per frame, collapsed. ``log_probs`` is ``(T, C)``."""
    return collapse(np.asarray(log_probs).argmax(axis=-1), blank)


def prefix_beam_search(log_probs, beam_size: int = 8, blank: int = 0) -> list[int]:
    """CTC prefix beam search without a language model; returns the most probable label sequence.

    Each prefix keeps two scores: ending in a blank (``p_b``) and ending in its last label (``p_nb``), so that
    paths which collapse to the same prefix are summed rather than competing. Extending with the prefix's own
    last label only grows the prefix after a blank (``a - a`` → ``aa``; ``a a`` → ``a``).
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if beam_size < 1:
        raise ValueError(f"beam_size {beam_size!r} must be at least 1")
    beams = {(): (0.0, -math.inf)}  # prefix -> (log p_b, log p_nb)
    for frame in log_probs:
        candidates: dict[tuple, list[float]] = {}

        def add(prefix, p_b=-math.inf, p_nb=-math.inf):
            entry = candidates.setdefault(prefix, [-math.inf, -math.inf])
            entry[0], entry[1] = np.logaddexp(entry[0], p_b), np.logaddexp(entry[1], p_nb)

        # only the symbols that can matter at this frame (all of them when C is small)
        symbols = np.argsort(frame)[::-1][: max(beam_size, 8)]
        for prefix, (p_b, p_nb) in beams.items():
            total = np.logaddexp(p_b, p_nb)
            add(prefix, p_b=total + frame[blank])
            last = prefix[-1] if prefix else None
            for c in symbols:
                c = int(c)
                if c == blank:
                    continue
                if c == last:
                    add(prefix, p_nb=p_nb + frame[c])  # repeat without a blank: stays the same prefix
                    add(prefix + (c,), p_nb=p_b + frame[c])  # after a blank: a new, doubled label
                else:
                    add(prefix + (c,), p_nb=total + frame[c])
        ranked = sorted(candidates.items(), key=lambda kv: np.logaddexp(*kv[1]), reverse=True)
        beams = {prefix: tuple(scores) for prefix, scores in ranked[:beam_size]}
    return list(max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))[0])


def forced_align(log_probs, target, blank: int = 0) -> list[int]:
    """The frame at which each target symbol is first emitted on the most likely CTC path that spells ``target``.

    The Viterbi version of the α recursion in :func:`ctc_loss` (max instead of logsumexp, with back-pointers);
    notebook 05 uses it to find where each word is spoken. ``log_probs`` is ``(T, C)``; raises ``ValueError`` when
    no alignment of the target fits in T frames.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    target = [int(t) for t in target]
    if blank in target:
        raise ValueError(f"the target contains the blank symbol {blank}")
    extended = [blank]
    for symbol in target:
        extended += [symbol, blank]
    T, S = len(log_probs), len(extended)
    skip = np.array([s >= 2 and extended[s] != blank and extended[s] != extended[s - 2] for s in range(S)])
    emit = log_probs[:, extended]
    score = np.full(S, NEVER)
    score[:2] = emit[0, :2]
    came_from = np.zeros((T, S), dtype=np.int64)  # 0: stayed in s, 1: from s−1, 2: from s−2
    for t in range(1, T):
        step = np.concatenate([[NEVER], score[:-1]])
        jump = np.where(skip, np.concatenate([[NEVER, NEVER], score[:-2]]), NEVER)
        options = np.stack([score, step, jump])
        came_from[t] = options.argmax(0)
        score = options.max(0) + emit[t]
    state = S - 1 if S == 1 or score[S - 1] >= score[S - 2] else S - 2
    if score[state] < NEVER / 2:
        raise ValueError(f"a target of {len(target)} symbols does not fit in {T} frames")
    first_frame = [0] * len(target)
    for t in range(T - 1, -1, -1):
        if extended[state] != blank:
            first_frame[(state - 1) // 2] = t  # overwritten until the earliest frame of the symbol
        state -= came_from[t, state]
    return first_frame
