"""helpers.families.whisper.recipe and .evaluate: whisper-mini's training windows and labels (timestamps from eSpeak's
word events, the cut-utterance convention, translation, English-only prompts), the torch features, the crop
encoder, the losses, the scoring, and the whole zoo recipe at seconds scale (``zoo train whisper-mini --smoke``)."""
import numpy as np
import pytest
import torch

import helpers as H
from helpers.core import training
from helpers.families import whisper as W
from helpers.families.whisper import evaluate as E
from helpers.families.whisper import recipe as R


@pytest.fixture(scope="module")
def tokenizer():
    return W.build_tokenizer()


@pytest.fixture(scope="module")
def pools():
    english = H.make_corpus(language="en", task="digits", n_train=30, n_test=2, seed=1).train
    mandarin = H.make_corpus(language="zh", task="digits", n_train=30, n_test=2, seed=1).train
    return {"en": english, "zh": mandarin}


def test_windows_hold_what_their_text_says(pools):
    rng = np.random.default_rng(0)
    single = W.make_window(pools["en"], rng, "en", "transcribe", timestamps=False, single=True)
    assert len(single.placed) == 1 and single.placed[0].start <= 0.5 + 0.3 and single.audio.shape == (480_000,)
    cut = W.make_window(pools["en"], rng, "en", "transcribe", timestamps=True, single=False, with_prompt=True)
    assert [p.complete for p in cut.placed] == [True] * (len(cut.placed) - 1) + [False]  # the last one is cut
    assert all(p.end <= 30 for p in cut.placed if p.complete) and cut.previous_text
    whole = W.make_window(pools["en"], rng, "en", "transcribe", timestamps=False, single=False)
    assert all(p.complete for p in whole.placed)
    silent_from = int(whole.placed[-1].end * 16000) + 16000 // 4
    assert not whole.audio[silent_from:].any()  # the cut utterance was silenced, not left unlabelled


def test_labels_follow_whispers_format(tokenizer, pools):
    labeller = W.Labeller(tokenizer)
    window = W.make_window(pools["en"], np.random.default_rng(3), "en", "transcribe", timestamps=True, single=False)
    example = labeller(window)
    ids, labels = example["input_ids"], example["labels"]
    assert tokenizer.convert_ids_to_tokens(ids[:3]) == ["<|startoftranscript|>", "<|en|>", "<|transcribe|>"]
    assert labels[0] == tokenizer.convert_tokens_to_ids("<|en|>")  # language detection is trained
    assert all(labels[i] == ids[i + 1] for i in range(2, len(ids) - 1))  # each position predicts the next token
    assert labels[-1] == tokenizer.eos_token_id
    text = tokenizer.decode(ids, decode_with_timestamps=True)
    first = window.placed[0]
    assert f"<|{round(first.start * 50) / 50:.2f}|> {first.text}<|{round(first.end * 50) / 50:.2f}|>" in text
    assert text.endswith(f"<|{round(window.placed[-1].start * 50) / 50:.2f}|>")  # a cut utterance: its start only
    timed = [c for c in example["centres"] if c is not None]
    assert timed == sorted(timed)  # tokens are spoken in order


def test_translation_and_english_only_prompts(tokenizer, pools):
    utt = pools["zh"][0]
    example = W.Labeller(tokenizer)(W.single_window(utt, "translate"))
    assert tokenizer.decode(example["input_ids"][4:]) == " " + " ".join(W.ENGLISH_DIGITS[c] for c in utt.text)
    english_only = W.Labeller(W.build_tokenizer("gpt2"))
    assert english_only.prompt("en", "transcribe", False) == [50257, 50362]
    with pytest.raises(ValueError, match="only Mandarin digits"):
        W.target_words(pools["en"][0], "translate")


