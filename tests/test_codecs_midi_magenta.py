"""The performance codec with magenta=True gives Magenta's own events and decodes Magenta's
indices to note-seq's own notes: compared with note-seq 0.0.5's output for the two MIDI files
of tests/data (tests/data/reference), read from the JSON, for every variant (sustain with and
without drums, no sustain), and with note-seq's decode of hand-made corner cases."""

from __future__ import annotations

import json

import mido
import pytest
from support import shared_file

import creative_rnn as cr
from creative_rnn.codecs.midi import magenta
from creative_rnn.codecs.midi.io import Note, write_midi

REFERENCE = json.loads(shared_file("reference/note_seq_performance.json").read_text())
FILES = sorted(k for k in REFERENCE if not k.startswith("_"))
VARIANTS = {"sustain_nodrums": {}, "sustain_drums": {"drums": True},
            "nosustain_nodrums": {"sustain": False}}


def codec(variant: str):
    return cr.codecs.get("performance", magenta=True, **VARIANTS[variant])


def steps(tokens: list[str]) -> list[list[str]]:
    """Tokens cut at each time shift: the events of each 10 ms step."""
    out: list[list[str]] = [[]]
    for t in tokens:
        if t.startswith("shift"):
            out.append([])
        out[-1].append(t)
    return out


