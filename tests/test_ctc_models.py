"""helpers.families.ctc (acoustic models) and helpers.core.training: shapes, features, batching, SpecAugment, the loop."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import helpers as H
from helpers.core import training
from helpers.families import ctc


@pytest.mark.parametrize("kind", ctc.MODELS)
def test_models_give_log_probs_at_a_quarter_of_the_frames(kind):
    torch.manual_seed(0)
    model = ctc.build_ctc_model(kind, n_mels=40, vocab_size=12).eval()
    lengths = torch.tensor([101, 64])
    log_probs, out_lengths = model(torch.randn(2, 101, 40), lengths)
    assert log_probs.shape == (2, 26, 12) and out_lengths.tolist() == [26, 16]
    torch.testing.assert_close(log_probs.exp().sum(-1), torch.ones(2, 26))


def test_conformer_ignores_padding():
    torch.manual_seed(0)
    model = ctc.build_ctc_model("conformer", n_mels=40, vocab_size=5).eval()
    x = torch.randn(1, 60, 40)
    alone, _ = model(x, torch.tensor([60]))
    padded, _ = model(torch.cat([x, torch.zeros(1, 40, 40)], dim=1), torch.tensor([60]))  # as collate pads
    torch.testing.assert_close(padded[:, :15], alone, atol=1e-5, rtol=1e-4)


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown model 'gru'"):
        ctc.build_ctc_model("gru", 80, 10)


def test_log_mel_features_are_normalised_frames():
    feats = ctc.log_mel_features(H.tone(440, 1.0, 16000) + H.noise(1.0, 16000, seed=1))
    assert feats.shape == (101, 80) and feats.dtype == torch.float32
    assert abs(feats.mean().item()) < 1e-4 and feats.std().item() == pytest.approx(1.0, abs=1e-3)


def test_a_model_can_overfit_one_utterance():
    torch.manual_seed(0)
    model = ctc.build_ctc_model("lstm", n_mels=40, vocab_size=4, d_model=32)
    x, target = torch.randn(1, 80, 40), torch.tensor([[1, 2, 3, 1]])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def step(_):
        log_probs, lengths = model(x, torch.tensor([80]))
        loss = F.ctc_loss(log_probs.transpose(0, 1), target, lengths, torch.tensor([4]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    losses = training.train_loop(step, 150, desc="overfit")
    assert losses[-1] < 0.1 * losses[0]


def test_length_batches_cover_each_epoch_with_similar_lengths():
    lengths = np.arange(100) * 10 + 50
    batches = training.length_batches(lengths, 10, seed=0)
    epoch = [next(batches) for _ in range(10)]
    assert sorted(np.concatenate(epoch).tolist()) == list(range(100))
    assert max(np.ptp(lengths[b]) for b in epoch) < 300
    with pytest.raises(ValueError, match="batch_size 0"):
        next(training.length_batches(lengths, 0))


def test_spec_augment_masks_bands_and_frames():
    x = torch.ones(2, 100, 40)
    training.spec_augment(x, torch.tensor([100, 60]), np.random.default_rng(0), freq_width=8, time_width=10)
    assert (x == 0).any() and (x == 1).float().mean() > 0.6


def test_train_loop_rejects_zero_steps():
    with pytest.raises(ValueError, match="steps 0"):
        training.train_loop(lambda i: 0.0, 0)


def test_the_recogniser_saves_its_characters_and_loads_back(tmp_path):
    torch.manual_seed(0)
    model = ctc.CTCRecogniser("lstm", 40, "abc ")
    model.save_pretrained(tmp_path)
    loaded = ctc.load(tmp_path)
    assert loaded.tokenizer.symbols == model.tokenizer.symbols and loaded.n_mels == 40
    clip = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    assert loaded.transcribe([clip]) == model.eval().transcribe([clip])
    assert set(loaded.transcribe([clip])[0]) <= set("abc ")
