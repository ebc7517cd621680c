"""helpers.families.wav2vec2: masking statistics, distractors, the straight-through Gumbel softmax, the contrastive
loss on a hand-made case, and the whole objective against transformers' Wav2Vec2ForPreTraining."""
import math

import numpy as np
import pytest
import torch
from transformers import Wav2Vec2ForPreTraining
from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices

from helpers.families import wav2vec2
from helpers.families.wav2vec2 import finetune, objective, recipe


def test_receptive_field_of_the_real_encoder_is_25_ms_every_20_ms():
    config = wav2vec2.mini_config()
    assert wav2vec2.receptive_field(config.conv_kernel, config.conv_stride) == (400, 320)
    assert wav2vec2.receptive_field([3], [1]) == (3, 1) and wav2vec2.receptive_field([2, 2], [2, 2]) == (4, 4)


@pytest.mark.parametrize("mask_prob, mask_length", [(0.65, 10), (0.3, 4), (0.05, 10)])
def test_span_masks_cover_the_same_share_as_transformers(mask_prob, mask_length):
    rng = np.random.default_rng(0)
    ours = np.mean([objective.span_mask(150, mask_prob, mask_length, rng).mean() for _ in range(600)])
    np.random.seed(0)
    theirs = np.mean([_compute_mask_indices((1, 150), mask_prob, mask_length).mean() for _ in range(600)])
    assert ours == pytest.approx(theirs, abs=0.015)
    if mask_prob == 0.65:
        assert ours == pytest.approx(1 - (1 - 0.065) ** 10, abs=0.03)  # the paper's "about 49 %"


def test_span_mask_refuses_spans_longer_than_the_utterance():
    with pytest.raises(ValueError, match="longer than the utterance"):
        objective.span_mask(5, 0.5, 10, np.random.default_rng(0))


