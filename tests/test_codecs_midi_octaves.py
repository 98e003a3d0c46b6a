"""Melodies move into the pitch range by whole octaves keeping their shape: the whole melody
when one shift fits it, else phrase by phrase, folding single notes only where a phrase
cannot be moved whole; the corpus summary counts the melodies that were not moved whole."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st
from support import shared_file

import creative_rnn as cr
from creative_rnn.codecs.midi.melody import NO_EVENT, NOTE_OFF, move_into, transpose_into

LOW, HIGH = 48, 84
COURSE = [json.loads(line)["steps"]
          for line in shared_file("melody/melodies.jsonl").read_text().splitlines()
          if line.strip()]


def pitches(steps):
    return [v for v in steps if v < NOTE_OFF]


def intervals(steps):
    p = pitches(steps)
    return [b - a for a, b in zip(p, p[1:])]


def fits_by_octaves(steps) -> bool:
    """Some whole-octave move puts every note in the window (the melody's range fits)."""
    p = pitches(steps)
    return any(LOW <= min(p) + 12 * k and max(p) + 12 * k <= HIGH for k in range(-11, 12))


def test_course_melodies_that_fit_keep_their_contour_and_the_rest_change_less():
    codec = cr.codecs.get("melody")
    melodies = [s for s in COURSE if pitches(s)]
    fitting = [s for s in melodies if fits_by_octaves(s)]
    assert len(fitting) > len(melodies) / 2
    for steps in melodies:
        moved = codec.from_steps(steps)
        assert all(LOW <= p <= HIGH for p in pitches(moved))
        assert all((a - b) % 12 == 0 for a, b in zip(pitches(moved), pitches(steps)))
        if fits_by_octaves(steps):
            assert intervals(moved) == intervals(steps)  # the shape, exactly
        else:  # moved in pieces: fewer intervals changed than by folding single notes
            changed = sum(a != b for a, b in zip(intervals(moved), intervals(steps)))
            old = transpose_into(steps, LOW, HIGH)
            assert changed <= sum(a != b for a, b in zip(intervals(old), intervals(steps)))


def test_the_corpus_summary_counts_the_melodies_not_moved_whole(capsys):
    corpus = cr.corpora.load(shared_file("melody/melodies.jsonl"), cr.codecs.get("melody"))
    err = capsys.readouterr().err
    by_phrase = re.search(r"(\d+) melodies moved into 48-84 phrase by phrase", err)
    folded = re.search(r"(\d+) melodies with notes folded into 48-84 one by one", err)
    assert by_phrase and folded, err
    not_whole = sum(1 for s in COURSE if pitches(s) and not fits_by_octaves(s))
    assert int(by_phrase[1]) + int(folded[1]) == not_whole
    assert len(corpus.items) == sum(1 for s in COURSE if pitches(s))


melodies = st.lists(st.one_of(st.integers(0, 127), st.sampled_from([NOTE_OFF, NO_EVENT])),
                    min_size=1, max_size=60)


@settings(max_examples=300, deadline=None)
@given(steps=melodies, low=st.integers(0, 80), width=st.integers(11, 47))
def test_moving_keeps_pitch_classes_and_the_shape_of_what_fits(steps, low, width):
    high = min(low + width, 127)
    moved, how = move_into(steps, low, high)
    assert [v >= NOTE_OFF for v in moved] == [v >= NOTE_OFF for v in steps]  # rests stay
    assert all(low <= p <= high and (p - q) % 12 == 0
               for p, q in zip(pitches(moved), pitches(steps)))
    p = pitches(steps)
    fits = not p or any(low <= min(p) + 12 * k and max(p) + 12 * k <= high
                        for k in range(-11, 12))
    assert (how == "whole") == fits
    if fits:
        assert intervals(moved) == intervals(steps)


def test_old_melody_runs_keep_folding_single_notes():
    """A codec.json from before the option (no "octaves") reads corpora as those runs did."""
    data = cr.codecs.get("melody").to_json()
    del data["options"]["octaves"]
    old = cr.codecs.from_json(data)
    assert old.options["octaves"] == "note"
    wide = next(s for s in COURSE if pitches(s) and not fits_by_octaves(s))
    assert old.from_steps(wide) == cr.codecs.get("melody", octaves="note").from_steps(wide)
    assert old.from_steps(wide) != cr.codecs.get("melody").from_steps(wide)
