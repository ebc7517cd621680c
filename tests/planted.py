"""A planted hub checkpoint: the real config of a released model (dimensions, vocabulary, special tokens, processor
files, generation config) with random weights, written into a Hugging Face cache in the hub's layout
(``hub/models--org--name/refs/main`` and ``snapshots/<hash>/``). A notebook run with ``HF_HOME`` pointing there,
``HF_HUB_OFFLINE=1`` and that hub id proves the real-checkpoint path runs top to bottom without any download."""
from pathlib import Path

REAL_WHISPER = {  # the published configs (d_model, layers, heads, vocabulary) and alignment heads of openai/whisper-*
    "openai/whisper-tiny": dict(d_model=384, layers=4, heads=6, encoding="multilingual",
                                alignment_heads=[[2, 2], [3, 0], [3, 2], [3, 3], [3, 4], [3, 5]]),
    "openai/whisper-tiny.en": dict(d_model=384, layers=4, heads=6, encoding="gpt2",
                                   alignment_heads=[[1, 0], [2, 0], [2, 5], [3, 0], [3, 1], [3, 2], [3, 3], [3, 4]]),
}


def snapshot_folder(hf_home: Path, repo: str, revision: str = "0" * 40) -> Path:
    """An empty snapshot folder of ``repo`` in the hub cache under ``hf_home``, with ``refs/main`` pointing at it."""
    folder = Path(hf_home) / "hub" / f"models--{repo.replace('/', '--')}"
    snapshot = folder / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(revision)
    return snapshot


def plant_enhancer(hf_home: Path, repo: str = "someone/mask-enhancer") -> Path:
    """A MaskEnhancer pushed to the hub by a user (``push_to_hub`` writes what ``save_pretrained`` writes): random
    weights of the default size, in the hub cache under ``hf_home``; returns the snapshot."""
    import torch

    from helpers.families.enhancer import MaskEnhancer

    snapshot = snapshot_folder(hf_home, repo)
    torch.manual_seed(0)
    MaskEnhancer().save_pretrained(snapshot)
    return snapshot


def plant_whisper(hf_home: Path, repo: str = "openai/whisper-tiny", revision: str = "0" * 40) -> Path:
    """Writes ``repo``'s real config with random weights into the hub cache under ``hf_home``; returns the snapshot."""
    import torch
    import whisper
    from transformers import WhisperForConditionalGeneration

    from helpers.families.whisper import build_tokenizer, generation_config, save_processor, whisper_config

    sizes = REAL_WHISPER[repo]
    d, layers, heads = sizes["d_model"], sizes["layers"], sizes["heads"]
    snapshot = snapshot_folder(hf_home, repo, revision)
    tokenizer = build_tokenizer(sizes["encoding"])
    multilingual = sizes["encoding"] == "multilingual"
    torch.manual_seed(0)
    config = whisper_config(80, tokenizer, d_model=d, encoder_layers=layers, decoder_layers=layers,
                            encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=4 * d,
                            decoder_ffn_dim=4 * d)
    model = WhisperForConditionalGeneration(config)
    generation = generation_config(tokenizer, config)
    generation.alignment_heads = sizes["alignment_heads"]
    reference = whisper.tokenizer.get_tokenizer(multilingual=multilingual, num_languages=99)
    generation.suppress_tokens = sorted(reference.non_speech_tokens)
    model.generation_config = generation
    model.save_pretrained(snapshot)
    save_processor(snapshot, tokenizer)
    return snapshot


BASE_960H_VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", *"ETAONIHSRDLUMWCFGYPBVK'XJQZ"]  # facebook/wav2vec2-base-960h


def plant_wav2vec2(hf_home: Path, repo: str = "facebook/wav2vec2-base") -> Path:
    """``facebook/wav2vec2-base`` (pretraining checkpoint: ``Wav2Vec2ForPreTraining`` and the feature extractor) or
    ``facebook/wav2vec2-base-960h`` (``Wav2Vec2ForCTC`` with its processor: the 32-symbol upper-case character
    vocabulary) with the real config (transformers' Wav2Vec2Config defaults are the BASE model's) and random weights,
    in the hub cache under ``hf_home``; returns the snapshot."""
    import json

    import torch
    from transformers import (Wav2Vec2Config, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC,
                              Wav2Vec2ForPreTraining, Wav2Vec2Processor)

    snapshot = snapshot_folder(hf_home, repo)
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16_000, padding_value=0.0, do_normalize=True,
                                         return_attention_mask=False)
    torch.manual_seed(0)
    if repo.endswith("-960h"):
        (snapshot / "vocab.json").write_text(json.dumps({s: i for i, s in enumerate(BASE_960H_VOCAB)}))
        tokenizer = Wav2Vec2CTCTokenizer(str(snapshot / "vocab.json"), bos_token="<s>", eos_token="</s>",
                                         unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|",
                                         do_lower_case=False)
        Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(snapshot)
        Wav2Vec2ForCTC(Wav2Vec2Config(architectures=["Wav2Vec2ForCTC"], vocab_size=32)).save_pretrained(snapshot)
    else:
        extractor.save_pretrained(snapshot)
        Wav2Vec2ForPreTraining(Wav2Vec2Config(architectures=["Wav2Vec2ForPreTraining"])).save_pretrained(snapshot)
    return snapshot


