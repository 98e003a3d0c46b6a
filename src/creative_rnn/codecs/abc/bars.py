"""Bar arithmetic on ABC tokens: how long each bar is, and a sampling constraint that keeps
every bar of a generated tune exactly as long as its meter.

Lengths are Fractions in units of the tune's L (unit note length); a bar of M:6/8 with
L:1/8 is 6 units. A tuplet ``(p:q:r`` plays its next r notes at q/p of their length; a
broken rhythm ``A>B`` makes A 3/2 and B 1/2 of their written length (ABC 2.1, 4.4 and 4.13).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd

from .tokens import (
    ACCIDENTALS,
    BARS,
    AbcError,
    is_bar,
    is_duration,
    is_header,
    is_pitch,
    is_text,
    meter_fraction,
    parse_duration,
    parse_tuplet,
)

BROKEN = {">": (Fraction(3, 2), Fraction(1, 2)), ">>": (Fraction(7, 4), Fraction(1, 4)),
          ">>>": (Fraction(15, 8), Fraction(1, 8)), "<": (Fraction(1, 2), Fraction(3, 2)),
          "<<": (Fraction(1, 4), Fraction(7, 4)), "<<<": (Fraction(1, 8), Fraction(15, 8))}
SECTION = ("||", "|]", "[|", "|:", ":|", "::")
GROUP_MAX = 4  # notes in a chord or grace group under the constraint, so a group must end


def bar_length(meter: str, unit: str) -> Fraction | None:
    """Units of L in one bar, or None in free meter."""
    m = meter_fraction(meter)
    return None if m is None else m / Fraction(unit)


@dataclass
class Bar:
    length: Fraction  # what its notes add up to (units of L)
    target: Fraction | None  # what the meter asks for (None: free meter)
    notes: int
    edge: bool  # first or last bar of a section, where a pick-up (anacrusis) is normal


def bars(tokens: Sequence[str]) -> list[Bar]:
    """The bars of a tune, in order; notes after the last bar line form a last bar."""
    meter, unit = "4/4", "1/8"
    out: list[Bar] = []
    notes = 0
    events: list[list[Fraction]] = []  # [base, multiplier] of this bar's notes, for ">"
    tup_mult, tup_left, factor = Fraction(1), 0, Fraction(1)
    in_chord = in_grace = False
    chord_first: Fraction | None = None
    chord_notes = 0  # notes so far in the open chord: only the first one's length counts
    edge_next = True
    for t in tokens:
        bare = t.strip("[]")
        if is_header(bare):
            if bare[0] == "M":
                meter = bare[2:]
            elif bare[0] == "L":
                unit = bare[2:]
        elif is_bar(t):
            length = sum((b * m for b, m in events), Fraction(0))
            if events or out:
                out.append(Bar(length, bar_length(meter, unit), notes,
                               edge_next or t in SECTION))
            events, notes, edge_next = [], 0, t in SECTION
        elif t.startswith("[") and t[1:2].isdigit():
            edge_next = True
        elif t == "{":
            in_grace = True
        elif t == "}":
            in_grace = False
        elif in_grace:
            continue
        elif t == "[":
            in_chord, chord_first, chord_notes = True, None, 0
        elif t == "]" and in_chord:
            in_chord = False
            events.append([chord_first or Fraction(1), tup_mult * factor])
            notes += 1
            factor, tup_left = Fraction(1), max(tup_left - 1, 0)
            tup_mult = tup_mult if tup_left else Fraction(1)
        elif is_pitch(t) or t == "z":
            if in_chord:
                chord_first, chord_notes = chord_first or Fraction(1), chord_notes + 1
                continue
            events.append([Fraction(1), tup_mult * factor])
            notes += t != "z"
            factor, tup_left = Fraction(1), max(tup_left - 1, 0)
            tup_mult = tup_mult if tup_left else Fraction(1)
        elif is_duration(t):
            if in_chord:
                if chord_notes == 1:  # [E G/2] is as long as its E, not its G
                    chord_first = parse_duration(t)
            elif events:
                events[-1][0] *= parse_duration(t)
        elif t in BROKEN and events:
            first, second = BROKEN[t]
            events[-1][1] *= first
            factor = second
        elif t.startswith("(") and t[1:2].isdigit():
            p, q, r = parse_tuplet(t)
            tup_mult, tup_left = Fraction(q, p), r
    if events:
        out.append(Bar(sum((b * m for b, m in events), Fraction(0)),
                       bar_length(meter, unit), notes, True))
    return out


def complete_share(tunes: Sequence[Sequence[str]]) -> float | None:
    """Share of bars whose length equals the meter; a shorter bar at a section's edge (a
    pick-up and its complement) counts as complete. None when no bar has a meter."""
    good = total = 0
    for tokens in tunes:
        for b in bars(tokens):
            if b.target is None:
                continue
            total += 1
            good += b.length == b.target or (b.edge and 0 < b.length < b.target)
    return good / total if total else None


# --- the sampling constraint ----------------------------------------------------------------
@dataclass
class BarState:
    """Where a tune being generated stands in its bar; ``feed`` refuses a token that would
    overflow the bar, close it early, or leave a remainder no note lengths can fill."""

    durations: tuple[Fraction, ...]  # note lengths the vocabulary can write (1 included)
    meter: str = "4/4"
    unit: str = "1/8"
    header: bool = True
    pos: Fraction = Fraction(0)  # committed length of the current bar
    pending: Fraction | None = None  # multiplier of a note whose length token may follow
    started: bool = False  # a note has been written
    last: str = ""  # kind of the last token
    ctx: str = "body"  # body | chord | grace
    inner: int = 0  # notes inside the open chord or grace group
    acc: bool = False  # an accidental waits for its pitch
    tup_mult: Fraction = Fraction(1)
    tup_left: int = 0
    forced: Fraction | None = None  # base length the next note must have (tuplet, ">")
    forced_mult: Fraction = Fraction(1)
    event: tuple[Fraction, Fraction, Fraction] | None = None  # (pos before, base, mult)
    fill: set = field(default_factory=set)

    bar_len: Fraction | None = Fraction(8)  # units of L in a bar (None: free meter)

    def _fillable(self, rem: Fraction) -> bool:
        if rem == 0:
            return True
        if not self.fill:  # lengths reachable as sums of plain note lengths, on their grid
            den = 1
            for d in self.durations:
                den = den * d.denominator // gcd(den, d.denominator)
            steps = {int(d * den) for d in self.durations}
            limit = int(64 * den)
            reach = [False] * (limit + 1)
            reach[0] = True
            for n in range(1, limit + 1):
                reach[n] = any(s <= n and reach[n - s] for s in steps)
            # filled in place: copies of this state share the set, so this runs once
            self.fill.update(Fraction(n, den) for n in range(limit + 1) if reach[n])
        return rem in self.fill

    def _fits(self, reserve: Fraction) -> bool:
        if self.bar_len is None:
            return True
        return self.pos + reserve <= self.bar_len and self._fillable(self.bar_len - self.pos
                                                                     - reserve)

    def _can_start_note(self) -> bool:
        """Some length exists for a new note here. A forced note (the rest of a tuplet, the
        second of a broken pair) had its room reserved when its group began."""
        if self.forced is not None:
            return True
        count = max(self.tup_left, 1)
        return any(self._fits(d * self.tup_mult * count) for d in self.durations)

    def _commit(self, base: Fraction) -> bool:
        """The pending note gets length ``base``; False if that breaks the bar."""
        mult = self.pending
        if self.forced is not None:
            if base != self.forced:
                return False
            reserve = base * mult
        else:
            reserve = base * mult * max(self.tup_left, 1)
            if not self._fits(reserve):
                return False
        self.event = (self.pos, base, mult)
        self.pos += base * mult
        self.pending = None
        if self.tup_left:
            self.tup_left -= 1
            self.forced = base if self.tup_left else None
            self.forced_mult = self.tup_mult
            if not self.tup_left:
                self.tup_mult = Fraction(1)
        else:
            self.forced, self.forced_mult = None, Fraction(1)
        return True

    def feed(self, t: str) -> bool:
        """Take one token; False (state then undefined) if it is not allowed here."""
        bare = t.strip("[]") if t.startswith("[") and len(t) > 3 else t
        if is_text(t):
            return self.header
        if is_header(bare):
            if not self.header or t != bare:
                return False  # no meter or key changes inside a constrained tune
            if t[0] == "M":
                self.meter = t[2:]
            elif t[0] == "L":
                self.unit = t[2:]
            self.bar_len = bar_length(self.meter, self.unit)
            self.header = t[0] != "K"
            return True
        self.header = False
        if self.ctx == "grace":
            return self._grace(t)
        if t in ACCIDENTALS:
            if self.acc or (self.pending is not None and not self._commit(Fraction(1))):
                return False
            self.acc, self.last = True, "acc"
            if self.ctx == "chord":
                return self.inner < GROUP_MAX
            return self._can_start_note()
        if self.acc and not is_pitch(t):
            return False
        if self.ctx == "chord":
            if is_pitch(t) and self.inner < GROUP_MAX:
                self.inner, self.acc, self.last = self.inner + 1, False, "pitch"
                return True
            if t == "]" and self.inner:
                self.ctx, self.pending, self.last = "body", self._mult(), "event"
                return True
            return False
        if is_duration(t):
            if self.pending is None or self.last != "event":
                return False
            self.last = "dur"
            length = _length(t)
            return length is not None and self._commit(length)
        if self.pending is not None and not self._commit(Fraction(1)):
            return False
        if is_pitch(t) or t == "z" or t == "[":
            if not self._can_start_note():
                return False
            self.started, self.acc = True, False
            if t == "[":
                self.ctx, self.inner = "chord", 0
            else:
                self.pending, self.last = self._mult(), "event"
            return True
        if t in BROKEN:
            if self.last not in ("event", "dur") or self.tup_left or self.forced is not None:
                return False
            before, base, mult = self.event
            first, second = BROKEN[t]
            if mult != 1 or not self._fits(base * 2 - (self.pos - before)):
                return False
            self.pos = before + base * first
            self.forced, self.forced_mult, self.last = base, second, "broken"
            return True
        if t == "-":
            ok, self.last = self.last in ("event", "dur"), "tie"
            return ok
        if t.startswith("(") and t[1:2].isdigit():
            if self.tup_left or self.forced is not None:
                return False
            p, q, r = parse_tuplet(t)
            self.tup_mult, self.tup_left, self.last = Fraction(q, p), r, "tuplet"
            return self._can_start_note()
        if t == "{":
            if self.tup_left or self.forced is not None:
                return False
            self.ctx, self.inner, self.last = "grace", 0, "grace"
            return True
        if is_bar(t):
            return self._bar(t)
        if t.startswith("[") and t[1:2].isdigit():
            ok, self.last = self.last == "bar", "ending"
            return ok
        return False

    def _mult(self) -> Fraction:
        return self.forced_mult if self.forced is not None else self.tup_mult

    def _grace(self, t: str) -> bool:
        if t in ACCIDENTALS:
            ok, self.acc, self.last = not self.acc and self.inner < GROUP_MAX, True, "gacc"
            return ok
        if is_pitch(t) and self.inner < GROUP_MAX:
            self.inner, self.acc, self.last = self.inner + 1, False, "gpitch"
            return True
        if is_duration(t):
            ok, self.last = self.last == "gpitch", "gdur"
            return ok
        if t == "}" and self.inner and not self.acc:
            self.ctx, self.last = "body", "grace_end"
            return True
        return False

    def _bar(self, t: str) -> bool:
        if self.tup_left or self.forced is not None or self.ctx != "body":
            return False
        opening = self.pos == 0 and not self.started and self.last != "bar"  # a first "|:"
        if self.bar_len is None:  # free meter: a bar line anywhere but twice in a row
            closes = self.started and self.last != "bar"
        else:
            closes = self.started and self.pos == self.bar_len
        if not (closes or opening):
            return False
        self.pos, self.last = Fraction(0), "bar"
        return True

    def key(self) -> tuple:
        """Everything that decides which tokens come next (not the cached fill set)."""
        return (self.header, self.pos, self.pending, self.started, self.last, self.ctx,
                min(self.inner, GROUP_MAX), self.acc, self.tup_mult, self.tup_left, self.forced,
                self.forced_mult, self.event, self.bar_len)

    def can_end(self) -> bool:
        return self.started and self.last == "bar" and self.ctx == "body"

    def copy(self) -> BarState:
        return copy.copy(self)


def token_class(t: str) -> str:
    """Tokens that the constraint treats alike share a class (all pitches, say), so each
    step checks a few dozen classes rather than the whole vocabulary."""
    if is_pitch(t):
        return "pitch"
    return t


def durations_of(tokens: Sequence[str]) -> tuple[Fraction, ...]:
    found = {_length(t) for t in tokens if is_duration(t)} - {None}
    return tuple(sorted(found | {Fraction(1)}))


def _length(t: str) -> Fraction | None:
    """A duration token's length; None for one the tokenizer no longer writes (a run's old
    vocabulary may hold "2/3"), which the constraint then never allows. Allowed lengths have
    power-of-two denominators up to 64, so the bar arithmetic's grid stays small."""
    try:
        return parse_duration(t)
    except AbcError:
        return None


__all__ = ["Bar", "BarState", "bars", "complete_share", "token_class", "durations_of", "BARS"]
