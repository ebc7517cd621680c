"""The cosyvoice family (notebook 07): the front end, the S3 quantizer and its token rate, flow matching on cases
with a known answer, the LM's sampling rules, and CosyVoiceMini's API and its bad inputs."""
import numpy as np
import pytest
import torch

from helpers.families.cosyvoice import flow as F
from helpers.families.cosyvoice import frontend, lm, tokens
from helpers.families.cosyvoice import model as M


def test_the_front_end_reads_english_and_mandarin_through_one_alphabet():
    assert frontend.normalize("Three, FOUR!", "en") == "three four"
    assert frontend.normalize("三四", "zh") == "san1 si4"
    assert frontend.decode(frontend.text_ids("nine", "en")) == "nine"
    assert M.language_of("欢迎 one") == "zh" and M.language_of("one two") == "en"
    # the seed sentence's English brand name is not Mandarin: pinyin drops it (a pause), said plainly in notebook 07
    assert frontend.normalize("欢迎使用FunAudioLLM进行语音合成！", "zh") == \
        "huan1 ying2 shi3 yong4 jin4 xing2 yu3 yin1 he2 cheng2"


@pytest.mark.parametrize("text, language, match", [
    ("caf\u00e9", "en", "cannot say"), ("42", "en", "cannot say"), ("", "en", "non-empty"), ("one", "fr", "language"),
])
def test_the_front_end_refuses_what_it_cannot_say(text, language, match):
    with pytest.raises(ValueError, match=match):
        frontend.normalize(text, language)


def test_quantize_passes_gradients_straight_through_the_codeword():
    codebook = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z = torch.tensor([[0.9, 0.2], [0.1, 3.0]], requires_grad=True)
    ids, unit, vectors, loss = tokens.quantize(z, codebook)
    assert ids.tolist() == [0, 1] and torch.allclose(vectors, codebook[ids])  # forward: the codewords
    (grad_st,) = torch.autograd.grad((vectors * torch.tensor([1.0, 2.0])).sum(), z, retain_graph=True)
    (grad_unit,) = torch.autograd.grad((unit * torch.tensor([1.0, 2.0])).sum(), z, retain_graph=True)
    assert torch.allclose(grad_st, grad_unit)  # backward: as if there were no quantizer
    assert (loss > 0).all()


def test_the_nearest_codeword_is_by_cosine():
    codebook = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    ids, *_ = tokens.quantize(torch.tensor([[0.9, 0.2], [0.1, -3.0], [-0.2, 2.0], [-5.0, 1.0]]), codebook)
    assert ids.tolist() == [0, 3, 1, 2]


def test_tokens_come_at_25_per_second():
    tokenizer = tokens.S3Tokenizer(d_model=32, codebook=16, code_dim=8, lower=1, upper=1).eval()
    mel = torch.randn(2, 300, 80) - 5
    ids, lengths, *_ = tokenizer.encode(mel, torch.tensor([300, 200]))
    assert ids.shape == (2, 75) and lengths.tolist() == [75, 50]  # 100 frames a second, 4 frames a token
    assert tokens.token_lengths(torch.tensor([1, 4, 5, 400])).tolist() == [1, 1, 2, 100]


def test_dead_codewords_move_onto_the_data():
    tokenizer = tokens.S3Tokenizer(d_model=32, codebook=8, code_dim=4, lower=1, upper=1)
    z = torch.nn.functional.normalize(torch.randn(50, 4), dim=-1)
    tokenizer.usage.fill_(1.0)
    tokenizer.usage[3] = 0.0
    tokenizer.restart_dead_codes(z)
    assert any(torch.allclose(tokenizer.codebook[3], row) for row in z)  # codeword 3 now sits on a frame
    assert tokenizer.usage[3] == 1.0


def test_the_ot_path_runs_from_the_noise_to_the_data():
    x0, x1 = torch.randn(3, 5, 2), torch.randn(3, 5, 2)
    start, u = F.ot_path(x0, x1, torch.zeros(3), sigma_min=0.0)
    end, _ = F.ot_path(x0, x1, torch.ones(3), sigma_min=0.0)
    assert torch.allclose(start, x0) and torch.allclose(end, x1) and torch.allclose(u, x1 - x0)
    middle, _ = F.ot_path(x0, x1, torch.full((3,), 0.25), sigma_min=0.0)
    assert torch.allclose(middle, 0.75 * x0 + 0.25 * x1)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_euler_on_the_exact_velocity_reaches_a_single_data_point(schedule):
    """For data that is one point x1, the marginal velocity of the OT path is (x1 − (1 − σ)x) / (1 − (1 − σ)t):
    integrating it from any noise lands on x1."""
    sigma, x1 = 1e-4, torch.tensor([2.0, -1.0, 0.5])
    x = torch.randn(3)
    grid = F.time_grid(20, schedule)
    for t0, t1 in zip(grid[:-1], grid[1:]):
        x = F.euler_step(x, (x1 - (1 - sigma) * x) / (1 - (1 - sigma) * t0), float(t1 - t0))
    assert torch.allclose(x, x1, atol=1e-3)