def test_our_vocabulary_is_magentas_event_list_in_its_order():
    assert cr.codecs.get("performance").fixed_tokens() == REFERENCE["_vocab"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", FILES)
def test_magenta_events_are_note_seqs_events(name, variant):
    want = REFERENCE[name][variant]
    c = codec(variant)
    item = c.read(shared_file(f"midi/{name}"))
    assert c.tokenize(item) == want["tokens"]
    assert c.to_magenta(item) == want["idx"]


def as_lists(notes) -> list[list]:
    """Notes as note_seq_decode.json lists them: [pitch, start_s, end_s, velocity], sorted."""
    return sorted([n.pitch, round(n.start, 6), round(n.end, 6), n.velocity] for n in notes)


DECODED = json.loads(shared_file("reference/note_seq_decode.json").read_text())
# every index sequence of the reference: each file and variant, whole and cut in half (notes
# left sounding at the end), and the hand-made corner cases
DECODE_CASES = {f"{name}/{variant}/{half}": (case[f"{half}idx"], case[f"{half}decoded"])
                for name in sorted(k for k in DECODED if not k.startswith("_"))
                for variant, case in DECODED[name].items() for half in ("", "half_")}
DECODE_CASES |= {f"odd/{k}": (case["idx"], case["decoded"])
                 for k, case in DECODED["_odd"].items()}


@pytest.mark.parametrize("case", sorted(DECODE_CASES))
def test_magenta_indices_decode_to_note_seqs_notes(case):
    idx, want = DECODE_CASES[case]
    assert as_lists(cr.codecs.get("performance", magenta=True).from_magenta(idx)) == want


def test_our_default_decode_keeps_its_choices_where_note_seq_differs():
    """The same corner cases decoded without magenta: what note-seq would do differently."""
    c = cr.codecs.get("performance", velocity=70)
    odd = {k: case["idx"] for k, case in DECODED["_odd"].items()}
    # never switched off: note-seq ends both at the last step (0.7 s); ours ring 1 s
    assert as_lists(c.from_magenta(odd["hanging"])) == [[64, 0.0, 1.0, 70], [65, 0.5, 1.5, 70]]
    # struck at the last step: note-seq drops it; ours is heard
    assert as_lists(c.from_magenta(odd["hanging_no_shift_after"])) == [[66, 0.07, 1.07, 70]]
    # before any velocity event: note-seq 100, ours the velocity option
    assert as_lists(c.from_magenta(odd["no_velocity_event"])) == [[67, 0.0, 2.0, 70]]
    # one pitch struck twice then released twice: note-seq two overlapping notes (the first
    # note-off ends the oldest); ours one key, struck again, and the second note-off is spare
    # (and bin 20 plays at our bin's middle, 82; Magenta's lowest, 81)
    assert DECODED["_odd"]["on_on_off_off"]["decoded"] == [[62, 0.0, 0.07, 81],
                                                            [62, 0.03, 0.12, 81]]
    assert as_lists(c.from_magenta(odd["on_on_off_off"])) == [[62, 0.0, 0.03, 82],
                                                              [62, 0.03, 0.07, 82]]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("name", FILES)
def test_magenta_indices_decode_to_notes_that_encode_back(name, variant, tmp_path):
    """Magenta indices -> notes -> events -> notes gives the same notes. The events need not
    come back the same: note-seq's notes start on the step, so a step's note-ons come back in
    pitch order (and their velocity events with them), as note-seq's own encoder orders
    them; a file of one note at a time comes back event for event."""
    want = REFERENCE[name][variant]["idx"]
    c = codec(variant)
    notes = c.from_magenta(want)
    back = c.to_magenta(notes)
    assert c.from_magenta(back) == notes
    if name == "waltzing-matilda.mid":
        assert back == want
    write_midi(notes, tmp_path / "from-magenta.mid")  # and they are a playable MIDI file
    assert len(cr.codecs.get("performance").read(tmp_path / "from-magenta.mid")) > 0


def test_magenta_velocity_bins_and_rounding():
    # note-seq's velocity_to_bin: bins of ceil(127 / 32) = 4 from velocity 1, so 1-4 is bin 0
    # and every multiple of 4 ends its bin (ours puts 4 in bin 1)
    assert [magenta.velocity_bin(v, 32) for v in (1, 4, 5, 8, 124, 125, 127)] == \
        [0, 0, 1, 1, 30, 31, 31]
    assert cr.codecs.get("performance").velocity_bin(4) == 1
    assert magenta.bin_velocity(31, 32) == 125
    # note-seq's quantize_to_step rounds halves up: onsets 5 ms and 15 ms apart stay apart
    c = cr.codecs.get("performance", magenta=True)
    notes = [Note(60, 0.015, 0.5, 80), Note(64, 0.025, 0.5, 80)]  # steps 1.5 and 2.5
    assert c.tokenize(notes) == ["shift2", "vel19", "on60", "shift1", "on64", "shift47",
                                 "off60", "off64"]
    ours = cr.codecs.get("performance").tokenize(notes)  # half to even: both in step 2
    assert ours == ["shift2", "vel20", "on60", "on64", "shift48", "off60", "off64"]


def test_a_key_struck_while_it_sounds_is_two_notes_in_magenta_one_in_ours(tmp_path):
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=90, time=0),
                            mido.Message("note_on", note=60, velocity=90, time=240),
                            mido.Message("note_off", note=60, time=240)])
    mid = mido.MidiFile()
    mid.tracks.append(track)
    mid.save(tmp_path / "restrike.mid")
    notes = cr.codecs.get("performance", magenta=True).read(tmp_path / "restrike.mid")
    assert [(n.start, n.end) for n in notes] == [(0.0, 0.5), (0.25, 0.5)]  # pretty_midi's
    ours = cr.codecs.get("performance", trim_start=False).read(tmp_path / "restrike.mid")
    assert [(n.start, n.end) for n in ours] == [(0.0, 0.25), (0.25, 0.5)]


def test_old_performance_runs_read_as_before():
    """A codec.json written before these options rebuilds the old encoding (the options'
    defaults are the old behaviour)."""
    old = {"velocity_bins": 32, "max_shift_steps": 100, "sustain": True, "hanging_note_s": 1.0,
           "velocity": 80, "trim_start": True}
    data = cr.codecs.get("performance", **old).to_json()
    data["options"] = old
    c = cr.codecs.from_json(data)
    assert c.options["magenta"] is False and c.options["drums"] is False
    assert cr.codecs.get("performance", magenta=True).options["trim_start"] is False