def test_distractors_are_other_masked_frames_of_the_same_utterance():
    rng = np.random.default_rng(0)
    mask = objective.span_masks([40, 30], 40, 0.65, 5, rng)
    indices = objective.sample_distractors(mask, 8, rng)
    for b in range(2):
        for t in np.flatnonzero(mask[b]):
            drawn = indices[b, t].numpy()
            assert np.all(drawn // 40 == b) and np.all(mask[b, drawn % 40].numpy()) and np.all(drawn % 40 != t)


def test_gumbel_straight_through_is_one_hot_forward_and_soft_backward():
    logits = torch.randn(6, 5, requires_grad=True)
    torch.manual_seed(3)
    ours = objective.gumbel_softmax_straight_through(logits, 2.0)
    torch.manual_seed(3)
    theirs = torch.nn.functional.gumbel_softmax(logits, tau=2.0, hard=True)
    assert torch.equal(ours, theirs) and torch.equal(ours.sum(-1), torch.ones(6))
    (ours * torch.arange(5.0)).sum().backward()
    assert logits.grad.abs().sum() > 0  # a gradient flows through the argmax


def test_contrastive_loss_on_a_hand_made_case():
    # one utterance, two masked frames: the context equals its target (cosine 1) and is orthogonal to the other
    targets = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    distractors = torch.tensor([[[1], [0]]])
    logits = objective.contrastive_logits(targets, targets, distractors, temperature=0.5)
    assert torch.allclose(logits, torch.tensor([[[2.0, 0.0], [2.0, 0.0]]]))
    loss = objective.contrastive_loss(logits, torch.tensor([[True, True]]))
    assert loss.item() == pytest.approx(2 * math.log(1 + math.exp(-2)))
    same = objective.contrastive_logits(targets, torch.ones(1, 2, 2), distractors)  # a collapsed codebook
    assert torch.isinf(same[..., 1]).all()


def test_perplexity_is_the_number_of_entries_used():
    uniform = torch.full((10, 2, 4), 0.25)
    assert objective.codebook_perplexity(uniform).item() == pytest.approx(8.0)
    collapsed = torch.nn.functional.one_hot(torch.zeros(10, 2, dtype=torch.long), 4).float()
    assert objective.codebook_perplexity(collapsed).item() == pytest.approx(2.0)


@pytest.mark.parametrize("training", [False, True])
def test_the_objective_equals_transformers(training):
    torch.manual_seed(0)
    model = Wav2Vec2ForPreTraining(wav2vec2.mini_config(num_hidden_layers=2)).train(training)
    audio = torch.randn(2, 16000)
    frames = wav2vec2.output_frames(model.config, 16000)
    assert frames == int(model._get_feat_extract_output_lengths(16000)) == 49
    rng = np.random.default_rng(0)
    mask = objective.span_masks([frames, frames], frames, 0.65, 10, rng)
    distractors = objective.sample_distractors(mask, model.config.num_negatives, rng)
    torch.manual_seed(1)
    theirs = model(audio, mask_time_indices=mask, sampled_negative_indices=distractors)
    torch.manual_seed(1)
    ours = objective.pretraining_loss(model, audio, mask, distractors)
    for name in ("loss", "contrastive", "diversity"):
        assert ours[name].item() == pytest.approx(getattr(theirs, name if name == "loss" else f"{name}_loss").item(),
                                                  rel=1e-5), name
    assert ours["perplexity"].item() == pytest.approx(theirs.codevector_perplexity.item(), rel=1e-5)


def test_ctc_processor_spells_words_with_the_delimiter(tmp_path):
    processor = wav2vec2.ctc_processor("eno t", tmp_path)
    ids = processor.tokenizer("one to").input_ids
    assert processor.tokenizer.convert_ids_to_tokens(ids) == ["o", "n", "e", "|", "t", "o"]
    assert processor.tokenizer.pad_token_id == 0 and len(processor.tokenizer) == 3 + 4
    assert processor.tokenizer.decode(ids, group_tokens=False) == "one to"
    from transformers import Wav2Vec2Processor

    loaded = Wav2Vec2Processor.from_pretrained(tmp_path)  # saved: the processor reloads from its folder
    assert loaded.tokenizer.get_vocab() == processor.tokenizer.get_vocab()
    assert loaded.feature_extractor.do_normalize and loaded.feature_extractor.sampling_rate == 16_000


def test_tri_state_schedule_warms_up_holds_and_decays():
    factors = [finetune.tri_state(step, 100) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(f == 1.0 for f in factors[10:50]) and factors[99] == pytest.approx(0.02)
    assert all(a >= b for a, b in zip(factors[50:], factors[51:]))


def test_word_labels_follow_the_word_events():
    class Word:
        def __init__(self, text, start, end):
            self.text, self.start, self.end = text, start, end

    class Utterance:
        words = [Word("one", 0.1, 0.3), Word("two", 0.3, 0.5)]

    labels = finetune.word_labels(Utterance(), 30)
    assert list(labels[:5]) == [""] * 5 and labels[5] == "one" and labels[14] == "one" and labels[15] == "two"
    assert labels[25] == ""


def test_batches_crop_to_the_shortest_clip_of_a_bucket():
    rng = np.random.default_rng(0)
    clips = [rng.normal(size=int(n)).astype(np.float32) for n in rng.integers(8000, 48000, size=50)]
    crops = recipe.Crops(clips, 40, seed=0, batch_size=4, bucket=10)
    batch = recipe.MaskedBatches(wav2vec2.mini_config(), 2.5, seed=0)([crops[i] for i in range(4)])
    samples = batch["input_values"].shape[1]
    lengths = [len(crops[i][0]) for i in range(4)]
    assert samples == min(*lengths, 40000) and max(lengths) - min(lengths) < 0.5 * max(lengths)  # one bucket, ≤ 2.5 s
    assert batch["input_values"].mean(dim=1).abs().max() < 1e-4  # each crop normalised
    assert batch["mask"].shape == (4, wav2vec2.output_frames(wav2vec2.mini_config(), samples))
    assert batch["distractors"].shape == (*batch["mask"].shape, 50)


def test_gumbel_temperature_falls_from_two_to_a_half():
    assert recipe.gumbel_temperature(0, 100, 2.0, 0.5) == 2.0
    assert recipe.gumbel_temperature(99, 100, 2.0, 0.5) == pytest.approx(0.5)
    assert recipe.gumbel_temperature(49, 100, 2.0, 0.5) == pytest.approx(1.0, abs=0.03)
