"""hifigan-mini's pieces (helpers.families.vocoder): the losses it is trained with, its mel against the packaged
HiFi-GAN's, and the crops it reads."""
import numpy as np
import pytest
import torch

from helpers import judges
from helpers.data import sounds
from helpers.families import vocoder as V


def test_the_torch_mel_is_the_packaged_hifigans():
    audio = sounds.render("speech", "man", seed=1)
    ours = V._MelFilters()(torch.from_numpy(audio)[None])[0].numpy()
    np.testing.assert_allclose(ours, judges.vocoder_mel(audio), atol=2e-4)


def test_the_stft_loss_is_zero_for_the_original_and_grows_with_the_error():
    audio = torch.from_numpy(sounds.render("chord", "C major", seed=2))[None]
    noise = torch.randn(audio.shape, generator=torch.Generator().manual_seed(0))
    assert V.multi_resolution_stft_loss(audio, audio) == pytest.approx(0.0, abs=1e-6)
    small, large = (V.multi_resolution_stft_loss(audio + level * noise, audio) for level in (0.001, 0.05))
    assert 0 < small < large
    from transformers import SpeechT5HifiGan

    objective = V.Objective(SpeechT5HifiGan(V.config(channels=16)))
    loss, parts = objective(torch.zeros(1, 16, 80) - 5, audio[:, :16 * V.HOP])
    assert loss.requires_grad and set(parts) == {"stft", "mel_l1"}


def test_a_crop_is_the_audio_its_mel_frames_describe():
    clip = sounds.render("siren", "slow", seed=3)
    crops = V.Crops([clip], frames=32, size=4, seed=0)
    item = crops[2]
    assert item["mel"].shape == (32, 80) and item["audio"].shape == (32 * V.HOP,)
    inner = judges.vocoder_mel(item["audio"].numpy())[:, 2:-2]  # away from the crop's padded edges
    match = [np.abs(crops.mels[0][:, s + 2:s + 30] - inner).mean() for s in range(crops.mels[0].shape[1] - 31)]
    assert np.min(match) < 1e-3  # the crop's own mel is a window of the clip's
    np.testing.assert_array_equal(crops[2]["audio"], item["audio"])  # a pure function of the index


def test_vocode_refuses_a_mel_of_the_wrong_shape():
    from transformers import SpeechT5HifiGan

    with pytest.raises(ValueError, match=r"shape \(80, frames\)"):
        V.vocode(SpeechT5HifiGan(V.config(channels=16)), np.zeros((64, 10)))
