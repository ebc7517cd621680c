"""Diffusion written out (notebook 08): the noise schedule, the forward process, the ε-prediction loss, one DDPM and
one DDIM reverse step, and classifier-free guidance — the arithmetic that diffusers' schedulers hide, checked
against them in ``tests/test_diffusion.py`` (and in the notebook) to 1e-5.

Notation (Ho et al. 2020; Song et al. 2021): βₜ the noise added at step t, αₜ = 1 − βₜ, ᾱₜ = ∏ₛ≤ₜ αₛ (the signal
fraction left at step t). The forward process jumps straight to any step: xₜ = √ᾱₜ·x₀ + √(1 − ᾱₜ)·ε. A network
ε̂(xₜ, t, text) learns to predict ε; every sampler below turns that prediction into a step back.
"""
from __future__ import annotations

import numpy as np

from ...core.checks import check_number, check_whole

SCHEDULES = ("linear", "scaled_linear")
AUDIOLDM_SCHEDULE = dict(n_train_steps=1000, beta_start=0.0015, beta_end=0.0195, schedule="scaled_linear")


def betas(n_train_steps: int = 1000, beta_start: float = 0.0015, beta_end: float = 0.0195,
          schedule: str = "scaled_linear"):
    """The noise schedule β₁…β_T as a float32 tensor. ``"linear"`` spaces β evenly (DDPM); ``"scaled_linear"``
    spaces √β evenly (Stable Diffusion and AudioLDM: the defaults are AudioLDM's)."""
    import torch

    n = check_whole(n_train_steps, "n_train_steps", 2, 100_000)
    start = check_number(beta_start, "beta_start", positive=True, maximum=1.0)
    end = check_number(beta_end, "beta_end", positive=True, maximum=1.0)
    if start >= end:
        raise ValueError(f"beta_start={start} must be below beta_end={end}: noise grows along the chain")
    if schedule == "linear":
        return torch.linspace(start, end, n, dtype=torch.float32)
    if schedule == "scaled_linear":
        return torch.linspace(start ** 0.5, end ** 0.5, n, dtype=torch.float32) ** 2
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {SCHEDULES}")


def alphas_cumprod(beta):
    """ᾱₜ = ∏ₛ≤ₜ (1 − βₛ): how much of the clean signal is left at each step."""
    import torch

    return torch.cumprod(1.0 - beta, dim=0)


def _per_item(values, like):
    """Per-example scalars shaped to broadcast over a batch ``like`` (B, ...)."""
    return values.reshape(-1, *([1] * (like.ndim - 1))).to(like.dtype)


def add_noise(x0, noise, t, alpha_bar):
    """The forward process q(xₜ | x₀): ``√ᾱₜ·x0 + √(1 − ᾱₜ)·noise``, with ``t`` one step per example."""
    a = _per_item(alpha_bar[t], x0)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def epsilon_loss(predicted_noise, noise):
    """The simplified DDPM objective: the mean squared error between the predicted and the true noise."""
    import torch.nn.functional as F

    return F.mse_loss(predicted_noise, noise)


def predicted_x0(eps, x_t, alpha_t):
    """x̂₀ = (xₜ − √(1 − ᾱₜ)·ε̂) / √ᾱₜ: the clean sample the noise prediction implies (the forward process solved
    for x₀)."""
    return (x_t - (1 - alpha_t) ** 0.5 * eps) / alpha_t ** 0.5


def ddpm_step(eps, x_t, alpha_t, alpha_prev, noise=None):
    """One ancestral DDPM step from ᾱₜ to ᾱ_prev (1.0 past the last step): the mean of the posterior
    q(x_prev | xₜ, x̂₀) plus its standard deviation times ``noise`` (none on the last step). The posterior is
    Gaussian with mean c₀·x̂₀ + cₜ·xₜ, c₀ = √ᾱ_prev·β/(1 − ᾱₜ), cₜ = √α·(1 − ᾱ_prev)/(1 − ᾱₜ), and variance
    β·(1 − ᾱ_prev)/(1 − ᾱₜ), where α = ᾱₜ/ᾱ_prev and β = 1 − α ("fixed small" variance)."""
    x0 = predicted_x0(eps, x_t, alpha_t)
    alpha, beta = alpha_t / alpha_prev, 1 - alpha_t / alpha_prev
    mean = (alpha_prev ** 0.5 * beta / (1 - alpha_t)) * x0 + (alpha ** 0.5 * (1 - alpha_prev) / (1 - alpha_t)) * x_t
    if noise is None:
        return mean
    variance = max(float((1 - alpha_prev) / (1 - alpha_t) * beta), 1e-20)
    return mean + variance ** 0.5 * noise


def ddim_step(eps, x_t, alpha_t, alpha_prev, eta: float = 0.0, noise=None):
    """One DDIM step: x_prev = √ᾱ_prev·x̂₀ + √(1 − ᾱ_prev − σ²)·ε̂ + σ·noise, with
    σ = η·√((1 − ᾱ_prev)/(1 − ᾱₜ))·√(1 − ᾱₜ/ᾱ_prev). η = 0 is deterministic and may skip steps (the same model,
    20–50 steps instead of 1 000); η = 1 is DDPM's noise level."""
    eta = check_number(eta, "eta (0 deterministic … 1 like DDPM)", minimum=0.0, maximum=1.0)
    x0 = predicted_x0(eps, x_t, alpha_t)
    sigma = eta * ((1 - alpha_prev) / (1 - alpha_t) * (1 - alpha_t / alpha_prev)) ** 0.5
    x_prev = alpha_prev ** 0.5 * x0 + (1 - alpha_prev - sigma ** 2) ** 0.5 * eps
    if eta > 0:
        if noise is None:
            raise ValueError("a DDIM step with eta > 0 adds noise: pass noise (a tensor shaped like x_t)")
        x_prev = x_prev + sigma * noise
    return x_prev


def inference_timesteps(n_steps: int, n_train_steps: int = 1000, offset: int = 1) -> np.ndarray:
    """The steps a sampler visits, from noisiest to cleanest: every ``n_train_steps // n_steps``-th training step,
    shifted by ``offset`` (diffusers' "leading" spacing with ``steps_offset``; AudioLDM uses 1)."""
    n_steps = check_whole(n_steps, "n_steps (sampling steps)", 1, n_train_steps)
    ratio = n_train_steps // n_steps
    return (np.arange(n_steps) * ratio)[::-1].astype(np.int64) + check_whole(offset, "offset", 0, ratio - 1)


def guided(eps_unconditional, eps_conditional, scale: float):
    """Classifier-free guidance (Ho & Salimans 2021): ε̂ = ε̂(∅) + s·(ε̂(text) − ε̂(∅)). s = 1 is the conditional
    prediction; s > 1 pushes further along the direction the text adds (more faithful, less diverse)."""
    scale = check_number(scale, "guidance scale", minimum=0.0, maximum=100.0)
    return eps_unconditional + scale * (eps_conditional - eps_unconditional)
