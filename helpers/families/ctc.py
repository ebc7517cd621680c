"""The CTC family: Connectionist Temporal Classification from scratch (the collapse map, the loss, two decoders,
forced alignment) and the small acoustic models that 03 trains with it.

Written in notebook 03 as the lesson (each function is shown there and checked against PyTorch or brute force),
and reused by the later ASR notebooks. Conventions follow ``torch.nn.functional.ctc_loss``: ``log_probs`` are
log-softmax outputs of shape ``(T, C)`` (frames × symbols) and the blank is symbol 0 unless said otherwise.

Graves et al. (2006), *Connectionist Temporal Classification: Labelling Unsegmented Sequence Data with Recurrent
Neural Networks*; Hannun et al. (2014), *First-Pass Large Vocabulary Continuous Speech Recognition using
Bi-Directional Recurrent DNNs* (prefix beam search).

The acoustic models (convolutional subsampling, then a BiLSTM or a Conformer) are trained in 03. Inputs are log-mel features
``(batch, frames, n_mels)`` with their lengths; outputs are log-probabilities ``(batch, frames/4, vocab)`` with
the subsampled lengths, the shapes ``torch.nn.functional.ctc_loss`` wants (after a transpose).

- :class:`BiLSTMCTC` — in the spirit of Graves & Jaitly (2014): a deep bidirectional LSTM over the spectrogram,
  with the 4× convolutional subsampling of modern recipes in front (fewer, richer frames: faster and better).
- :class:`ConformerCTC` — Gulati et al. (2020): macaron feed-forward, self-attention and a convolution module
  per block, as in WeNet's U2 / Conformer-CTC (here with absolute sinusoidal positions instead of relative ones).

:class:`CTCRecogniser` keeps a model with its characters in one ``save_pretrained`` folder; the zoo's ``ctc-mini``
(notebook 03's default lesson, trained by the recipe at the end of this module) is one, and 02 listens with it.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from ..core.engine import RecipeFields, from_pretrained
from ..data.text import CharTokenizer
from ..signal.features import log_mel

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


class CharNgram:
    """A character n-gram language model with add-``k`` smoothing, counted on tokenised transcripts (03: shallow
    fusion in :func:`prefix_beam_search`). The first ``order − 1`` symbols of a text are conditioned on start
    markers, so the model also knows how texts begin."""

    START = -1

    def __init__(self, texts: list[list[int]], vocab_size: int, order: int = 4, k: float = 0.1):
        from collections import Counter, defaultdict

        if order < 1 or vocab_size < 1 or not k > 0:
            raise ValueError(f"need order ≥ 1, vocab_size ≥ 1 and k > 0; got {order}, {vocab_size}, {k}")
        self.order, self.vocab_size, self.k = order, vocab_size, k
        counts = defaultdict(Counter)
        for text in texts:
            padded = [self.START] * (order - 1) + [int(t) for t in text]
            for i in range(order - 1, len(padded)):
                counts[tuple(padded[i - order + 1:i])][padded[i]] += 1
        self.counts = dict(counts)
        self.totals = {history: sum(c.values()) for history, c in counts.items()}

    def log_prob(self, history, symbol: int) -> float:
        """log P(symbol | the last order − 1 symbols of ``history``)."""
        context = tuple(([self.START] * (self.order - 1) + list(history))[len(history):]) if self.order > 1 else ()
        seen = self.counts.get(context)
        count = seen[symbol] if seen else 0
        return math.log((count + self.k) / (self.totals.get(context, 0) + self.k * self.vocab_size))

    def perplexity(self, texts: list[list[int]]) -> float:
        """Per-symbol perplexity on ``texts``: exp of the mean negative log-probability."""
        logs = [self.log_prob(text[:i], s) for text in texts for i, s in enumerate(text)]
        return float(math.exp(-np.mean(logs)))


def prefix_beam_search(log_probs, beam_size: int = 8, blank: int = 0, lm: CharNgram | None = None,
                       lm_weight: float = 0.0, insertion_bonus: float = 0.0) -> list[int]:
    """The most probable label sequence found by :func:`prefix_beams` (same arguments)."""
    return prefix_beams(log_probs, beam_size, blank, lm, lm_weight, insertion_bonus)[0][0]


def prefix_beams(log_probs, beam_size: int = 8, blank: int = 0, lm: CharNgram | None = None,
                 lm_weight: float = 0.0, insertion_bonus: float = 0.0) -> list[tuple[list[int], float]]:
    """CTC prefix beam search; returns the final beam, best first: up to ``beam_size`` pairs of (label sequence, its
    log-score). Without a language model the score is log P_ctc(labels | audio) summed over the paths kept.

    Each prefix keeps two scores: ending in a blank (``p_b``) and ending in its last label (``p_nb``), so that
    paths which collapse to the same prefix are summed rather than competing. Extending with the prefix's own
    last label only grows the prefix after a blank (``a - a`` → ``aa``; ``a a`` → ``a``).

    **Shallow fusion** (Hannun et al. 2014): with a language model ``lm``, every extension of a prefix by a label
    ``c`` adds ``lm_weight · log P_lm(c | prefix) + insertion_bonus`` — the score becomes
    log P_ctc + α log P_lm + β·|prefix|, the bonus offsetting the LM's preference for short texts.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if beam_size < 1:
        raise ValueError(f"beam_size {beam_size!r} must be at least 1")

    def fusion(prefix, c):
        return lm_weight * lm.log_prob(prefix, c) + insertion_bonus if lm is not None else 0.0

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
                    add(prefix + (c,), p_nb=p_b + frame[c] + fusion(prefix, c))  # after a blank: a doubled label
                else:
                    add(prefix + (c,), p_nb=total + frame[c] + fusion(prefix, c))
        ranked = sorted(candidates.items(), key=lambda kv: np.logaddexp(*kv[1]), reverse=True)
        beams = {prefix: tuple(scores) for prefix, scores in ranked[:beam_size]}
    final = sorted(((list(prefix), float(np.logaddexp(*scores))) for prefix, scores in beams.items()),
                   key=lambda pair: pair[1], reverse=True)
    return final


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


