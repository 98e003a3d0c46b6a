"""Bad input to the copy meter: a run trained before the index existed builds it on first use
(and caches it); a corpus that moved or changed since training is one line, exit 2."""

from __future__ import annotations

import pytest

import creative_rnn as cr
from creative_rnn.cli import main
from creative_rnn.errors import CorpusError
from creative_rnn.novelty import meter, novelty
from creative_rnn.novelty.index import index_root


@pytest.fixture()
def own_corpus_run(tmp_path, startrek):
    corpus = tmp_path / "titles.txt"
    # a title of its own: an index is keyed by the corpus digest, and another test's run on
    # the same text would have built it already
    corpus.write_text(startrek.read_text(encoding="utf-8") + f"The {tmp_path.name}\n",
                      encoding="utf-8")
    run = tmp_path / "run"
    cr.train(corpus=[str(corpus)], out=run, preset="tiny", hidden_size=16, max_steps=2,
             eval_every=2, checkpoint_every=2, progress_bar=False)
    meter._OPEN.clear()  # as a new process would
    return corpus, run


def test_index_is_built_once_then_read(own_corpus_run, capsys):
    corpus, run = own_corpus_run
    novelty(str(run), "The Cage")
    assert "building the copy index" in capsys.readouterr().err
    meter._OPEN.clear()
    novelty(str(run), "The Cage")
    assert "building" not in capsys.readouterr().err
    assert any(index_root().iterdir())


def test_changed_corpus_is_reported(own_corpus_run, capsys):
    corpus, run = own_corpus_run
    corpus.write_text(corpus.read_text(encoding="utf-8").replace("The", "A"), encoding="utf-8")
    with pytest.raises(CorpusError, match="changed since"):
        novelty(str(run), "The Cage")
    assert main(["sample", str(run), "--length", "5", "--novelty"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: the corpus") and "changed since" in err[-1]


def test_moved_corpus_is_reported(own_corpus_run, capsys):
    corpus, run = own_corpus_run
    corpus.rename(corpus.with_name("elsewhere.txt"))
    with pytest.raises(CorpusError, match="put it back"):
        novelty(str(run), "The Cage")
    assert main(["sample", str(run), "--length", "5", "--max-copy", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot read the corpus")
