"""audioldm-mini's recipe at seconds scale: three stages through the zoo's engine, a pipeline that loads with
from_pretrained and generates, CLAP-mini's audio tower beside it."""
import json

import numpy as np
import pytest
import torch

from helpers.families.audioldm import clap
from helpers.families.audioldm import model as M
from helpers.families.audioldm import recipe as R


@pytest.mark.parametrize("condition", R.CONDITIONS)
def test_the_recipe_trains_every_stage_and_saves_a_pipeline_that_generates(condition, tmp_path, monkeypatch):
    monkeypatch.setenv("ALM_CACHE", str(tmp_path / "cache"))
    vocoder = "hifigan-mini" if condition == "audio" else "scratch"  # the zoo's vocoder, or the pipeline's own
    recipe = R.Recipe(condition=condition).replace(**{**R.SMOKE, "vocoder": vocoder})
    info = R.train(recipe, tmp_path / "mini", log_path=tmp_path / "log.jsonl")
    assert info["finished"] and info["steps"] == {"vae": 2, "clap": 2, "unet": 2}
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [sorted(set(row) - {"step", "seconds"}) for row in logged[::2]] == [
        ["kl", "mel_l1"], ["info_nce", "temperature"], ["epsilon_mse"]]  # each stage trains its own part
    pipeline = M.load(tmp_path / "mini")
    assert pipeline.vae.config.scaling_factor > 0  # 1 / the std of the latents, measured in training
    assert (pipeline.vocoder.config.upsample_initial_channel == 128) == (vocoder == "hifigan-mini")
    audio = pipeline(["a loud high beep with echo"], num_inference_steps=2, audio_length_in_s=1.28,
                     generator=torch.Generator().manual_seed(0)).audios
    assert audio.shape == (1, 20_480) and np.isfinite(audio).all()
    voiced, mels = R.generate(pipeline, ["a loud high beep with echo"], steps=2, mels=True)
    assert mels.shape == (1, 1, 128, 80)  # the mel the vocoder voiced: voicing it again gives the same audio
    with torch.no_grad():
        again = pipeline.mel_spectrogram_to_waveform(mels).numpy()[:, :20_480]
    assert np.allclose(again, voiced, atol=1e-5)
    from safetensors import safe_open
    with safe_open(str(tmp_path / "mini" / "unet" / "diffusion_pytorch_model.safetensors"), "pt") as stored:
        assert {stored.get_tensor(k).dtype for k in stored.keys()} == {torch.float16}  # stored half, loaded float
    assert next(pipeline.unet.parameters()).dtype == torch.float32
    tower = clap.load_tower(tmp_path / "mini")
    assert tower(torch.zeros(1, 1, 128, 80) - 8).shape == (1, M.MINI["embedding"])
    if condition == "text":  # the card's measurement, judged by the zoo's sound-classifier-mini
        clips = R.corpus(recipe).train
        scores = R.evaluate(tmp_path / "mini", clips[:4], clips[4:8], steps=2)
        assert {"kind_accuracy", "sound_accuracy", "frechet", "frechet_floor", "retrieval_text_to_audio",
                "retrieval_audio_to_text", "vae_mel_l1", "vae_kind_accuracy", "voiced_kind_accuracy",
                "voiced_kind_ceiling"} <= set(scores) <= set(R.CARD["metric_names"])
        assert all(0 <= scores[k] <= 1 for k in scores if "accuracy" in k or "retrieval" in k)


def test_a_batch_has_distinct_captions_and_some_captions_are_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("ALM_CACHE", str(tmp_path / "cache"))
    captions = [c.caption for c in R.corpus(R.Recipe(n_train=40, n_test=4)).train]
    mels = torch.arange(40, dtype=torch.float32)[:, None, None, None].expand(40, 1, 8, 8)  # item k is full of k
    tokens = type("Tokens", (), {"input_ids": torch.zeros(40, 4, dtype=torch.long),
                                 "attention_mask": torch.ones(40, 4)})
    data = R.Captioned(mels, tokens, captions, size=24, batch_size=8, seed=0, unconditional=0.5)
    for b in range(3):
        batch = [data[b * 8 + j] for j in range(8)]
        assert len({captions[int(item["mel"][0, 0, 0])] for item in batch}) == 8
    drops = [bool(data[i]["drop"]) for i in range(24)]
    assert 0 < sum(drops) < 24 and [bool(data[i]["drop"]) for i in range(24)] == drops
    with pytest.raises(ValueError, match="condition 'video'"):
        R.train(R.Recipe(condition="video").replace(**R.SMOKE), tmp_path / "no")