# Acoustic models (03)

MODELS = ("lstm", "conformer")


def log_mel_features(audio, sample_rate: int = 16_000, n_mels: int = 80) -> torch.Tensor:
    """ASR input features: log-mel (25 ms windows every 10 ms, from :func:`helpers.log_mel`), normalised per
    utterance to zero mean and unit variance, as a ``(frames, n_mels)`` float tensor."""
    S = log_mel(audio, sample_rate, n_fft=int(0.025 * sample_rate), hop_length=int(0.01 * sample_rate),
                n_mels=n_mels)
    S = (S - S.mean()) / (S.std() + 1e-5)
    return torch.tensor(S.T, dtype=torch.float32)


def subsampled_lengths(lengths: torch.Tensor) -> torch.Tensor:
    """Frame counts after two stride-2 convolutions (kernel 3, padding 1)."""
    return (lengths - 1) // 2 // 2 + 1


class ConvSubsampling(nn.Module):
    """Two stride-2 3×3 convolutions over (time, mel): 4× fewer frames, then a linear projection to ``d_model``."""

    def __init__(self, n_mels: int, d_model: int, channels: int = 16):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, channels, 3, 2, 1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, 2, 1), nn.ReLU())
        freq = (n_mels - 1) // 2 // 2 + 1
        self.project = nn.Sequential(nn.Linear(channels * freq, d_model), nn.LayerNorm(d_model))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        x = self.conv(x.unsqueeze(1))  # (B, C, T/4, F/4)
        b, c, t, f = x.shape
        return self.project(x.transpose(1, 2).reshape(b, t, c * f)), subsampled_lengths(lengths)


