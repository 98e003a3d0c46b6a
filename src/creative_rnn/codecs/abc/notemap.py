"""Which tokens make which note of an ABC tune (``AbcCodec.note_tokens``), so that the studio
can mark a copied token span's notes on the piano roll.

``AbcCodec.notes`` is music21's reading of the tune, not ours, so the tokens behind each of
its notes are found by reading the tokens a second time here, event by event: a note (its
accidental, pitch and length tokens) or a chord (``[`` to ``]`` and its length: several notes
from one span), each with the written pitches (letter and octave) and the length in quarter
notes it should sound, read as music21 reads them (``bars.bars`` follows ABC 2.1 instead
where the two differ: a broken rhythm next to a tie, tuplets of 5, 7 or 9 in compound time).
music21's notes are then walked beside the events. One event may be several of music21's
notes: music21 cuts a note that overruns a bar into tied parts. Anything else that does not
agree (a pitch, a length, a count, a token this reading does not follow) means the two
readings differ somewhere, and the tune gets no mapping at all (None) rather than one that
might mark the wrong notes.

Pitches are compared by letter and octave, not by sounding pitch: which note a token makes
does not depend on its alteration, and music21 reads our tunes (they carry no ``%abc-2.1``
line) as ABC 1.3, where an accidental holds for its own note only, while ``pitch.sounding``
carries it to the bar's end as ABC 2.1 says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .bars import BROKEN
from .pitch import step_of
from .tokens import (
    ACCIDENTALS,
    is_bar,
    is_duration,
    is_header,
    is_pitch,
    is_text,
    parse_duration,
    parse_pitch,
    parse_tuplet,
)

MIDDLE_C = 29  # music21's diatonicNoteNum of C4, the step of ABC's C (pitch.step_of: 0)


@dataclass
class Event:
    """A note, chord or rest of the tokens: tokens ``start:end``, what it should sound."""

    start: int
    end: int
    steps: list[int]  # written diatonic steps, pitch.step_of (none for a rest)
    base: Fraction  # written length in units of L
    mult: Fraction  # tuplet and broken-rhythm factor
    unit: Fraction  # L where it stands

    @property
    def quarters(self) -> Fraction:
        return self.base * self.mult * self.unit * 4


def events(tokens: Sequence[str]) -> list[Event] | None:
    """The notes, chords and rests of a tune's tokens in order, or None where the tokens
    hold something this reading does not follow (an accidental with no note after it, a
    length with no note before it, an unclosed chord): music21 would guess there, and a
    guess cannot be mapped safely."""
    out: list[Event] = []
    unit = Fraction(1, 8)  # detokenize_tune writes L:1/8 when the tokens hold no L
    compound = False  # music21 plays (5, (7 and (9 in the time of 3 in 6/8, 9/8, 12/8
    acc: int | None = None  # index of an accidental waiting for its pitch
    chord: Event | None = None  # the open chord
    chord_len: Fraction | None = None  # its first inner length (ABC 2.1, 4.17)
    in_grace = False
    tup_mult, tup_left, factor = Fraction(1), 0, Fraction(1)
    len_at = -1  # where a length token may stand: right after a pitch, rest or chord
    broken_at = -1  # where a broken rhythm may stand: right after a note, rest or chord

    def counted() -> Fraction:
        """The tuplet factor of the next note; music21 counts grace notes in a tuplet too."""
        nonlocal tup_left, tup_mult
        mult = tup_mult
        tup_left = max(tup_left - 1, 0)
        tup_mult = tup_mult if tup_left else Fraction(1)
        return mult

    def start(ev: Event) -> None:
        nonlocal factor
        ev.mult, factor = counted() * factor, Fraction(1)
        out.append(ev)

    for i, t in enumerate(tokens):
        bare = t.strip("[]")
        if is_text(t):
            continue  # titles: not written into the body
        if acc is not None and not is_pitch(t):
            return None
        if is_header(bare):
            if chord is not None or in_grace:
                return None
            if bare[0] == "L":
                unit = Fraction(bare[2:])
            elif bare[0] == "M":
                num = bare[2:].split("/")[0]
                compound = num.isdigit() and int(num) % 3 == 0 and int(num) > 3
        elif t in ACCIDENTALS:
            acc = i
        elif in_grace:  # grace notes sound in no note of notes()
            if t == "}":
                in_grace = False
            elif is_pitch(t):
                counted()
            elif not is_duration(t):
                return None
            acc = None
        elif chord is not None:
            if is_pitch(t):
                chord.steps.append(step_of(*parse_pitch(t)))
                len_at, acc = i + 1, None
            elif is_duration(t) and len_at == i:
                chord_len = chord_len or parse_duration(t)
            elif t == "]" and chord.steps:
                chord.end, chord.base = i + 1, chord_len or Fraction(1)
                start(chord)
                chord, len_at, broken_at = None, i + 1, i + 1
            else:
                return None
        elif is_pitch(t) or t == "z":
            start(Event(i if acc is None else acc, i + 1,
                        [step_of(*parse_pitch(t))] if t != "z" else [],
                        Fraction(1), Fraction(1), unit))
            len_at = broken_at = i + 1
            acc = None
        elif t == "[":
            chord, chord_len = Event(i, i + 1, [], Fraction(1), Fraction(1), unit), None
        elif is_duration(t):
            if len_at != i or not out:  # (two lengths in a row would be written as one)
                return None
            out[-1].base *= parse_duration(t)
            out[-1].end = broken_at = i + 1
        elif t in BROKEN:
            # music21 breaks the rhythm only of a note (or chord, or rest) right before the
            # sign and one right after it: "d>-c", "G-<E" (O'Neill's) keep their lengths
            after = tokens[i + 1] if i + 1 < len(tokens) else ""
            if broken_at == i and (is_pitch(after) or after in (*ACCIDENTALS, "z", "[")):
                first, factor = BROKEN[t]
                out[-1].mult *= first
        elif t.startswith("(") and t[1:2].isdigit():
            p, q, r = parse_tuplet(t)
            if p in (5, 7, 9) and compound and t == f"({p}":
                return None  # music21's q is 3 here, ABC's 2: not worth following
            tup_mult, tup_left = Fraction(q, p), r
        elif t == "{":
            in_grace = True
        elif not (t in ("-", "]") or is_bar(t) or (t.startswith("[") and t[1:2].isdigit())):
            # ties, bar lines, endings and a "]" with no chord (Ryan's "[|]" is "[|" and "]")
            # make no note; anything else is unknown
            return None
    if acc is not None or chord is not None or in_grace:
        return None
    return out


def owners(elements: Sequence[Any], found: Sequence[Event]) -> list[int] | None:
    """For each of music21's sounding notes (or chords) in order, the index in ``found`` of
    the event that makes it; None where the two do not agree note for note. An event's parts
    (a note cut at a bar line) share its pitches, and their lengths add up to its length."""
    sounding_events = [k for k, ev in enumerate(found) if ev.steps]
    out: list[int] = []
    k, filled = 0, Fraction(0)
    for el in elements:
        if k >= len(sounding_events):
            return None
        ev = found[sounding_events[k]]
        if sorted(p.diatonicNoteNum - MIDDLE_C for p in el.pitches) != sorted(ev.steps):
            return None
        filled += _fraction(el.quarterLength)
        out.append(sounding_events[k])
        if filled == ev.quarters:
            k, filled = k + 1, Fraction(0)
        elif filled > ev.quarters:
            return None
    return out if k == len(sounding_events) else None


def _fraction(x: float | Fraction) -> Fraction:
    """music21 keeps lengths as Fractions or as floats it has checked are exact binary."""
    return x if isinstance(x, Fraction) else Fraction(x).limit_denominator(1 << 20)


# --- music21's side: the notes it sounds, ties joined (AbcCodec.notes and note_tokens) ---
def sounding(score) -> list:
    """The notes and chords of a score that sound: grace notes and zero lengths left out."""
    return [n for n in score.flatten().notes
            if not (n.duration.isGrace or n.quarterLength == 0)]


def joined(elements: Sequence[Any], qpm: float = 120.0
            ) -> tuple[list[tuple[int, float, float, int]], list[list[int]]]:
    """(notes, parts): one note per pitch of each element, a tied one joined to the note it
    continues; ``parts[k]``, the indices into ``elements`` that make note ``k``."""
    sec = 60.0 / qpm
    out: list[tuple[int, float, float, int]] = []
    parts: list[list[int]] = []
    open_ties: dict[int, int] = {}  # pitch -> index in out of a note tied onwards
    for e, n in enumerate(elements):
        start, end = float(n.offset) * sec, float(n.offset + n.quarterLength) * sec
        tied_on = n.tie is not None and n.tie.type in ("start", "continue")
        for p in n.pitches:
            j = open_ties.pop(p.midi, None)
            # a tie joins two notes of one pitch only; O'Neill's books also write
            # "g3-a" for a slur, which music21 reads as a tie: those stay two notes
            if j is not None and abs(out[j][2] - start) < 1e-9:
                out[j] = (p.midi, out[j][1], end, 80)
                parts[j].append(e)
            else:
                j = len(out)
                out.append((p.midi, start, end, 80))
                parts.append([e])
            if tied_on:
                open_ties[p.midi] = j
    return out, parts
