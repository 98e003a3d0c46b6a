"""The copy meter: suffix-array searches against brute force, the index over a run's training
split, music compared by intervals, spans and their sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydivsufsort import divsufsort
from support import shared_file

from creative_rnn import codecs
from creative_rnn.data.store import TokenStore
from creative_rnn.novelty import copied_spans, novelty
from creative_rnn.novelty.index import build, train_pieces
from creative_rnn.novelty.meter import maximal
from creative_rnn.novelty.search import following_codes, longest_matches, prefix_block
from creative_rnn.novelty.transform import PitchIntervals, SoundingIntervals, Transform


# --- the searches against brute force ---------------------------------------------------------
def _brute_longest(q: list[int], text: list[int], i: int) -> int:
    best = 0
    for p in range(len(text)):
        k = 0
        while i + k < len(q) and p + k < len(text) and q[i + k] != 0 and q[i + k] == text[p + k]:
            k += 1
        best = max(best, k)
    return best


texts = st.lists(st.integers(0, 3), min_size=1, max_size=120)  # 0: a separator
queries = st.lists(st.integers(0, 4), min_size=1, max_size=40)  # 4: never in the text


@settings(max_examples=200, deadline=None)
@given(texts, queries)
def test_longest_matches_equal_brute_force(text, q):
    t = np.array(text, np.uint8)
    sa = divsufsort(t).astype(np.int32)
    lengths, where = np.zeros(len(q), np.int64), np.full(len(q), -1, np.int64)
    longest_matches(np.array(q, np.int64), t, sa, lengths, where)
    for i in range(len(q)):
        assert lengths[i] == _brute_longest(q, text, i)
        if lengths[i]:  # the place given really holds the match
            assert text[where[i]: where[i] + lengths[i]] == q[i: i + lengths[i]]


@settings(max_examples=200, deadline=None)
@given(texts, st.lists(st.integers(1, 3), min_size=1, max_size=4))
def test_prefix_block_and_following_codes_equal_brute_force(text, window):
    t = np.array(text, np.uint16)  # the two-byte alphabet of large vocabularies
    sa = divsufsort(t).astype(np.int32)
    q = np.array(window, np.int64)
    lo, hi = prefix_block(q, t, sa)
    n = len(window)
    starts = [p for p in range(len(text)) if text[p: p + n] == window]
    assert sorted(sa[lo:hi].tolist()) == starts
    follow = {text[p + n] for p in starts if p + n < len(text)}
    assert set(following_codes(q, t, sa).tolist()) == follow


def test_maximal_keeps_copies_not_inside_the_one_before():
    lengths = np.array([5, 4, 3, 6, 5, 0, 2, 1])
    assert maximal(lengths, 2) == [0, 3, 6]


# --- the index over a store's training split --------------------------------------------------
def _codec_for(vocab_size: int):
    codec = codecs.get("char")
    codec.fit(["".join(chr(97 + i) for i in range(vocab_size - 4))])
    return codec


def test_index_covers_the_training_split_only():
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 30, 4000).astype(np.uint8)
    store = TokenStore(ids, np.array([0, len(ids)]), documents=False)
    arrays, _ = build(store, Transform(_codec_for(30)), (0.1, 10**9), progress=False)
    assert train_pieces(store, (0.1, 10**9)) == [(0, 3600)]
    assert arrays["text"].tolist() == ids[:3600].tolist()  # codes of text are its ids
    seen = np.unique(ids[:3600])
    assert (arrays["codes"][seen] == seen).all()
    assert np.all(arrays["codes"][[0, 1, 2, 3]] == 0)  # never in the corpus: never a match


def test_documents_index_holds_the_training_documents_with_separators():
    codec = _codec_for(12)
    docs = [[4 + (i * 7 + j) % 8 for j in range(5 + i % 4)] for i in range(40)]
    store = TokenStore.build(docs, codec.vocab_size, documents=True)
    split = (0.2, 1000)
    pieces = train_pieces(store, split)
    train, val = store.split(*split)
    assert [store.ids[a:b].tolist() for a, b in pieces] == [d.tolist() for d in train.docs]
    arrays, _ = build(store, Transform(codec), split, progress=False)
    assert (arrays["text"] == 0).sum() == len(pieces)


# --- music: intervals ----------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 129), min_size=0, max_size=30), st.integers(0, 133))
def test_melody_next_symbols_agree_with_symbols(steps, nxt):
    codec = codecs.get("melody")
    t = PitchIntervals(codec)
    history = [4 + s for s in steps]
    assert t.next_symbols(history)[nxt] == t.symbols(np.array(history + [nxt]))[-1]


def test_melody_transposed_is_the_same_symbols():
    codec = codecs.get("melody")
    t = PitchIntervals(codec)
    tune = [60, 129, 62, 128, 64, 129, 65, 67, 129, 129, 72, 128]
    up = [v + 5 if v < 128 else v for v in tune]
    ids, ids_up = codec.encode(tune), codec.encode(up)
    assert ids != ids_up
    assert t.symbols(np.array(ids)).tolist() == t.symbols(np.array(ids_up)).tolist()


def test_performance_note_offs_are_intervals_too():
    codec = codecs.get("performance")
    t = PitchIntervals(codec)
    v = codec.vocab.index
    a = [v["on60"], v["shift10"], v["off60"], v["on64"]]
    b = [v["on67"], v["shift10"], v["off67"], v["on71"]]
    assert t.symbols(np.array(a)).tolist() == t.symbols(np.array(b)).tolist()


TUNE = "X:1\nM:4/4\nL:1/8\nK:G\n|:GABc dedB|dedB dedB|c2ec B2dB|c2A2 A2BA:|\n"


def test_abc_transposed_tune_is_the_same_symbols():
    from creative_rnn.codecs.abc.pitch import by_semitones

    codec = codecs.get("abc", normalize_unit=True)
    tokens = codec.tokenize(TUNE)
    moved = by_semitones(tokens, 3)
    codec.fit([TUNE])
    from creative_rnn.codecs.vocab import Vocabulary
    codec.vocab = Vocabulary.build(tokens + moved)
    t = SoundingIntervals(codec)  # the abc codec's pitch_reading
    a = t.symbols(np.array([codec.vocab.index[x] for x in tokens]))
    b = t.symbols(np.array([codec.vocab.index[x] for x in moved]))
    assert tokens != moved and a.tolist() == b.tolist()
    history = [codec.vocab.index[x] for x in tokens[:-6]]
    nxt = t.next_symbols(history)
    for v in range(codec.vocab_size):  # the constraint's view agrees with the meter's
        assert nxt[v] == t.symbols(np.array(history + [v]))[-1]


# --- a run: the meter and its spans ---------------------------------------------------------
def test_a_training_line_is_a_copy_named_by_its_line(tiny_text_run, startrek):
    lines = startrek.read_text(encoding="utf-8").splitlines()
    sample = "zq" + lines[40] + "\n" + lines[41] + "qz"
    found = novelty(str(tiny_text_run), sample)
    assert found.longest >= len(lines[40]) + len(lines[41]) + 1
    assert found.longest_source.endswith("line 41")
    spans = copied_spans(str(tiny_text_run), sample)
    start, end, source = max(spans, key=lambda s: s[1] - s[0])
    assert sample[start:end] in startrek.read_text(encoding="utf-8")
    assert source == found.longest_source
    assert 0 < found.ngram_share <= 1


def test_the_generator_answers_for_its_run(tiny_text_run, startrek):
    import creative_rnn as cr

    gen = cr.load(tiny_text_run)
    line = startrek.read_text(encoding="utf-8").splitlines()[10]
    assert gen.novelty(line).longest == len(line)
    assert gen.copied_spans("~" + line) == [(1, 1 + len(line), gen.novelty(line).longest_source)]


def test_ids_outside_the_vocabulary_are_refused(tiny_text_run):
    from creative_rnn.errors import SamplingError

    with pytest.raises(SamplingError, match="not in the run's vocabulary"):
        novelty(str(tiny_text_run), ids=[5, 10**6])


def test_word_codec_lines_count_every_break(tmp_path):
    import creative_rnn as cr

    corpus = tmp_path / "verse.txt"
    corpus.write_text("one two\n\nthree four five six\nseven eight nine ten eleven\n" * 40,
                      encoding="utf-8")
    run = tmp_path / "run"
    cr.train(corpus=[str(corpus)], out=run, codec="word", preset="tiny", hidden_size=8,
             max_steps=1, eval_every=1, checkpoint_every=1, progress_bar=False)
    found = novelty(str(run), "three four five six\nseven eight")
    line = int(found.longest_source.rsplit(" ", 1)[1])
    assert line % 4 == 3  # the third of each four lines: the blank line counts


def test_text_never_seen_is_not_a_copy(tiny_text_run):
    found = novelty(str(tiny_text_run), "~~~~~~~~~~~~~~~~~~~~", )
    assert found.longest == 0 and found.spans == [] and found.ngram_share == 0.0


# --- music runs: the index builds over many pieces, and finds a real one, transposed too -------
MUSIC_CORPORA = {  # codec -> corpus: the shared melodies (a stream of 184 pieces), a tune book
    "melody": shared_file("melody/melodies.jsonl"),
    "performance": shared_file("melody/melodies.jsonl"),
    "abc": Path(__file__).parent / "fixtures" / "old_runs" / "abc" / "tunes.abc",
}
# beside the book's three tunes (in G, D and C), two scales whose keys and notes let the
# vocabulary spell those tunes moved a few semitones (a key it never saw reads as <unk>)
SCALES = "".join(f"X:{9 + i}\nT:Scale in {key}\nM:4/4\nL:1/8\nK:{key}\n"
                 "G,A,B,C DEFG|ABcd efga|bc'd'e' f'g'a'2|]\n\n" for i, key in enumerate("AE"))


def _transposed(codec, item, k: int):
    """``item`` moved ``k`` semitones, as the codec's own item."""
    if codec.name == "melody":
        return [v + k if v < 128 else v for v in item]
    if codec.name == "performance":
        return [n._replace(pitch=n.pitch + k) for n in item]
    from creative_rnn.codecs.abc.pitch import by_semitones
    return codec.detokenize(by_semitones(codec.tokenize(item), k))


