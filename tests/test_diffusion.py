"""Diffusion from scratch (helpers.families.audioldm.diffusion) against diffusers' schedulers, to 1e-5."""
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from helpers.families.audioldm import diffusion as D

AUDIOLDM = dict(num_train_timesteps=1000, beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear",
                clip_sample=False)  # cvssp/audioldm-s-full-v2's scheduler


def state(seed=0, shape=(2, 8, 16, 4)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)  # x_t, predicted noise


@pytest.mark.parametrize("schedule", D.SCHEDULES)
def test_the_schedule_and_the_forward_process_match_diffusers(schedule):
    reference = DDPMScheduler(**{**AUDIOLDM, "beta_schedule": schedule})
    beta = D.betas(schedule=schedule)
    torch.testing.assert_close(beta, reference.betas, rtol=0, atol=1e-7)
    alpha_bar = D.alphas_cumprod(beta)
    torch.testing.assert_close(alpha_bar, reference.alphas_cumprod, rtol=1e-6, atol=1e-7)
    x0, noise = state(1)
    t = torch.tensor([10, 900])
    torch.testing.assert_close(D.add_noise(x0, noise, t, alpha_bar), reference.add_noise(x0, noise, t),
                               rtol=0, atol=1e-5)
    assert alpha_bar[0] > 0.998 and alpha_bar[-1] < 0.01  # almost all signal at the start, almost none at the end


@pytest.mark.parametrize("t", [999, 500, 0])
def test_a_ddpm_step_matches_diffusers(t):
    reference = DDPMScheduler(**AUDIOLDM)
    alpha_bar = D.alphas_cumprod(D.betas())
    x_t, eps = state(2)
    expected = reference.step(eps, t, x_t, generator=torch.Generator().manual_seed(7)).prev_sample
    noise = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(7)) if t > 0 else None
    alpha_prev = alpha_bar[t - 1] if t > 0 else torch.tensor(1.0)
    torch.testing.assert_close(D.ddpm_step(eps, x_t, alpha_bar[t], alpha_prev, noise), expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_ddim_steps_match_diffusers(eta):
    reference = DDIMScheduler(**AUDIOLDM, set_alpha_to_one=False, steps_offset=1)
    reference.set_timesteps(20)
    steps = D.inference_timesteps(20)
    assert steps.tolist() == reference.timesteps.tolist()
    alpha_bar = D.alphas_cumprod(D.betas())
    x_t, eps = state(3)
    for t, t_prev in zip(steps, [*steps[1:], -1]):
        alpha_prev = alpha_bar[t_prev] if t_prev >= 0 else alpha_bar[0]  # set_alpha_to_one=False: ᾱ₀ at the end
        generator = torch.Generator().manual_seed(int(t))
        expected = reference.step(eps, int(t), x_t, eta=eta, generator=generator).prev_sample
        noise = torch.randn(x_t.shape, generator=torch.Generator().manual_seed(int(t)))
        ours = D.ddim_step(eps, x_t, alpha_bar[t], alpha_prev, eta=eta, noise=noise)
        torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)
        x_t = expected


def test_ddim_with_a_perfect_noise_prediction_recovers_the_clean_sample():
    """If ε̂ is the noise that was added, one deterministic DDIM step to ᾱ = 1 lands exactly on x₀."""
    alpha_bar = D.alphas_cumprod(D.betas())
    x0, noise = state(4)
    t = torch.full((2,), 700)
    x_t = D.add_noise(x0, noise, t, alpha_bar)
    torch.testing.assert_close(D.ddim_step(noise, x_t, alpha_bar[700], torch.tensor(1.0)), x0, rtol=0, atol=1e-5)


def test_guidance_interpolates_and_extrapolates():
    uncond, cond = torch.zeros(3), torch.ones(3)
    assert D.guided(uncond, cond, 1.0).tolist() == [1.0] * 3
    assert D.guided(uncond, cond, 0.0).tolist() == [0.0] * 3
    assert D.guided(uncond, cond, 3.5).tolist() == [3.5] * 3


@pytest.mark.parametrize("call, message", [
    (lambda: D.betas(schedule="cosine"), "unknown schedule 'cosine'"),
    (lambda: D.betas(beta_start=0.02, beta_end=0.01), "must be below beta_end"),
    (lambda: D.inference_timesteps(2000), "n_steps"),
    (lambda: D.ddim_step(torch.zeros(1), torch.zeros(1), torch.tensor(0.5), torch.tensor(0.9), eta=0.5),
     "pass noise"),
    (lambda: D.guided(torch.zeros(1), torch.zeros(1), -1.0), "guidance scale"),
])
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()
