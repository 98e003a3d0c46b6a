"""ABC primes that stop after their headers, and header tokens shown as text
(codecs/abc/tokens.py ``fragment``, codecs/abc/codec.py ``tokenize`` and ``token_text``)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import tiny_abc_run

import creative_rnn as cr
from creative_rnn.cli import main
from creative_rnn.codecs.abc.bars import bars, complete_share
from creative_rnn.codecs.abc.codec import AbcCodec
from creative_rnn.codecs.abc.tokens import AbcError, is_header, is_pitch, tokenize_tune
from creative_rnn.codecs.vocab import NUM_SPECIAL, Vocabulary

pytestmark = pytest.mark.usefixtures("one_thread")  # a tiny model

HEADER_PRIMES = ["X:1\nM:6/8\nL:1/8\nK:D\n", "M:6/8\nK:D", "M:6/8\\nK:D"]  # \\n: as typed


# --- a prime may be headers alone; a corpus tune may not -----------------------------------
@pytest.mark.parametrize("prime", HEADER_PRIMES)
def test_a_prime_of_headers_alone_is_read(prime):
    assert AbcCodec().tokenize(prime) == ["M:6/8", "L:1/8", "K:Dmaj"]


def test_a_prime_that_stops_before_its_key_leaves_the_key_to_the_model():
    codec = AbcCodec()  # no K:Cmaj by default: the model writes the rest of the headers
    assert codec.tokenize("X:1\nM:6/8") == ["M:6/8"]
    assert codec.tokenize("X:1\nM:6/8\nL:1/8\n") == ["M:6/8", "L:1/8"]
    assert codec.tokenize("L:1/8") == ["M:4/4", "L:1/8"]  # in the order tunes have them
    assert codec.tokenize("M:6/8\nA") == ["M:6/8", "L:1/8", "K:Cmaj", "A"]  # notes: a tune


@pytest.mark.parametrize("empty", ["", "  \n", "X:1\n", "% a comment\n"])
def test_a_prime_with_neither_headers_nor_notes_is_refused(empty):
    with pytest.raises(AbcError, match="give header lines"):
        AbcCodec().tokenize(empty)


def test_a_corpus_tune_without_notes_is_still_skipped(tmp_path, capsys):
    book = tmp_path / "book.abc"
    book.write_text("X:1\nM:6/8\nK:D\n|:dfa agf:|\n\nX:2\nT:headers only\nM:6/8\nK:D\n")
    assert AbcCodec().read_items(book) == ["X:1\nM:6/8\nK:D\n|:dfa agf:|"]
    assert "skipped 1 of 2" in capsys.readouterr().err
    only = tmp_path / "only.abc"
    only.write_text("X:2\nM:6/8\nK:D\n")
    with pytest.raises(AbcError, match="no notes in the tune"):
        AbcCodec().read_items(only)


# --- header tokens as text read back -------------------------------------------------------
METERS = ["M:6/8", "M:4/4", "M:3/4", "M:2/2", "M:9/8"]
UNITS = ["L:1/8", "L:1/16", "L:1/4"]
KEYS = ["K:Dmaj", "K:Gmaj", "K:Ador", "K:Emin", "K:Bbmaj"]
NOTE = st.tuples(st.sampled_from(["", "^", "_", "="]),
                 st.sampled_from(["C", "D", "E", "F", "G", "A", "B", "c", "d", "e", "a", "b"]),
                 st.sampled_from(["", "2", "/2", "3"]))
BAR = st.tuples(st.lists(NOTE, min_size=1, max_size=4), st.sampled_from(["|", "|:", ":|", "||"]))


def shown(tokens: list[str]) -> str:
    """The tokens as the codec shows them one by one (the Write view, ``sample`` streaming)."""
    codec = AbcCodec()
    codec.vocab = Vocabulary.build(tokens)
    return "".join(codec.token_text(codec.vocab.index[t]) for t in tokens)


def _bar(notes, bar) -> list[str]:
    return [t for n in notes for t in n if t] + [bar]


def test_a_header_followed_by_notes_ends_its_line():
    tokens = ["M:4/4", "E", "a", "a", "a", "|"]  # was "M:4/4Eaaa |": an unreadable meter
    assert tokenize_tune(shown(tokens)) == ["M:4/4", "L:1/8", "K:Cmaj", "E", "a", "a", "a",
                                            "|"]
    tokens = ["M:6/8", "L:1/8", "K:Dmaj", "d", "f", "a", "|", "M:3/4", "A", "2", "B", "|"]
    assert tokenize_tune(shown(tokens)) == [*tokens[:7], "[M:3/4]", *tokens[8:]]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(METERS), st.sampled_from(UNITS), st.sampled_from(KEYS),
       st.lists(BAR, max_size=6))
def test_a_tune_shown_as_text_reads_back_to_its_tokens(meter, unit, key, drawn):
    tokens = [meter, unit, key] + [t for notes, bar in drawn for t in _bar(notes, bar)]
    assert tokenize_tune(shown(tokens), fragment=True) == tokens


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(METERS + UNITS + KEYS), BAR), min_size=1,
                max_size=8))
def test_headers_anywhere_in_a_sample_read_back_and_keep_its_notes(drawn):
    tokens = [t for d in drawn for t in ([d] if isinstance(d, str) else _bar(*d))]
    got = tokenize_tune(shown(tokens), fragment=True)  # no error: every header ends its line
    assert [t for t in got if not is_header(t.strip("[]"))] == \
        [t for t in tokens if not is_header(t)]
    # the tune's headers end at its K: or its first note; a header after them is a change
    opens = min([n + 1 for n, t in enumerate(tokens) if t.startswith("K:")] +
                [n for n, t in enumerate(tokens) if not is_header(t)] + [len(tokens)])
    for h in {h[0]: h for h in tokens[:opens]}.values():  # the last of each kind holds
        assert h in got, (h, got)
    assert [t for t in got if t.startswith("[") and is_header(t[1:-1])] == \
        [f"[{h}]" for h in tokens[opens:] if is_header(h)]


# --- sampling from a prime of headers ------------------------------------------------------


@pytest.fixture(scope="module")
def abc_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("abcprime")
    return tiny_abc_run(root, root / "run", steps=20)


def test_sample_continues_a_prime_of_headers(abc_run, tmp_path):
    out = tmp_path / "s.abc"
    assert main(["sample", str(abc_run), "--prime", "M:6/8\\nK:D", "--seed", "3",
                 "--length", "40", "--out", str(out), "--format", "abc"]) == 0
    text = out.read_text()
    assert text.startswith("X:1\nM:6/8\nL:1/8\nK:Dmaj\n"), text
    assert any(is_pitch(t) for t in tokenize_tune(text)[3:]), text


def test_a_prime_of_a_meter_alone_is_continued_in_that_meter(abc_run):
    gen = cr.load(abc_run, device="cpu")
    assert gen.prime_ids("X:1\nM:6/8")[1:] == [gen.codec.vocab.index["M:6/8"]]
    ids, left = gen.sample_ids("X:1\nM:6/8", length=80, num=4, seed=2, temperature=1.0,
                               constraints={"complete_bars": True})
    tunes = [gen.codec.tokenize(gen.codec.decode(s)) for s in ids + left]
    for tokens in tunes:  # the headers it did not write are the defaults: 6/8 stays
        assert tokens[0] == "M:6/8" and any(is_pitch(t) for t in tokens), tokens
        assert all(b.target == 6 for b in bars(tokens)), tokens
    assert complete_share(tunes) == 1.0, tunes


@pytest.mark.parametrize("prime", HEADER_PRIMES)
def test_complete_bars_start_from_a_prime_of_headers(abc_run, prime):
    gen = cr.load(abc_run, device="cpu")
    codec = gen.codec
    assert gen.prime_ids(prime)[1:] == codec.encode("M:6/8\nK:D")
    ids, left = gen.sample_ids(prime, length=80, num=4, seed=5, temperature=1.0,
                               constraints={"complete_bars": True})
    tunes = [[codec.vocab.token(i) for i in s if i >= NUM_SPECIAL] for s in ids + left]
    for tokens in tunes:
        assert tokens[:3] == ["M:6/8", "L:1/8", "K:Dmaj"]
        assert any(is_pitch(t) for t in tokens[3:])
        assert all(b.target == 6 for b in bars(tokens)), tokens  # 6/8 in eighths
    assert complete_share(tunes) == 1.0, tunes  # whole bars (pick-ups at a section's edge)
    for c in gen.continuations(prime, k=3, unit="bar", length=40):
        if c.ids[-1] != codec.vocab.eos:
            assert c.complete and codec.unit_done("bar", c.ids), c.text
