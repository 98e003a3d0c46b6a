"""The token cache: cached ids equal a fresh encode, later runs read the cache, a changed or
damaged entry is rebuilt, and training from the memory map equals training from memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import creative_rnn as cr
from creative_rnn import codecs
from creative_rnn.codecs import char_stream
from creative_rnn.codecs.text import CharCodec, WordCodec
from creative_rnn.core.tensors import load_tensors
from creative_rnn.data import cache as token_cache
from creative_rnn.errors import CheckpointError, CorpusError
from creative_rnn.training.lm import ids_digest

TEXT = ("ROMEO: But soft, what light through yonder window breaks?\n"
        "Ünïcödé — 🎉 漢字 e\u0301 naïve café\n\n"
        "JULIET: O Romeo, Romeo, wherefore art thou Romeo?\n") * 20


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    """Every test gets its own cache folder, and small corpora use the cache too."""
    root = tmp_path / ".cache"  # hidden: a test that trains on tmp_path does not read it
    monkeypatch.setenv("CREATIVE_RNN_CACHE", str(root))
    monkeypatch.delenv(token_cache.DISABLE_ENV, raising=False)
    monkeypatch.setattr(token_cache, "MIN_CACHE_BYTES", 0)
    return root / "tokens"


def spec(*sources, documents=False, unit="line") -> dict:
    return {"sources": [str(s) for s in sources], "documents": documents, "unit": unit}


def uncached(sp: dict, codec_name: str = "char", **options):
    codec = codecs.get(codec_name, **options)
    store, _ = token_cache.encode_items(sp, codec, fit=True)
    return store, codec


def cached(sp: dict, codec_name: str = "char", **options):
    codec = codecs.get(codec_name, **options)
    return token_cache.prepare(sp, codec, fit=True), codec


def assert_same(a, b) -> None:
    assert a.ids.dtype == b.ids.dtype
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    assert a.documents == b.documents


def is_mapped(a: np.ndarray) -> bool:
    while a is not None and not isinstance(a, np.memmap):
        a = a.base
    return a is not None


def forbid_encoding(monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("the corpus was encoded again")

    monkeypatch.setattr(char_stream, "scan", boom)
    monkeypatch.setattr(char_stream, "write_ids", boom)
    monkeypatch.setattr(CharCodec, "encode", boom)
    monkeypatch.setattr(WordCodec, "encode", boom)
    monkeypatch.setattr(token_cache, "encode_items", boom)


# --- the same ids as codec.encode ---------------------------------------------------------------
def _outcome(sp: dict, use_cache: bool, **options):
    try:
        store, codec = (cached if use_cache else uncached)(sp, "char", **options)
    except CorpusError as e:
        return "error", str(e)
    digest = store.digest or ids_digest(store)
    return ("ok", store.ids.dtype, store.ids.tolist(), store.offsets.tolist(),
            codec.vocab.tokens, digest)


# monkeypatch sets the same value for every example, so sharing it is harmless
FIXTURES_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES_OK)
@given(texts=st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=3),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "latin-1"]),
       chunk=st.integers(1, 9))
def test_streamed_char_ids_equal_encode_for_any_text(texts, encoding, chunk, monkeypatch):
    """Chunks of a few bytes split every multi-byte character somewhere; the ids, offsets,
    vocabulary, blank-file handling and errors still match the in-memory path."""
    monkeypatch.setattr(char_stream, "CHUNK_BYTES", chunk)
    with tempfile.TemporaryDirectory() as d:
        for i, t in enumerate(texts):
            try:
                (Path(d) / f"{i}.txt").write_bytes(t.encode(encoding))
            except UnicodeEncodeError:
                (Path(d) / f"{i}.txt").write_bytes(t.encode(encoding, "replace"))
        sp = spec(d)
        fresh = _outcome(sp, False, encoding=encoding)
        streamed = _outcome(sp, True, encoding=encoding)
    assert streamed == fresh


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES_OK)
@given(raw=st.binary(max_size=40), chunk=st.integers(1, 5))
def test_bad_bytes_give_the_same_error(raw, chunk, monkeypatch):
    """Invalid UTF-8 anywhere, split anywhere: the same message (byte and offset) as read_text."""
    monkeypatch.setattr(char_stream, "CHUNK_BYTES", chunk)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "x.txt").write_bytes(raw + b"more")
        sp = spec(Path(d) / "x.txt")
        fresh, streamed = _outcome(sp, False), _outcome(sp, True)
    if b"\x00" in raw and fresh[0] == "error":  # NUL vs bad byte: either may be named first
        assert streamed[0] == "error"
    else:
        assert streamed == fresh


def test_digest_is_the_one_run_directories_record(tmp_path):
    (tmp_path / "a.txt").write_text(TEXT)
    store, _ = cached(spec(tmp_path / "a.txt"))
    fresh, _ = uncached(spec(tmp_path / "a.txt"))
    assert fresh.digest is None
    assert store.digest == ids_digest(fresh)


def test_real_file_streams_to_the_same_ids(startrek, monkeypatch):
    monkeypatch.setattr(char_stream, "CHUNK_BYTES", 4096)
    store, codec = cached(spec(startrek))
    fresh, fresh_codec = uncached(spec(startrek))
    assert_same(store, fresh)
    assert codec.vocab.tokens == fresh_codec.vocab.tokens
    assert is_mapped(store.ids) and not store.ids.flags.writeable


@pytest.mark.parametrize("codec_name,documents,unit", [
    ("char", True, "line"), ("char", True, "paragraph"), ("word", False, "line"),
    ("word", True, "line"),
])
def test_item_codecs_cache_the_same_ids(tmp_path, codec_name, documents, unit):
    (tmp_path / "a.txt").write_text(TEXT)
    (tmp_path / "b.txt").write_text("Second file.\n\nWith two paragraphs.\n")
    sp = spec(tmp_path, documents=documents, unit=unit)
    store, codec = cached(sp, codec_name)
    fresh, fresh_codec = uncached(sp, codec_name)
    assert_same(store, fresh)
    assert codec.to_json() == fresh_codec.to_json()
    assert store.digest == ids_digest(fresh)
    assert is_mapped(store.ids)
    if documents:  # <s> ... </s> around every document, as TokenStore.build frames them
        assert all(store.document(i)[0] == 1 and store.document(i)[-1] == 2
                   for i in range(store.num_documents))


# --- the second run reads the cache -------------------------------------------------------------
@pytest.mark.parametrize("codec_name", ["char", "word"])
def test_second_prepare_reads_the_cache(tmp_path, monkeypatch, codec_name):
    (tmp_path / "a.txt").write_text(TEXT)
    sp = spec(tmp_path / "a.txt")
    first, codec = cached(sp, codec_name)
    forbid_encoding(monkeypatch)
    again, codec2 = cached(sp, codec_name)  # a new run: the vocabulary comes from the cache
    assert_same(again, first)
    assert codec2.to_json() == codec.to_json()
    resumed = token_cache.prepare(sp, codecs.from_json(codec.to_json()), fit=False)  # resume
    assert_same(resumed, first)
    assert resumed.digest == first.digest


def test_given_vocabulary_without_fitted_entry(tmp_path, cache, monkeypatch):
    """A resume whose fitted entry is gone encodes with the run's vocabulary, once."""
    (tmp_path / "a.txt").write_text(TEXT)
    sp = spec(tmp_path / "a.txt")
    first, codec = cached(sp)
    for entry in cache.iterdir():
        (entry / "meta.json").unlink()
    resumed = token_cache.prepare(sp, codecs.from_json(codec.to_json()), fit=False)
    assert_same(resumed, first)
    forbid_encoding(monkeypatch)
    assert_same(token_cache.prepare(sp, codecs.from_json(codec.to_json()), fit=False), first)