def test_time_grid_guidance_and_the_masked_loss():
    grid = F.time_grid(10, "cosine")
    assert grid[0] == 0 and torch.isclose(grid[-1], torch.tensor(1.0)) and (grid.diff() > 0).all()
    assert grid.diff()[0] < grid.diff()[-1]  # small steps near the noise
    with pytest.raises(ValueError, match="steps"):
        F.time_grid(0)
    a, b = torch.randn(4), torch.randn(4)
    assert torch.equal(F.guided(a, b, 0.0), a) and torch.allclose(F.guided(a, b, 1.0), 2 * a - b)
    v, target = torch.zeros(1, 4, 2), torch.ones(1, 4, 2)
    target[0, 2:] = 100.0  # excluded frames do not count
    assert F.cfm_loss(v, target, torch.tensor([[True, True, False, False]])) == 1.0


def test_nucleus_sampling_stays_inside_the_nucleus():
    scores = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    generator = torch.Generator().manual_seed(0)
    draws = {lm.nucleus_sample(scores, top_k=4, top_p=0.7, generator=generator) for _ in range(200)}
    assert draws == {0, 1}  # 0.5 + 0.3 reach 0.7: 2 and 3 are cut
    assert {lm.nucleus_sample(scores, top_k=1, top_p=1.0, generator=generator) for _ in range(20)} == {0}


def test_repetition_aware_sampling_breaks_loops():
    scores = torch.log(torch.tensor([0.6, 0.4]))
    generator = torch.Generator().manual_seed(0)
    fresh = {lm.ras_sample(scores, [1] * 10, top_k=1, generator=generator) for _ in range(50)}
    looped = {lm.ras_sample(scores, [0] * 10, top_k=1, generator=generator) for _ in range(200)}
    assert fresh == {0}  # no repetition: the nucleus's choice
    assert looped == {0, 1}  # the nucleus's choice fills the window: drawn from the whole distribution


def test_streaming_generation_yields_the_same_tokens_in_chunks():
    torch.manual_seed(0)
    model = lm.TokenLM(codebook=16, speaker_dim=4, d_model=32, layers=1).eval()
    speaker, text = torch.randn(4), model.text_tokens([3, 4, 5], "en")
    whole = [t for part in model.generate(speaker, text, max_tokens=23, min_tokens=23,
                                          generator=torch.Generator().manual_seed(1)) for t in part]
    chunks = list(model.generate(speaker, text, max_tokens=23, min_tokens=23, chunk=5,
                                 generator=torch.Generator().manual_seed(1)))
    assert len(whole) == 23 and [len(c) for c in chunks] == [5, 5, 5, 5, 3] and sum(chunks, []) == whole


@torch.no_grad()
def test_kv_cache_gives_the_logits_of_the_whole_pass():
    torch.manual_seed(0)
    model = lm.TokenLM(codebook=16, speaker_dim=4, d_model=32, layers=2).eval()
    x, padding, _ = model.embed(torch.randn(1, 4), [model.text_tokens([3, 4, 5], "en")], [[1, 2, 3, 4, 5]])
    whole = model.logits(x, padding)[0]
    cache = [[] for _ in model.blocks.layers]
    prefix = model.extend(x[:, :6], cache)  # a prompt in one pass, then one position at a time
    steps = [model.extend(x[:, t:t + 1], cache) for t in range(6, x.shape[1])]
    torch.testing.assert_close(torch.cat([prefix] + steps), whole[5:], atol=1e-5, rtol=1e-5)
    assert cache[0][0].shape == (1, 4, x.shape[1], 8)  # (batch, heads, positions, head width)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch.manual_seed(0)
    model = M.CosyVoiceMini(speakers=["en-us+m1", "cmn-latn-pinyin+f1"], training_speakers=2, codebook=16,
                            tokenizer_dim=32, speaker_dim=8, lm_dim=32, lm_layers=1, flow_dim=32, flow_encoder=1,
                            flow_layers=1).eval()
    folder = tmp_path_factory.mktemp("cosy")
    M.save(model, folder)
    return M.load(folder)


def test_cosyvoice_mini_speaks_through_the_official_api(tiny_model):
    tiny_model.vocoder = "griffin-lim"
    out = list(tiny_model.inference_sft("one two", "en-us+m1", steps=2))
    assert len(out) == 1 and out[0]["tts_speech"].ndim == 2 and out[0]["tts_speech"].shape[0] == 1
    prompt = np.sin(2 * np.pi * 200 * np.arange(16_000) / 16_000).astype(np.float32) * 0.3
    first, total, audio = M.first_packet(tiny_model.inference_zero_shot("三四", "一二", prompt, stream=True,
                                                                        chunk=4, steps=1))
    assert 0 < first <= total and len(audio) % 160 == 0 and np.isfinite(audio).all()


