"""musicgen-mini's model for notebook 09: a real transformers ``MusicgenForConditionalGeneration`` — a T5 text
encoder (its sentencepiece vocabulary trained on our captions), the zoo's EnCodec-style codec (:mod:`.codec`) and
a decoder-only Transformer over the 4 codebooks with the delay pattern, cross-attending to the text — saved with
``save_pretrained`` beside its ``MusicgenProcessor``, so that ``facebook/musicgen-small`` loads through the same
calls.

Melody conditioning is ours: MusicGen-melody (transformers' ``MusicgenMelodyForConditionalGeneration``) puts the
melody's chromagram in front of the decoder's sequence; musicgen-mini adds it to the decoder's input at the time each
note sounds, where the position codes enter (:func:`melody_heard`) — one model for both conditions, the caption in
the cross-attention memory and the melody in the sequence. :class:`MelodyInput` (in ``melody/``) turns the dominant
pitch class of each chroma frame (MusicGen's melody representation: one-hot argmax) into a vector per code frame.
"""
from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from ...core.engine import from_pretrained
from ...signal.features import chroma

TEXT = dict(d_model=128, d_kv=32, d_ff=256, num_layers=2, num_heads=4, relative_attention_num_buckets=16,
            dropout_rate=0.0, feed_forward_proj="relu", pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
DECODER = dict(hidden_size=192, num_hidden_layers=4, num_attention_heads=4, ffn_dim=768, max_position_embeddings=512,
               num_codebooks=4, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, layerdrop=0.0)
MELODY_STRIDE = 4  # one melody frame per 4 code frames: 12.5 a second, as the codec makes 50
GENERATION = dict(do_sample=True, top_k=50, guidance_scale=3.0)


@contextlib.contextmanager
def quiet():
    """transformers 5.23 logs a notice per T5 tokenizer conversion and per MusicGen assembly (the decoder's config
    taken over by the composite one): silenced here, the one place."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logging.disable(previous)


def train_tokenizer(captions, folder, vocab_size: int = 64):
    """A sentencepiece vocabulary of the words of ``captions`` (a word model: our grammar has 28 words, too few for a
    unigram model to keep them whole; a word it never saw becomes ``<unk>``) with T5's special ids (``<pad>`` 0,
    ``</s>`` 1, ``<unk>`` 2), written to ``folder/spiece.model`` and returned as transformers' ``T5TokenizerFast``
    (no sentinel tokens)."""
    import sentencepiece as spm
    from transformers import T5TokenizerFast

    captions = [c for c in captions if isinstance(c, str) and c.strip()]
    if not captions:
        raise ValueError("train_tokenizer needs at least one non-empty caption")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(captions), model_writer=model, model_type="word",
                                   vocab_size=vocab_size, character_coverage=1.0, hard_vocab_limit=False,
                                   pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1, minloglevel=2)
    (folder / "spiece.model").write_bytes(model.getvalue())
    with quiet():  # T5TokenizerFast(vocab_file=...) ignores the file (transformers 5.23): load the folder
        return T5TokenizerFast.from_pretrained(folder, extra_ids=0)


class MelodyInput(nn.Module, PyTorchModelHubMixin):
    """Chroma frames ``(B, F, 12)`` (one-hot dominant pitch class, or zeros: no melody) → vectors ``(B, F·stride,
    width)`` to add to the decoder's input, one per code frame: a learned vector per pitch class, held for the
    ``stride`` code frames of its chroma frame (no bias: zeros, no melody, add nothing)."""

    def __init__(self, width: int = DECODER["hidden_size"], stride: int = MELODY_STRIDE):
        super().__init__()
        self.stride = stride
        self.pitch = nn.Linear(12, width, bias=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.pitch(frames).repeat_interleave(self.stride, dim=1)


@contextlib.contextmanager
def melody_heard(model, melody: MelodyInput, frames: torch.Tensor):
    """Within the block, ``model``'s decoder adds ``melody(frames)`` to its input at each step's time: a forward hook
    on its position embedding, the one module that knows the step (``past_key_values_length``), so that the same hook
    serves training and the kv-cached ``generate``. ``frames``: one row per decoder row (under classifier-free
    guidance, the conditional rows then the unconditional ones); steps past the melody's end hear none."""
    tune = melody(frames)

    def add(module, args, positions):
        steps, past = args[0].shape[-1], (args[1] if len(args) > 1 else 0)
        heard = tune[:, past:past + steps]
        heard = nn.functional.pad(heard, (0, 0, 0, steps - heard.shape[1]))
        return positions.to(heard.dtype)[None] + heard

    handle = model.decoder.model.decoder.embed_positions.register_forward_hook(add)
    try:
        yield
    finally:
        handle.remove()


def melody_frames(audio, sr: int = 16_000, hop_length: int = 320, stride: int = MELODY_STRIDE) -> torch.Tensor:
    """MusicGen's melody condition for each clip of ``audio`` (a list or ``(B, samples)``): the one-hot dominant pitch
    class of its chromagram, every ``stride``-th frame of the codec's frame rate, ``(B, F, 12)``."""
    frames = []
    for y in audio:
        dominant = chroma(np.asarray(y), sr, hop_length=hop_length).argmax(axis=0)[::stride]
        frames.append(np.eye(12, dtype=np.float32)[dominant])
    return torch.tensor(np.stack(frames))


