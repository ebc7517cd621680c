"""U2, the recogniser of WeNet (Yao et al. 2021): one Conformer encoder shared by a CTC head and an attention
decoder, trained on both losses with chunks of random size, so that one model streams at any latency and
rescores its own CTC hypotheses. The zoo's ``u2-mini`` is one; notebook 03 loads it for its streaming and
rescoring sections.

- **Joint training**: loss = ``ctc_weight`` · CTC + (1 − ``ctc_weight``) · attention cross-entropy (label-smoothed),
  WeNet's 0.3 / 0.7. The CTC branch learns the alignment, the decoder a model of the text given the audio.
- **Dynamic chunk training**: each batch, with probability ``full_context``, self-attention sees the whole
  utterance; otherwise it is limited to chunks of 1 … ``max_chunk`` frames (and the chunks before them,
  :func:`helpers.families.ctc.chunk_mask`), so that inference may choose its latency.
- **Attention rescoring** (:func:`attention_rescoring`): the CTC prefix beam search proposes an n-best list;
  the decoder scores each hypothesis with teacher forcing in one batch, and the best of
  log P_att + λ · log P_ctc wins (WeNet decodes with λ = 0.5).

The decoder's symbol 0 is the start/end marker ⟨sos/eos⟩: CTC's blank never appears in a transcript, so the two
heads share one vocabulary.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from ..core.engine import RecipeFields, from_pretrained
from ..data.text import CharTokenizer
from . import ctc

SOS_EOS = 0  # the decoder's start and end marker (the CTC blank's id)


class AttentionDecoder(nn.Module):
    """A Transformer decoder over characters that attends to the encoder's states: embedding + sinusoidal
    positions → ``layers`` pre-norm decoder layers (causal self-attention, cross-attention, feed-forward) → linear
    → log-softmax."""

    def __init__(self, vocab_size: int, d_model: int = 96, layers: int = 2, heads: int = 4, dropout: float = 0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        layer = nn.TransformerDecoderLayer(d_model, heads, 4 * d_model, dropout, batch_first=True, norm_first=True)
        self.layers = nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(d_model))
        self.out = nn.Linear(d_model, vocab_size)
        self.d_model = d_model

    def forward(self, tokens: torch.Tensor, memory: torch.Tensor, memory_padding: torch.Tensor) -> torch.Tensor:
        """``tokens (B, U)`` starting with ⟨sos⟩ → log P(next symbol) ``(B, U, vocab)``."""
        length = tokens.shape[1]
        x = self.embed(tokens) * math.sqrt(self.d_model) + ctc.sinusoidal_positions(length, self.d_model).to(memory)
        causal = nn.Transformer.generate_square_subsequent_mask(length, device=tokens.device)
        x = self.layers(x, memory, tgt_mask=causal, tgt_is_causal=True, memory_key_padding_mask=memory_padding)
        return self.out(x).log_softmax(dim=-1)


def decoder_io(targets: list[torch.Tensor] | list[list[int]]):
    """Teacher forcing: ``(inputs, outputs)`` padded ``(B, U + 1)`` — ⟨sos⟩ y₁ … y_U and y₁ … y_U ⟨eos⟩, the
    outputs padded with −100 (ignored by the loss and the scores)."""
    from torch.nn.utils.rnn import pad_sequence

    targets = [torch.as_tensor(t, dtype=torch.long) for t in targets]
    marker = torch.tensor([SOS_EOS])
    inputs = pad_sequence([torch.cat([marker, t]) for t in targets], batch_first=True, padding_value=SOS_EOS)
    outputs = pad_sequence([torch.cat([t, marker]) for t in targets], batch_first=True, padding_value=-100)
    return inputs, outputs


class U2Recogniser(nn.Module, PyTorchModelHubMixin):
    """A Conformer-CTC encoder (:class:`helpers.families.ctc.ConformerCTC`) and an :class:`AttentionDecoder`
    with their characters, saved and loaded as one folder (``save_pretrained`` / ``from_pretrained``). Calling it
    gives the CTC log-probabilities, like the other CTC models; :meth:`encode` the encoder's states."""

    def __init__(self, n_mels: int = 80, characters: str = " efghinorstuvwxz", d_model: int = 96,
                 encoder_layers: int = 3, decoder_layers: int = 2):
        super().__init__()
        self.n_mels = n_mels
        self.tokenizer = CharTokenizer(characters)
        self.encoder = ctc.ConformerCTC(n_mels, len(self.tokenizer), d_model, encoder_layers)
        self.decoder = AttentionDecoder(len(self.tokenizer), d_model, decoder_layers)

    def encode(self, features, lengths, chunk: int | None = None):
        return self.encoder.encode(features, lengths, chunk)

    def forward(self, features, lengths, chunk: int | None = None):
        return self.encoder(features, lengths, chunk)

    def ctc_log_probs(self, states: torch.Tensor) -> torch.Tensor:
        """CTC log-probabilities of encoder states (any leading shape)."""
        return self.encoder.head(states).log_softmax(dim=-1)

    @torch.no_grad()
    def attention_scores(self, states: torch.Tensor, hypotheses: list[list[int]]) -> torch.Tensor:
        """log P_att(y ⟨eos⟩ | audio) of each hypothesis, given one utterance's encoder states ``(T, d)``: the
        decoder reads all hypotheses in one teacher-forced batch."""
        inputs, outputs = decoder_io(hypotheses)
        memory = states.unsqueeze(0).expand(len(hypotheses), -1, -1)
        padding = torch.zeros(memory.shape[:2], dtype=torch.bool, device=states.device)
        log_probs = self.decoder(inputs.to(states.device), memory, padding)
        picked = log_probs.gather(-1, outputs.clamp(min=0).to(states.device).unsqueeze(-1)).squeeze(-1)
        return (picked * (outputs != -100).to(picked)).sum(dim=1)


