"""Text codecs: Unicode round trips, word tokens, vocabulary JSON, bad input."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creative_rnn import codecs
from creative_rnn.errors import CorpusError, SamplingError, UserError

UNICODE_SAMPLES = [
    "plain ASCII, with punctuation!",
    "emoji 🎻🥁 and a family 👨‍👩‍👧 (zero-width joiners)",
    "CJK 春眠不覚暁 and kana かな",
    "combining marks: e\u0301 a\u0308 n\u0303 (decomposed)",
    "RTL שלום مرحبا",
]


@pytest.mark.parametrize("text", UNICODE_SAMPLES)
def test_char_round_trip_keeps_every_code_point(text):
    codec = codecs.get("char")
    codec.fit([text])
    ids = codec.encode(text)
    assert len(ids) == len(text)  # one token per code point, never per byte
    assert codec.decode(ids) == text


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_char_round_trip_any_text(text):
    codec = codecs.get("char")
    codec.fit([text])
    assert codec.decode(codec.encode(text)) == text


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_word_round_trip_any_text(text):
    codec = codecs.get("word")
    codec.fit([text])
    assert codec.decode(codec.encode(text)) == text


def test_word_tokens_keep_whitespace_and_punctuation():
    codec = codecs.get("word")
    text = "Hello,  world!\nSecond line."
    assert codec.tokenize(text) == ["Hello", ",", "  ", "world", "!", "\n", "Second", " ",
                                    "line", "."]


def test_word_vocabulary_cap_maps_rare_words_to_unk():
    codec = codecs.get("word", max_vocab=3)
    codec.fit(["a a a b b c d"])
    ids = codec.encode("a d")
    assert codec.vocab.unk in ids
    assert "\ufffd" in codec.decode(ids)  # visible, not mistaken for text


def test_codec_json_round_trip_gives_same_ids():
    codec = codecs.get("char")
    codec.fit(["the quick brown fox 🦊"])
    again = codecs.from_json(json.loads(json.dumps(codec.to_json())))
    assert again.vocab.tokens == codec.vocab.tokens
    assert again.encode("brown 🦊") == codec.encode("brown 🦊")


def test_vocabulary_ids_do_not_depend_on_item_order():
    a, b = codecs.get("char"), codecs.get("char")
    a.fit(["xyz", "abc"])
    b.fit(["abc", "xyz"])
    assert a.vocab.tokens == b.vocab.tokens


def test_unknown_prime_characters_are_named():
    codec = codecs.get("char")
    codec.fit(["abc"])
    with pytest.raises(SamplingError, match="'Z'"):
        codec.encode("abZ")
    assert codec.decode(codec.encode("abZ", unknown="skip")) == "ab"


def test_huge_character_vocabulary_is_refused_with_a_hint():
    codec = codecs.get("char", max_vocab=100)
    with pytest.raises(CorpusError, match="probably binary.*--max-vocab"):
        codec.fit(["".join(chr(0x4E00 + i) for i in range(500))])


def test_unknown_codec_name():
    with pytest.raises(UserError, match="unknown codec 'nope'"):
        codecs.get("nope")


# --- bounded input (issue 20) ---------------------------------------------------------------
def test_a_text_file_that_is_not_regular_is_refused_unread():
    """/dev/zero as --prime-file (or any device or pipe) would be read for ever."""
    for name in ("char", "word"):
        with pytest.raises(CorpusError, match="not a regular file"):
            codecs.get(name).read("/dev/zero")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), name=st.sampled_from(["char", "word"]),
       unknown=st.sampled_from(["error", "skip", "unk"]))
def test_fuzzed_primes_give_bounded_valid_ids_or_a_user_error(text, name, unknown):
    codec = codecs.get(name)
    codec.fit(["The quick brown fox jumps over the lazy dog. 0123456789\n"])
    try:
        ids = codec.encode(text, unknown=unknown)
    except UserError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert len(ids) <= len(text)  # at most one token per character
    assert all(isinstance(i, int) and 0 <= i < codec.vocab_size for i in ids)