def test_a_new_character_on_resume_is_refused(tmp_path):
    (tmp_path / "a.txt").write_text(TEXT)
    _, codec = cached(spec(tmp_path / "a.txt"))
    (tmp_path / "b.txt").write_text(TEXT + "§")
    with pytest.raises(CheckpointError, match="no longer matches.*'§'"):
        token_cache.prepare(spec(tmp_path / "b.txt"), codecs.from_json(codec.to_json()),
                            fit=False)


def test_a_changed_file_gives_a_new_entry(tmp_path, cache):
    f = tmp_path / "a.txt"
    f.write_text(TEXT)
    first, _ = cached(spec(f))
    f.write_text(TEXT.replace("Romeo", "Juliet"))
    second, _ = cached(spec(f))
    assert second.digest != first.digest
    np.testing.assert_array_equal(second.ids, uncached(spec(f))[0].ids)
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, same bytes
    cached(spec(f))
    assert len(list(cache.iterdir())) == 3


def test_resume_notices_a_changed_corpus(tmp_path, monkeypatch):
    f = tmp_path / "a.txt"
    f.write_text(TEXT * 3)
    run = tmp_path / "run"
    cr.train(corpus=[str(f)], out=run, preset="tiny", hidden_size=16, max_steps=2,
             eval_every=2, checkpoint_every=2, progress_bar=False)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["corpus_digest"] == ids_digest(uncached(spec(f))[0])
    with monkeypatch.context() as m:  # unchanged: resumes from the cache, no encoding
        forbid_encoding(m)
        cr.train(resume=run, max_steps=3, progress_bar=False)
    f.write_text(TEXT.replace("R", "J") * 3)
    with pytest.raises(CheckpointError, match="changed since"):
        cr.train(resume=run, max_steps=4, progress_bar=False)


