"""helpers.data.text: character tokenizer with a blank, error rates and the confusion view."""
import pytest

from helpers.data.text import CharTokenizer, confusions, error_rates


def test_tokenizer_round_trip_and_blank():
    tok = CharTokenizer.from_texts(["one two", "three"])
    assert tok.symbols[0] == "<blank>" and tok.blank == 0 and len(tok) == 1 + len(set("one twothree"))
    assert tok.decode(tok.encode("two three")) == "two three"
    assert tok.decode([0] + tok.encode("one") + [0]) == "one"
    with pytest.raises(ValueError, match=r"characters \['z'\] of 'zero' are not in"):
        tok.encode("zero")
    with pytest.raises(ValueError, match="at least one character"):
        CharTokenizer([])


def test_error_rates_known_values():
    rates = error_rates(["one two three", "four"], ["one too three", "four five"])
    assert rates["wer"] == pytest.approx(2 / 4)
    assert rates["cer"] == pytest.approx((1 + 5) / 17)
    assert error_rates(["三一四"], ["三一"], language="zh") == {"cer": pytest.approx(1 / 3), "wer": pytest.approx(1 / 3)}
    assert error_rates(["abc"], [""])["cer"] == 1.0


def test_error_rates_bad_input():
    with pytest.raises(ValueError, match="as many hypotheses"):
        error_rates(["a"], [])
    with pytest.raises(ValueError, match="reference transcript is empty"):
        error_rates([" "], ["a"])


def test_confusions_count_substitutions_deletions_insertions():
    found = confusions(["two two", "one"], ["too too", "onee"])
    assert found[0] == ("w", "o", 2)
    assert ("", "e", 1) in found
    assert confusions(["ab"], [""]) == [("a", "", 1), ("b", "", 1)]
