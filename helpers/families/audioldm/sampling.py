"""AudioLDM's sampler written out (notebook 08): DDIM with classifier-free guidance over the pipeline's own networks,
from :mod:`.diffusion`'s steps — the loop ``AudioLDMPipeline.__call__`` runs, in a dozen lines that the notebook holds
to the pipeline's output — and, started from a noised real latent instead of pure noise, AudioLDM's zero-shot
editing (style transfer; Meng et al. 2022's SDEdit).
"""
from __future__ import annotations

import numpy as np
import torch

from ...core.checks import check_number
from . import diffusion
from .clap import text_embeddings


def initial_noise(pipeline, n: int, frames: int, seed: int = 0) -> torch.Tensor:
    """The latent noise ``AudioLDMPipeline`` starts ``n`` clips of ``frames`` mel frames from, given
    ``generator=torch.Generator().manual_seed(seed)``: ``(n, latent channels, frames / f, mel bands / f)`` for the
    VAE's downsampling factor ``f``."""
    factor = 2 ** (len(pipeline.vae.config.block_out_channels) - 1)
    shape = (n, pipeline.unet.config.in_channels, frames // factor, pipeline.vocoder.config.model_in_dim // factor)
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _alpha_bar(pipeline) -> torch.Tensor:
    config = pipeline.scheduler.config
    return diffusion.alphas_cumprod(diffusion.betas(config.num_train_timesteps, config.beta_start, config.beta_end,
                                                    config.beta_schedule))


@torch.no_grad()
def sample(pipeline, captions: list[str], latents: torch.Tensor, steps: int = 25, guidance_scale: float = 3.0,
           strength: float = 1.0, seed: int = 0) -> torch.Tensor:
    """Deterministic DDIM (η = 0) from ``latents`` with classifier-free guidance towards ``captions``; returns the
    clean latents (decode them with :func:`decode`). ``strength`` 1 starts from ``latents`` as pure noise
    (generation: pass :func:`initial_noise`); below 1 ``latents`` are a real clip's (scaled) latents, noised to
    the step ``strength`` of the way along the schedule with noise drawn from ``seed``, and only the rest of the
    way is denoised (editing: the clip's layout survives in proportion to 1 − ``strength``). Guidance is applied at
    every scale: s = 1 is the conditional model, s = 0 the unconditional one (the pipeline skips guidance for s ≤ 1,
    which equals s = 1 here)."""
    strength = check_number(strength, "strength", minimum=0.0, maximum=1.0)
    if not captions or len(captions) != len(latents):
        raise ValueError(f"one caption per latent: {len(captions)} captions for {len(latents)} latents")
    alpha_bar, timesteps = _alpha_bar(pipeline), diffusion.inference_timesteps(
        steps, pipeline.scheduler.config.num_train_timesteps, pipeline.scheduler.config.steps_offset)
    timesteps = timesteps[len(timesteps) - round(steps * strength):]
    x, alpha_bar = latents.to(pipeline.device), alpha_bar.to(pipeline.device)
    if strength < 1 and len(timesteps):
        noise = torch.randn(latents.shape, generator=torch.Generator().manual_seed(seed)).to(x.device)
        x = diffusion.add_noise(x, noise, torch.full((len(x),), int(timesteps[0])), alpha_bar)
    wanted = text_embeddings(pipeline, list(captions))
    empty = text_embeddings(pipeline, [""]).expand_as(wanted)
    condition = torch.cat([empty, wanted])  # one UNet pass for both predictions, as the pipeline batches them
    stride = pipeline.scheduler.config.num_train_timesteps // steps
    for t in timesteps:
        eps_empty, eps_text = pipeline.unet(torch.cat([x, x]), int(t), encoder_hidden_states=None,
                                            class_labels=condition).sample.chunk(2)
        previous = t - stride
        alpha_prev = alpha_bar[previous] if previous >= 0 else alpha_bar[0]  # set_alpha_to_one=False
        x = diffusion.ddim_step(diffusion.guided(eps_empty, eps_text, guidance_scale), x, alpha_bar[t], alpha_prev)
    return x


def generate_mels(pipeline, captions: list[str], steps: int = 25, guidance_scale: float = 3.0, seed: int = 0,
                  batch_size: int = 32) -> torch.Tensor:
    """The log-mels of one clip per caption, ``(len(captions), 1, frames, bands)``, unvoiced (a vocoder costs more than
    the miniature's whole diffusion): :func:`sample` from the noise the pipeline draws for each batch under
    :func:`helpers.families.audioldm.recipe.generate`'s seeds (seed · 10 000 + batch), decoded by the VAE."""
    from .model import CLIP_FRAMES

    mels = []
    for b, start in enumerate(range(0, len(captions), batch_size)):
        chunk = list(captions[start:start + batch_size])
        noise = initial_noise(pipeline, len(chunk), CLIP_FRAMES, seed * 10_000 + b)
        mels.append(decode(pipeline, sample(pipeline, chunk, noise, steps, guidance_scale), voiced=False)[0].cpu())
    return torch.cat(mels)


@torch.no_grad()
def encode(pipeline, mels: torch.Tensor) -> torch.Tensor:
    """The scaled latents of log-mels ``(batch, 1, frames, bands)`` (the VAE posterior's mode × its scaling factor):
    where editing starts."""
    return pipeline.vae.encode(mels).latent_dist.mode() * pipeline.vae.config.scaling_factor


@torch.no_grad()
def decode_mels(pipeline, mels: torch.Tensor) -> np.ndarray:
    """The audio the pipeline's vocoder voices from log-mels ``(batch, 1, frames, bands)``."""
    return pipeline.mel_spectrogram_to_waveform(mels.to(pipeline.device)).numpy()


@torch.no_grad()
def decode(pipeline, latents: torch.Tensor, voiced: bool = True) -> tuple[torch.Tensor, np.ndarray | None]:
    """The log-mels the VAE decodes from ``latents`` and the audio the pipeline's vocoder voices from them (None
    unless ``voiced``)."""
    mels = pipeline.decode_latents(latents.to(pipeline.device))
    return mels, decode_mels(pipeline, mels) if voiced else None
