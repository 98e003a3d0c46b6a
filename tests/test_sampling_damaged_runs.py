"""Runs whose files pass their checks but cannot be sampled: weights that are NaN or
infinite under a correct checksum, a codec.json whose vocabulary holds numbers. Each is
refused where the run is read, in one line, by every reader; never a traceback."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

import creative_rnn as cr
from creative_rnn import rundir
from creative_rnn.cli import main
from creative_rnn.codecs.vocab import Vocabulary
from creative_rnn.core.tensors import load_tensors, save_tensors
from creative_rnn.errors import CheckpointError
from creative_rnn.training.evaluation import validation_figures
from creative_rnn.web import create_app


@pytest.fixture(scope="module")
def run(tmp_path_factory, startrek) -> Path:
    out = tmp_path_factory.mktemp("damaged") / "text"
    cr.train(corpus=[str(startrek)], out=out, preset="tiny", hidden_size=16, embedding_size=8,
             max_steps=4, eval_every=2, checkpoint_every=2, progress_bar=False)
    return out


RECURRENT = "rnn.weight_hh_l0"  # every step reads it: one bad value spoils every logit


def poisoned(run: Path, dest: Path, value: float) -> Path:
    """A copy of ``run`` with one recurrent weight of each weights file set to ``value``,
    written by the project's own writer: the checksum is right, the numbers are not."""
    shutil.copytree(run, dest)
    for path in {rundir.weights_path(dest), rundir.weights_path(dest, last=True)}:
        tensors, meta = load_tensors(path)
        tensors[RECURRENT].view(-1)[3] = value
        save_tensors(path, tensors, meta)
        load_tensors(path)  # the checksum holds: only the values are wrong
    return dest


def one_line_error(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("engine", ["torch", "fast"])
def test_sample_refuses_weights_that_are_not_finite(capsys, tmp_path, run, value, engine):
    bad = poisoned(run, tmp_path / "bad", value)
    # 1,200 tokens: over the small-job size, so without the check "fast" samples on the
    # compiled engine (garbage, exit 0) and "torch" on the eager step (a torch traceback)
    for last in ([], ["--last"]):
        err = one_line_error(capsys, "sample", bad, "--engine", engine, "--length", 1200,
                             "--seed", 1, *last)
        assert "NaN or infinite weights" in err and RECURRENT in err
        assert "train again" in err


def test_every_reader_refuses_weights_that_are_not_finite(tmp_path, run):
    bad = poisoned(run, tmp_path / "bad", math.nan)
    with pytest.raises(CheckpointError, match="NaN or infinite weights"):
        cr.load(bad)
    with pytest.raises(CheckpointError, match="NaN or infinite weights"):
        create_app([bad])  # serve: refused at start, naming the file
    with pytest.raises(CheckpointError, match="NaN or infinite weights"):
        validation_figures(bad)  # evaluate


def test_a_good_run_still_samples(capsys, run):
    assert main(["sample", str(run), "--length", "20", "--seed", "3"]) == 0
    assert len(capsys.readouterr().out.strip()) > 0


# --- a vocabulary of numbers ---------------------------------------------------------------
def test_sample_without_prime_refuses_a_vocabulary_of_integers(capsys, tmp_path, run):
    bad = tmp_path / "ints"
    shutil.copytree(run, bad)
    codec = json.loads((bad / rundir.CODEC).read_text())
    tokens = codec["vocab"]
    codec["vocab"] = tokens[:4] + list(range(len(tokens) - 4))  # same size, numbers
    (bad / rundir.CODEC).write_text(json.dumps(codec))
    err = one_line_error(capsys, "sample", bad, "--length", 20)
    assert "codec.json" in err and "must be strings" in err


@pytest.mark.parametrize("token", [7, 1.5, None, True])
def test_vocabulary_tokens_must_be_strings(token):
    with pytest.raises(ValueError, match="must be strings"):
        Vocabulary.from_json(["<pad>", "<s>", "</s>", "<unk>", "a", token])
    assert Vocabulary.from_json(["<pad>", "<s>", "</s>", "<unk>", "a", "7"]).token(5) == "7"
