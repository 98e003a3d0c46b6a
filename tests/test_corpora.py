"""Corpora: names, files, folders, globs, skipped bad files, the shakespeare download."""

import hashlib

import pytest

from creative_rnn import codecs, corpora
from creative_rnn.errors import CorpusError


def test_files_folders_and_globs(tmp_path):
    (tmp_path / "a.txt").write_text("alpha\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("beta\n")
    (tmp_path / ".hidden").write_text("secret\n")
    codec = codecs.get("char")
    assert corpora.load(tmp_path, codec).items == ["alpha\n", "beta\n"]
    assert corpora.load(str(tmp_path / "**" / "*.txt"), codec).items == ["alpha\n", "beta\n"]
    assert corpora.load(tmp_path / "a.txt", codec).items == ["alpha\n"]


def test_documents_units(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("one\r\ntwo\n\n\nthree\nfour\n")
    codec = codecs.get("char")
    assert corpora.load(f, codec, documents=True, unit="line").items == ["one", "two", "three",
                                                                         "four"]
    assert corpora.load(f, codec, documents=True, unit="paragraph").items == [
        "one\ntwo\n", "three\nfour\n"]
    assert len(corpora.load(f, codec, documents=True, unit="file").items) == 1


def test_binary_file_in_folder_is_skipped_and_reported(tmp_path):
    (tmp_path / "good.txt").write_text("hello\n")
    (tmp_path / "image.bin").write_bytes(b"\x89PNG\x00\x01\x02")
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    corpus = corpora.load(tmp_path, codecs.get("char"))
    assert corpus.items == ["hello\n"]
    assert len(corpus.skipped) == 2
    assert any("NUL byte at offset 4" in s for s in corpus.skipped)


def test_named_bad_files_are_errors_with_offsets(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(CorpusError, match=r"latin.txt is not valid utf-8 .*offset 3.*--encoding"):
        corpora.load(f, codecs.get("char"))
    corpus = corpora.load(f, codecs.get("char", encoding="latin-1"))
    assert corpus.items == ["café au lait"]
    b = tmp_path / "bin.dat"
    b.write_bytes(b"abc\x00def")
    with pytest.raises(CorpusError, match="looks binary.*offset 3"):
        corpora.load(b, codecs.get("char"))


def test_missing_and_empty(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        corpora.load(tmp_path / "nope.txt", codecs.get("char"))
    with pytest.raises(CorpusError, match="matches no files"):
        corpora.load(str(tmp_path / "*.nothing"), codecs.get("char"))
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(CorpusError, match="empty"):
        corpora.load(tmp_path / "empty.txt", codecs.get("char"))


def test_builtin_folk_and_python_corpora():
    folk = corpora.folk_files()
    assert len(folk) > 1000 and all(p.suffix == ".abc" for p in folk)
    assert len(corpora.folk_files(["oneills1850"])) == 39
    with pytest.raises(CorpusError, match="unknown folk collection"):
        corpora.folk_files(["nope"])
    py = corpora.python_files()
    assert any(p.name == "os.py" for p in py)


def test_shakespeare_from_local_copy(shakespeare, monkeypatch):
    monkeypatch.setenv(corpora.SHAKESPEARE_ENV, str(shakespeare))
    assert corpora.shakespeare_file() == shakespeare
    monkeypatch.setenv(corpora.SHAKESPEARE_ENV, "/no/such/file")
    with pytest.raises(CorpusError, match="does not exist"):
        corpora.shakespeare_file()


def test_shakespeare_download_is_checked_and_cached(shakespeare, tmp_path, monkeypatch):
    """The download path, served from a local file:// URL: nothing touches the network."""
    monkeypatch.delenv(corpora.SHAKESPEARE_ENV, raising=False)
    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(tmp_path / "cache"))
    got = corpora.shakespeare_file(url=shakespeare.as_uri())
    assert hashlib.sha256(got.read_bytes()).hexdigest() == corpora.SHAKESPEARE_SHA256
    assert got.parent == tmp_path / "cache"
    # a second call uses the cache (a bad URL is never fetched)
    assert corpora.shakespeare_file(url="file:///no/such/file") == got


def test_shakespeare_bad_checksum_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv(corpora.SHAKESPEARE_ENV, raising=False)
    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(tmp_path / "cache"))
    fake = tmp_path / "fake.txt"
    fake.write_text("not shakespeare")
    with pytest.raises(CorpusError, match="SHA-256"):
        corpora.shakespeare_file(url=fake.as_uri())
    assert not (tmp_path / "cache" / "tiny-shakespeare.txt").exists()
    with pytest.raises(CorpusError, match="cannot download"):
        corpora.shakespeare_file(url=(tmp_path / "missing").as_uri())
