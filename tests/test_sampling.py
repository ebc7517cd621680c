"""AudioLDM's sampler written out (helpers.families.audioldm.sampling): the same clips as AudioLDMPipeline from the
same noise, editing that keeps a clip at strength 0 and forgets it at strength 1, unvoiced generation in the
pipeline's batches, and bad strengths."""
import numpy as np
import pytest
import torch

from helpers.data import sounds
from helpers.families.audioldm import model as M
from helpers.families.audioldm import recipe as R
from helpers.families.audioldm import sampling

CAPTIONS = ["a loud high beep", "three fast drum hits with echo", "a C major chord"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tokenizer = M.train_tokenizer([sounds.caption(*c) for c in sounds.combinations()], tmp_path_factory.mktemp("tok"))
    return M.build(tokenizer, seed=0, unet_channels=(16, 32))


def test_the_written_out_sampler_gives_the_pipelines_clips(pipeline):
    noise = sampling.initial_noise(pipeline, len(CAPTIONS), M.CLIP_FRAMES, seed=3)
    assert noise.shape == (3, 8, 32, 20)
    mels, ours = sampling.decode(pipeline, sampling.sample(pipeline, CAPTIONS, noise, steps=4, guidance_scale=2.5))
    theirs = pipeline(CAPTIONS, num_inference_steps=4, guidance_scale=2.5, audio_length_in_s=M.CLIP_SECONDS,
                      generator=torch.Generator().manual_seed(3)).audios
    assert mels.shape == (3, 1, M.CLIP_FRAMES, 80)
    assert np.abs(ours[:, :theirs.shape[1]] - theirs).max() <= 1e-4 * np.abs(theirs).max()


def test_generate_mels_draws_the_noise_recipe_generate_draws(pipeline):
    audio, mels = R.generate(pipeline, CAPTIONS, guidance_scale=2.0, steps=3, seed=1, batch_size=2, mels=True)
    unvoiced = sampling.generate_mels(pipeline, CAPTIONS, steps=3, guidance_scale=2.0, seed=1, batch_size=2)
    assert unvoiced.shape == mels.shape and torch.allclose(unvoiced, mels, atol=1e-4)


def test_editing_keeps_the_clip_at_strength_zero_and_starts_from_noise_at_one(pipeline):
    clip = sounds.render("chord", "C major", seed=0)
    from helpers.families.audioldm.classifier import log_mels

    start = sampling.encode(pipeline, log_mels([clip]))
    kept = sampling.sample(pipeline, ["a rising chirp"], start, steps=4, strength=0.0)
    assert torch.equal(kept, start)  # no step taken: the clip itself
    half = sampling.sample(pipeline, ["a rising chirp"], start, steps=4, strength=0.5, seed=0)
    whole = sampling.sample(pipeline, ["a rising chirp"], start, steps=4, strength=1.0)
    fresh = sampling.sample(pipeline, ["a rising chirp"], start.clone(), steps=4)
    assert torch.equal(whole, fresh) and not torch.allclose(half, whole)
    with pytest.raises(ValueError, match="strength"):
        sampling.sample(pipeline, ["a rising chirp"], start, strength=1.5)
    with pytest.raises(ValueError, match="2 captions for 1 latents"):
        sampling.sample(pipeline, ["a rising chirp", "a beep"], start)
