"""A SenseVoice folder in funasr's own format, so that the miniature loads exactly as ``iic/SenseVoiceSmall`` does
(notebook 06): ``config.yaml`` (the model, encoder, tokenizer and front-end sections of the real one, at miniature
sizes), ``model.pt`` (a state dict), ``bpe.model`` (a sentencepiece BPE vocabulary with the task tokens as single
pieces) and ``am.mvn`` (global CMVN in Kaldi's text format).

funasr 1.4.16 gotchas handled here, in one place: ``SenseVoiceSmall`` hard-codes the special-token ids of the real
25 055-piece vocabulary in ``lid_int_dict`` and ``textnorm_int_dict`` (used when training), so a miniature sets them
from its own vocabulary (:func:`set_task_ids`); importing funasr prints a notice about ffmpeg and ``AutoModel`` logs
warnings and a progress bar, all silenced by :func:`quiet`; ``AutoModel`` checks PyPI for updates unless told not to.
"""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np

from . import frontend
from .data import EVENTS, ITN, LANGUAGES, STYLES

TASK_TOKENS = ([f"<|{x}|>" for x in LANGUAGES] + [f"<|{x}|>" for x in STYLES] + [f"<|{x}|>" for x in EVENTS]
               + [f"<|{x}|>" for x in ITN])
LANGUAGE_QUERY = {"zh": 3, "en": 4}  # rows of the model's query embedding, as in funasr's SenseVoiceSmall.lid_dict
ITN_QUERY = {"withitn": 14, "woitn": 15}  # SenseVoiceSmall.textnorm_dict
FRONTEND = {"fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25, "frame_shift": 10, "lfr_m": 7,
            "lfr_n": 6, "dither": 0.0}


def mini_config(d_model: int = 128, heads: int = 4, ffn: int = 512, blocks: int = 6, tp_blocks: int = 2,
                dropout: float = 0.1) -> dict:
    """``config.yaml`` of a miniature: the real SenseVoiceSmall's sections and encoder type (SAN-M blocks: attention
    with a memory convolution of kernel 11), with width ``d_model`` and ``blocks`` + ``tp_blocks`` layers instead of
    512 and 50 + 20; ``dropout`` (the real model's 0.1) in every place the real config has it."""
    return {
        "model": "SenseVoiceSmall",
        "model_conf": {"length_normalized_loss": True, "sos": 1, "eos": 2, "ignore_id": -1},
        "encoder": "SenseVoiceEncoderSmall",
        "encoder_conf": {"output_size": d_model, "attention_heads": heads, "linear_units": ffn, "num_blocks": blocks,
                         "tp_blocks": tp_blocks, "dropout_rate": dropout, "positional_dropout_rate": dropout,
                         "attention_dropout_rate": dropout, "input_layer": "pe",
                         "pos_enc_class": "SinusoidalPositionEncoder", "normalize_before": True, "kernel_size": 11,
                         "sanm_shfit": 0, "selfattention_layer_type": "sanm"},
        "specaug": "SpecAugLFR",
        "specaug_conf": {"apply_time_warp": False, "time_warp_window": 5, "time_warp_mode": "bicubic",
                         "apply_freq_mask": True, "freq_mask_width_range": [0, 30], "lfr_rate": 6,
                         "num_freq_mask": 1, "apply_time_mask": True, "time_mask_width_range": [0, 12],
                         "num_time_mask": 1},
        "tokenizer": "SentencepiecesTokenizer",
        "tokenizer_conf": {"bpemodel": None, "unk_symbol": "<unk>", "split_with_space": True},
        "frontend": "WavFrontend",
        "frontend_conf": {**FRONTEND, "cmvn_file": None},
    }


