"""helpers.families.u2 (and the n-best of ctc.prefix_beams that it rescores): the decoder's teacher-forced scores
equal step-by-step decoding, rescoring picks the best combined score, dynamic chunks follow the recipe, and a U2
recogniser survives save_pretrained / from_pretrained."""
import math

import numpy as np
import pytest
import torch

from helpers.families import ctc, u2


def test_prefix_beams_scores_are_ctc_probabilities_when_the_beam_keeps_everything():
    rng = np.random.default_rng(0)
    log_probs = torch.tensor(rng.normal(size=(5, 3))).log_softmax(-1).numpy()
    beams = ctc.prefix_beams(log_probs, beam_size=1000)
    assert [score for _, score in beams] == sorted((score for _, score in beams), reverse=True)
    assert beams[0][0] == ctc.prefix_beam_search(log_probs, beam_size=1000)
    for ids, score in beams[:6]:
        expected = -ctc.ctc_loss(torch.tensor(log_probs), ids).item() if ids else log_probs[:, 0].sum()
        assert score == pytest.approx(expected, abs=1e-9)
    assert math.fsum(math.exp(score) for _, score in beams) == pytest.approx(1.0)  # every transcript, once


def test_decoder_io_shifts_by_one_marker():
    inputs, outputs = u2.decoder_io([[3, 4], [5]])
    assert inputs.tolist() == [[0, 3, 4], [0, 5, 0]]
    assert outputs.tolist() == [[3, 4, 0], [5, 0, -100]]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return u2.U2Recogniser(n_mels=16, characters="abc ", d_model=32, encoder_layers=1, decoder_layers=1).eval()


def test_teacher_forced_scores_equal_step_by_step_decoding(model):
    states = torch.randn(9, 32)
    hypotheses = [[1, 2, 3], [2], []]
    batched = model.attention_scores(states, hypotheses)
    for hypothesis, score in zip(hypotheses, batched):
        total, prefix = 0.0, [u2.SOS_EOS]
        with torch.no_grad():
            for symbol in hypothesis + [u2.SOS_EOS]:  # one decoder call per symbol: no mask can leak the future
                log_probs = model.decoder(torch.tensor([prefix]), states[None], torch.zeros(1, 9, dtype=torch.bool))
                total += log_probs[0, -1, symbol].item()
                prefix.append(symbol)
        assert score.item() == pytest.approx(total, abs=1e-4)


def test_rescoring_returns_the_best_combined_score(model):
    states = torch.randn(12, 32)
    best, table = u2.attention_rescoring(model, states, beam_size=4, ctc_weight=0.5)
    assert [row["ctc"] for row in table] == sorted((row["ctc"] for row in table), reverse=True)
    assert all(row["total"] == pytest.approx(row["attention"] + 0.5 * row["ctc"]) for row in table)
    assert best == max(table, key=lambda row: row["total"])["ids"]
    only_ctc, _ = u2.attention_rescoring(model, states, beam_size=4, ctc_weight=1e9)
    assert only_ctc == table[0]["ids"]


def test_dynamic_chunks_follow_the_recipe():
    torch.manual_seed(0)
    assert {u2.draw_chunk(u2.Recipe(full_context=1.0)) for _ in range(20)} == {None}
    chunks = [u2.draw_chunk(u2.Recipe(full_context=0.0, max_chunk=5)) for _ in range(200)]
    assert set(chunks) == {1, 2, 3, 4, 5}
    mixed = [u2.draw_chunk(u2.Recipe()) for _ in range(400)]
    assert 0.4 < mixed.count(None) / len(mixed) < 0.6


def test_save_and_load_round_trip(model, tmp_path):
    model.save_pretrained(tmp_path)
    loaded = u2.load(tmp_path)
    x = torch.randn(1, 50, 16)
    with torch.no_grad():
        expected, _ = model(x, torch.tensor([50]), chunk=3)
        got, _ = loaded(x, torch.tensor([50]), chunk=3)
    assert torch.equal(expected, got) and loaded.tokenizer.symbols == model.tokenizer.symbols
