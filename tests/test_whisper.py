"""helpers.families.whisper: the offline tokenizer equals openai-whisper's, the miniature reloads with its generation
config, and the converter carries the same weights between openai-whisper and transformers."""
import logging

import numpy as np
import pytest
import torch
import whisper
from whisper.tokenizer import get_tokenizer

import helpers as H
from helpers.families import whisper as W


@pytest.fixture(scope="module")
def tokenizer():
    return W.build_tokenizer()


@pytest.fixture(scope="module")
def miniature(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mini")
    W.build_scratch(directory)
    return directory


def test_special_token_ids_are_the_released_ones(tokenizer):
    ids = tokenizer.convert_tokens_to_ids
    assert len(tokenizer) == 51_865
    assert ids(["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|zh|>", "<|translate|>", "<|transcribe|>",
                "<|notimestamps|>", "<|0.00|>", "<|30.00|>"]) == [50257, 50258, 50259, 50260, 50358, 50359, 50363,
                                                                  50364, 51864]
    tokenizer.set_prefix_tokens(language="zh", task="translate", predict_timestamps=False)
    assert tokenizer.prefix_tokens == [50258, 50260, 50358, 50363]


@pytest.mark.parametrize("text", [" three one four, five!", "Hello world — it's 2026.", "你好，世界。我们学习语音识别。",
                                  " naïve café ümlaut", "日本語のテキストも"])
def test_round_trip_equals_openai_whisper(tokenizer, text):
    reference = get_tokenizer(multilingual=True, num_languages=99)
    ours = tokenizer.encode(text, add_special_tokens=False)
    assert ours == reference.encode(text)
    assert tokenizer.decode(ours) == text == reference.decode(ours)


def test_timestamps_decode(tokenizer):
    ids = [50258, 50259, 50359, 50364, 1045, 50414, 50257]
    assert tokenizer.decode(ids, decode_with_timestamps=True) == (
        "<|startoftranscript|><|en|><|transcribe|><|0.00|> three<|1.00|><|endoftext|>")


def test_miniature_reloads_with_its_generation_config(miniature):
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    model = WhisperForConditionalGeneration.from_pretrained(miniature)
    generation = model.generation_config
    assert generation.lang_to_id["<|en|>"] == 50259 and generation.task_to_id["translate"] == 50358
    assert generation.no_timestamps_token_id == 50363 and generation.is_multilingual
    processor = WhisperProcessor.from_pretrained(miniature)
    assert len(processor.tokenizer) == 51_865 and processor.feature_extractor.nb_max_frames == 3000


def test_resolve_model_builds_the_scratch_miniature_once(monkeypatch, tmp_path):
    monkeypatch.setenv("ALM_CACHE", str(tmp_path))
    path = H.resolve_model("scratch", "whisper", scratch=W.build_scratch)
    assert (tmp_path / "models").exists() and path == H.resolve_model("scratch", "whisper", scratch=W.build_scratch)


def test_converter_round_trip_gives_the_same_logits(miniature, tmp_path):
    from transformers import WhisperForConditionalGeneration

    hf = WhisperForConditionalGeneration.from_pretrained(miniature).eval()
    checkpoint = W.to_openai(hf)
    torch.save(checkpoint, tmp_path / "mini.pt")
    openai_model = whisper.load_model(str(tmp_path / "mini.pt"), device="cpu")
    mel = torch.randn(1, 80, 3000)
    tokens = torch.tensor([[50258, 50259, 50359, 50363, 1045]])
    with torch.no_grad():
        ours = hf(input_features=mel, decoder_input_ids=tokens).logits
        theirs = openai_model(mel, tokens)
        back = W.from_openai(checkpoint).eval()(input_features=mel, decoder_input_ids=tokens).logits
    torch.testing.assert_close(theirs, ours, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(back, ours, atol=1e-6, rtol=1e-6)


def test_from_openai_rejects_an_incomplete_checkpoint(miniature):
    from transformers import WhisperForConditionalGeneration

    checkpoint = W.to_openai(WhisperForConditionalGeneration.from_pretrained(miniature))
    del checkpoint["model_state_dict"]["decoder.ln.weight"]
    with pytest.raises(ValueError, match="lacks.*decoder.ln.weight"):
        W.from_openai(checkpoint)


def test_only_the_unactionable_generate_warnings_are_filtered():
    logger = logging.getLogger("transformers.generation.utils")
    make = lambda message: logger.makeRecord(logger.name, logging.WARNING, __file__, 0, message, (), None)  # noqa: E731
    assert not logger.filter(make("Passing `generation_config` together with generation-related arguments"))
    assert not logger.filter(make("Both `max_new_tokens` (=40) and `max_length`(=448) seem to have been set."))
    assert logger.filter(make("The attention mask is not set"))


def test_the_compact_tokenizer_file_loads_the_same_tokenizer(tokenizer, tmp_path):
    from transformers import WhisperProcessor

    W.save_processor(tmp_path, tokenizer)
    assert (tmp_path / "tokenizer.json").stat().st_size < 2.5e6  # transformers writes 6.2 MB
    reloaded = WhisperProcessor.from_pretrained(tmp_path).tokenizer
    for text in [" three one four, five!", "你好，世界。", "naïve café"]:
        assert reloaded.encode(text) == tokenizer.encode(text)


def test_token_timestamps_leave_the_attention_implementation_as_it_was(miniature, tokenizer):
    from transformers import WhisperForConditionalGeneration

    from helpers.families.whisper import evaluate as E

    model = WhisperForConditionalGeneration.from_pretrained(miniature, attn_implementation="sdpa").eval()
    timed = E.token_timestamps(model, tokenizer, H.speak("three one four", sr=16000), max_length=12)
    assert timed and all(t < tokenizer.eos_token_id and s >= 0 for t, s in timed)
    assert model.config._attn_implementation == "sdpa"  # transformers 5.23 leaves it "eager"
