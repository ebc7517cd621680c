"""The SenseVoice family (notebook 06): the front end against funasr's, CMVN through funasr's reader, the rich-token
parser, the ITN mapping, the labelled speech (deterministic, validated), the training targets and the scoring."""
import numpy as np
import pytest
import torch

from helpers.families.sensevoice import data as rich
from helpers.families.sensevoice import frontend
from helpers.families.sensevoice import model as sv
from helpers.families.sensevoice import recipe


@pytest.fixture(scope="module")
def clips():
    return rich.rich_utterances("test", 1, seed=0)


def test_fbank_and_lfr_match_funasrs_wav_frontend(clips):
    with sv.quiet():
        from funasr.frontends.wav_frontend import WavFrontend
    for utt in clips[:4]:
        for lfr in (1, 6):
            options = {**sv.FRONTEND, "lfr_m": 7 if lfr > 1 else 1, "lfr_n": lfr}
            theirs = WavFrontend(**options)(torch.from_numpy(utt.audio)[None], torch.tensor([len(utt.audio)]))[0][0]
            ours = frontend.fbank(utt.audio)
            ours = frontend.stack_frames(ours) if lfr > 1 else ours
            assert ours.shape == tuple(theirs.shape)
            assert np.abs(ours - theirs.numpy()).max() < 5e-3  # kaldi-native-fbank works in float32


def test_am_mvn_is_read_back_by_funasr(tmp_path):
    mean, std = np.array([1.0, -2.0, 0.5], np.float32), np.array([2.0, 0.5, 1.0], np.float32)
    frontend.write_am_mvn(tmp_path / "am.mvn", mean, std)
    shift, scale = sv.read_cmvn(tmp_path)
    assert np.allclose(shift, -mean) and np.allclose(scale, 1 / std)
    x = np.array([[1.0, -2.0, 0.5], [3.0, -1.5, 1.5]], np.float32)
    assert np.allclose(frontend.apply_cmvn(x, shift, scale), (x - mean) / std)


def test_fbank_refuses_a_clip_shorter_than_a_frame():
    with pytest.raises(ValueError, match="fewer than one 25-ms frame"):
        frontend.fbank(np.full(100, 0.1, np.float32))


def test_itn_maps_digit_strings_to_numerals_and_leaves_other_text():
    assert rich.inverse_normalise("one two three", "en") == "123"
    assert rich.inverse_normalise("一零九", "zh") == "109"
    assert rich.inverse_normalise("turn on the light", "en") == "turn on the light"
    assert rich.inverse_normalise("one more", "en") == "one more"
    with pytest.raises(ValueError, match="unknown language"):
        rich.inverse_normalise("one", "fr")


def test_rich_parser_reads_fields_in_any_number():
    assert rich.parse_rich("<|zh|><|SLOW_LOW|><|BGM|><|woitn|>打开电灯") == {
        "language": "zh", "style": "SLOW_LOW", "event": "BGM", "itn": False, "text": "打开电灯"}
    assert rich.parse_rich("<|en|><|Beep|> 42") == {"language": "en", "style": None, "event": "Beep", "itn": None,
                                                     "text": "42"}
    assert rich.parse_rich("no tokens")["text"] == "no tokens"
    assert rich.parse_rich("<|en|><|zh|>x")["language"] == "en"  # the first of a field wins


def test_rich_utterances_are_deterministic_labelled_and_checked(clips):
    again = rich.rich_utterances("test", 1, seed=0)
    assert [u.rich for u in again] == [u.rich for u in clips]
    assert all(np.array_equal(a.audio, b.audio) for a, b in zip(again, clips))
    assert len(clips) == len(rich.LANGUAGES) * len(rich.TASKS) * len(rich.STYLES)
    for u in clips:
        assert np.abs(u.audio).max() <= 0.99 + 1e-6
        assert u.text == (rich.inverse_normalise(u.spoken, u.language) if u.itn else u.spoken)
    with pytest.raises(ValueError, match="subset"):
        rich.rich_utterances("test", 1, events=("Bark",))
    with pytest.raises(ValueError, match="event_db range"):
        rich.rich_utterances("test", 1, event_db=(0.0, -10.0))
    with pytest.raises(ValueError, match="unknown split"):
        rich.rich_utterances("dev", 1)


def test_events_are_mixed_at_the_level_asked():
    rng = np.random.default_rng(0)
    speech = rng.standard_normal(16000).astype(np.float32) * 0.05
    for event in rich.EVENTS[1:]:
        mixed = rich.mix_event(speech, event, -6.0, np.random.default_rng(1))
        added = mixed - speech
        assert 10 * np.log10(np.mean(added ** 2) / np.mean(speech ** 2)) == pytest.approx(-6.0, abs=0.1), event
    assert np.array_equal(rich.mix_event(speech, "Speech", 0.0, rng), speech)


def test_targets_put_the_four_task_tokens_first_and_refuse_unknown_characters(tmp_path, clips):
    sv.train_tokenizer(recipe.vocabulary_texts(clips), tmp_path / "bpe.model", vocab_size=100)
    sp = sv.tokenizer(tmp_path)
    utt = clips[0]
    ids = recipe.target_ids(sp, utt.rich)
    assert "".join(sp.id_to_piece(i) for i in ids[:4]) == rich.rich_tokens(utt.language, utt.style, utt.event, utt.itn)
    assert sp.decode(ids[4:]).strip() == utt.text and sp.unk_id() not in ids
    with pytest.raises(ValueError, match="outside the vocabulary"):
        recipe.target_ids(sp, "<|en|><|NEUTRAL|><|Speech|><|woitn|>quick fox")


def test_every_mandarin_digit_is_a_piece_of_its_own(tmp_path):
    strings = [rich.RichUtterance(str(i), "zh", "digits", "NEUTRAL", "Speech", 0.0, False, s, s, "", np.zeros(1))
               for i, s in enumerate(["六六二", "七三二九", "七三五", "三二九"] * 20)]
    sv.train_tokenizer(recipe.vocabulary_texts(strings), tmp_path / "bpe.model", vocab_size=100)
    pieces = sv.tokenizer(tmp_path).encode("七三二九", out_type=str)
    assert [p.lstrip("▁") for p in pieces] == list("七三二九")


def test_scoring_a_perfect_and_a_wrong_decode(clips):
    perfect = recipe.score(clips, [u.rich for u in clips])
    assert perfect["language_accuracy"] == perfect["style_accuracy"] == perfect["event_f1"] == 1.0
    assert perfect["english_wer"] == perfect["mandarin_cer"] == 0.0
    wrong = recipe.score(clips, ["<|zh|>" if u.language == "en" else "<|en|>" for u in clips])
    assert wrong["language_accuracy"] == 0.0 and wrong["english_wer"] == 1.0 and wrong["event_f1"] == 0.0


def test_loading_leaves_torch_at_the_process_share_of_threads():
    from helpers.core.runtime import cpu_threads
    from helpers.zoo import resolve_model

    sv.load(resolve_model("mini", family="sensevoice"))
    assert torch.get_num_threads() == cpu_threads()  # funasr's AutoModel would set its own default, 4