class BiLSTMCTC(nn.Module):
    """Conv subsampling → ``layers`` bidirectional LSTM layers → linear → log-softmax over ``vocab_size``.

    Padded frames are processed like real ones (no packing: twice as fast on a CPU); batches of similar
    lengths (:func:`helpers.core.training.length_batches`) keep the padding to a few frames, and decoding one utterance at a
    time has none.
    """

    def __init__(self, n_mels: int, vocab_size: int, d_model: int = 128, layers: int = 2, dropout: float = 0.1):
        super().__init__()
        self.subsample = ConvSubsampling(n_mels, d_model)
        self.rnn = nn.LSTM(d_model, d_model, num_layers=layers, bidirectional=True, batch_first=True,
                           dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(2 * d_model, vocab_size)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor):
        x, lengths = self.subsample(features, lengths)
        x, _ = self.rnn(x)
        return self.head(x).log_softmax(dim=-1), lengths


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """The Transformer's fixed positions: sin/cos of position × geometric frequencies, ``(length, d_model)``."""
    position = torch.arange(length).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class ConformerBlock(nn.Module):
    """½·FFN → multi-head self-attention → convolution module → ½·FFN → LayerNorm, each with a residual."""

    def __init__(self, d_model: int, heads: int = 4, kernel_size: int = 15, dropout: float = 0.1):
        super().__init__()

        def feed_forward():
            return nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, 4 * d_model), nn.SiLU(),
                                 nn.Dropout(dropout), nn.Linear(4 * d_model, d_model), nn.Dropout(dropout))

        self.ff1, self.ff2 = feed_forward(), feed_forward()
        self.attention_norm = nn.LayerNorm(d_model)
        self.attention = nn.MultiheadAttention(d_model, heads, dropout=dropout, batch_first=True)
        self.conv_norm = nn.LayerNorm(d_model)
        self.pointwise_in = nn.Conv1d(d_model, 2 * d_model, 1)
        self.depthwise = nn.Conv1d(d_model, d_model, kernel_size, padding=kernel_size // 2, groups=d_model)
        self.batch_norm = nn.BatchNorm1d(d_model)
        self.pointwise_out = nn.Conv1d(d_model, d_model, 1)
        self.dropout = nn.Dropout(dropout)
        self.final_norm = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, padding: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        h = self.attention_norm(x)
        x = x + self.dropout(self.attention(h, h, h, key_padding_mask=padding, attn_mask=attention_mask,
                                            need_weights=False)[0])
        h = nn.functional.glu(self.pointwise_in(self.conv_norm(x).transpose(1, 2)), dim=1)  # (B, d, T)
        h = h.masked_fill(padding.unsqueeze(1), 0.0)  # padded frames must not leak into the depthwise conv
        h = self.pointwise_out(nn.functional.silu(self.batch_norm(self.depthwise(h))))
        x = x + self.dropout(h.transpose(1, 2))
        return self.final_norm(x + 0.5 * self.ff2(x))


class ConformerCTC(nn.Module):
    """Conv subsampling → sinusoidal positions → ``layers`` Conformer blocks → linear → log-softmax."""

    def __init__(self, n_mels: int, vocab_size: int, d_model: int = 96, layers: int = 3, heads: int = 4,
                 kernel_size: int = 15, dropout: float = 0.1):
        super().__init__()
        self.subsample = ConvSubsampling(n_mels, d_model)
        self.blocks = nn.ModuleList(ConformerBlock(d_model, heads, kernel_size, dropout) for _ in range(layers))
        self.head = nn.Linear(d_model, vocab_size)
        self.d_model = d_model

    def encode(self, features: torch.Tensor, lengths: torch.Tensor, chunk: int | None = None):
        """The encoder's states ``(B, T/4, d_model)`` and their lengths. ``chunk`` (output frames) limits
        self-attention to the frame's own chunk and the chunks before it, as a streaming recogniser must (WeNet's
        chunk mask); None attends to the whole utterance."""
        x, lengths = self.subsample(features, lengths)
        x = x + sinusoidal_positions(x.shape[1], self.d_model).to(x)
        padding = torch.arange(x.shape[1], device=x.device)[None, :] >= lengths[:, None]
        mask = None if chunk is None else ~chunk_mask(x.shape[1], chunk, x.device)
        for block in self.blocks:
            x = block(x, padding, mask)
        return x, lengths

    def forward(self, features: torch.Tensor, lengths: torch.Tensor, chunk: int | None = None):
        """CTC log-probabilities ``(B, T/4, vocab)`` and their lengths (``chunk`` as in :meth:`encode`)."""
        x, lengths = self.encode(features, lengths, chunk)
        return self.head(x).log_softmax(dim=-1), lengths


def chunk_mask(length: int, chunk: int, device=None) -> torch.Tensor:
    """``(length, length)`` booleans, True where frame i may attend to frame j: j lies in i's chunk of ``chunk``
    frames or an earlier one (Yao et al. 2021). Used by 03's streaming section."""
    if chunk < 1:
        raise ValueError(f"chunk {chunk!r} must be at least one frame")
    index = torch.arange(length, device=device)
    return index[None, :] < ((index[:, None] // chunk) + 1) * chunk


def build_ctc_model(kind: str, n_mels: int, vocab_size: int, **sizes) -> nn.Module:
    """``kind="lstm"`` → :class:`BiLSTMCTC`, ``"conformer"`` → :class:`ConformerCTC` (sizes passed through)."""
    if kind == "lstm":
        return BiLSTMCTC(n_mels, vocab_size, **sizes)
    if kind == "conformer":
        return ConformerCTC(n_mels, vocab_size, **sizes)
    raise ValueError(f"unknown model {kind!r}; choose one of {MODELS}")


# ---------------------------------------------------------------------------------------------- the zoo recipe

class CTCRecogniser(nn.Module, PyTorchModelHubMixin):
    """A CTC acoustic model with its characters, saved and loaded as one folder (``save_pretrained`` /
    ``from_pretrained`` from huggingface_hub's mixin: config.json + model.safetensors): ``kind`` (:data:`MODELS`),
    ``n_mels`` and ``characters`` (the tokenizer's symbols after the blank). Used as ``ctc-mini`` by 02."""

    def __init__(self, kind: str = "lstm", n_mels: int = 80, characters: str = " efghinorstuvwxz"):
        super().__init__()
        self.n_mels = n_mels
        self.tokenizer = CharTokenizer(characters)
        self.acoustic = build_ctc_model(kind, n_mels, len(self.tokenizer))

    def forward(self, features, lengths):
        return self.acoustic(features, lengths)

    @torch.no_grad()
    def transcribe(self, clips, sample_rate: int = 16_000) -> list[str]:
        """Greedy transcripts of a list of mono clips, one at a time (no padding)."""
        self.eval()
        texts = []
        for clip in clips:
            x = log_mel_features(clip, sample_rate, self.n_mels).unsqueeze(0)
            log_probs, lengths = self(x, torch.tensor([x.shape[1]]))
            texts.append(self.tokenizer.decode(greedy_decode(log_probs[0, : lengths[0]].numpy())))
        return texts


def load(directory) -> CTCRecogniser:
    """The recogniser saved in ``directory`` (``from_pretrained``), in eval mode."""
    return from_pretrained(CTCRecogniser, directory).eval()


@dataclass(frozen=True)
class Recipe(RecipeFields):
    """Everything that determines a ctc-mini run: notebook 03's default lesson, trained the same way — ``steps``
    batches of ``batch_size`` English digit strings (``n_train`` utterances of the training speakers, clean) with
    SpecAugment, AdamW with a one-cycle-like warm-up and cosine decay; held out: ``n_test`` utterances of other
    speakers."""

    seed: int = 0
    kind: str = "lstm"
    n_train: int = 1000
    n_test: int = 200
    n_mels: int = 80
    steps: int = 1200
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup: float = 0.15


SMOKE = dict(n_train=24, n_test=8, steps=3, batch_size=4)
CHECK_SUBSET = dict(utterances=40)


def corpus(recipe: Recipe):
    """03's corpus (the same spec: the cache is shared)."""
    from ..data.corpus import make_corpus

    return make_corpus(language="en", task="digits", n_train=recipe.n_train, n_test=recipe.n_test, seed=recipe.seed)


class _Utterances(torch.utils.data.Dataset):
    """Item ``i``: the SpecAugmented features and ids of a training utterance drawn from (seed, i)."""

    def __init__(self, features, targets, size: int, seed: int):
        self.features, self.targets, self.size, self.seed = features, targets, size, seed

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int):
        from ..core.training import spec_augment

        rng = np.random.default_rng([self.seed, i])
        j = int(rng.integers(len(self.features)))
        features = spec_augment(self.features[j][None].clone(), torch.tensor([len(self.features[j])]), rng)[0]
        return features, self.targets[j]


class _Objective(nn.Module):
    def __init__(self, model: CTCRecogniser):
        super().__init__()
        self.model = model

    def forward(self, features, feature_lengths, targets, target_lengths, stage=None):
        log_probs, lengths = self.model(features, feature_lengths)
        loss = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths,
                                            zero_infinity=True)
        return loss, {"ctc": loss.detach()}


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Trains ctc-mini through the zoo's engine and saves it into ``directory`` when the run is finished."""
    return fit_recogniser(recipe, lambda characters: CTCRecogniser(recipe.kind, recipe.n_mels, characters),
                          _Objective, directory, log_path, options, desc="ctc-mini")


def fit_recogniser(recipe, build, objective, directory, log_path=None, options=None, desc: str = "training") -> dict:
    """The recipe loop of the CTC-trained zoo models (ctc-mini, u2-mini): ``build(characters)`` makes the model from
    the characters of the training transcripts, ``objective(model)`` wraps it into the module that returns (loss,
    logged parts) for a batch; ``recipe.steps`` batches through :func:`helpers.core.engine.fit` with a warm-up and
    cosine decay; the model is saved into ``directory`` when the run is finished."""
    from functools import partial
    from pathlib import Path

    from accelerate import PartialState

    from ..core.engine import Options, Stage, fit
    from ..core.training import stage_rate
    from ..data.corpus import collate

    torch.manual_seed(recipe.seed)
    speech = corpus(recipe)
    model = build("".join(sorted(set("".join(u.text for u in speech.train)))))
    features = [log_mel_features(u.audio, u.sample_rate, recipe.n_mels) for u in speech.train]
    targets = [torch.tensor(model.tokenizer.encode(u.text)) for u in speech.train]
    data = _Utterances(features, targets, recipe.steps * recipe.batch_size, recipe.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(stage_rate, stages=(recipe.steps,),
                                                                    warmup=recipe.warmup))
    info = fit(objective(model), optimizer, schedule, [Stage("utterances", data, recipe.steps, recipe.batch_size)],
               collate, options or Options(), Path(directory) / "state", log_path, desc=desc, clip=5.0)
    trained = info.pop("model").model
    if info["finished"] and PartialState().is_main_process:
        trained.eval().save_pretrained(directory)
    return info


def evaluate(model: CTCRecogniser, utterances) -> dict:
    """Greedy CER and WER on ``utterances``."""
    from ..data.text import error_rates

    rates = error_rates([u.text for u in utterances], model.transcribe([u.audio for u in utterances]), "en")
    return {"cer": round(rates["cer"], 4), "wer": round(rates["wer"], 4)}


TARGETS = {"cer": ("≤", 0.05)}  # 03's target on held-out speakers


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    return {"held_out": evaluate(load(directory), corpus(recipe).test), "check": check(directory, recipe)}


def check(directory, recipe: Recipe) -> dict:
    """The card's ``check`` metrics: CER and WER on the first :data:`CHECK_SUBSET` held-out utterances."""
    return evaluate(load(directory), corpus(recipe).test[: CHECK_SUBSET["utterances"]])


CARD = {
    "language": ["en"],
    "library_name": "pytorch",  # huggingface_hub's PyTorchModelHubMixin
    "pipeline_tag": "automatic-speech-recognition",
    "tags": ["ctc", "bilstm", "miniature", "synthetic-speech", "espeak-ng"],
    "dataset": "synthetic eSpeak NG digits (helpers.data.corpus)",
    "metric_names": {"cer": "CER (greedy), held-out speakers", "wer": "WER (greedy), held-out speakers"},
    "data": {"corpus": "helpers.data.corpus.make_corpus(language='en', task='digits'): strings of 3–6 digits, eSpeak NG "
                       "voices with rate and pitch jitter, 16 kHz, clean (notebook 03's corpus)",
             "train_speakers": "48 English voices (4 accents × 12 variants)",
             "test_speakers": "12 English voices none of which is heard in training"},
    "description": (
        "Notebook 03's recogniser, trained by its recipe for the other notebooks to use: 80-band log-mel, two stride-2 "
        "convolutions, two bidirectional LSTM layers of 128, a linear CTC head over 17 symbols (blank + the "
        "characters of the digit words), greedy decoding. Trained on clean speech only: notebook 02 measures what "
        "noise and enhancement do to it. It knows only eSpeak's digit words."),
}
