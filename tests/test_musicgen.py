"""MusicGen's parts (helpers.families.musicgen): residual vector quantization against hand-made codebooks and
transformers' EnCodec quantizer, the interleaving patterns against transformers' delay-pattern mask, the chord
reader and the tempo judge on rendered music, the miniature's build, save and load, the melody heard at its time,
and what the LM reads in training (its codes a step late, some corrupted)."""
import numpy as np
import pytest
import torch

from helpers.data import music
from helpers.families.musicgen import codec as C
from helpers.families.musicgen import evaluate as E
from helpers.families.musicgen import model as M
from helpers.families.musicgen import patterns as P
from helpers.families.musicgen import rvq


def test_nearest_codeword_and_residual_quantization_by_hand():
    first = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    second = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, -1.0]])
    x = torch.tensor([[3.9, 1.1], [0.2, 2.9], [4.1, -0.9]])
    assert rvq.nearest(x, first).tolist() == [1, 2, 1]
    codes, quantized = rvq.quantize(x, torch.stack([first, second]))
    assert codes.tolist() == [[1, 2, 1], [0, 2, 2]]  # residuals (-0.1, 1.1), (0.2, -1.1), (0.1, -0.9)
    assert torch.allclose(quantized, torch.tensor([[4.0, 0.0], [0.0, 3.0], [4.0, -1.0]]))
    one, _ = rvq.quantize(x, torch.stack([first, second]), n=1)
    assert one.tolist() == [[1, 2, 1]]


def test_the_rvq_learns_its_codebooks_and_exports_them_to_transformers_encodec():
    torch.manual_seed(0)
    codec = C.build(num_filters=4, hidden_size=8, codebook_size=16)
    quantizer = rvq.ResidualVQ(codec.config.num_quantizers, 16, codec.config.codebook_dim, dropout=0.0)
    data = torch.randn(4, codec.config.codebook_dim, 50)
    quantizer.train()
    before = None
    for _ in range(20):
        quantized, codes, commitment = quantizer(data)
        before = before if before is not None else float(commitment)
    assert float(commitment) < before, "EMA codebooks bring the codewords closer to the vectors"
    assert quantized.shape == data.shape and codes.shape == (codec.config.num_quantizers, 4, 50)
    quantizer.eval()
    _, codes, _ = quantizer(data)
    quantizer.export(codec.quantizer)
    assert torch.equal(codec.quantizer.encode(data), codes), "transformers' EnCodec quantizer picks the same codes"
    with pytest.raises(ValueError, match="codebooks"):
        rvq.ResidualVQ(2, 16, codec.config.codebook_dim).export(codec.quantizer)
    audio = torch.randn(2, 3200).numpy()  # any count of codebooks, not only the config's bandwidths
    every = C.encode(codec, audio)
    assert torch.equal(C.encode(codec, audio, 3), every[:, :3]) and C.decode(codec, every[:, :3]).shape == (2, 3200)
    too_many = codec.config.num_quantizers + 1
    with pytest.raises(ValueError, match=f"n={too_many}"):
        C.encode(codec, audio, too_many)


def test_straight_through_gradients_reach_the_encoder():
    quantizer = rvq.ResidualVQ(2, 8, 4, dropout=0.0)
    x = torch.randn(2, 4, 10, requires_grad=True)
    quantized, _, commitment = quantizer(x)
    (quantized.sum() + commitment).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("frames", [3, 5, 12])  # transformers applies no pattern below 2K - 1 = 7 steps
