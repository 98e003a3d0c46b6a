"""A codec defined here, registered through ``codecs.register``, gets the copy meter, the token
cache and the library's export through its capabilities (codecs/capabilities.py) with nothing
else changed; a codec that declares nothing gets the defaults or a one-line refusal."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from creative_rnn import codecs
from creative_rnn.codecs import Codec, StreamEncoder
from creative_rnn.data import cache
from creative_rnn.errors import CapabilityError
from creative_rnn.library.db import LibraryError
from creative_rnn.library.exporting import export, formats
from creative_rnn.novelty.meter import index_for, measure
from creative_rnn.novelty.transform import PitchIntervals, Transform, for_codec, ngram


class BellStream(StreamEncoder):
    """Encodes a stream of bell files in two passes, and says it was used."""

    used: list[str] = []
    scanning = "reading bells"

    def __init__(self, codec: Codec):
        self.codec = codec

    def _tokens(self, path: Path) -> list[str]:
        return self.codec.tokenize(path.read_text())

    def scan(self, files, explicit, bar=None):
        BellStream.used.append("scan")
        used = [(f, len(self._tokens(f))) for f in files]
        return SimpleNamespace(used=used, skipped=[],
                               tokens=lambda: sorted({t for f, _ in used for t in self._tokens(f)}))

    def write_ids(self, out, used, vocab, dtype, hasher=None, bar=None):
        BellStream.used.append("write_ids")
        for f, _ in used:
            data = np.array([vocab.index[t] for t in self._tokens(f)], dtype).tobytes()
            out.write(data)
            hasher.update(data)


class Bells(Codec):
    """Change ringing: a peal is a line "Name: b3 b1 b5 ...", bell n sounding pitch 60 + 2n."""

    name = "test-bells"
    file_suffix = ".bells"
    is_music = True
    copy_ngram = 4
    item_noun = "peal"
    titled = True
    book_format = "bells"

    def tokenize(self, item: str) -> list[str]:
        return [w for w in item.split() if not w.endswith(":")]  # names are not rung

    def detokenize(self, tokens) -> str:
        return " ".join(tokens)

    def read(self, path) -> str:
        return Path(path).read_text()

    def write(self, item: str, path) -> None:
        Path(path).write_text(item)

    def token_pitch(self, token: str):
        return (60 + 2 * int(token[1:]), 0) if token.startswith("b") else None

    def item_title(self, item: str) -> str:
        return item.split(":")[0]

    def notes(self, item: str):
        """A bell a quarter of a second, struck at velocity 90."""
        return [(self.token_pitch(t)[0], i / 4, (i + 1) / 4, 90)
                for i, t in enumerate(self.tokenize(item))]

    def stream_encoder(self) -> BellStream:
        return BellStream(self)

    def book(self, texts, notes) -> str:
        return "".join(f"# {note}\n{text}\n" for text, note in zip(texts, notes))


class Plain(Codec):
    """Says nothing beyond the core."""

    name = "test-plain"

    def tokenize(self, item: str) -> list[str]:
        return item.split()


@pytest.fixture(scope="module")
def bells():
    codecs.register(Bells)
    yield
    codecs._REGISTRY.pop(Bells.name)  # the registry has no public unregister


def _peals(folder: Path) -> Path:
    rng = np.random.default_rng(3)
    lines = [f"P{n}: " + " ".join(f"b{b}" for b in rng.integers(1, 6, 12)) for n in range(12)]
    path = folder / "peals.txt"
    path.write_text("\n".join(lines + ["Scale: " + " ".join(f"b{b}" for b in range(1, 9))]))
    return path


def test_a_registered_codec_gets_the_copy_meter_and_the_token_cache(bells, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setattr(cache, "MIN_CACHE_BYTES", 0)  # a small corpus is cached all the same
    corpus = _peals(tmp_path)
    codec = codecs.get("test-bells")
    # the token cache: a stream is encoded by the codec's own stream encoder
    BellStream.used.clear()
    stream = cache.prepare({"sources": [str(corpus)], "documents": False, "unit": "line"},
                           codec, fit=True)
    assert BellStream.used == ["scan", "write_ids"]
    assert stream.ids.tolist() == codec.encode(corpus.read_text())
    # the copy meter: a peal rung two bells higher is still a copy, named as a peal
    spec = {"sources": [str(corpus)], "documents": True, "unit": "line"}
    store = cache.prepare(spec, codec, fit=True)
    config = {"corpus": spec, "train": {"val_fraction": 0.2}, "corpus_digest": store.digest}
    index = index_for(config, codec, progress=False)
    assert isinstance(index.transform, PitchIntervals) and ngram(codec) == 4
    trained = [d for d in range(store.num_documents)
               if any(np.array_equal(store.document(d), t) for t in
                      store.split(0.2, 10**9)[0].docs)]
    d = next(d for d in trained if d < 12)  # a peal (the Scale, last, has b8 at its top)
    peal = codec.decode(store.document(d)).split()
    higher = [f"b{int(b[1:]) + 1}" for b in peal]
    found = measure(index, codec, codec.encode(" ".join(higher)))
    assert found.longest == len(higher) == 12 and found.ngram_share == 1.0
    assert found.longest_text == " ".join(higher)  # the default span_text: apart by a space
    assert found.longest_source == f"peal {d + 1} of peals.txt P{d}"


def test_a_registered_codec_writes_its_book_in_the_library_export(bells, tmp_path):
    assert formats()[0] == "abc" and "bells" in formats()
    pieces = [{"id": 7, "codec": "test-bells", "text": "b1 b2"},
              {"id": 9, "codec": "test-bells", "text": "b3 b1"}]
    [out] = export(pieces, "bells", tmp_path / "book.bells")
    assert out.read_text() == "# library piece 7\nb1 b2\n# library piece 9\nb3 b1\n"
    with pytest.raises(LibraryError, match="piece 3 is a abc piece, not test-bells"):
        export([{"id": 3, "codec": "abc", "text": "X:1\nK:D\nabc|"}], "bells", tmp_path / "x")
    with pytest.raises(LibraryError, match="--format wav: choose one of abc, bells, midi, text"):
        export(pieces, "wav", tmp_path / "x")


def test_a_registered_music_codec_with_its_own_format_gets_a_score(bells):
    """Regression: the score wrote the codec's own file as MIDI (a .bells text), which
    music21 refused; a music codec's notes are what is engraved."""
    svg = codecs.get("test-bells").score_svg("b1 b3 b5 b8")
    assert "<svg" in svg[:300] and svg.count("class=\"note\"") == 4


def test_a_codec_that_declares_nothing_gets_the_defaults_or_a_refusal(tmp_path):
    codec = Plain()
    codec.fit(["a b c a b"])
    assert type(for_codec(codec)) is Transform and ngram(codec) == 8
    assert codec.item_noun == "item" and codec.stream_encoder() is None
    assert codec.span_text(codec.encode("a b c")) == "a b c"
    assert codec.book_items("x y") == ["x y"] and not codec.writes("mid")
    with pytest.raises(CapabilityError, match="the test-plain codec cannot write its pieces"):
        codec.book(["a"], ["note"])
    with pytest.raises(CapabilityError, match="the test-plain codec cannot write mid"):
        codec.outputs("a b", tmp_path / "x", ["mid"])
    with pytest.raises(CapabilityError, match="the test-plain codec cannot"):
        codec.score_svg("a b")


def test_a_codec_whose_pitches_make_no_sense_is_named(monkeypatch):
    codec = Plain()
    codec.fit(["a b c"])
    monkeypatch.setattr(codec, "token_pitch", lambda t: (200, 0) if t == "b" else None)
    with pytest.raises(CapabilityError, match=r"the test-plain codec's token_pitch\('b'\) "
                                              r"gave \(200, 0\)"):
        for_codec(codec)
