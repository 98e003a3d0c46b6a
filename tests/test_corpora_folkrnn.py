"""folk-rnn's data files (tunes of space-separated tokens, a blank line between tunes) read
as a corpus for the ABC codec: tests/data/folkrnn/tunes.txt (see tests/data/SOURCES.md)."""

from __future__ import annotations

import json

import pytest
from support import shared_file

from creative_rnn import corpora
from creative_rnn.cli import main
from creative_rnn.codecs.abc.codec import AbcCodec
from creative_rnn.corpora import folkrnn
from creative_rnn.errors import CorpusError

TUNES = shared_file("folkrnn/tunes.txt")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(tmp_path / "cache"))


def test_a_folk_rnn_file_reads_as_abc_tunes():
    codec = AbcCodec()
    tunes = corpora.load([TUNES], codec, documents=True).items
    assert [t.split("\n", 1)[0] for t in tunes] == ["X:1", "X:5", "X:9", "X:11"]  # its lines
    # the tokens the ABC codec gives the same tune written as ABC (lengths in eighths, as
    # folk-rnn's are, although ABC's default for 2/4 is sixteenths)
    assert codec.tokenize(tunes[3]) == codec.tokenize(
        "X:1\nM:2/4\nL:1/8\nK:Cmix\n|:G>ABc|d2BG|AGFD|G2G2:|\n")
    # a chord's tokens spaced out, its length after "]"
    assert codec.tokenize(tunes[1])[-8:] == ["c", "2", "[", "c", "e", "]", "2", "|"]
    # headers on the tune's line; a key with no tonic (folk-rnn's K:min) is C
    assert codec.tokenize(tunes[2])[:3] == ["M:3/4", "L:1/8", "K:Cmin"]


def test_only_folk_rnn_files_and_only_for_abc():
    assert folkrnn.is_data_file(TUNES)
    assert not folkrnn.is_data_file(shared_file("text/tiny-shakespeare.txt"))
    files = [TUNES]
    assert folkrnn.read_as_abc(files, set(files), ".txt") == (files, set(files))
    (book,), named = folkrnn.read_as_abc(files, set(files), ".abc")
    assert book.suffix == ".abc" and named == {TUNES, book}


@pytest.mark.parametrize("text, where, what", [
    ("M:6/8\nK:Cmaj\nG E E | c d e |\n\nM:4/4\nK:Cmaj\nG A hello B |\n", ":7:", "'hello'"),
    ("M:6/8\nK:Cmaj\nG E E |\n\nM:4/4 G A B c |\n", ":5:", "no key"),
])
def test_a_malformed_line_is_one_error_naming_file_and_line(tmp_path, capsys, text, where,
                                                            what):
    bad = tmp_path / "bad.txt"
    bad.write_text(text)
    with pytest.raises(CorpusError, match="bad.txt" + where):
        corpora.load([bad], AbcCodec(), documents=True)
    assert main(["corpus", str(bad), "--codec", "abc"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"bad.txt{where}" in err and what in err


def test_train_on_a_folk_rnn_file(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(TUNES), "--codec", "abc", "--out", str(run), "--preset", "tiny",
                 "--max-steps", "2", "--quiet"]) == 0
    vocab = json.loads((run / "codec.json").read_text())["vocab"]
    assert {"K:Cmix", "K:Cmin", "M:2/4", "[2"} <= set(vocab)
