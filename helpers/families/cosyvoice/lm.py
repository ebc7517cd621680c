"""The text-to-token language model of CosyVoice (§3.3) in miniature (notebook 07): a decoder-only Transformer over
``[speaker] [language, text …] [start] [speech tokens …] [end]``, trained by next-token cross-entropy on the speech
tokens only, and sampled one token at a time — with the nucleus (top-p) and top-k sampling of CosyVoice and its
**repetition-aware sampling** (RAS, CosyVoice 2 / VALL-E 2), which resamples from the whole distribution when the
nucleus's choice already fills the recent window.

Zero-shot continuation puts the prompt's text before the target's and the prompt's speech tokens after ``[start]``:
the model continues them in the prompt's voice and manner.
"""
from __future__ import annotations

import torch
from torch import nn

from .frontend import CHARACTERS, LANGUAGES


class TokenLM(nn.Module):
    """``codebook`` speech tokens (+ start in, end out), ``len(CHARACTERS) + 1`` text ids (+ one tag per language),
    ``layers`` pre-norm Transformer layers of width ``d_model``, learned positions up to ``max_len``."""

    def __init__(self, codebook: int = 256, speaker_dim: int = 64, d_model: int = 192, layers: int = 4,
                 heads: int = 4, max_len: int = 512, dropout: float = 0.0):
        super().__init__()
        self.codebook, self.max_len = codebook, max_len
        self.start = self.end = codebook  # the start's embedding row; the end's output (the head's last row)
        self.text_embed = nn.Embedding(len(CHARACTERS) + 1 + len(LANGUAGES), d_model)
        self.speech_embed = nn.Embedding(codebook + 1, d_model)
        self.speaker = nn.Linear(speaker_dim, d_model)
        self.positions = nn.Embedding(max_len, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, codebook + 1)  # the speech tokens and the end

    def text_tokens(self, ids: list[int], language: str) -> list[int]:
        """The language tag, then the characters' ids."""
        return [len(CHARACTERS) + 1 + LANGUAGES.index(language)] + list(ids)

    def embed(self, speaker: torch.Tensor, text: list[list[int]], speech: list[list[int]]):
        """Embedded sequences ``[speaker][text][start][speech]``, right-padded: ``(B, L, d)``, the padding mask and
        each item's index of ``[start]``."""
        rows, starts = [], []
        for s, t, z in zip(speaker, text, speech):
            device = s.device
            row = torch.cat([self.speaker(s)[None], self.text_embed(torch.tensor(t, device=device)),
                             self.speech_embed(torch.tensor([self.start] + list(z), device=device))])
            rows.append(row)
            starts.append(1 + len(t))
        length = max(len(r) for r in rows)
        if length > self.max_len:
            raise ValueError(f"a sequence of {length} positions is longer than the model's {self.max_len}")
        x = nn.utils.rnn.pad_sequence(rows, batch_first=True)
        padding = torch.arange(length, device=x.device)[None, :] >= torch.tensor([len(r) for r in rows],
                                                                                 device=x.device)[:, None]
        return x + self.positions.weight[:length], padding, starts

    def logits(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        causal = nn.Transformer.generate_square_subsequent_mask(x.shape[1], device=x.device, dtype=torch.bool)
        return self.head(self.norm(self.blocks(x, mask=causal, src_key_padding_mask=padding, is_causal=True)))

    def forward(self, speaker, text: list[list[int]], speech: list[list[int]]):
        """Cross-entropy of each speech token and of the end, given everything before it."""
        x, padding, starts = self.embed(speaker, text, speech)
        logits = self.logits(x, padding)
        picked, targets = [], []
        for b, (start, z) in enumerate(zip(starts, speech)):
            picked.append(logits[b, start:start + len(z) + 1])
            targets.append(torch.tensor(list(z) + [self.end], device=logits.device))
        picked, targets = torch.cat(picked), torch.cat(targets)
        loss = nn.functional.cross_entropy(picked, targets)
        return loss, {"lm_ce": loss.detach(), "lm_accuracy": (picked.argmax(-1) == targets).float().mean()}

    def extend(self, x: torch.Tensor, cache: list[list]) -> torch.Tensor:
        """The logits of the last of new positions ``x`` ``(1, n, d)`` (embedded, positions added) given the earlier
        positions' keys and values in ``cache`` (one ``[keys, values]`` per layer, empty at first, extended in
        place): the **kv-cache**, which makes each new token cost one position's pass instead of the whole
        sequence's. The same numbers as :meth:`logits` over the whole sequence."""
        for layer, stored in zip(self.blocks.layers, cache):
            x = cached_layer(layer, x, stored)
        return self.head(self.norm(x[:, -1]))

    @torch.no_grad()
    def generate(self, speaker: torch.Tensor, text: list[int], prompt: list[int] = (), min_tokens: int = 1,
                 max_tokens: int = 200, top_k: int = 25, top_p: float = 0.8, window: int = 10,
                 tau_r: float = 0.1, temperature: float = 1.0, generator: torch.Generator | None = None,
                 chunk: int | None = None):
        """Speech tokens after ``prompt`` for ``text`` (the language tag included) in the voice of ``speaker``
        ``(speaker_dim,)``: at least ``min_tokens``, at most ``max_tokens``, each drawn by :func:`ras_sample`
        through the kv-cache (:meth:`extend`). With ``chunk``, yields the new tokens ``chunk`` at a time
        (streaming); otherwise yields them once, at the end."""
        x, _, _ = self.embed(speaker[None], [text], [list(prompt)])
        length, cache = x.shape[1], [[] for _ in self.blocks.layers]
        out, sent = [], 0
        for _ in range(max_tokens):
            if out:  # the last token drawn is the next position
                if length == self.max_len:
                    raise ValueError(f"a sequence of {length + 1} positions is longer than the model's {self.max_len}")
                x = (self.speech_embed.weight[out[-1]] + self.positions.weight[length])[None, None]
                length += 1
            scores = self.extend(x, cache)[0] / temperature
            if len(out) < min_tokens:
                scores[self.end] = -float("inf")
            token = ras_sample(scores, out, top_k, top_p, window, tau_r, generator)
            if token == self.end:
                break
            out.append(token)
            if chunk and len(out) - sent == chunk:
                yield out[sent:]
                sent = len(out)
        if len(out) > sent:
            yield out[sent:]


def cached_layer(layer: nn.TransformerEncoderLayer, x: torch.Tensor, stored: list) -> torch.Tensor:
    """One pre-norm ``nn.TransformerEncoderLayer`` (ReLU, no dropout) on new positions ``x`` ``(1, n, d)``, written
    out: their queries attend to the keys and values in ``stored`` (``[keys, values]``, each ``(1, heads, t, d/heads)``,
    or empty) and to their own, causally; ``stored`` is extended in place with theirs."""
    attention = layer.self_attn
    q, k, v = nn.functional.linear(layer.norm1(x), attention.in_proj_weight, attention.in_proj_bias).chunk(3, -1)
    q, k, v = (t.unflatten(-1, (attention.num_heads, -1)).transpose(1, 2) for t in (q, k, v))
    if stored:
        k, v = torch.cat([stored[0], k], 2), torch.cat([stored[1], v], 2)
    stored[:] = [k, v]
    new, total = q.shape[2], k.shape[2]
    causal = torch.ones(new, total, dtype=torch.bool, device=x.device).tril(total - new)
    heard = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=causal)
    x = x + attention.out_proj(heard.transpose(1, 2).flatten(2))
    return x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))


