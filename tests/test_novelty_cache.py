"""A damaged copy-index cache is rebuilt, never trusted: whatever is in cache_dir()/copy-index/
(a FIFO, a truncated or float array, negative or shuffled suffix-array values, a meta.json that
is a list), the meter gives the answer of a freshly built index, says in one line why it
rebuilt, and removes nothing but the cache's own entry. The searches never read outside
their arrays, whatever those hold."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import creative_rnn as cr
from creative_rnn import rundir
from creative_rnn.novelty import index as index_mod
from creative_rnn.novelty import meter, novelty
from creative_rnn.novelty.index import index_root, key
from creative_rnn.novelty.search import following_codes, longest_matches, prefix_block
from creative_rnn.novelty.transform import for_codec

pytestmark = pytest.mark.usefixtures("one_thread")
FILES = ("text.npy", "sa.npy", "pieces.npy", "codes.npy", "meta.json")


@pytest.fixture(scope="module")
def run(tmp_path_factory, startrek) -> Path:
    root = tmp_path_factory.mktemp("damaged")
    corpus = root / "titles.txt"
    # a title of its own: the index is keyed by the corpus digest, and no other test's run
    # may share (or damage) this one's entry
    corpus.write_text(startrek.read_text(encoding="utf-8") + "The Damaged Index\n",
                      encoding="utf-8")
    out = root / "run"
    cr.train(corpus=[str(corpus)], out=out, preset="tiny", hidden_size=8, embedding_size=4,
             max_steps=1, eval_every=1, checkpoint_every=1, progress_bar=False)
    return out


@pytest.fixture(scope="module")
def lines(startrek) -> list[str]:
    return startrek.read_text(encoding="utf-8").splitlines()


def sample(lines: list[str]) -> str:
    """Two training lines (the stream's first 90% trains) between symbols never seen."""
    return "~~" + lines[10] + "\n" + lines[11] + "~~"


def new_process() -> None:
    """Forget what this process opened and verified, as the next `sample --novelty` would."""
    meter._OPEN.clear()
    index_mod._VERIFIED.clear()


def entry_of(run: Path) -> Path:
    """The run's entry in the cache (built, or rebuilt, if it is not there as it should be)."""
    new_process()
    novelty(str(run), "x")
    config, codec = rundir.read_config(run), rundir.read_codec(run)
    train = config["train"]
    split = [float(train["val_fraction"]), int(train.get("doc_max_len", 10**9))]
    return index_root() / key(codec.name, config["corpus_digest"], for_codec(codec),
                              {"split": split, "documents": False})


@pytest.fixture(scope="module")
def fresh(run, lines) -> dict:
    """The answer of a freshly built index, checked against the corpus itself."""
    new_process()
    shutil.rmtree(entry_of(run))
    new_process()
    found = novelty(str(run), sample(lines))
    assert found.longest == len(lines[10]) + 1 + len(lines[11])
    assert found.longest_source.endswith("line 11")
    return found.to_json()


def assert_rebuilt(run: Path, lines: list[str], fresh: dict, err: str, why: str) -> None:
    said = [line for line in err.splitlines() if "the copy index" in line]
    assert len(said) == 1 and said[0].startswith("rebuilding the copy index"), err
    assert "damaged" in said[0] and why in said[0], said[0]
    entry = entry_of(run)
    assert all(os.path.isfile(entry / name) and not os.path.islink(entry / name)
               for name in FILES)
    new_process()  # the rebuilt entry is trusted by the next process
    assert novelty(str(run), sample(lines)).to_json() == fresh


# --- damage that crashed or hung a process: measured in a child process -------------------
CHILD = """
import json, sys
from creative_rnn.novelty import novelty
print(json.dumps(novelty(sys.argv[1], sys.argv[2]).to_json()))
"""


def in_child(run: Path, text: str) -> tuple[dict, str]:
    # the timeout only stops a hang from stopping the test session; it asserts nothing
    done = subprocess.run([sys.executable, "-c", CHILD, str(run), text], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return json.loads(done.stdout), done.stderr


def negative_sa(entry: Path) -> None:
    sa = np.load(entry / "sa.npy")
    sa[::3] = -(10**9)  # far outside the text: read there, a segmentation fault
    replace(entry / "sa.npy", sa)


def fifo(name: str):
    def damage(entry: Path) -> None:
        os.remove(entry / name)
        os.mkfifo(entry / name)  # no writer ever comes: an open without O_NONBLOCK waits
    return damage


def replace(path: Path, array: np.ndarray) -> None:
    path.unlink()
    np.save(path, array, allow_pickle=False)


@pytest.mark.parametrize("damage, why", [
    (negative_sa, "checksum"), (fifo("sa.npy"), "sa.npy is not a regular file"),
    (fifo("meta.json"), "meta.json is not a regular file")], ids=["negative-sa", "fifo-sa",
                                                                "fifo-meta"])
def test_damage_that_crashed_or_hung_is_rebuilt(run, lines, fresh, damage, why):
    damage(entry_of(run))
    found, err = in_child(run, sample(lines))
    assert found == fresh
    assert_rebuilt(run, lines, fresh, err, why)


# --- damage that was a traceback or a wrong answer ------------------------------------------
def float_sa(entry: Path) -> None:
    replace(entry / "sa.npy", np.load(entry / "sa.npy").astype(np.float64))


def empty_pieces(entry: Path) -> None:
    replace(entry / "pieces.npy", np.zeros((0, 2), np.int64))


def meta_list(entry: Path) -> None:
    (entry / "meta.json").write_text("[1, 2, 3]")


def shuffled_sa(entry: Path) -> None:
    """Every value in range and of the right dtype: only the checksum can tell."""
    with open(entry / "sa.npy", "r+b") as f:
        sa = np.load(entry / "sa.npy")
        f.seek(os.path.getsize(entry / "sa.npy") - sa.nbytes)
        f.write(np.random.default_rng(0).permutation(sa).tobytes())


def truncated(entry: Path) -> None:
    os.truncate(entry / "text.npy", os.path.getsize(entry / "text.npy") // 2)


@pytest.mark.parametrize("damage, why", [
    (float_sa, "sa.npy is float64"), (empty_pieces, "pieces.npy has shape (0, 2)"),
    (meta_list, "meta.json is not a JSON object"), (shuffled_sa, "checksum"),
    (truncated, "text.npy is truncated")],
    ids=["float-sa", "empty-pieces", "meta-list", "shuffled-sa", "truncated"])
def test_damaged_entry_is_rebuilt_with_the_fresh_answer(run, lines, fresh, damage, why,
                                                         capsys):
    damage(entry_of(run))
    capsys.readouterr()
    new_process()
    assert novelty(str(run), sample(lines)).to_json() == fresh
    assert_rebuilt(run, lines, fresh, capsys.readouterr().err, why)


def test_a_link_in_the_entry_is_removed_never_what_it_names(run, lines, fresh, tmp_path,
                                                          capsys):
    mine = tmp_path / "mine.txt"
    mine.write_text("the user's own file\n")
    entry = entry_of(run)
    (entry / "text.npy").unlink()
    (entry / "text.npy").symlink_to(mine)
    capsys.readouterr()
    new_process()
    assert novelty(str(run), sample(lines)).to_json() == fresh
    assert_rebuilt(run, lines, fresh, capsys.readouterr().err, "text.npy is not an array")
    assert mine.read_text() == "the user's own file\n"


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.sampled_from(FILES), at=st.floats(0, 1), noise=st.binary(min_size=1, max_size=64),
       cut=st.booleans())
def test_any_damaged_byte_still_gives_the_fresh_answer(run, lines, fresh, name, at, noise,
                                                       cut):
    path = entry_of(run) / name
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        if cut:
            f.truncate(int(at * size))
        else:
            f.seek(int(at * max(size - len(noise), 0)))
            f.write(noise)
    new_process()
    assert novelty(str(run), sample(lines)).to_json() == fresh


# --- the searches never read outside their arrays -------------------------------------------
@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.integers(0, 3), max_size=60),
       sa=st.lists(st.integers(-(2**31), 2**31 - 1) | st.integers(-3, 70), min_size=0,
                   max_size=80),
       q=st.lists(st.integers(0, 4), min_size=1, max_size=20))
def test_searches_stay_in_bounds_whatever_the_suffix_array_holds(text, sa, q):
    t, s, qq = np.array(text, np.uint8), np.array(sa, np.int32), np.array(q, np.int64)
    lengths, where = np.zeros(len(q), np.int64), np.full(len(q), -1, np.int64)
    longest_matches(qq, t, s, lengths, where)
    for i in range(len(q)):
        assert 0 <= lengths[i] <= len(q) - i
        assert (where[i] == -1) == (lengths[i] == 0)
        assert where[i] == -1 or where[i] + lengths[i] <= len(text)
    lo, hi = prefix_block(qq, t, s)
    assert 0 <= lo and hi <= len(sa)
    assert set(following_codes(qq, t, s).tolist()) <= set(text)
