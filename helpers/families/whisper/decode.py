"""Whisper decoding written out: greedy and sampled decoding, the compression-ratio check, temperature fallback,
and a recorder of the decoder's cross-attention. Used by 05."""
from __future__ import annotations


def decode(model, input_features, prompt: list[int], temperature: float = 0.0, generator=None,
           max_new_tokens: int = 40, eot: int = 50_257, suppress_at_start: tuple[int, ...] = (220, 50_257)):
    """Decoding written out: run the encoder once, then feed the growing token sequence to the decoder and append the
    next token until ``<|endoftext|>`` — the most likely one at ``temperature`` 0 (greedy), else one sampled from
    softmax(logits / temperature) with ``generator``. Returns the new tokens and their log-probabilities (at T = 1).

    Like both libraries, the first token may not be a bare space (220) or end-of-text (``suppress_at_start``).
    No key/value cache, so each step recomputes the whole prefix: clear, and fine for short outputs. Used by 05
    (greedy decoding checked against both libraries, temperature fallback).
    """
    import torch

    with torch.no_grad():
        encoder_states = model.model.encoder(input_features).last_hidden_state
        tokens, log_probs = list(prompt), []
        for step_index in range(max_new_tokens):
            hidden = model.model.decoder(input_ids=torch.tensor([tokens], device=encoder_states.device),
                                         encoder_hidden_states=encoder_states)
            logits = model.proj_out(hidden.last_hidden_state[0, -1]).cpu()
            step = logits.log_softmax(-1)
            if step_index == 0:
                logits[list(suppress_at_start)] = -float("inf")
            token = int(logits.argmax()) if temperature == 0 else int(
                torch.multinomial((logits / temperature).softmax(-1), 1, generator=generator))
            tokens.append(token)
            log_probs.append(float(step[token]))
            if token == eot:
                break
    return tokens[len(prompt):], log_probs


def compression_ratio(text: str) -> float:
    """len(text) / len(zlib(text)): high for repetitive output ("one one one one …"), Whisper's loop detector."""
    import zlib

    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def decode_with_fallback(sample, temperatures=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0), compression_ratio_threshold=2.4,
                         logprob_threshold=-1.0):
    """Whisper's temperature fallback: decode at each temperature in turn until the result is neither too
    repetitive (compression ratio above the threshold) nor too unlikely (mean log-probability below it).

    ``sample(temperature)`` returns ``(text, mean_logprob)``. Returns the accepted (or last) attempt and the list of
    all attempts as ``(temperature, text, compression_ratio, mean_logprob, accepted)``.
    """
    attempts = []
    for temperature in temperatures:
        text, mean_logprob = sample(temperature)
        ratio = compression_ratio(text)
        accepted = ratio <= compression_ratio_threshold and mean_logprob >= logprob_threshold
        attempts.append((temperature, text, ratio, mean_logprob, accepted))
        if accepted:
            break
    return attempts[-1], attempts


class CrossAttentionRecorder:
    """Records the decoder's cross-attention weights on every forward pass inside a ``with`` block (``.weights``:
    one tensor ``(batch, heads, queries, frames)`` per layer). Inside the block the decoder's cross-attention
    layers compute attention explicitly ("eager"), since the fused SDPA kernel does not return weights; the encoder
    keeps SDPA. Used by 05 (guided attention, attention maps)."""

    def __init__(self, model):
        self.layers = [layer.encoder_attn for layer in model.model.decoder.layers]
        self.weights = []
        self._saved = []

    def __enter__(self):
        import copy

        for layer in self.layers:
            eager = copy.copy(layer.config)
            eager._attn_implementation = "eager"
            self._saved.append((layer, layer.config, layer.register_forward_hook(self._record)))
            layer.config = eager
        return self

    def __exit__(self, *exc):
        for layer, config, handle in self._saved:
            layer.config = config
            handle.remove()
        self._saved.clear()
        return False

    def _record(self, _module, _inputs, outputs):
        self.weights.append(outputs[1])

    def mean(self):
        """The recorded attention averaged over layers and heads, ``(batch, queries, frames)``; then cleared."""
        import torch

        averaged = torch.stack(self.weights).mean(dim=(0, 2))
        self.weights.clear()
        return averaged
