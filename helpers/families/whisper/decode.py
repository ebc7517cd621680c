"""Whisper decoding written out: greedy and sampled decoding, the compression-ratio check, temperature fallback,
and a recorder of the decoder's cross-attention. Used by 05."""
from __future__ import annotations


def _suppressed(model) -> tuple[list[int], list[int]]:
    """The tokens a Whisper may never write (``suppress_tokens``) and those it may not start with
    (``begin_suppress_tokens``: a bare space, end-of-text), from its generation config: checkpoints differ."""
    config = model.generation_config
    return list(config.suppress_tokens or []), list(config.begin_suppress_tokens or [])


def decode(model, input_features, prompt: list[int], temperature: float = 0.0, generator=None,
           max_new_tokens: int = 224):
    """Decoding written out, with a key/value cache: run the encoder once, feed the prompt to the decoder, then one
    token at a time — the most likely one at ``temperature`` 0 (greedy), else one sampled from softmax(logits /
    temperature) with ``generator`` — until end-of-text. The cache keeps every layer's keys and values of the tokens
    already seen, so each step computes one position instead of the whole prefix. Returns the new tokens and their
    log-probabilities (at T = 1). Used by 05 (checked against both libraries, and by temperature fallback)."""
    import torch

    eot = model.generation_config.eos_token_id
    never, not_first = _suppressed(model)
    with torch.no_grad():
        states = model.model.encoder(input_features).last_hidden_state
        out = model.model.decoder(input_ids=torch.tensor([prompt], device=states.device),
                                  encoder_hidden_states=states, use_cache=True)
        tokens, log_probs = [], []
        for step_index in range(max_new_tokens):
            logits = model.proj_out(out.last_hidden_state[0, -1]).float().cpu()
            step = logits.log_softmax(-1)
            logits[never + (not_first if step_index == 0 else [])] = -float("inf")
            token = int(logits.argmax()) if temperature == 0 else int(
                torch.multinomial((logits / temperature).softmax(-1), 1, generator=generator))
            tokens.append(token)
            log_probs.append(float(step[token]))
            if token == eot:
                break
            out = model.model.decoder(input_ids=torch.tensor([[token]], device=states.device),
                                      encoder_hidden_states=states, past_key_values=out.past_key_values,
                                      use_cache=True)
    return tokens, log_probs


def beam_search(model, input_features, prompt: list[int], beam_size: int = 4, max_new_tokens: int = 224,
                length_penalty: float = 1.0) -> list[int]:
    """Beam search written out: keep the ``beam_size`` most likely partial transcripts; at each step extend each by
    its ``2 × beam_size`` best next tokens and keep the best ``beam_size`` of all those; a candidate ending in
    end-of-text among them is set aside as finished, scored by its log-probability ÷ its length^``length_penalty``.
    Stops when ``beam_size`` transcripts are finished; returns the best one's tokens. (transformers' beam search,
    without its cache: every step recomputes the beams' prefixes, fine for short clips.)"""
    import torch

    eot = model.generation_config.eos_token_id
    never, not_first = _suppressed(model)
    with torch.no_grad():
        states = model.model.encoder(input_features).last_hidden_state
        beams, finished = [(list(prompt), 0.0)], []
        for step_index in range(max_new_tokens):
            inputs = torch.tensor([tokens for tokens, _ in beams], device=states.device)
            hidden = model.model.decoder(input_ids=inputs,
                                         encoder_hidden_states=states.expand(len(beams), -1, -1)).last_hidden_state
            log_probs = model.proj_out(hidden[:, -1]).float().log_softmax(-1).cpu()
            log_probs[:, never + (not_first if step_index == 0 else [])] = -float("inf")
            candidates = []
            for (tokens, score), row in zip(beams, log_probs):
                top = row.topk(2 * beam_size)
                candidates += [(score + float(lp), tokens, int(t)) for lp, t in zip(top.values, top.indices)]
            candidates.sort(key=lambda c: -c[0])
            beams = []
            for rank, (score, tokens, token) in enumerate(candidates):
                if token == eot:
                    if rank < beam_size:
                        generated = len(tokens) - len(prompt) + 1
                        finished.append((score / generated ** length_penalty, tokens[len(prompt):] + [eot]))
                else:
                    beams.append((tokens + [token], score))
                if len(beams) == beam_size:
                    break
            if len(finished) >= beam_size:
                break
    if not finished:  # the length limit came first: the best running beam
        return beams[0][0][len(prompt):]
    return max(finished)[1]


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