def test_token_times_fall_inside_their_words(tokenizer, pools):
    utt = pools["zh"][1]
    ids, times = W.Labeller(tokenizer).token_times(utt.text, utt.words)
    assert len(ids) == len(times) and None not in times
    assert all(utt.words[0].start <= t <= utt.words[-1].end for t in times)


def test_torch_features_match_the_feature_extractor(pools):
    from transformers import WhisperFeatureExtractor

    clips = [u.audio for u in pools["en"][:3]]
    ours = E.features(clips).numpy()
    theirs = WhisperFeatureExtractor()(clips, sampling_rate=16000, return_tensors="np").input_features
    assert ours.shape == (3, 80, 3000) and np.abs(ours - theirs).max() < 1e-4
    assert W.log_mel_batch(torch.zeros(2, 96_000) + 0.01, seconds=6.0).shape == (2, 80, 600)


def test_the_crop_encoder_is_the_encoder(tokenizer):
    model = R.build_model(R.Recipe().replace(**R.SMOKE), tokenizer).eval()
    features = torch.randn(2, 80, 3000)
    with torch.no_grad():
        whole = model.model.encoder(features).last_hidden_state
        cropped = W.encode_crop(model.model.encoder, features, torch.zeros(2, dtype=torch.long))
    torch.testing.assert_close(cropped, whole, atol=1e-5, rtol=1e-5)


def test_attention_supervision_prefers_attention_on_the_word():
    frames = torch.arange(200.0)

    def around(centre):
        weights = torch.exp(-0.5 * ((frames - centre) / 10) ** 2)
        return (weights / weights.sum()).expand(1, 2, -1)

    centres = torch.tensor([[50.0, float("nan")]])  # the second query has no target
    uniform = torch.full((1, 2, 200), 1 / 200)
    on_target, elsewhere = (R.guided_attention_loss(around(c), centres) for c in (50.0, 150.0))
    assert on_target < R.guided_attention_loss(uniform, centres) < elsewhere


def test_each_stage_warms_up_then_decays():
    rates = [training.stage_rate(step, (10, 20), 0.1) for step in range(30)]
    assert rates[0] == 1.0 and rates[9] < 0.05  # stage 1: one warm-up step of 10, then the cosine
    assert rates[10:12] == [0.5, 1.0] and rates[-1] < 0.02  # stage 2: two warm-up steps of 20
    assert training.stage_rate(11, (10, 20), 0.1, peaks=(1.0, 0.25)) == 0.25  # a stage's own peak


def test_scoring_normalises_like_whisper():
    assert E.normalize("It's 76.") == "it is seven six"
    assert E.normalize("Turn ON the light!") == "turn on the light"
    assert E.error_rate(["one two three"], ["123"]) == 0.0
    assert E.error_rate(["三一四"], ["三，一四。"], "zh") == 0.0


def test_the_zoo_recipe_runs_at_seconds_scale(tmp_path, monkeypatch):
    monkeypatch.setenv("ALM_CACHE", str(tmp_path / "cache"))
    target = H.zoo.train("whisper-mini", smoke=True)
    card = H.zoo.read_card(target)
    assert card["training"]["recipe_command"] == "python -m helpers zoo train whisper-mini --smoke"
    assert card["training"]["recipe"]["steps"] == R.SMOKE["steps"] and card["training"]["commit"]
    metrics = {m["type"] for m in card["model-index"][0]["results"][0]["metrics"]}
    assert set(R.TARGETS) <= metrics and set(card["check"]["metrics"]) == metrics
    assert (target / "model.safetensors").exists() and (target / "train_log.jsonl").read_text()
    model, _ = E.load(target)
    assert next(model.parameters()).dtype == torch.float32  # saved in fp16, loaded in fp32


def test_a_released_model_is_not_overwritten_without_force(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="already holds a model; pass --force"):
        H.zoo.train("whisper-mini", output=tmp_path)
    with pytest.raises(ValueError, match="no zoo recipe 'whisper-max'"):
        H.zoo.train("whisper-max")
