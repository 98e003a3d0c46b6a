"""The quartets corpus: Bach chorales as four performers for the ensemble codec."""

from __future__ import annotations

import json

import music21
import pytest

from creative_rnn import codecs
from creative_rnn.corpora import named, quartets


@pytest.fixture(scope="module")
def chorale():
    path = named.bach_files(["bwv66.6"])[0]
    return music21.converter.parse(str(path)), quartets._quartet(path)


def test_every_step_holds_four_voices_of_thirteen_values(chorale):
    score, steps = chorale
    assert len(steps) == int(score.highestTime * quartets.STEPS_PER_QUARTER)
    assert all(len(s) == 4 and all(0 <= v < quartets.CLASSES for v in s) for s in steps)


def test_each_value_is_the_sounding_pitch_class_above_the_tonic(chorale):
    # read back by offset lookup, a different path through music21 than the converter's
    score, steps = chorale
    tonic = score.analyze("key").tonic.pitchClass
    for v, part in enumerate(score.parts):
        flat = part.flatten().notesAndRests.stream()
        for t in range(0, len(steps), 3):
            n = flat.getElementAtOrBefore(t / quartets.STEPS_PER_QUARTER)
            expected = quartets.REST if n is None or n.isRest else \
                (n.pitches[-1].pitchClass - tonic) % 12
            assert steps[t][v] == expected, (v, t)


def test_the_ensemble_codec_reads_the_file(tmp_path, chorale, monkeypatch):
    _, steps = chorale
    monkeypatch.setattr(named, "_quartets", lambda: _file(tmp_path, steps))
    codec = codecs.get("ensemble", classes=quartets.CLASSES)
    [path] = named.NAMED["quartets"][1]()
    [item] = codec.read_items(path)  # an item is a file's list of performances
    assert item == [steps]


def _file(tmp_path, steps):
    p = tmp_path / "q.jsonl"
    p.write_text(json.dumps({"bwv": "bwv66.6", "gestures": steps}) + "\n")
    return p
