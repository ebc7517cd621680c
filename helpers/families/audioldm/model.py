"""The AudioLDM miniature (notebook 08): a real diffusers ``AudioLDMPipeline`` built from tiny configs — CLAP's text
tower (``ClapTextModelWithProjection``) with a RoBERTa-style BPE tokenizer trained on our captions, a ``AutoencoderKL``
over log-mel "images", a ``UNet2DConditionModel`` conditioned on the CLAP embedding through its class-embedding
projection (as AudioLDM is), a ``SpeechT5HifiGan`` vocoder and AudioLDM's DDIM scheduler — saved and loaded with
``save_pretrained`` / ``from_pretrained``, so that ``cvssp/audioldm-s-full-v2`` runs through the same calls.

The mel is the packaged HiFi-GAN's (:data:`helpers.judges.VOCODER_MEL`: 16 kHz, 80 bands, one frame per 10 ms), so
that the real vocoder (:func:`helpers.families.vocoder.packaged`) can voice what the miniature generates. The real AudioLDM uses
64 bands and its own HiFi-GAN; :data:`REAL_S` holds its published sizes.

diffusers 0.42.1 gotcha handled here, in one place (:func:`quiet`): ``AudioLDMPipeline`` is deprecated since
diffusers 0.33 and logs a warning each time one is built; loading and saving draw progress bars.
"""
from __future__ import annotations

from pathlib import Path

from ...core.quiet import quiet_hub
from ...judges import VOCODER_MEL

SCHEDULER = dict(num_train_timesteps=1000, beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear",
                 clip_sample=False, set_alpha_to_one=False, steps_offset=1)  # cvssp/audioldm-s-full-v2's
MAX_CAPTION_TOKENS = 16
CLIP_FRAMES = 128  # 1.28 s of mel frames: the clips of helpers.data.sounds
CLIP_SECONDS = CLIP_FRAMES * VOCODER_MEL["hop_length"] / VOCODER_MEL["sample_rate"]
MINI = dict(text_width=64, text_layers=2, text_heads=4, embedding=32, vae_channels=(16, 32, 64), latent_channels=8,
            unet_channels=(48, 96), vocoder_channels=64)
REAL_S = {  # the published component configs of cvssp/audioldm-s-full-v2 (the paper's AudioLDM-S: 181 M in its LDM)
    "text_encoder": dict(vocab_size=50265, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                         intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, projection_dim=512,
                         pad_token_id=1, bos_token_id=0, eos_token_id=2),
    "vae": dict(in_channels=1, out_channels=1, latent_channels=8, block_out_channels=(128, 256, 512),
                down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
                layers_per_block=2, norm_num_groups=32, sample_size=512, scaling_factor=0.9227914),
    "unet": dict(sample_size=128, in_channels=8, out_channels=8, block_out_channels=(128, 256, 384, 640),
                 down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                   "CrossAttnDownBlock2D"),
                 up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                 layers_per_block=2, attention_head_dim=8, cross_attention_dim=(128, 256, 384, 640),
                 class_embed_type="simple_projection", projection_class_embeddings_input_dim=512,
                 class_embeddings_concat=True),
    "vocoder": dict(model_in_dim=64, sampling_rate=16000, upsample_initial_channel=1024,
                    upsample_rates=[5, 4, 2, 2, 2], upsample_kernel_sizes=[16, 16, 8, 4, 4],
                    resblock_kernel_sizes=[3, 7, 11], resblock_dilation_sizes=[[1, 3, 5]] * 3,
                    normalize_before=False),
}


def quiet():
    """Silences diffusers 0.42.1 and transformers while inside: the deprecation warning every ``AudioLDMPipeline``
    logs when built (it still works: it is the pipeline of the AudioLDM checkpoints), and the progress bars of
    loading and saving."""
    return quiet_hub("diffusers")