def nucleus_sample(scores: torch.Tensor, top_k: int = 25, top_p: float = 0.8,
                   generator: torch.Generator | None = None) -> int:
    """One draw from the ``top_k`` most likely entries, cut further to the smallest set whose probability reaches
    ``top_p`` (Holtzman et al. 2020), renormalised."""
    probs, order = scores.softmax(-1).sort(descending=True)
    keep = (probs.cumsum(-1) - probs < top_p)  # an entry is kept while the mass before it is below top_p
    keep[top_k:] = False
    keep[0] = True
    kept = probs * keep
    return int(order[torch.multinomial(kept / kept.sum(), 1, generator=generator)])


def ras_sample(scores: torch.Tensor, history: list[int], top_k: int = 25, top_p: float = 0.8, window: int = 10,
               tau_r: float = 0.1, generator: torch.Generator | None = None) -> int:
    """Repetition-aware sampling (CosyVoice 2): the nucleus's draw, unless it already occurs at least
    ``window × tau_r`` times among the last ``window`` tokens — then one draw from the whole distribution, which
    breaks the loops that nucleus sampling falls into."""
    token = nucleus_sample(scores, top_k, top_p, generator)
    if sum(t == token for t in history[-window:]) >= window * tau_r:
        token = int(torch.multinomial(scores.softmax(-1), 1, generator=generator))
    return token
