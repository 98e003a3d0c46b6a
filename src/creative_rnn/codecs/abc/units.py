"""One unit note length for every tune: lengths rewritten in eighths (``L:1/8``).

ABC writes a note's length in units of the tune's L: ``A`` is an eighth under ``L:1/8``
and a sixteenth under ``L:1/16``. After ``transpose_to_c`` a corpus like the Irish one still
mixes both, so one rhythm has two spellings in the vocabulary and the model must learn each
twice. ``to_unit`` rewrites a tune's tokens to ``L:1/8``, scaling every measured length and
keeping what is relative (tuplets, broken rhythms, ties) as it is:

* a note or a rest: its length token is scaled (one is added where the length was 1 unit);
* a chord: its length is its first note's times the multiplier after ``]`` (ABC 2.1, 4.17;
  music21 and ``bars.py`` read it so), so only that multiplier is scaled;
* grace notes: unmeasured (they take no time in the bar), so their marks stay as written;
* inline ``[L:...]`` changes: applied to the lengths that follow, then dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from .tokens import AbcError, duration_token, is_duration, is_header, is_pitch, parse_duration

UNIT = "1/8"  # FolkRNN's tunes are in eighths; so is most of the Irish corpus


def to_unit(tokens: Sequence[str], unit: str = UNIT) -> list[str]:
    """The tune's tokens with every length in units of ``unit``; raises AbcError for a
    length that has no token once scaled (beyond 64 units or below 1/64)."""
    out: list[str] = []
    scale = Fraction(1)  # the tune's current L over ``unit``
    measured = False  # the last token was a note, rest or chord whose length may follow
    in_chord = in_grace = False
    for t in tokens:
        if measured:
            measured = False
            if is_duration(t):
                out += _scaled(parse_duration(t), scale, unit)
                continue
            out += _scaled(Fraction(1), scale, unit)
        bare = t.strip("[]")
        if is_header(bare) and bare[0] == "L":
            scale = Fraction(bare[2:]) / Fraction(unit)
            if t == bare:  # the header stays, in the one unit; inline changes go
                out.append(f"L:{unit}")
            continue
        out.append(t)
        if t == "{":
            in_grace = True
        elif t == "}":
            in_grace = False
        elif t == "[":
            in_chord = True
        elif t == "]" and in_chord:
            in_chord, measured = False, True
        elif (is_pitch(t) or t == "z") and not (in_chord or in_grace):
            measured = True
    if measured:
        out += _scaled(Fraction(1), scale, unit)
    return out


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
