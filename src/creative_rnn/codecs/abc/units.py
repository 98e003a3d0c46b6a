"""One unit note length for every tune: lengths rewritten in eighths (``L:1/8``).

ABC writes a note's length in units of the tune's L: ``A`` is an eighth under ``L:1/8``
and a sixteenth under ``L:1/16``. After ``transpose_to_c`` a corpus like the Irish one still
mixes both, so one rhythm has two spellings in the vocabulary and the model must learn each
twice. ``to_unit`` rewrites a tune's tokens to ``L:1/8``, scaling every measured length and
keeping what is relative (tuplets, broken rhythms, ties) as it is. Two versions, kept so
that a run's tokens stay what its model learned (the codec's ``normalize_unit`` records which):

Version 2 (new runs): one spelling per rhythm.

* a note or a rest: its length token is scaled (one is added where the length was 1 unit);
* a chord: its notes' lengths are scaled and the multiplier after ``]`` is relative (ABC 2.1,
  4.17: it multiplies the notes' lengths; music21 and ``bars.py`` read it so); then a chord
  of equal notes is written one way, bare notes and its whole length after ``]``: ``[ce]2``,
  never ``[c2e2]`` or ``[c4e4]/2``. That is the one spelling the complete-bars constraint
  lets a model write (``bars.BarState`` takes no length inside a chord), so what a model
  learns is what it may sample. A chord of unequal notes (or with ties inside) keeps its
  notes' lengths: its length is its first note's times the multiplier;
* grace notes: their lengths are in units of L too (they take no time in the bar, but
  ``{g}`` is an eighth grace under ``L:1/8`` and a sixteenth one under ``L:1/16``), so they
  are scaled like notes;
* inline ``[L:...]`` changes: applied to the lengths that follow, then dropped.

Version 1 (runs made before version 2, and the shipped folk starter): notes and rests as
above, but only a chord's multiplier after ``]`` is scaled, never its notes (``[c4c'4]/2``
under ``L:1/16`` where a native ``L:1/8`` tune writes ``[c2c'2]``), and grace notes keep
their marks as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from .tokens import (
    ACCIDENTALS,
    AbcError,
    duration_token,
    is_duration,
    is_header,
    is_pitch,
    parse_duration,
)

UNIT = "1/8"  # FolkRNN's tunes are in eighths; so is most of the Irish corpus
VERSIONS = (1, 2)
LATEST = 2


def to_unit(tokens: Sequence[str], unit: str = UNIT, version: int = LATEST) -> list[str]:
    """The tune's tokens with every length in units of ``unit``, as ``version`` (see the
    module docstring) writes them; raises AbcError for a length that has no token once
    scaled (beyond 64 units or below 1/64)."""
    out: list[str] = []
    scale = Fraction(1)  # the tune's current L over ``unit``
    measured = False  # the last token was a note, rest or chord whose length may follow
    in_chord = in_grace = False  # version 1 leaves lengths inside these as written
    for t in tokens:
        if measured:
            measured = False
            if is_duration(t):
                out += _scaled(parse_duration(t), scale, unit)
                continue
            if scale != 1:  # a length of one unit stays without a token
                out += _scaled(Fraction(1), scale, unit)
        bare = t.strip("[]")
        if is_header(bare) and bare[0] == "L":
            scale = Fraction(bare[2:]) / Fraction(unit)
            if t == bare:  # the header stays, in the one unit; inline changes go
                out.append(f"L:{unit}")
            continue
        out.append(t)
        if version != 1:  # every note is measured, in a chord or a grace group too
            measured = is_pitch(t) or t == "z"
        elif t in ("{", "}"):
            in_grace = t == "{"
        elif t == "[":
            in_chord = True
        elif t == "]" and in_chord:
            in_chord, measured = False, True
        elif (is_pitch(t) or t == "z") and not (in_chord or in_grace):
            measured = True
    if measured and scale != 1:
        out += _scaled(Fraction(1), scale, unit)
    return out if version == 1 else _one_chord_spelling(out)


def _one_chord_spelling(tokens: list[str]) -> list[str]:
    """Every chord of equal notes as bare notes and its whole length after ``]``:
    ``[c2 e2]`` and ``[c4 e4]/2`` become ``[c e]2``; any other chord stays as it is."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        close = tokens.index("]", i) if tokens[i] == "[" and "]" in tokens[i:] else -1
        if close < 0:
            out.append(tokens[i])
            i += 1
            continue
        after = close + 1
        multiplier = Fraction(1)
        if after < len(tokens) and is_duration(tokens[after]):
            multiplier, after = parse_duration(tokens[after]), after + 1
        notes = _chord_notes(tokens[i + 1:close])
        if notes is None or len({length for _, length in notes}) != 1:
            out += tokens[i:after]
        else:
            whole = _scaled(notes[0][1] * multiplier, Fraction(1), UNIT)
            out += ["[", *(t for pitch, _ in notes for t in pitch), "]", *whole]
        i = after
    return out


def _chord_notes(inside: list[str]) -> list[tuple[list[str], Fraction]] | None:
    """A chord's notes as (accidental and pitch tokens, length), or None when it holds
    anything else (a tie, a broken rhythm) or nothing."""
    notes: list[tuple[list[str], Fraction]] = []
    accidental: list[str] = []
    for t in inside:
        if t in ACCIDENTALS and not accidental:
            accidental = [t]
        elif is_pitch(t):
            notes.append(([*accidental, t], Fraction(1)))
            accidental = []
        elif is_duration(t) and notes and not accidental and notes[-1][1] == 1:
            notes[-1] = (notes[-1][0], parse_duration(t))
        else:
            return None
    return notes if notes and not accidental else None


def _scaled(length: Fraction, scale: Fraction, unit: str) -> list[str]:
    """The token of ``length`` (units of the old L) in units of ``unit`` ([] for 1)."""
    token = duration_token(length * scale)
    if token:
        try:
            parse_duration(token)  # the bounds every length token keeps
        except AbcError:
            raise AbcError(f"a note of {length} unit(s) of L:{Fraction(unit) * scale} is "
                           f"{length * scale} of L:{unit}, beyond the lengths a note may "
                           "have (1/64 to 64)") from None
    return [token] if token else []