@torch.no_grad()
def attention_rescoring(model: U2Recogniser, states: torch.Tensor, beam_size: int = 8,
                        ctc_weight: float = 0.5) -> tuple[list[int], list[dict]]:
    """U2's second pass for one utterance's encoder states ``(T, d)``: the CTC prefix beam search proposes
    ``beam_size`` hypotheses, the attention decoder scores each, and the best of
    log P_att + ``ctc_weight`` · log P_ctc is returned with the table of all (``ids``, ``ctc``, ``attention``,
    ``total``), best CTC first."""
    beams = ctc.prefix_beams(model.ctc_log_probs(states).cpu().numpy(), beam_size)
    attention = model.attention_scores(states, [ids for ids, _ in beams]).tolist()
    table = [{"ids": ids, "ctc": score, "attention": att, "total": att + ctc_weight * score}
             for (ids, score), att in zip(beams, attention)]
    return max(table, key=lambda row: row["total"])["ids"], table


def load(directory) -> U2Recogniser:
    """The U2 recogniser saved in ``directory`` (``from_pretrained``), in eval mode."""
    return from_pretrained(U2Recogniser, directory).eval()


# ---------------------------------------------------------------------------------------------- the zoo recipe

@dataclass(frozen=True)
class Recipe(RecipeFields):
    """Everything that determines a u2-mini run: 03's corpus and training loop (:func:`ctc.fit_recogniser`:
    SpecAugment, AdamW, warm-up and cosine decay) with U2's joint loss and dynamic chunks."""

    seed: int = 0
    n_train: int = 1000
    n_test: int = 200
    n_mels: int = 80
    d_model: int = 96
    encoder_layers: int = 3
    decoder_layers: int = 2
    steps: int = 2000
    batch_size: int = 32
    learning_rate: float = 2e-3
    warmup: float = 0.1
    ctc_weight: float = 0.3  # of the training loss (the decoder's cross-entropy has the rest)
    full_context: float = 0.5  # probability that a batch trains with the whole utterance in view
    max_chunk: int = 25  # otherwise chunks of 1 … max_chunk frames (40 ms each)


SMOKE = dict(n_train=24, n_test=8, steps=3, batch_size=4)
CHECK_SUBSET = ctc.CHECK_SUBSET
CHUNK = 4  # the card's streaming measure: chunks of 4 frames (160 ms)


corpus = ctc.corpus  # 03's corpus: u2-mini trains and is measured on the same utterances as ctc-mini


def draw_chunk(recipe: Recipe) -> int | None:
    """Dynamic chunk training: None (the whole utterance) with probability ``full_context``, else a chunk size
    drawn uniformly from 1 … ``max_chunk`` (torch's generator: saved and restored with the training state)."""
    if torch.rand(()) < recipe.full_context:
        return None
    return int(torch.randint(1, recipe.max_chunk + 1, ()))


class _Objective(nn.Module):
    def __init__(self, model: U2Recogniser, recipe: Recipe):
        super().__init__()
        self.model, self.recipe = model, recipe

    def forward(self, features, feature_lengths, targets, target_lengths, stage=None):
        states, lengths = self.model.encode(features, feature_lengths, draw_chunk(self.recipe))
        log_probs = self.model.ctc_log_probs(states)
        ctc_loss = torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths,
                                                zero_infinity=True)
        inputs, outputs = decoder_io([t[:n] for t, n in zip(targets, target_lengths)])
        padding = torch.arange(states.shape[1], device=states.device)[None, :] >= lengths[:, None]
        predicted = self.model.decoder(inputs.to(states.device), states, padding)
        # cross_entropy's log-softmax leaves log-probabilities unchanged; label smoothing 0.1 as in WeNet
        attention_loss = torch.nn.functional.cross_entropy(predicted.transpose(1, 2), outputs.to(states.device),
                                                           label_smoothing=0.1)
        loss = self.recipe.ctc_weight * ctc_loss + (1 - self.recipe.ctc_weight) * attention_loss
        return loss, {"ctc": ctc_loss.detach(), "attention": attention_loss.detach()}


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Trains u2-mini through the zoo's engine and saves it into ``directory`` when the run is finished."""
    def build(characters):
        return U2Recogniser(recipe.n_mels, characters, recipe.d_model, recipe.encoder_layers, recipe.decoder_layers)

    return ctc.fit_recogniser(recipe, build, lambda model: _Objective(model, recipe), directory, log_path, options,
                              desc="u2-mini")


