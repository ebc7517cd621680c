"""The Whisper family (notebook 05): the real tokenizer and miniature builder (:mod:`.model`), decoding written
out (:mod:`.decode`) and the miniature's training recipe (:mod:`.recipe`)."""
from .decode import CrossAttentionRecorder, compression_ratio, decode, decode_with_fallback
from .model import (MINIATURE, N_LANGUAGES, REAL_SIZES, build_miniature, build_tokenizer, from_openai,
                    generation_config, to_openai, whisper_config)
from .recipe import Labeller, Recipe, make_window
