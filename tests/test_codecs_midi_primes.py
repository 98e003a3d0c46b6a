"""Melody and performance primes are bounded before any work is done: a phrase expands to at
most MAX_PHRASE_TOKENS tokens, every length is a plain positive number under its cap, and
anything else is a one-line UserError, never another exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import creative_rnn as cr
from creative_rnn.codecs.midi.music import MAX_PHRASE_TOKENS
from creative_rnn.errors import ConfigError, SamplingError, UserError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODECS = {name: cr.codecs.get(name) for name in ("melody", "performance")}
SMALL_SHIFTS = cr.codecs.get("performance", max_shift_steps=1)  # the most tokens per second


@pytest.mark.parametrize("prime, words", [
    ("C4:3000000", ["C4:3000000", "at most 4000 steps"]),
    ("C4:100000000", ["at most 4000 steps"]),  # was a MemoryError
    ("C4:" + "9" * 30, ["cannot read"]),  # more digits than any length
    ("C4:16 " * 300, ["too long at 'C4:16'", "4000 steps"]),
    ("C4:0", ["cannot read"]), ("C4:-2", ["cannot read"]), ("C4:²", ["cannot read"]),
    ("²", ["cannot read"]), ("9" * 5000, ["cannot read"]),
])
def test_melody_primes_that_would_buy_unbounded_work_are_refused(prime, words):
    with pytest.raises(SamplingError) as e:
        CODECS["melody"].tokenize(prime)
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value)


@pytest.mark.parametrize("prime, words", [
    ("C4:3000000", ["C4:3000000", "at most 60 seconds"]),
    ("C4:inf", ["cannot read"]), ("C4:nan", ["cannot read"]), ("C4:1e400", ["cannot read"]),
    ("C4:-1", ["cannot read"]), ("C4:0", ["more than 0"]), ("C4:0.0", ["more than 0"]),
    ("C4:1_0", ["cannot read"]), ("C4:٣", ["cannot read"]),
    ("C4:60 " * 100, ["too long", "4000 tokens"]),
])
def test_performance_primes_that_would_buy_unbounded_work_are_refused(prime, words):
    with pytest.raises(SamplingError) as e:
        CODECS["performance"].tokenize(prime)
    assert all(w in str(e.value) for w in words) and "\n" not in str(e.value)


def test_the_cap_counts_tokens_before_making_them():
    with pytest.raises(SamplingError, match="4000 tokens"):
        SMALL_SHIFTS.tokenize("C4:41")  # 4100 shifts of 10 ms: refused before they are made
    assert len(SMALL_SHIFTS.tokenize("C4:39")) == 3903  # vel, on, 3900 shifts, off
    assert len(CODECS["melody"].tokenize("C4:4000")) == MAX_PHRASE_TOKENS


# --- fuzz: every syntax, near-valid and arbitrary ----------------------------------------------
pitch_words = st.one_of(
    st.integers(-5, 200).map(str), st.text("0123456789²٣", min_size=1, max_size=6),
    st.tuples(st.sampled_from("ABCDEFGHcgbx"), st.sampled_from(["", "#", "b", "##"]),
              st.sampled_from(["-1", "0", "4", "9", "10", "-", "٤", ""])).map("".join))
lengths = st.one_of(
    st.integers(-3, 10**9).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "inf", "-inf", "nan", "1e400", "1_0", ".5", "5.", "0.001", "٣", "²",
                     "60", "60.000001", "3000000", "9" * 30]),
    st.text("0123456789.e-+_", max_size=12))
event_words = st.one_of(
    st.sampled_from(["-", "x", "off", "|", "128", "129", "130", ",", "X"]),
    st.tuples(st.sampled_from(["on", "off", "shift", "vel"]),
              st.integers(-2, 1200)).map(lambda t: f"{t[0]}{t[1]}"))
words = st.one_of(pitch_words, event_words,
                  st.tuples(pitch_words, lengths).map(lambda t: f"{t[0]}:{t[1]}"))
phrases = st.one_of(st.lists(words, max_size=40).map(" ".join), st.text(max_size=200))


@FUZZ
@given(text=phrases)
def test_any_prime_gives_a_bounded_list_of_valid_tokens_or_a_user_error(text):
    for codec in (*CODECS.values(), SMALL_SHIFTS):
        try:
            tokens = codec.tokenize(text)
        except UserError as e:
            assert str(e) and "\n" not in str(e)
            continue
        assert len(tokens) <= MAX_PHRASE_TOKENS
        assert all(t in codec.vocab.index for t in tokens)
        assert codec.decode(codec.encode(text)) is not None  # and the ids decode


@pytest.mark.parametrize("name, options", [
    ("melody", {"steps_per_quarter": 10**9}), ("melody", {"steps_per_quarter": "4"}),
    ("melody", {"bpm": float("inf")}), ("melody", {"velocity": 0}),
    ("melody", {"octaves": "sideways"}), ("performance", {"max_shift_steps": 10**9}),
    ("performance", {"hanging_note_s": float("nan")}), ("performance", {"magenta": "yes"}),
    ("performance", {"velocity_bins": 128, "magenta": True}),
])
def test_codec_options_a_user_types_are_bounded(name, options):
    with pytest.raises(ConfigError, match="codec option|octaves"):
        cr.codecs.get(name, **options)