@torch.no_grad()
def encode_all(model: U2Recogniser, utterances, chunk: int | None = None, batch_size: int = 32) -> list[torch.Tensor]:
    """The encoder states ``(T_i, d)`` of each utterance, computed in padded batches of similar lengths (the padding
    is masked: each utterance's states are those it gets alone, to rounding)."""
    features = [ctc.log_mel_features(u.audio, u.sample_rate, model.n_mels) for u in utterances]
    order = sorted(range(len(features)), key=lambda i: len(features[i]))
    states = [None] * len(features)
    for start in range(0, len(order), batch_size):
        chosen = order[start:start + batch_size]
        x = torch.nn.utils.rnn.pad_sequence([features[i] for i in chosen], batch_first=True)
        encoded, lengths = model.encode(x, torch.tensor([len(features[i]) for i in chosen]), chunk)
        for row, i in enumerate(chosen):
            states[i] = encoded[row, : lengths[row]]
    return states


@torch.no_grad()
def transcripts(model: U2Recogniser, utterances, chunk: int | None = None, beam_size: int = 8,
                ctc_weight: float = 0.5, rescore: bool = True) -> dict:
    """Transcripts of each utterance from one encoder pass (attention limited to ``chunk`` frames): ``greedy`` (CTC
    best path) and, with ``rescore``, ``beam`` (CTC prefix beam search) and ``rescored`` (:func:`attention_rescoring`)."""
    texts = {"greedy": []} | ({"beam": [], "rescored": []} if rescore else {})
    for states in encode_all(model, utterances, chunk):
        texts["greedy"].append(model.tokenizer.decode(ctc.greedy_decode(model.ctc_log_probs(states).numpy())))
        if rescore:
            best, table = attention_rescoring(model, states, beam_size, ctc_weight)
            texts["beam"].append(model.tokenizer.decode(table[0]["ids"]))
            texts["rescored"].append(model.tokenizer.decode(best))
    return texts


def evaluate(model: U2Recogniser, utterances) -> dict:
    """The card's metrics: CTC greedy CER and WER with the whole utterance in view, the CER after attention
    rescoring, and the greedy CER when attention is limited to chunks of :data:`CHUNK` frames."""
    from ..data.text import error_rates

    references = [u.text for u in utterances]
    whole, chunked = transcripts(model, utterances), transcripts(model, utterances, chunk=CHUNK, rescore=False)
    greedy = error_rates(references, whole["greedy"], "en")
    return {"cer": round(greedy["cer"], 4), "wer": round(greedy["wer"], 4),
            "cer_rescored": round(error_rates(references, whole["rescored"], "en")["cer"], 4),
            "cer_chunk": round(error_rates(references, chunked["greedy"], "en")["cer"], 4)}


TARGETS = {"cer": ("≤", 0.05), "cer_chunk": ("≤", 0.05)}


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    return {"held_out": evaluate(load(directory), corpus(recipe).test), "check": check(directory, recipe)}


def check(directory, recipe: Recipe) -> dict:
    """The card's ``check`` metrics on the first :data:`CHECK_SUBSET` held-out utterances."""
    return evaluate(load(directory), corpus(recipe).test[: CHECK_SUBSET["utterances"]])


CARD = {
    "language": ["en"],
    "library_name": "pytorch",  # huggingface_hub's PyTorchModelHubMixin
    "pipeline_tag": "automatic-speech-recognition",
    "tags": ["u2", "conformer", "ctc", "attention-rescoring", "streaming", "miniature", "synthetic-speech",
             "espeak-ng"],
    "dataset": "synthetic eSpeak NG digits (helpers.data.corpus)",
    "metric_names": {"cer": "CER (CTC greedy, whole utterance), held-out speakers",
                     "wer": "WER (CTC greedy, whole utterance), held-out speakers",
                     "cer_rescored": "CER (CTC beam 8 + attention rescoring), held-out speakers",
                     "cer_chunk": f"CER (CTC greedy, attention in chunks of {CHUNK} frames = {CHUNK * 40} ms)"},
    "data": ctc.CARD["data"],
    "description": (
        "WeNet's U2 in miniature (Yao et al. 2021) on notebook 03's data: 80-band log-mel, two stride-2 "
        "convolutions, three Conformer blocks (d=96, 4 heads, convolution kernel 15; Gulati et al. 2020), a CTC "
        "head and a two-layer Transformer attention decoder over the same 17 symbols, trained on 0.3 × CTC + 0.7 × "
        "attention loss with dynamic chunks (half the batches see the whole utterance, the others chunks of 1–25 "
        "frames of 40 ms). Decoding: CTC greedy or prefix beam search, streaming with chunked attention, and "
        "attention rescoring of the CTC n-best. It knows only eSpeak's English digit words."),
}