def train_tokenizer(captions, folder, vocab_size: int = 512):
    """A byte-level BPE vocabulary over ``captions`` in RoBERTa's format (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2 — the
    real CLAP text tower's tokenizer is RoBERTa's), written to ``folder`` and returned as ``RobertaTokenizerFast``
    (captions up to :data:`MAX_CAPTION_TOKENS` tokens)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    captions = [c for c in captions if isinstance(c, str) and c.strip()]
    if not captions:
        raise ValueError("train_tokenizer needs at least one non-empty caption")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(captions, vocab_size=vocab_size, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(folder))
    with quiet():
        return RobertaTokenizerFast(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"),
                                    model_max_length=MAX_CAPTION_TOKENS)


def components(tokenizer, text_width: int = 64, text_layers: int = 2, text_heads: int = 4, embedding: int = 32,
               vae_channels=(16, 32, 64), latent_channels: int = 8, unet_channels=(48, 96),
               vocoder_channels: int = 64) -> dict:
    """The six components of a miniature ``AudioLDMPipeline`` with random weights, laid out like AudioLDM-S's: the
    VAE halves the mel's time and frequency at each block after the first (80 bands × 128 frames → 8 latent
    channels × 20 × 32 with three blocks), the UNet's first block is plain and the rest attend, the CLAP
    ``embedding`` conditions the UNet through its class-embedding projection."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import ClapTextConfig, ClapTextModelWithProjection, SpeechT5HifiGan

    from ..vocoder import config as vocoder_config

    text = ClapTextConfig(vocab_size=len(tokenizer), hidden_size=text_width, num_hidden_layers=text_layers,
                          num_attention_heads=text_heads, intermediate_size=4 * text_width,
                          max_position_embeddings=MAX_CAPTION_TOKENS + 2, type_vocab_size=1,
                          projection_dim=embedding, pad_token_id=tokenizer.pad_token_id,
                          bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    vae_channels, unet_channels = tuple(vae_channels), tuple(unet_channels)
    n_vae, n_unet = len(vae_channels), len(unet_channels)
    vae = AutoencoderKL(in_channels=1, out_channels=1, latent_channels=latent_channels,
                        block_out_channels=vae_channels, down_block_types=("DownEncoderBlock2D",) * n_vae,
                        up_block_types=("UpDecoderBlock2D",) * n_vae, layers_per_block=1, norm_num_groups=16,
                        sample_size=CLIP_FRAMES)
    unet = UNet2DConditionModel(
        sample_size=CLIP_FRAMES // 2 ** (n_vae - 1), in_channels=latent_channels, out_channels=latent_channels,
        block_out_channels=unet_channels, down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n_unet - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (n_unet - 1) + ("UpBlock2D",), layers_per_block=1,
        attention_head_dim=8, cross_attention_dim=unet_channels, norm_num_groups=16,
        class_embed_type="simple_projection", projection_class_embeddings_input_dim=embedding,
        class_embeddings_concat=True)
    vocoder = SpeechT5HifiGan(vocoder_config(vocoder_channels))
    return dict(vae=vae, text_encoder=ClapTextModelWithProjection(text), tokenizer=tokenizer, unet=unet,
                vocoder=vocoder, scheduler=DDIMScheduler(**SCHEDULER))


def build(tokenizer, seed: int = 0, **sizes):
    """A miniature ``AudioLDMPipeline`` with random weights (seeded); ``sizes`` override :data:`MINI`. Its networks
    are in eval mode, as ``from_pretrained`` leaves them (no dropout): a recipe switches on what it trains."""
    import torch
    from diffusers import AudioLDMPipeline

    unknown = sorted(set(sizes) - set(MINI))
    if unknown:
        raise ValueError(f"unknown size {unknown}; the sizes are {', '.join(MINI)}")
    torch.manual_seed(seed)
    with quiet():
        parts = components(tokenizer, **{**MINI, **sizes})
        for part in parts.values():
            if isinstance(part, torch.nn.Module):
                part.eval()
        return AudioLDMPipeline(**parts)


def load(folder, **replacements):
    """``AudioLDMPipeline.from_pretrained(folder)`` in float32 (the zoo stores float16) with components replaced
    (``vocoder=vocoder.packaged()``), progress bars off."""
    import torch
    from diffusers import AudioLDMPipeline

    with quiet():
        pipeline = AudioLDMPipeline.from_pretrained(folder, dtype=torch.float32, **replacements)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def save(pipeline, folder, dtype=None) -> Path:
    """``pipeline.save_pretrained(folder)`` without progress bars, of a copy cast to ``dtype`` if given (the zoo's
    ``torch.float16``: half the size; :func:`load` casts back); returns the folder."""
    import copy

    with quiet():
        (copy.deepcopy(pipeline).to(dtype) if dtype is not None else pipeline).save_pretrained(folder)
    return Path(folder)


def parameter_counts(pipeline) -> dict:
    """Parameters of each network in ``pipeline`` (the UNet's is what the AudioLDM paper counts)."""
    names = ("text_encoder", "vae", "unet", "vocoder")
    return {name: sum(p.numel() for p in getattr(pipeline, name).parameters()) for name in names}