def test_delay_pattern_round_trip_and_agreement_with_transformers(frames):
    from transformers import MusicgenDecoderConfig, MusicgenForCausalLM

    torch.manual_seed(frames)
    codes = torch.randint(0, 16, (2, 4, frames))
    delayed = P.delay(codes, pad=16)
    assert delayed.shape == (2, 4, frames + 3) and torch.equal(P.undelay(delayed), codes)
    decoder = MusicgenForCausalLM(MusicgenDecoderConfig(vocab_size=16, hidden_size=8, num_hidden_layers=1,
                                                        num_attention_heads=2, ffn_dim=16, num_codebooks=4,
                                                        pad_token_id=16, bos_token_id=16))
    prompt = torch.cat([torch.full((2, 4, 1), 16), codes], dim=2).reshape(8, -1)  # BOS, then the codes
    _, mask = decoder.build_delay_pattern_mask(prompt, pad_token_id=16, max_length=frames + 4)
    assert torch.equal(mask.reshape(2, 4, -1)[..., 1:], delayed)


def test_flattening_round_trip_and_decoding_steps():
    codes = torch.arange(24).reshape(2, 4, 3)
    flat = P.flatten(codes)
    assert flat[0, :5].tolist() == [0, 3, 6, 9, 1] and torch.equal(P.unflatten(flat, 4), codes)
    assert [P.steps(p, 4, 100) for p in P.PATTERNS] == [400, 100, 103]
    with pytest.raises(ValueError, match="unknown pattern 'zigzag'"):
        P.steps("zigzag", 4, 10)
    with pytest.raises(ValueError, match="at least 4 steps"):
        P.undelay(torch.zeros(1, 4, 3))


def test_bitrates_of_ours_and_of_musicgens_encodec():
    assert C.bitrate(50, 4, 256) == 1600 and C.bitrate(50, 4, 2048) == 2200


@pytest.mark.parametrize("root, quality", [("C", "major"), ("F#", "minor"), ("Bb", "seventh"), ("E", "seventh")])
def test_the_chord_reader_reads_rendered_chords(root, quality):
    for timbre in music.TIMBRES:
        audio = music.render(root, quality, "arpeggio", "slow", timbre, seed=2)
        assert E.chords([audio]) == [(root, quality)], timbre


def test_the_chord_reader_refuses_a_profile_of_the_wrong_size():
    with pytest.raises(ValueError, match="12 bins"):
        E.read_chord(np.ones(11))


@pytest.mark.parametrize("tempo", list(music.TEMPI))
def test_the_tempo_judge_hears_both_tempi(tempo):
    for texture in music.TEXTURES:
        assert E.tempo(music.render("G", "major", texture, tempo, "piano", drums=texture == "chord")) == tempo


def test_melody_following_counts_frames_of_the_dominant_pitch_class():
    audio = music.render("C", "major", "chord", "slow", "organ", melody=[4, 7, 0, 7])
    frames = M.melody_frames([audio])
    assert E.melody_following([audio], frames) == 1.0
    assert E.melody_following([audio], torch.roll(frames, 3, dims=2)) < 0.2


def test_the_miniature_builds_saves_and_loads_with_its_processor(tmp_path):
    tokenizer = M.train_tokenizer(music.every_caption(), tmp_path / "t")
    model, melody = M.build(tokenizer, C.build(num_filters=4), seed=0)
    M.save(model, melody, M.processor(tokenizer), tmp_path / "m")
    loaded, processor, melody_loaded = M.load(tmp_path / "m")
    assert processor.tokenizer.tokenize("a slow C major chord on piano") == \
        ["▁a", "▁slow", "▁C", "▁major", "▁chord", "▁on", "▁piano"]
    assert processor.tokenizer("a jazzy chord").input_ids == processor.tokenizer("a <unk> chord").input_ids
    assert melody_loaded is not None and loaded.decoder.config.num_codebooks == 4
    inputs = processor(text=["a fast A minor chord on organ"], padding=True, return_tensors="pt")
    torch.manual_seed(0)
    audio = loaded.generate(**inputs, max_new_tokens=10)
    assert audio.shape[:2] == (1, 1) and torch.isfinite(audio).all()