def test_a_stream_writes_the_tokens_of_the_whole(tiny_model):
    """The flow's noise between a stream's chunks does not move the LM's draws: streamed or not, the same tokens."""
    whole = [tokens for tokens, _ in tiny_model.synthesize("一二三四五", tiny_model.speaker_table[0], steps=1, seed=3)]
    streamed = [tokens for tokens, _ in tiny_model.synthesize("一二三四五", tiny_model.speaker_table[0], steps=1, seed=3,
                                                              chunk=3)]
    assert len(streamed) > 1 and sum(streamed, []) == sum(whole, [])


def test_cosyvoice_mini_refuses_bad_requests(tiny_model):
    with pytest.raises(ValueError, match="unknown speaker"):
        next(tiny_model.inference_sft("one", "nobody"))
    tone = np.sin(np.arange(16_000) / 10).astype(np.float32)
    with pytest.raises(ValueError, match="prompt_text"):
        next(tiny_model.inference_zero_shot("one", "", tone))
    with pytest.raises(ValueError, match="at most 8 s"):
        next(tiny_model.inference_zero_shot("one", "two", np.tile(tone, 9)))
    tiny_model.vocoder = "wavenet"
    with pytest.raises(ValueError, match="vocoder"):
        next(tiny_model.inference_sft("one", "en-us+m1", steps=1))
    tiny_model.vocoder = "hifigan"


def test_frozen_parts_run_in_eval_mode_without_gradients_and_get_their_modes_back():
    from helpers.core.training import frozen

    dropout, linear = torch.nn.Dropout(0.5).train(), torch.nn.Linear(3, 3).eval()
    with frozen(dropout, linear):
        assert not dropout.training and not torch.is_grad_enabled()
        assert not linear(torch.ones(1, 3)).requires_grad
    assert dropout.training and not linear.training and torch.is_grad_enabled()
    with pytest.raises(RuntimeError), frozen(dropout):
        raise RuntimeError("a failing step")
    assert dropout.training  # restored even when the block fails


def test_the_prior_loss_is_the_mean_squared_error_of_mu_to_the_mel():
    """With ``prior`` = w the flow's loss grows by exactly w × the masked MSE of μ to the normalised mel, padding
    excluded; without it the loss is the CFM loss alone."""
    torch.manual_seed(0)
    flow = F.FlowDecoder(codebook=8, speaker_dim=4, n_mels=6, d_model=16, encoder=1, layers=1)
    mel, frames = torch.randn(2, 12, 6), torch.tensor([12, 8])
    tokens, lengths = torch.randint(0, 8, (2, 3)), torch.tensor([3, 2])
    args = (mel, frames, tokens, lengths, torch.randn(2, 4), torch.tensor([0, 2]), torch.tensor([False, True]))
    torch.manual_seed(1)
    plain, plain_info = flow(*args)
    torch.manual_seed(1)
    with_prior, info = flow(*args, prior=0.5)
    mu, x1 = flow.mu(tokens, lengths, 12), flow.normalize(mel)
    mask = torch.arange(12)[None, :] < frames[:, None]
    expected = ((mu - x1) ** 2)[mask].mean()
    assert "prior" not in plain_info and torch.allclose(info["prior"], expected)
    assert torch.allclose(with_prior, plain + 0.5 * expected)


def test_the_lm_learns_to_continue_a_prompt_of_the_same_voice(tiny_model, monkeypatch):
    """An utterance with a partner reaches the LM as zero-shot synthesis builds its input: the partner's text, a
    space, the text; the partner's tokens, then its own; the partner's voice. Without one, as it is."""
    from helpers.families.cosyvoice import recipe as R

    torch.manual_seed(0)
    prepared = {"mels": [torch.randn(40 + 8 * k, 80) - 5 for k in range(4)], "texts": [[2 + k, 3] for k in range(4)],
                "languages": ["en"] * 4, "speakers": [0, 1, 0, 1]}
    paired, alone = R.Utterances(prepared, 6, seed=0, partner_fraction=1.0), R.Utterances(prepared, 6, seed=0)
    assert all(prepared["speakers"][it["partner"]] == it["speaker"] != -1 and it["partner"] != it["index"]
               for it in map(paired.__getitem__, range(6)))
    assert all(alone[i]["partner"] == -1 for i in range(6))
    seen = {}
    monkeypatch.setattr(tiny_model.lm, "forward", lambda speaker, text, speech: seen.update(
        speaker=speaker, text=text, speech=speech))
    objective = R.Objective(tiny_model)
    items = [paired[0], alone[1], paired[2]]
    objective(**R.collate(items), stage="lm")
    kept = objective.kept
    for b, it in enumerate(items):
        k, p = it["index"], it["partner"]
        text = prepared["texts"][k] if p < 0 else prepared["texts"][p] + [1] + prepared["texts"][k]
        assert seen["text"][b] == tiny_model.lm.text_tokens(text, "en")
        assert seen["speech"][b] == (kept[p][0].tolist() if p >= 0 else []) + kept[k][0].tolist()
        assert torch.equal(seen["speaker"][b], kept[p if p >= 0 else k][1])
