"""MusicGen (notebook 09): a neural codec with residual vector quantization (:mod:`.rvq`, :mod:`.codec`), the
codebook interleaving patterns (:mod:`.patterns`), a language model over the codes conditioned on text and melody
(:mod:`.model`), the zoo recipe of musicgen-mini (:mod:`.recipe`) and the chroma-based judges (:mod:`.evaluate`)."""