def test_generate_refuses_a_length_its_decoder_cannot_hold(tmp_path):
    tokenizer = M.train_tokenizer(music.every_caption(), tmp_path / "t")
    model, _ = M.build(tokenizer, C.build(num_filters=4), seed=0)
    with pytest.raises(ValueError, match=r"seconds=60: this model generates between 0.02 and 10.16 s"):
        M.generate(model, M.processor(tokenizer), ["a slow C major chord on piano"], seconds=60)


def test_the_melody_is_heard_at_its_time_in_one_pass_and_step_by_step(tmp_path):
    tokenizer = M.train_tokenizer(music.every_caption(), tmp_path / "t")
    model, melody = M.build(tokenizer, C.build(num_filters=4), seed=0)
    torch.nn.init.normal_(melody.pitch.weight)  # untrained it is near zero: make each pitch class move the logits
    decoder, steps = model.decoder.eval(), 12  # 12 code frames: 3 melody frames
    codes = torch.randint(0, 256, (2 * 4, steps))  # 2 clips × 4 codebooks
    memory = torch.randn(2, 5, decoder.config.hidden_size)
    frames = torch.eye(12)[torch.randint(0, 12, (2, steps // M.MELODY_STRIDE))]
    changed = frames.clone()
    changed[:, -1] = torch.roll(changed[:, -1], 1, dims=-1)  # another pitch class in the last melody frame

    def logits(tune, cached=False):
        with torch.no_grad(), M.melody_heard(model, melody, tune):
            if not cached:
                return decoder(input_ids=codes, encoder_hidden_states=memory).logits
            cache, out = None, []
            for t in range(steps):
                step = decoder(input_ids=codes[:, t:t + 1], encoder_hidden_states=memory, past_key_values=cache,
                               use_cache=True)
                cache = step.past_key_values
                out.append(step.logits)
            return torch.cat(out, dim=-2)

    whole = logits(frames)
    assert torch.allclose(whole, logits(frames, cached=True), atol=1e-4)
    assert not torch.allclose(whole, logits(torch.zeros_like(frames)), atol=1e-3)  # the melody is heard …
    last = steps - M.MELODY_STRIDE
    again = logits(changed)
    assert torch.allclose(whole[..., :last, :], again[..., :last, :], atol=1e-5)  # … only from its time on
    assert not torch.allclose(whole[..., last:, :], again[..., last:, :], atol=1e-3)


def test_the_lm_reads_the_codes_a_step_late_and_corrupted_only_in_training(tmp_path):
    from helpers.families.musicgen.recipe import Objective

    tokenizer = M.train_tokenizer(music.every_caption(), tmp_path / "t")
    model, melody = M.build(tokenizer, C.build(num_filters=4), seed=0)
    objective = Objective(model, melody, np.zeros((3, 320), np.float32), corrupt=0.5)
    objective.codes = torch.randint(0, 256, (3, 4, 20))
    tokens = tokenizer(["a slow C major chord on piano"] * 2, return_tensors="pt")
    batch = dict(stage="lm", index=torch.tensor([0, 2]), frames=torch.zeros(2, 5, 12),
                 melody=torch.tensor([False, True]), drop=torch.tensor([False, False]), **tokens)
    read = []
    model.decoder.register_forward_pre_hook(lambda module, args, kwargs: read.append(kwargs["input_ids"]),
                                            with_kwargs=True)
    pad, truth = 256, P.delay(objective.codes[[0, 2]], 256)  # (2, 4, 23)
    with torch.no_grad():
        clean = objective.eval()(**batch)[0]
        corrupted = objective.train()(**batch)[0]
    assert torch.equal(read[0][..., 0], torch.full((2, 4), pad)) and torch.equal(read[0][..., 1:], truth[..., :-1])
    slipped = (read[1] != read[0]).float()
    assert torch.equal(read[1][read[0] == pad], read[0][read[0] == pad])  # the delay pattern's pads stay
    assert 0.35 < slipped[read[0] != pad].mean() < 0.65 and not torch.isclose(clean, corrupted)
