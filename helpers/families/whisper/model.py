"""Whisper plumbing: the real tokenizer built offline, a miniature with the real vocabulary, and a converter
between the openai-whisper and transformers checkpoint formats.

Used by 05. Radford et al. (2022), *Robust Speech Recognition via Large-Scale Weak Supervision*.

- :func:`build_tokenizer` turns the ``multilingual.tiktoken`` asset that openai-whisper ships (byte-level BPE
  ranks) into a transformers ``WhisperTokenizer``: 50 257 text tokens, then ``<|endoftext|>``,
  ``<|startoftranscript|>``, 99 language tokens, the task tokens, ``<|notimestamps|>`` and 1 501 timestamp tokens
  ``<|0.00|>`` … ``<|30.00|>`` — 51 865 ids, exactly those of the released checkpoints.
- :func:`whisper_config` and :func:`generation_config`: the real vocabulary, 30-s context and prompt tokens at any size
  (the miniatures are built by :mod:`.recipe`);
- :func:`to_openai` / :func:`from_openai` convert the same weights between the two implementations, so that
  ``whisper.load_model`` and ``WhisperForConditionalGeneration.from_pretrained`` run one model.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

N_LANGUAGES = 99  # multilingual checkpoints up to large-v2; large-v3 adds Cantonese (100)
REAL_SIZES = {  # the published architectures (Radford et al. 2022, table 1): width, layers, heads
    "tiny": dict(d_model=384, layers=4, heads=6),
    "base": dict(d_model=512, layers=6, heads=8),
    "small": dict(d_model=768, layers=12, heads=12),
    "medium": dict(d_model=1024, layers=24, heads=16),
    "large": dict(d_model=1280, layers=32, heads=20),
}


class _UnactionableGenerateWarnings(logging.Filter):
    """transformers 5.23: ``WhisperForConditionalGeneration.generate`` calls ``GenerationMixin.generate`` with its
    own generation config *and* ``suppress_tokens``/``max_length`` (a workaround in the library, PR #48108), so every
    call logs "Passing `generation_config` together …" and "Both `max_new_tokens` … and `max_length` …" although
    the caller did nothing wrong. Those two messages, and only those, are dropped."""

    NOISE = ("Passing `generation_config` together", "Both `max_new_tokens`", "Both `min_new_tokens`")

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.NOISE)


logging.getLogger("transformers.generation.utils").addFilter(_UnactionableGenerateWarnings())


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters (the alphabet of byte-level BPE vocabularies)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    chars, extra = [], 0
    for b in range(256):
        if b in printable:
            chars.append(chr(b))
        else:
            chars.append(chr(256 + extra))
            extra += 1
    return dict(zip(range(256), chars))


def byte_lengths(tokenizer) -> list[int]:
    """How many bytes of text each token id stands for (0 for special and timestamp tokens): byte-level BPE writes
    one character of its alphabet per byte."""
    return [len(token) if i < tokenizer.eos_token_id else 0
            for i, token in enumerate(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer)))))]


def build_tokenizer(encoding_name: str = "multilingual", n_languages: int = N_LANGUAGES):
    """A Whisper tokenizer as a transformers ``WhisperTokenizer``, built offline from openai-whisper's assets:
    ``"multilingual"`` (51 865 ids) or ``"gpt2"``, the English-only ``*.en`` models' (51 864 ids, GPT-2's BPE).

    tiktoken stores only token ranks; a BPE tokenizer needs merges. Every multi-byte token was created by merging
    two shorter tokens, and BPE applies the merge whose *result* has the lowest rank first — so each way of
    splitting a token into two known tokens becomes a merge with the priority of that token's rank.
    """
    from tokenizers import AddedToken
    from transformers import WhisperTokenizer
    from whisper.tokenizer import get_encoding

    encoding = get_encoding(encoding_name, num_languages=n_languages)
    ranks = encoding._mergeable_ranks
    alphabet = _bytes_to_unicode()

    def text(token: bytes) -> str:
        return "".join(alphabet[b] for b in token)

    vocab = {text(token): rank for token, rank in ranks.items()}
    merges = sorted((rank, ranks[token[:i]], ranks[token[i:]], text(token[:i]), text(token[i:]))
                    for token, rank in ranks.items() for i in range(1, len(token))
                    if token[:i] in ranks and token[i:] in ranks)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=[(left, right) for *_, left, right in merges],
                                 pad_token="<|endoftext|>")  # as the released tokenizers: padding is end-of-text
    specials = sorted(encoding._special_tokens, key=encoding._special_tokens.get)
    timestamps = [t for t in specials if re.fullmatch(r"<\|\d+\.\d\d\|>", t)]
    tokenizer.add_special_tokens({"extra_special_tokens": [AddedToken(t, special=True, normalized=False)
                                                           for t in specials if t not in timestamps]})
    # timestamps are ordinary added tokens: the tokenizer treats ids above the last special one as time
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in timestamps])
    if len(tokenizer) != encoding.n_vocab:
        raise RuntimeError(f"built {len(tokenizer)} tokens, expected {encoding.n_vocab}")
    return tokenizer


def save_processor(directory, tokenizer, n_mels: int = 80) -> None:
    """Saves a ``WhisperProcessor`` (the real feature extractor and ``tokenizer``) into ``directory``, with
    ``tokenizer.json`` written compactly: transformers indents it (6.2 MB for the multilingual vocabulary, each merge
    over four lines); without indentation and with each merge as "a b" it is 2.3 MB, and loads the same."""
    import json

    from transformers import WhisperFeatureExtractor, WhisperProcessor

    WhisperProcessor(WhisperFeatureExtractor(feature_size=n_mels), tokenizer).save_pretrained(directory)
    path = Path(directory) / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def generation_config(tokenizer, config):
    """A ``GenerationConfig`` that knows the prompt tokens, as the released checkpoints' configs do."""
    from transformers import GenerationConfig
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    ids = tokenizer.convert_tokens_to_ids
    generation = GenerationConfig.from_model_config(config)
    generation.is_multilingual = len(tokenizer) > 51_864  # English-only (*.en) vocabularies have 51 864 ids
    if generation.is_multilingual:
        generation.lang_to_id = {f"<|{code}|>": ids(f"<|{code}|>") for code in list(LANGUAGES)[:N_LANGUAGES]}
        generation.task_to_id = {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")}
    generation.no_timestamps_token_id = ids("<|notimestamps|>")
    generation.prev_sot_token_id = ids("<|startofprev|>")
    generation.decoder_start_token_id = ids("<|startoftranscript|>")
    generation.max_initial_timestamp_index = 50
    generation.begin_suppress_tokens = [ids("Ġ"), tokenizer.eos_token_id]
    generation.suppress_tokens = []
    generation.max_length = config.max_target_positions
    generation._from_model_config = False  # or from_pretrained rebuilds it from the model config, losing the above
    return generation


def whisper_config(n_mels: int = 80, tokenizer=None, **sizes):
    """A ``WhisperConfig`` with the real vocabulary, 30-s audio context, and the given sizes (``d_model``,
    ``encoder_layers``, ``encoder_attention_heads``, ``encoder_ffn_dim`` and the decoder's). The vocabulary and special
    ids are the multilingual ones, or ``tokenizer``'s (an English-only one has 51 864 ids, every special one lower)."""
    from transformers import WhisperConfig

    vocabulary, start, end = 51_865, 50_258, 50_257
    if tokenizer is not None:
        vocabulary, start, end = (len(tokenizer), tokenizer.convert_tokens_to_ids("<|startoftranscript|>"),
                                  tokenizer.eos_token_id)
    return WhisperConfig(vocab_size=vocabulary, num_mel_bins=n_mels, max_source_positions=1500,
                         max_target_positions=448, decoder_start_token_id=start, pad_token_id=end,
                         bos_token_id=end, eos_token_id=end, dropout=0.0, **sizes)


# transformers parameter names → openai-whisper parameter names (the blocks' names differ, the tensors do not)
_RENAMES = [
    (r"^model\.encoder\.embed_positions\.weight$", "encoder.positional_embedding"),
    (r"^model\.decoder\.embed_positions\.weight$", "decoder.positional_embedding"),
    (r"^model\.decoder\.embed_tokens\.", "decoder.token_embedding."),
    (r"^model\.encoder\.layer_norm\.", "encoder.ln_post."),
    (r"^model\.decoder\.layer_norm\.", "decoder.ln."),
    (r"^model\.(encoder|decoder)\.layers\.", r"\1.blocks."),
    (r"^model\.encoder\.conv", "encoder.conv"),
    (r"\.self_attn_layer_norm\.", ".attn_ln."),
    (r"\.encoder_attn_layer_norm\.", ".cross_attn_ln."),
    (r"\.final_layer_norm\.", ".mlp_ln."),
    (r"\.self_attn\.", ".attn."),
    (r"\.encoder_attn\.", ".cross_attn."),
    (r"\.q_proj\.", ".query."), (r"\.k_proj\.", ".key."), (r"\.v_proj\.", ".value."), (r"\.out_proj\.", ".out."),
    (r"\.fc1\.", ".mlp.0."), (r"\.fc2\.", ".mlp.2."),
]


def _openai_name(name: str) -> str:
    for pattern, replacement in _RENAMES:
        name = re.sub(pattern, replacement, name)
    return name


def to_openai(model) -> dict:
    """A transformers ``WhisperForConditionalGeneration`` as an openai-whisper checkpoint
    ``{"dims": ..., "model_state_dict": ...}`` (save it with ``torch.save``; load with ``whisper.load_model``)."""
    c = model.config
    if not c.encoder_ffn_dim == c.decoder_ffn_dim == 4 * c.d_model:
        raise ValueError(f"openai-whisper's Whisper has feed-forward layers 4 × d_model wide; this model's are "
                         f"{c.encoder_ffn_dim}/{c.decoder_ffn_dim} for d_model {c.d_model}")
    dims = dict(n_mels=c.num_mel_bins, n_vocab=c.vocab_size, n_audio_ctx=c.max_source_positions,
                n_audio_state=c.d_model, n_audio_head=c.encoder_attention_heads, n_audio_layer=c.encoder_layers,
                n_text_ctx=c.max_target_positions, n_text_state=c.d_model, n_text_head=c.decoder_attention_heads,
                n_text_layer=c.decoder_layers)
    state = {_openai_name(k): v.detach().clone() for k, v in model.state_dict().items() if k != "proj_out.weight"}
    return {"dims": dims, "model_state_dict": state}


def from_openai(checkpoint: dict):
    """An openai-whisper checkpoint as a transformers ``WhisperForConditionalGeneration`` (same weights)."""
    from transformers import WhisperForConditionalGeneration

    d = checkpoint["dims"]
    if d["n_audio_state"] != d["n_text_state"]:
        raise ValueError("transformers' Whisper needs the same width in encoder and decoder")
    config = whisper_config(d["n_mels"], d_model=d["n_audio_state"], encoder_layers=d["n_audio_layer"],
                            decoder_layers=d["n_text_layer"], encoder_attention_heads=d["n_audio_head"],
                            decoder_attention_heads=d["n_text_head"], encoder_ffn_dim=4 * d["n_audio_state"],
                            decoder_ffn_dim=4 * d["n_text_state"])
    config.vocab_size, config.max_source_positions, config.max_target_positions = (
        d["n_vocab"], d["n_audio_ctx"], d["n_text_ctx"])
    model = WhisperForConditionalGeneration(config)
    names = {_openai_name(k): k for k in model.state_dict() if k != "proj_out.weight"}
    missing = sorted(set(names) - set(checkpoint["model_state_dict"]))
    if missing:
        raise ValueError(f"the checkpoint lacks {missing[:5]}{'…' if len(missing) > 5 else ''}")
    model.load_state_dict({names[k]: v for k, v in checkpoint["model_state_dict"].items() if k in names},
                          strict=False)
    model.tie_weights()
    return model


def log_mel_batch(audio, n_mels: int = 80, seconds: float = 30.0):
    """Whisper's log-mel features for a batch ``(batch, samples)`` of 16-kHz audio in torch, padded or cut to
    ``seconds`` (30: ``(batch, n_mels, 3000)``), on the audio's device. The same steps as ``WhisperFeatureExtractor`` and
    ``whisper.log_mel_spectrogram`` (section 3 of 05), with the 80-dB floor taken per clip (openai-whisper takes it
    over the whole tensor, which couples the clips of a batch). Used by the whisper-mini recipe."""
    import torch
    import torch.nn.functional as F
    from whisper.audio import mel_filters

    samples = int(seconds * 16_000)
    audio = F.pad(audio, (0, max(0, samples - audio.shape[-1])))[..., :samples]
    window = torch.hann_window(400, device=audio.device)
    power = torch.stft(audio, 400, 160, window=window, return_complex=True)[..., :-1].abs() ** 2
    log_spec = torch.clamp(mel_filters(audio.device, n_mels) @ power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.amax(dim=(-2, -1), keepdim=True) - 8.0)
    return (log_spec + 4.0) / 4.0


def encode_crop(encoder, features, offsets):
    """The encoder on a crop shorter than 30 s whose frames sit at ``offsets`` (one per batch item) in the 30-s
    position table: the steps of ``WhisperEncoder.forward`` (stem, positions, layers, final norm), which itself only
    takes whole 30-s windows. Used by the whisper-mini recipe's first stage."""
    import torch
    import torch.nn.functional as F

    x = F.gelu(encoder.conv2(F.gelu(encoder.conv1(features)))).permute(0, 2, 1)
    positions = offsets[:, None] + torch.arange(x.shape[1], device=x.device)[None, :]
    x = x + encoder.embed_positions.weight[positions]
    for layer in encoder.layers:
        x = layer(x, None)
    return encoder.layer_norm(x)