@pytest.mark.parametrize("name", sorted(MUSIC_CORPORA))
def test_a_music_run_finds_a_training_piece_and_its_transposition(name, tmp_path):
    """Regression: the index of a melody or performance run (a stream of many pieces, each
    transformed on its own) failed to build with "could not broadcast" (index.py
    _document_symbols gave a chunk crossing pieces only its first piece's symbols)."""
    import creative_rnn as cr
    from creative_rnn.data.cache import prepare

    corpus = MUSIC_CORPORA[name]
    if name == "abc":
        corpus = tmp_path / "book.abc"
        corpus.write_text(MUSIC_CORPORA[name].read_text(encoding="utf-8") + "\n" + SCALES,
                          encoding="utf-8")
    run = tmp_path / name
    cr.train(corpus=[str(corpus)], out=run, codec=name, preset="tiny",
             hidden_size=8, embedding_size=4, max_steps=1, eval_every=1, checkpoint_every=1,
             progress_bar=False)
    gen = cr.load(run, device="cpu")
    codec, train = gen.codec, gen.config["train"]
    store = prepare(gen.config["corpus"], codec, fit=False)
    assert store.num_documents > 1 and store.documents == (name == "abc")
    # a piece the run trained on (wholly inside a training piece), of a few bars at least
    inside = [d for a, b in train_pieces(store, (train["val_fraction"], train["doc_max_len"]))
              for d in range(store.num_documents)
              if a <= store.offsets[d] and store.offsets[d + 1] <= b]
    d = max(inside, key=lambda d: len(store.document(d)))
    ids = [int(t) for t in store.document(d) if t >= 4]  # without a document's bos and eos
    item = codec.decode(ids)
    assert len(ids) >= 30 and codec.encode(item) == ids
    found = gen.novelty(item)
    assert found.longest == len(ids)
    spans = gen.copied_spans(item)
    assert (0, len(ids), found.longest_source) in spans
    assert f" {d + 1} of {corpus.name}" in found.longest_source  # its place in the book
    if name == "abc":
        assert "'" in found.longest_source and "Scale" not in found.longest_source  # title
    spelled = [k for k in (2, -3, 5, -5, 7, -7)
               if codec.vocab.unk not in codec.encode(_transposed(codec, item, k), "unk")]
    assert spelled
    for k in spelled[:2]:
        moved = _transposed(codec, item, k)
        assert codec.encode(moved) != ids
        assert gen.novelty(moved).longest == len(ids), k


