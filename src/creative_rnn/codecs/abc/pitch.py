"""Pitches of ABC tokens: key signatures (from music21), sounding pitches, transposition.

Transposition works on the tokens, not on a music21 score, because music21 does not write
ABC: every note's sounding pitch is worked out (key signature, then accidentals earlier in
the same bar), moved by a diatonic interval, and re-spelt against the new key signature,
with an accidental written only where the new key and bar do not already imply it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

from .tokens import (
    ACC_TOKEN,
    ACCIDENTALS,
    LETTERS,
    NATURAL,
    AbcError,
    is_bar,
    is_header,
    is_pitch,
    parse_pitch,
    pitch_token,
)

MODE_NAMES = {"maj": "major", "min": "minor", "dor": "dorian", "phr": "phrygian",
              "lyd": "lydian", "mix": "mixolydian", "loc": "locrian"}


def split_key(token: str) -> tuple[str, int, str]:
    """``K:F#min`` or ``[K:F#min]`` -> ("F", 1, "min")."""
    body = token.strip("[]")[2:]
    letter, rest = body[0], body[1:]
    alter = 1 if rest.startswith("#") else -1 if rest.startswith("b") else 0
    return letter, alter, rest.lstrip("#b")


def key_token(letter: str, alter: int, mode: str) -> str:
    return f"K:{letter}{'#' if alter > 0 else 'b' if alter < 0 else ''}{mode}"


@lru_cache(maxsize=256)
def signature(letter: str, alter: int, mode: str) -> dict[str, int]:
    """Alteration of each letter in the key, e.g. D major -> {"F": 1, "C": 1, ...}."""
    from music21 import key

    tonic = letter + ("#" * alter if alter > 0 else "-" * -alter)
    k = key.Key(tonic, MODE_NAMES[mode])
    sig = dict.fromkeys(LETTERS, 0)
    for p in k.alteredPitches:
        sig[p.step] = int(p.accidental.alter)
    return sig


@lru_cache(maxsize=256)
def fifths(letter: str, alter: int, mode: str) -> int:
    """Sharps (positive) or flats (negative) in the key signature."""
    from music21 import key

    tonic = letter + ("#" * alter if alter > 0 else "-" * -alter)
    return key.Key(tonic, MODE_NAMES[mode]).sharps


def step_of(letter: str, octave: int) -> int:
    """Diatonic step number: C (octave 0) = 0, D = 1, ..., c = 7."""
    return octave * 7 + LETTERS.index(letter)


def semitone_of(step: int, alter: int) -> int:
    """MIDI-like semitone of a diatonic step with an alteration (C = 60, c = 72)."""
    octave, index = divmod(step, 7)
    return 60 + 12 * octave + NATURAL[LETTERS[index]] + alter


def sounding(tokens: Sequence[str]) -> Iterator[tuple[int, int, int, bool]]:
    """For each pitch token: (token index, diatonic step, alteration, explicit accidental).

    Key changes (``[K:..]``) apply from where they stand; accidentals last to the bar's end
    for that letter in that octave (ABC 2.1 section 4.2)."""
    sig = signature("C", 0, "maj")
    bar_acc: dict[int, int] = {}
    pending: int | None = None
    for i, t in enumerate(tokens):
        if is_header(t.strip("[]")) and t.strip("[]").startswith("K:"):
            sig = signature(*split_key(t))
            bar_acc = {}
        elif is_bar(t):
            bar_acc = {}
        elif t in ACCIDENTALS:
            pending = ACCIDENTALS[t]
        elif is_pitch(t):
            letter, octave = parse_pitch(t)
            step = step_of(letter, octave)
            if pending is not None:
                bar_acc[step] = pending
            alter = bar_acc.get(step, sig[letter])
            yield i, step, alter, pending is not None
            pending = None


def midi_pitches(tokens: Sequence[str]) -> list[int]:
    """The sounding MIDI pitch of every note in the tokens (rests have none)."""
    return [semitone_of(step, alter) for _, step, alter, _ in sounding(tokens)]