@contextlib.contextmanager
def quiet():
    """Silences funasr: its import prints an ffmpeg notice to stdout, ``AutoModel`` logs through ``logging`` (the
    root logger, at WARNING) and tqdm. Everything funasr says is dropped while inside."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(previous)


def train_tokenizer(texts, path, vocab_size: int = 300) -> None:
    """A sentencepiece BPE vocabulary over ``texts`` written to ``path`` (``bpe.model``): ids 0, 1, 2 are ``<unk>``
    (also the CTC blank, as in SenseVoiceSmall), ``<s>``, ``</s>``, then the :data:`TASK_TOKENS`, one piece each.
    Every character the corpus can say is in it, even when ``texts`` (a small sample) miss some."""
    import sentencepiece as spm

    from ...data.corpus import DIGITS, SENTENCE_PARTS

    said = [*DIGITS.values(), *(part for parts in SENTENCE_PARTS.values() for group in parts for part in group)]
    characters = sorted(set("".join("".join(words) for words in said) + "0123456789") - {" "})

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(list(texts)), model_writer=model, model_type="bpe",
                                   vocab_size=vocab_size, character_coverage=1.0, user_defined_symbols=TASK_TOKENS,
                                   hard_vocab_limit=False, num_threads=1, minloglevel=2, split_digits=True,
                                   required_chars="".join(characters))
    Path(path).write_bytes(model.getvalue())


def tokenizer(directory):
    import sentencepiece as spm

    return spm.SentencePieceProcessor(model_file=str(Path(directory) / "bpe.model"))


REAL_SMALL = dict(d_model=512, heads=4, ffn=2048, blocks=50, tp_blocks=20)  # iic/SenseVoiceSmall's config.yaml
REAL_VOCABULARY = 25_055


def instantiate(config: dict, vocab_size: int):
    """funasr's ``SenseVoiceSmall`` from the sections of a ``config.yaml`` (random weights)."""
    with quiet():
        from funasr.models.sense_voice.model import SenseVoiceSmall

    return SenseVoiceSmall(**{k: config[k] for k in ("encoder", "encoder_conf", "specaug", "specaug_conf")},
                           **config["model_conf"], input_size=80 * FRONTEND["lfr_m"], vocab_size=vocab_size)


def build(directory):
    """funasr's ``SenseVoiceSmall`` built from ``directory``'s ``config.yaml`` and ``bpe.model`` (random weights),
    with its task-token ids set from this vocabulary."""
    import yaml

    config = yaml.safe_load((Path(directory) / "config.yaml").read_text())
    sp = tokenizer(directory)
    return set_task_ids(instantiate(config, sp.get_piece_size()), sp)


def set_task_ids(model, sp):
    """Points ``lid_int_dict`` / ``textnorm_int_dict`` (token id → query row, hard-coded in funasr for the real
    vocabulary) at this vocabulary's task tokens, so that training feeds the right language and ITN queries."""
    model.lid_int_dict = {sp.piece_to_id(f"<|{x}|>"): row for x, row in LANGUAGE_QUERY.items()}
    model.textnorm_int_dict = {sp.piece_to_id(f"<|{x}|>"): row for x, row in ITN_QUERY.items()}
    model.emo_dict = {}
    return model


def write_folder(directory, config: dict, texts, clips, vocab_size: int = 300) -> None:
    """A new model folder: ``config.yaml``, ``bpe.model`` trained on ``texts`` and ``am.mvn`` measured on the
    features of ``clips`` (no weights yet: :func:`save_weights`)."""
    import yaml

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    train_tokenizer(texts, directory / "bpe.model", vocab_size)
    frontend.write_am_mvn(directory / "am.mvn",
                          *frontend.cmvn_stats([frontend.stack_frames(frontend.fbank(c)) for c in clips]))


def read_cmvn(directory) -> tuple[np.ndarray, np.ndarray]:
    """``(shift, scale)`` of ``directory/am.mvn`` as funasr reads it."""
    with quiet():
        from funasr.frontends.wav_frontend import load_cmvn

    shift, scale = load_cmvn(str(Path(directory) / "am.mvn")).numpy()
    return shift, scale


def save_weights(model, directory) -> None:
    import torch

    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, Path(directory) / "model.pt")


def load(directory, device: str = "cpu"):
    """``funasr.AutoModel`` on a SenseVoice folder — the real checkpoint's loader — quietly and without an update
    check. Pass a directory: offline, a hub id makes funasr retry ModelScope (resolve it with
    :func:`helpers.zoo.resolve_model` first). funasr 1.4.16's ``AutoModel`` sets torch's thread count for the whole
    process to its ``ncpu`` (default 4): on a 2-core machine that oversubscribes every later torch call (whisper-small
    ran 14x slower after it), so this passes the process's own share, :func:`helpers.core.runtime.cpu_threads`."""
    from ...core.runtime import cpu_threads

    with quiet():
        from funasr import AutoModel

        return AutoModel(model=str(directory), device=device, disable_update=True, disable_pbar=True,
                         disable_log=True, ncpu=cpu_threads())


def transcribe(automodel, clips, itn: bool, language: str = "auto", batch_size: int = 16) -> list[str]:
    """Rich transcriptions of ``clips`` (16 kHz float arrays) through ``AutoModel.generate``: language ``"auto"``
    (or ``"en"``/``"zh"`` to tell the model), ITN on or off (one query for all clips)."""
    outputs = []
    with quiet():
        for start in range(0, len(clips), batch_size):
            results = automodel.generate(input=[np.asarray(c, np.float32) for c in clips[start:start + batch_size]],
                                         language=language, use_itn=itn, batch_size=batch_size)
            outputs += [r["text"] for r in results]
    return outputs
