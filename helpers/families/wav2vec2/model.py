"""wav2vec 2.0 plumbing (notebook 04): the real architectures as configs, the feature encoder's arithmetic, the
miniature's config, and the CTC tokenizer and processor that fine-tuning adds — all transformers classes, so that
``from_pretrained`` loads a miniature and ``facebook/wav2vec2-base(-960h)`` through the same calls.
"""
from __future__ import annotations

import json
from pathlib import Path

SAMPLE_RATE = 16_000
REAL_SIZES = {  # Baevski et al. (2020), table 1 (BASE and LARGE), as transformers' configs
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                  feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True, codevector_dim=768,
                  proj_codevector_dim=768),
}
PAPER_PARAMETERS = {"base": 95e6, "large": 317e6}
WORD_DELIMITER = "|"
PAD, UNK = "<pad>", "<unk>"  # the pad token is CTC's blank (id 0), as in facebook/wav2vec2-base-960h


def receptive_field(kernels, strides) -> tuple[int, int]:
    """(receptive field, hop) in samples of a stack of 1-D convolutions: each layer widens the field by
    (kernel − 1) × the hop so far. wav2vec 2.0's encoder (10,3,3,3,3,2,2 / 5,2,2,2,2,2,2): 400 and 320 samples,
    25 ms and 20 ms at 16 kHz."""
    field, hop = 1, 1
    for kernel, stride in zip(kernels, strides, strict=True):
        field += (kernel - 1) * hop
        hop *= stride
    return field, hop


def mini_config(**changes):
    """wav2vec2-mini's architecture: the real feature encoder's kernels and strides (25-ms field, 20-ms hop) with
    64 channels, a 4-layer Transformer of width 128, 2 codebooks of 64 entries, the paper's masking (0.65 × spans
    of 10) and losses; dropouts kept small for a model this size. ``changes`` override any field."""
    from transformers import Wav2Vec2Config

    fields = dict(conv_dim=(64,) * 7, hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=384, num_conv_pos_embeddings=64, num_conv_pos_embedding_groups=8,
                  num_codevector_groups=2, num_codevectors_per_group=64, codevector_dim=64, proj_codevector_dim=64,
                  num_negatives=50, mask_time_prob=0.65, mask_time_length=10, mask_time_min_masks=2,
                  hidden_dropout=0.05, attention_dropout=0.05, activation_dropout=0.0, feat_proj_dropout=0.05,
                  final_dropout=0.0, layerdrop=0.0, vocab_size=32)
    return Wav2Vec2Config(**{**fields, **changes})


def feature_extractor():
    """The raw-waveform front end of the base checkpoints: 16 kHz, zero mean and unit variance per utterance, no
    attention mask (a group-normalised encoder is fed zero-padded batches, as for facebook/wav2vec2-base)."""
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0, do_normalize=True,
                                    return_attention_mask=False)


def ctc_processor(characters: str, directory) -> "transformers.Wav2Vec2Processor":
    """A ``Wav2Vec2Processor`` for fine-tuning on ``characters``: the feature extractor and a
    ``Wav2Vec2CTCTokenizer`` whose vocabulary is ⟨pad⟩ (the blank, id 0), ⟨unk⟩, the word delimiter ``|`` (for the
    space) and the characters, written as ``vocab.json`` into ``directory`` and saved there."""
    from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2Processor

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    symbols = [PAD, UNK, WORD_DELIMITER] + sorted(set(characters) - {" "})
    (directory / "vocab.json").write_text(json.dumps({s: i for i, s in enumerate(symbols)}, ensure_ascii=False))
    tokenizer = Wav2Vec2CTCTokenizer(str(directory / "vocab.json"), unk_token=UNK, pad_token=PAD, bos_token=None,
                                     eos_token=None, word_delimiter_token=WORD_DELIMITER, do_lower_case=False)
    processor = Wav2Vec2Processor(feature_extractor=feature_extractor(), tokenizer=tokenizer)
    processor.save_pretrained(directory)
    return processor


def output_frames(config, samples: int) -> int:
    """Frames the feature encoder makes of ``samples``: each convolution (no padding) keeps
    (n − kernel) // stride + 1 (transformers' ``_get_feat_extract_output_lengths``)."""
    for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
        samples = (samples - kernel) // stride + 1
    return int(samples)