def tonic_of(tokens: Sequence[str]) -> tuple[str, int, str]:
    for t in tokens:
        if t.startswith("K:"):
            return split_key(t)
    return "C", 0, "maj"


def transpose(tokens: Sequence[str], steps: int, semitones: int) -> list[str]:
    """Move every note by a diatonic interval (``steps`` letters, ``semitones`` half steps),
    keys included, re-spelling each note against the new key signature."""
    if steps == 0 and semitones == 0:
        return list(tokens)
    notes = {i: (step, alter, explicit) for i, step, alter, explicit in sounding(tokens)}
    out: list[str] = []
    sig = signature("C", 0, "maj")
    bar_acc: dict[int, int] = {}
    for i, t in enumerate(tokens):
        bare = t.strip("[]")
        if is_header(bare) and bare.startswith("K:"):
            letter, alter, mode = split_key(bare)
            new_step = (LETTERS.index(letter) + steps) % 7
            new_letter = LETTERS[new_step]
            new_alter = ((NATURAL[letter] + alter + semitones - NATURAL[new_letter] + 6) % 12) - 6
            if abs(new_alter) > 1:
                raise AbcError(f"cannot transpose {bare} by {semitones} semitones cleanly")
            new = key_token(new_letter, new_alter, mode)
            sig, bar_acc = signature(*split_key(new)), {}
            out.append(new if t == bare else f"[{new}]")
        elif t in ACCIDENTALS:
            continue  # re-decided at the note that follows
        elif i in notes:
            step, alter, explicit = notes[i]
            new_step = step + steps
            target = semitone_of(step, alter) + semitones
            new_alter = target - semitone_of(new_step, 0)
            if abs(new_alter) > 2:
                raise AbcError(f"cannot spell a note transposed by {semitones} semitones")
            letter = LETTERS[new_step % 7]
            implied = bar_acc.get(new_step, sig[letter])
            if explicit or new_alter != implied:
                out.append(ACC_TOKEN[new_alter])
                bar_acc[new_step] = new_alter
            out.append(pitch_token(letter, new_step // 7))
        else:
            if is_bar(t):
                bar_acc = {}
            out.append(t)
    return out


def interval_to(letter: str, alter: int, new_letter: str, new_alter: int, up: bool | None
                ) -> tuple[int, int]:
    """(diatonic steps, semitones) from one tonic to another: upward, downward, or (None)
    whichever is nearer (at most a fourth either way)."""
    steps = (LETTERS.index(new_letter) - LETTERS.index(letter)) % 7
    if up is False or (up is None and steps > 3):
        steps -= 7
    semis = semitone_of(steps + LETTERS.index(letter), new_alter) - semitone_of(
        LETTERS.index(letter), alter)
    return steps, semis


def to_tonic_c(tokens: Sequence[str]) -> list[str]:
    """FolkRNN's normalisation: every tune moved to tonic C with its mode kept."""
    letter, alter, _ = tonic_of(tokens)
    return transpose(tokens, *interval_to(letter, alter, "C", 0, None))


# The tonic spelling with fewer accidentals for each pitch class, major and minor-like modes
_SPELL = {pc: [(letter, alter) for letter in LETTERS for alter in (-1, 0, 1)
               if (NATURAL[letter] + alter) % 12 == pc] for pc in range(12)}


def by_semitones(tokens: Sequence[str], semitones: int) -> list[str]:
    """The tune moved by ``semitones`` (-11..11), into the plainest spelling of the new key."""
    letter, alter, mode = tonic_of(tokens)
    pc = (NATURAL[letter] + alter + semitones) % 12
    spellings = _SPELL[pc]
    new_letter, new_alter = min(spellings, key=lambda s: (abs(fifths(s[0], s[1], mode)),
                                                           s[1] != 0))
    return transpose(tokens, *interval_to(letter, alter, new_letter, new_alter, semitones > 0))
