"""AudioLDM (notebook 08): text-to-audio by latent diffusion — the sampler arithmetic written out in
:mod:`.diffusion`, checked against diffusers' schedulers."""