SENSEVOICE_TOKENS = [  # the task tokens of FunAudioLLM/SenseVoiceSmall's vocabulary (funasr's postprocess_utils)
    "<|zh|>", "<|en|>", "<|yue|>", "<|ja|>", "<|ko|>", "<|nospeech|>", "<|HAPPY|>", "<|SAD|>", "<|ANGRY|>",
    "<|NEUTRAL|>", "<|FEARFUL|>", "<|DISGUSTED|>", "<|SURPRISED|>", "<|EMO_UNKNOWN|>", "<|Speech|>", "<|BGM|>",
    "<|Applause|>", "<|Laughter|>", "<|Cry|>", "<|Sneeze|>", "<|Breath|>", "<|Cough|>", "<|Event_UNK|>",
    "<|withitn|>", "<|woitn|>"]


def plant_sensevoice(hf_home: Path, repo: str = "FunAudioLLM/SenseVoiceSmall") -> Path:
    """``FunAudioLLM/SenseVoiceSmall`` as the hub holds it — ``configuration.json`` naming its files, ``config.yaml``
    with the real sections and encoder width (512, 4 heads, FFN 2048), ``model.pt``, ``am.mvn`` and the sentencepiece
    model under its real name — with random weights, 2 + 1 SAN-M blocks instead of 50 + 20 (a 1-GB file otherwise)
    and a small BPE vocabulary with the real task tokens (the real one has 25 055 pieces), in the hub cache under
    ``hf_home``; returns the snapshot."""
    import io
    import json

    import numpy as np
    import sentencepiece as spm
    import torch
    import yaml

    from helpers.data.corpus import DIGITS, SENTENCE_PARTS
    from helpers.families.sensevoice import frontend
    from helpers.families.sensevoice import model as sv

    snapshot = snapshot_folder(hf_home, repo)
    config = sv.mini_config(**{**sv.REAL_SMALL, "blocks": 2, "tp_blocks": 1})
    del config["frontend_conf"]["dither"]  # the real config leaves it out: funasr's default, 1.0, dithers
    (snapshot / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (snapshot / "configuration.json").write_text(json.dumps({
        "framework": "pytorch", "task": "auto-speech-recognition", "model": {"type": "funasr"},
        "file_path_metas": {"init_param": "model.pt", "config": "config.yaml",
                            "tokenizer_conf": {"bpemodel": "chn_jpn_yue_eng_ko_spectok.bpe.model"},
                            "frontend_conf": {"cmvn_file": "am.mvn"}}}))
    texts = [" ".join(words) for words in DIGITS.values()] + [f"{v} {o}" for verbs, objects in SENTENCE_PARTS.values()
                                                              for v in verbs for o in objects]
    bpe = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=bpe, model_type="bpe", vocab_size=200,
                                   character_coverage=1.0, user_defined_symbols=SENSEVOICE_TOKENS,
                                   hard_vocab_limit=False, num_threads=1, minloglevel=2)
    (snapshot / "chn_jpn_yue_eng_ko_spectok.bpe.model").write_bytes(bpe.getvalue())
    frontend.write_am_mvn(snapshot / "am.mvn", np.zeros(560, np.float32) + 10, np.full(560, 4.0, np.float32))
    vocabulary = spm.SentencePieceProcessor(model_file=str(snapshot / "chn_jpn_yue_eng_ko_spectok.bpe.model"))
    torch.manual_seed(0)
    sv.save_weights(sv.instantiate(config, vocabulary.get_piece_size()), snapshot)
    return snapshot


