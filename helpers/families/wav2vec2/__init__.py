"""The wav2vec 2.0 family (notebook 04; Baevski et al. 2020): the objective written out (:mod:`.objective`), the
architectures, tokenizer and processor (:mod:`.model`), and wav2vec2-mini's pretraining recipe (:mod:`.recipe`)."""
from . import objective
from .model import (PAPER_PARAMETERS, REAL_SIZES, SAMPLE_RATE, ctc_processor, feature_extractor, mini_config,
                    output_frames, receptive_field)
from .recipe import Recipe, build_scratch