# --- damage -------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncate ids", "torn meta", "no meta", "no offsets",
                                    "wrong count"])
def test_a_damaged_entry_is_rebuilt(tmp_path, cache, damage):
    (tmp_path / "a.txt").write_text(TEXT)
    sp = spec(tmp_path / "a.txt")
    first, _ = cached(sp)
    expected = first.ids.copy()
    del first
    (entry,) = cache.iterdir()
    if damage == "truncate ids":
        data = (entry / "ids.npy").read_bytes()
        (entry / "ids.npy").write_bytes(data[: len(data) // 2])
    elif damage == "torn meta":
        (entry / "meta.json").write_text('{"version": 1, "num_tok')
    elif damage == "no meta":
        (entry / "meta.json").unlink()
    elif damage == "no offsets":
        (entry / "offsets.npy").unlink()
    else:
        meta = json.loads((entry / "meta.json").read_text())
        meta["num_tokens"] += 1
        (entry / "meta.json").write_text(json.dumps(meta))
    assert token_cache._open(entry) is None
    again, _ = cached(sp)
    np.testing.assert_array_equal(again.ids, expected)
    assert token_cache._open(entry) is not None


def test_an_interrupted_encode_leaves_no_entry(tmp_path, cache, monkeypatch):
    (tmp_path / "a.txt").write_text(TEXT)
    sp = spec(tmp_path / "a.txt")

    def killed(out, *args, **kwargs):
        out.write(b"\x05" * 10)  # half the ids, then the process is stopped
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(char_stream, "write_ids", killed)
        with pytest.raises(KeyboardInterrupt):
            cached(sp)
    assert list(cache.iterdir()) == []  # no entry and no temporary folder
    # a process killed outright leaves its temporary folder; the next build clears it
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    key = token_cache._key([tmp_path / "a.txt"], codecs.get("char"), sp, vocab=False)
    (cache / f".tmp-{dead}-{key}-abc").mkdir()
    (cache / f".tmp-{dead}-{key}-abc" / "ids.npy").write_bytes(b"garbage")
    (cache / f".tmp-{os.getpid()}-{key}-xyz").mkdir()  # a live process's: left alone
    store, _ = cached(sp)
    assert_same(store, uncached(sp)[0])
    assert sorted(p.name for p in cache.iterdir()) == sorted([key, f".tmp-{os.getpid()}-{key}-xyz"])


# --- dtype, progress, switch --------------------------------------------------------------------
def test_ids_use_the_smallest_dtype(tmp_path, cache):
    (tmp_path / "small.txt").write_text(TEXT)
    (tmp_path / "wide.txt").write_text("".join(chr(0x4E00 + i) for i in range(600)) * 2)
    small, _ = cached(spec(tmp_path / "small.txt"))
    wide, codec = cached(spec(tmp_path / "wide.txt"), max_vocab=5000)
    assert small.ids.dtype == np.uint8 and wide.ids.dtype == np.uint16
    on_disk = {np.load(e / "ids.npy", mmap_mode="r").dtype for e in cache.iterdir()}
    assert on_disk == {np.dtype(np.uint8), np.dtype(np.uint16)}
    assert codec.vocab_size == 604


def test_encoding_progress_is_shown(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(token_cache, "PROGRESS_MIN_BYTES", 0)
    (tmp_path / "a.txt").write_text(TEXT)
    cached(spec(tmp_path / "a.txt"))
    err = capsys.readouterr().err
    assert "reading characters" in err and "encoding corpus" in err and "token cache:" in err


def test_the_cache_can_be_turned_off(tmp_path, cache, monkeypatch):
    monkeypatch.setenv(token_cache.DISABLE_ENV, "0")
    (tmp_path / "a.txt").write_text(TEXT)
    store, _ = cached(spec(tmp_path / "a.txt"))
    assert not cache.exists() and store.digest is None


def test_an_unwritable_cache_falls_back_to_memory(tmp_path, cache, capsys):
    cache.parent.mkdir(parents=True)
    cache.write_text("a file where the cache folder should be")
    (tmp_path / "a.txt").write_text(TEXT)
    store, _ = cached(spec(tmp_path / "a.txt"))
    assert_same(store, uncached(spec(tmp_path / "a.txt"))[0])
    assert "cannot use the token cache" in capsys.readouterr().err


# --- training from the map ----------------------------------------------------------------------
def test_training_from_the_map_is_bit_identical(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(TEXT * 2)
    kw = dict(corpus=[str(tmp_path / "a.txt")], preset="tiny", hidden_size=16, max_steps=4,
              eval_every=2, checkpoint_every=4, batch_size=4, seq_len=16, progress_bar=False)
    with monkeypatch.context() as m:
        m.setenv(token_cache.DISABLE_ENV, "0")
        cr.train(out=tmp_path / "memory", **kw)
    cr.train(out=tmp_path / "mapped", **kw)  # writes the entry, then trains from its map
    a, _ = load_tensors(tmp_path / "memory" / "model.safetensors")
    b, _ = load_tensors(tmp_path / "mapped" / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)
    cfg = [json.loads((tmp_path / r / "config.json").read_text()) for r in ("memory", "mapped")]
    assert cfg[0]["corpus_digest"] == cfg[1]["corpus_digest"]


RSS_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import creative_rnn as cr, torch
    torch.set_num_threads(1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cr.train(corpus=[sys.argv[1]], out=sys.argv[2], preset="tiny", hidden_size=32,
             max_steps=3, eval_every=3, eval_max_tokens=2000, checkpoint_every=3,
             progress_bar=False)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kb": before, "after_kb": after}))
""")


@pytest.mark.slow
def test_a_big_text_trains_in_bounded_memory(tmp_path, cache):
    """64 MB of text: as Python objects (a str, a list of one-char strings, a list of ints)
    it would need over 1 GB; through the cache the process grows by less than the text."""
    size = 64 << 20
    big = tmp_path / "big.txt"
    line = (TEXT * 4).encode()
    with open(big, "wb") as f:
        for _ in range(size // len(line) + 1):
            f.write(line)
    env = dict(os.environ, CREATIVE_RNN_CACHE=str(cache.parent))
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(big), str(tmp_path / "run")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rss = json.loads(out.stdout.strip().splitlines()[-1])
    grew_mb = (rss["after_kb"] - rss["before_kb"]) / 1024
    assert grew_mb < size / 2**20 + 64, f"peak RSS grew by {grew_mb:.0f} MB"
    assert "tokens encoded in" in out.stderr
