"""Write tests/data/reference/note_seq_performance.json and note_seq_decode.json: Magenta's
own Performance RNN events for the MIDI files of tests/data/midi, and note-seq's own decode of
them, which the Magenta parity tests compare our codec with.

Run by hand, never by the tests, with a Python that has Magenta's note-seq 0.0.5 (Apache-2.0;
it needs an older protobuf and numpy than the project's venv, so keep it in a venv of its own):

    python -m venv /tmp/nsvenv && /tmp/nsvenv/bin/pip install note-seq==0.0.5
    /tmp/nsvenv/bin/python tests/data/make_note_seq_reference.py

Only note-seq's public API is called, as tests/data/SOURCES.md describes. Run it again after
tests/data/make_midi.py changes the MIDI file.
"""

from __future__ import annotations

import json
from pathlib import Path

from note_seq import midi_io, music_pb2, performance_lib, sequences_lib
from note_seq.performance_encoder_decoder import PerformanceOneHotEncoding

HERE = Path(__file__).resolve().parent
FILES = ("multitrack_gm_made.mid", "waltzing-matilda.mid")
STEPS_PER_SECOND, VELOCITY_BINS, MAX_SHIFT = 100, 32, 100
ENCODING = PerformanceOneHotEncoding(VELOCITY_BINS, MAX_SHIFT)
EVENT = performance_lib.PerformanceEvent
# variant -> (sustain pedal applied, drums kept)
VARIANTS = {"sustain_nodrums": (True, False), "sustain_drums": (True, True),
            "nosustain_nodrums": (False, False), "nosustain_drums": (False, True)}
ENCODED_VARIANTS = ("sustain_nodrums", "sustain_drums", "nosustain_nodrums")
ABOUT = (f"note-seq 0.0.5; Performance(steps_per_second={STEPS_PER_SECOND}, "
         f"num_velocity_bins={VELOCITY_BINS}, max_shift_steps={MAX_SHIFT}); "
         f"PerformanceOneHotEncoding({VELOCITY_BINS}, {MAX_SHIFT}) indices (no special tokens);"
         " decode = Performance.append(decode_event) then to_sequence(); "
         "notes [pitch, start_s, end_s, velocity]")
# hand-made index sequences for the decoder's corner cases (indices as in _vocab:
# on 0-127, off 128-255, shift1-100 256-355, vel0-31 356-387)
ODD = {
    "zero_len": [60, 188, 265],  # on and off in one step: note-seq drops the note
    "off_without_on": [189, 260, 61, 260, 189],
    "on_on_off_off": [376, 62, 258, 62, 259, 190, 260, 190],  # one pitch, overlapping
    "hanging": [64, 305, 65, 275],  # never released: ended at the performance's end
    "hanging_no_shift_after": [262, 66],
    "no_velocity_event": [67, 355, 355, 195],
    "restrike_same_step": [69, 265, 197, 69, 265, 197],
}


def token(event) -> str:
    """Our name of a note-seq event (velocity names 0-based, as the _vocab lists them)."""
    kind, value = event.event_type, event.event_value
    if kind == EVENT.NOTE_ON:
        return f"on{value}"
    if kind == EVENT.NOTE_OFF:
        return f"off{value}"
    if kind == EVENT.TIME_SHIFT:
        return f"shift{value}"
    if kind == EVENT.VELOCITY:
        return f"vel{value - 1}"
    raise ValueError(f"unexpected event {event}")


def note_sequence(path: Path, sustain: bool, drums: bool) -> music_pb2.NoteSequence:
    seq = midi_io.midi_file_to_note_sequence(str(path))
    if sustain:
        seq = sequences_lib.apply_sustain_control_changes(seq)
    if not drums:
        kept = [n for n in seq.notes if not n.is_drum]
        del seq.notes[:]
        seq.notes.extend(kept)
    return seq


def encode(path: Path, sustain: bool, drums: bool) -> list[int]:
    quantized = sequences_lib.quantize_note_sequence_absolute(
        note_sequence(path, sustain, drums), STEPS_PER_SECOND)
    performance = performance_lib.Performance(quantized, num_velocity_bins=VELOCITY_BINS,
                                              max_shift_steps=MAX_SHIFT)
    return [ENCODING.encode_event(e) for e in performance]


def decode(idx: list[int]) -> list[list]:
    """note-seq's notes for Magenta indices, as [pitch, start_s, end_s, velocity], sorted;
    times rounded to drop the float noise of step * 0.01."""
    performance = performance_lib.Performance(steps_per_second=STEPS_PER_SECOND,
                                              num_velocity_bins=VELOCITY_BINS,
                                              max_shift_steps=MAX_SHIFT)
    for i in idx:
        performance.append(ENCODING.decode_event(i))
    notes = performance.to_sequence().notes
    return sorted([n.pitch, round(n.start_time, 6), round(n.end_time, 6), n.velocity]
                  for n in notes)


def vocabulary() -> list[str]:
    return [token(ENCODING.decode_event(i)) for i in range(ENCODING.num_classes)]


def main(files: tuple[str, ...] = FILES, out: Path = HERE / "reference") -> None:
    names = vocabulary()
    events: dict = {"_vocab": names}
    decoded: dict = {"_about": ABOUT}
    for name in files:
        path = HERE / "midi" / name
        events[name], decoded[name] = {}, {}
        for variant, (sustain, drums) in VARIANTS.items():
            idx = encode(path, sustain, drums)
            if variant in ENCODED_VARIANTS:
                events[name][variant] = {"idx": idx, "tokens": [names[i] for i in idx]}
            half = idx[:len(idx) // 2]
            decoded[name][variant] = {"idx": idx, "decoded": decode(idx),
                                      "half_idx": half, "half_decoded": decode(half)}
    decoded["_odd"] = {k: {"idx": idx, "decoded": decode(idx)} for k, idx in ODD.items()}
    (out / "note_seq_performance.json").write_text(json.dumps(events))
    (out / "note_seq_decode.json").write_text(json.dumps(decoded))
    print(f"wrote {out}/note_seq_performance.json and note_seq_decode.json")


if __name__ == "__main__":
    main()
