"""The AudioLDM miniature (helpers.families.audioldm.model): a real diffusers AudioLDMPipeline from tiny configs, its
save/load round trip, the packaged HiFi-GAN as its vocoder, and the real AudioLDM-S sizes."""
import numpy as np
import pytest
import torch

from helpers import judges
from helpers.data import sounds
from helpers.families.audioldm import model as M
from helpers.families.vocoder import packaged

CAPTIONS = [sounds.caption(*c) for c in sounds.combinations()]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    return M.train_tokenizer(CAPTIONS, tmp_path_factory.mktemp("tokenizer"))


@pytest.fixture(scope="module")
def pipeline(tokenizer):
    return M.build(tokenizer, seed=0)


def generate(pipeline, captions, seed=0):
    return pipeline(captions, num_inference_steps=3, audio_length_in_s=1.28,
                    generator=torch.Generator().manual_seed(seed)).audios


def test_the_tokenizer_is_robertas_layout_and_every_caption_fits(tokenizer):
    assert (tokenizer.bos_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    lengths = [len(tokenizer(c).input_ids) for c in CAPTIONS]
    assert max(lengths) <= M.MAX_CAPTION_TOKENS
    assert tokenizer.decode(tokenizer("a loud high beep with echo").input_ids, skip_special_tokens=True) \
        == "a loud high beep with echo"
    with pytest.raises(ValueError, match="at least one non-empty caption"):
        M.train_tokenizer(["", "  "], "unused")


def test_the_miniature_saves_and_loads_like_a_hub_checkpoint(pipeline, tmp_path, capfd):
    folder = M.save(pipeline, tmp_path / "audioldm-mini")
    assert {p.name for p in folder.iterdir()} >= {"model_index.json", "unet", "vae", "text_encoder", "tokenizer",
                                                   "vocoder", "scheduler"}
    reloaded = M.load(folder)
    pipeline.set_progress_bar_config(disable=True)
    audio = generate(pipeline, ["a loud high beep with echo", "three fast drum hits"])
    assert audio.shape == (2, round(1.28 * 16_000)) and np.isfinite(audio).all()
    np.testing.assert_allclose(generate(reloaded, ["a loud high beep with echo", "three fast drum hits"]), audio,
                               atol=1e-6)
    captured = capfd.readouterr()
    assert "deprecated" not in captured.err + captured.out, "the deprecation notice leaked"


def test_the_miniature_is_small(pipeline):
    counts = M.parameter_counts(pipeline)
    assert sum(counts.values()) * 2 < 10e6  # the zoo's limit per model, at 2 bytes a parameter (fp16)
    with pytest.raises(ValueError, match="unknown size"):
        M.build(pipeline.tokenizer, unet_width=3)


def test_the_packaged_hifigan_runs_as_the_pipelines_vocoder():
    """The real HiFi-GAN inside transformers' SpeechT5HifiGan gives the TorchScript original's samples."""
    mel = judges.vocoder_mel(sounds.render("speech", "woman", seed=0), 16_000)
    vocoder = packaged()
    with torch.no_grad():
        ours = vocoder(torch.from_numpy(mel).T[None]).numpy().reshape(-1)
    reference = judges.vocode(mel)
    assert len(ours) == len(reference)
    np.testing.assert_allclose(ours, reference, atol=1e-4)


def test_the_real_audioldm_s_unet_has_the_papers_size():
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel(**M.REAL_S["unet"])
    assert sum(p.numel() for p in unet.parameters()) == pytest.approx(181e6, rel=0.03)
