"""helpers.data.speech: eSpeak NG through ctypes — deterministic, speakers that differ, Mandarin through pinyin."""
import re
import numpy as np
import pytest

import helpers as H


def test_speak_returns_plausible_speech():
    y = H.speak("one two three four five")
    assert y.dtype == np.float32 and y.ndim == 1
    assert 1.0 < len(y) / H.ESPEAK_SR < 4.0
    assert 0.05 < np.abs(y).max() <= 1.0


def test_speak_is_deterministic_whatever_was_said_before():
    first = H.speak("seven eight nine", voice="en+m3")
    H.speak("something else entirely", voice="en-us+f3", rate=300)
    np.testing.assert_array_equal(first, H.speak("seven eight nine", voice="en+m3"))


def test_voices_and_variants_give_different_speakers():
    a, b = H.speak("hello world", voice="en"), H.speak("hello world", voice="en+Alex")
    assert len(a) != len(b) or not np.array_equal(a, b)
    assert "Alex" in H.list_variants() and "en-us" in H.list_voices()


def test_rate_and_pitch_change_the_audio():
    slow, fast = H.speak("one two three", rate=120), H.speak("one two three", rate=300)
    assert len(slow) > 1.5 * len(fast)


def test_resampled_output():
    y = H.speak("hello", sr=16000)
    assert abs(len(y) / 16000 - len(H.speak("hello")) / H.ESPEAK_SR) < 0.01


def test_mandarin_through_pinyin():
    assert H.to_pinyin("你好，世界。") == "ni3 hao3, shi4 jie4."
    assert H.to_pinyin("绿") == "lv4"
    y = H.speak_mandarin("你好")
    assert 0.3 < len(y) / H.ESPEAK_SR < 3


@pytest.mark.parametrize("call, message", [
    (lambda: H.speak(""), "non-empty string"),
    (lambda: H.speak("hi", voice="klingon"), "unknown eSpeak voice 'klingon'"),
    (lambda: H.speak("hi", voice="en+Nobody"), "unknown voice variant 'Nobody'"),
    (lambda: H.speak("hi", rate=5), "rate (words per minute) must be between 80 and 450, got 5"),
    (lambda: H.speak("hi", rate="fast"), "rate (words per minute) must be a whole number, got 'fast' (str)"),
    (lambda: H.speak("hello\x00world"), "text holds the control character '\\x00' at position 5"),
    (lambda: H.speak("你好"), "voice 'en' cannot read '你'"),
    (lambda: H.speak("こんにちは", voice="en-us"), "use speak_mandarin() for Mandarin, or a voice of that language"),
    (lambda: H.speak("hi", pitch=150), "pitch must be between 0 and 99, got 150"),
    (lambda: H.speak("x" * 5000), "5000 characters"),
    (lambda: H.speak("你好", voice="cmn-latn-pinyin"), "reads pinyin, not characters"),
    (lambda: H.to_pinyin("hello"), "no Chinese syllables"),
])
def test_bad_inputs(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