def build(tokenizer, codec, seed: int = 0, **decoder_changes):
    """A random-initialised ``MusicgenForConditionalGeneration`` (text encoder and decoder; the ``codec`` as it is)
    with :data:`TEXT` and :data:`DECODER` sizes, and a random :class:`MelodyInput` beside it."""
    from transformers import (MusicgenDecoderConfig, MusicgenForCausalLM, MusicgenForConditionalGeneration, T5Config,
                              T5EncoderModel)

    torch.manual_seed(seed)
    size = codec.config.codebook_size
    text = T5EncoderModel(T5Config(vocab_size=len(tokenizer), **TEXT))
    decoder = MusicgenForCausalLM(MusicgenDecoderConfig(vocab_size=size, pad_token_id=size, bos_token_id=size,
                                                        decoder_start_token_id=size,
                                                        **{**DECODER, **decoder_changes}))
    with quiet():
        model = MusicgenForConditionalGeneration(text_encoder=text, audio_encoder=codec, decoder=decoder)
    for part in (model.text_encoder, model.decoder):  # assembled, their configs lose it (transformers 5.23)
        part.set_attn_implementation("sdpa")
    model.generation_config.update(decoder_start_token_id=size, pad_token_id=size, bos_token_id=size,
                                   max_length=DECODER["max_position_embeddings"], **GENERATION)
    return model, MelodyInput(decoder.config.hidden_size)


def processor(tokenizer, sr: int = 16_000):
    """The ``MusicgenProcessor`` of the miniature: an ``EncodecFeatureExtractor`` at ``sr`` and the T5 tokenizer."""
    from transformers import EncodecFeatureExtractor, MusicgenProcessor

    return MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=sr),
                             tokenizer=tokenizer)


def save(model, melody: MelodyInput | None, processor_, directory, dtype=torch.float16) -> None:
    """``save_pretrained`` of the model (in ``dtype``), the processor, and the melody input in ``melody/``."""
    directory = Path(directory)
    model.to(dtype).save_pretrained(directory)
    model.to(torch.float32)
    processor_.save_pretrained(directory)
    if melody is not None:
        melody.save_pretrained(directory / "melody")


def load(directory):
    """``(model, processor, melody input or None)`` from a folder of :func:`save` or a real checkpoint (which has no
    ``melody/``), in float32, in eval mode."""
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    directory = Path(directory)
    with quiet():
        model = MusicgenForConditionalGeneration.from_pretrained(directory, dtype=torch.float32).eval()
        processor_ = AutoProcessor.from_pretrained(directory)
    melody = (from_pretrained(MelodyInput, directory / "melody").eval() if (directory / "melody").is_dir()
              else None)
    return model, processor_, melody


def generate(model, processor_, captions: list[str], melody: MelodyInput | None = None, frames=None,
             seconds: float = 2.0, seed: int = 0, batch_size: int = 16, melody_guidance: bool = True,
             **generation) -> np.ndarray:
    """Music for each caption, ``(len(captions), samples)``, through ``model.generate`` in batches whose sampling is
    seeded from (seed, batch): the same captions give the same clips. With ``frames`` (one-hot melody frames
    ``(len(captions), F, 12)``) the decoder also hears the melody (:func:`melody_heard`), and classifier-free guidance
    contrasts caption and melody with the caption alone (``melody_guidance``, the default: guidance on the melody, as
    InstructPix2Pix guides each of its conditions) or with neither (transformers' contrast). ``generation``:
    ``guidance_scale``, ``top_k``, ``do_sample``… (default: the model's generation config)."""
    from transformers.modeling_outputs import BaseModelOutput

    frame_rate = model.config.audio_encoder.frame_rate
    steps = int(round(seconds * frame_rate)) + model.decoder.config.num_codebooks - 1
    longest = (model.decoder.config.max_position_embeddings - model.decoder.config.num_codebooks) / frame_rate
    if not 1 / frame_rate <= seconds <= longest:
        raise ValueError(f"seconds={seconds!r}: this model generates between {1 / frame_rate:g} and {longest:.2f} s "
                         f"(its decoder has {model.decoder.config.max_position_embeddings} positions)")
    if frames is not None and melody is None:
        raise ValueError("melody frames were given, but this checkpoint has no melody input (a real MusicGen): "
                         "pass frames=None")
    scale = generation.get("guidance_scale", model.generation_config.guidance_scale)
    out = []
    for b, start in enumerate(range(0, len(captions), batch_size)):
        inputs = processor_(text=list(captions[start:start + batch_size]), padding=True, return_tensors="pt").to(
            model.device)
        torch.manual_seed(seed * 10_000 + b)
        guided = scale is not None and scale > 1
        with contextlib.ExitStack() as stack:
            if frames is not None:
                tune = torch.as_tensor(frames[start:start + batch_size]).to(model.device)
                if guided:  # transformers' generate puts the unconditional rows second
                    tune = torch.cat([tune, torch.zeros_like(tune)])
                stack.enter_context(melody_heard(model, melody, tune))
            if frames is not None and guided and melody_guidance:  # the unconditional rows keep the caption
                with torch.no_grad():
                    states = model.text_encoder(**inputs).last_hidden_state
                audio = model.generate(inputs.input_ids, attention_mask=inputs.attention_mask.repeat(2, 1),
                                       encoder_outputs=BaseModelOutput(last_hidden_state=states.repeat(2, 1, 1)),
                                       max_new_tokens=steps, **generation)
            else:
                audio = model.generate(**inputs, max_new_tokens=steps, **generation)
        out.append(audio[:, 0, : int(seconds * model.config.audio_encoder.sampling_rate)].float().cpu().numpy())
    return np.concatenate(out)