def plant_audioldm(hf_home: Path, repo: str = "cvssp/audioldm-s-full-v2") -> Path:
    """``cvssp/audioldm-s-full-v2`` as the hub holds it — ``model_index.json`` and one folder per component, written by
    ``AudioLDMPipeline.save_pretrained`` — with the real structure (CLAP text tower with RoBERTa's vocabulary size,
    positions and 512-wide projection; a 3-block KL-VAE with 8 latent channels; a 4-level UNet conditioned through a
    512-wide class-embedding projection; a 64-band 16-kHz SpeechT5HifiGan upsampling 5·4·2·2·2; AudioLDM's DDIM) and
    random weights at small widths (the real pipeline is 1.6 GB in float32). Its tokenizer is a byte-level BPE trained
    on our captions in RoBERTa's format with RoBERTa's length, 512 (the real vocabulary cannot be had offline).
    Returns the snapshot."""
    import tempfile

    import torch
    from diffusers import AudioLDMPipeline, AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import ClapTextConfig, ClapTextModelWithProjection, SpeechT5HifiGan, SpeechT5HifiGanConfig

    from helpers.data.sounds import caption, combinations
    from helpers.families.audioldm import model as M

    snapshot = snapshot_folder(hf_home, repo)
    tokenizer = M.train_tokenizer([caption(*c) for c in combinations()], tempfile.mkdtemp())
    tokenizer.model_max_length = 512
    real = M.REAL_S
    text = ClapTextConfig(**{**real["text_encoder"], "hidden_size": 64, "num_hidden_layers": 2,
                             "num_attention_heads": 4, "intermediate_size": 256})
    widths = (32, 32, 64, 64)
    torch.manual_seed(0)
    with M.quiet():
        pipeline = AudioLDMPipeline(
            vae=AutoencoderKL(**{**real["vae"], "block_out_channels": (32, 32, 64), "layers_per_block": 1}),
            text_encoder=ClapTextModelWithProjection(text), tokenizer=tokenizer,
            unet=UNet2DConditionModel(**{**real["unet"], "block_out_channels": widths, "cross_attention_dim": widths,
                                         "layers_per_block": 1}),
            vocoder=SpeechT5HifiGan(SpeechT5HifiGanConfig(**{**real["vocoder"], "upsample_initial_channel": 64,
                                                             "resblock_kernel_sizes": [3],
                                                             "resblock_dilation_sizes": [[1, 3, 5]]})),
            scheduler=DDIMScheduler(**M.SCHEDULER))
    M.save(pipeline, snapshot)
    return snapshot


def plant_cosyvoice(hf_home: Path, repo: str = "someone/cosyvoice-mini") -> Path:
    """A CosyVoiceMini pushed to the hub by a user (``push_to_hub`` writes what ``save_pretrained`` writes): random
    weights of the zoo model's size and its named voices, in the hub cache under ``hf_home``; returns the snapshot.
    (The real CosyVoice cannot be planted: its code is not installable here — notebook 07, section 1.)"""
    from helpers.families.cosyvoice import recipe

    snapshot = snapshot_folder(hf_home, repo)
    recipe.build_scratch(snapshot)
    return snapshot


def plant_musicgen(hf_home: Path, repo: str = "facebook/musicgen-small") -> Path:
    """``facebook/musicgen-small`` as the hub holds it — ``MusicgenForConditionalGeneration.save_pretrained`` plus the
    ``MusicgenProcessor`` files — with the real structure (a T5 text encoder with T5's vocabulary size; EnCodec at
    32 kHz, hop 8·5·4·4 = 640 samples, 4 codebooks of 2048 at 2.2 kbit/s; a decoder over 4 codebooks of 2048 codes,
    pad and BOS 2048; its generation config) and random weights at small widths (the real model is 2.4 GB in float32).
    Its tokenizer is our word-level sentencepiece vocabulary (the real one cannot be had offline). Returns the
    snapshot."""
    import tempfile

    import torch
    from transformers import EncodecFeatureExtractor, MusicgenProcessor

    from helpers.data.music import every_caption
    from helpers.families.musicgen import codec as C
    from helpers.families.musicgen import model as M

    snapshot = snapshot_folder(hf_home, repo)
    tokenizer = M.train_tokenizer(every_caption(), tempfile.mkdtemp())
    codec = C.build(sampling_rate=32_000, upsampling_ratios=[8, 5, 4, 4], codebook_size=2048, target_bandwidths=[2.2],
                    num_filters=4, hidden_size=16, num_lstm_layers=2, use_conv_shortcut=False)
    torch.manual_seed(0)
    model, _ = M.build(tokenizer, codec, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, ffn_dim=64,
                       max_position_embeddings=2048, activation_dropout=0.0)
    model.text_encoder.resize_token_embeddings(32_128, mean_resizing=False)
    model.config.text_encoder.vocab_size = 32_128
    model.generation_config.update(max_length=1500, top_k=250, guidance_scale=3.0, do_sample=True)
    processor = MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=32_000),
                                  tokenizer=tokenizer)
    M.save(model, None, processor, snapshot, dtype=torch.float32)
    return snapshot