# --- which tokens make which note (codec.note_tokens: the studio marks copied notes) ----------
@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([60, 62, 67, 128, 129, 129]), max_size=40))
def test_melody_note_tokens_are_each_notes_onset_and_holds(steps):
    codec = codecs.get("melody")
    ids = [1] + codec.encode(steps) + [2]  # specials are dropped by decode: indices keep them
    notes, ranges = codec.notes(codec.decode(ids)), codec.note_tokens(ids)
    assert len(ranges) == len(notes)
    for n, (a, b) in zip(notes, ranges):
        assert codec.vocab.token(ids[a]) == str(n.pitch) and a < b
        assert all(codec.vocab.token(i) == "129" for i in ids[a + 1: b])


def test_performance_note_tokens_run_from_note_on_to_note_off():
    from creative_rnn.codecs.midi.io import Note

    codec = codecs.get("performance")
    ids = codec.encode([Note(60, 0, 0.5, 80), Note(64, 0.25, 0.5, 80), Note(60, 0.5, 1, 80)])
    tokens = [codec.vocab.token(i) for i in ids]
    ranges = codec.note_tokens(ids)
    assert len(ranges) == len(codec.notes(codec.decode(ids))) == 3
    for n, (a, b) in zip(codec.notes(codec.decode(ids)), ranges):
        assert tokens[a] == f"on{n.pitch}" and tokens[b - 1] == f"off{n.pitch}"


def test_an_empty_music_sample_has_no_symbols():
    """Regression (found by tests/test_web_copies_fuzz.py): an empty melody sample was an
    IndexError inside the meter, and the studio's "copy meter failed inside the server"."""
    for name in ("melody", "performance"):
        assert PitchIntervals(codecs.get(name)).symbols(np.zeros(0, np.int64)).tolist() == []
