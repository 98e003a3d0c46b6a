"""The live-voice capability: how a codec's tokens sound in time, and how the notes a player
played become its tokens (``creative-rnn perform`` and the studio's Play view).

A codec that can play live returns a new ``LiveVoice`` from ``Codec.live_voice(channel)``;
the base returns None, and the performer says "a X run cannot play MIDI". The timing
machinery stays in midi_live (the grid or followed MIDI clock, the scheduler, the modes);
the domain facts live here and beside each codec: which tokens are notes, how long a token
lasts, how a played phrase is written as tokens, how one token becomes MIDI messages.

How the performer uses a voice (midi_live/modes.py):

    voice = codec.live_voice(channel)      # None: this codec cannot play MIDI
    voice.steps_per_quarter                # the grid it wants (asked before the grid exists)
    voice.grid = grid                      # then attached: Grid or ClockFollower
    tokens = voice.phrase_tokens(heard)    # call mode: the player's phrase, as tokens
    voice.speed = followed_bpm / 120       # before each answer (seconds-based voices)
    voice.begin(t)                         # an answer starts at the first position >= t
    while voice.played() < length and voice.next_time() < horizon:
        messages += voice.play(token)      # [(seconds, [status, pitch, velocity]), ...]
    messages += voice.end()                # note-offs for what still sounds

The grid (duck-typed; midi_live/clock.py): ``step_s`` (seconds a step), ``steps_per_quarter``,
``time_of(k)`` (when step k starts, wall-clock seconds), ``first_step_at(t)``.

Capabilities are class attributes a voice overrides where it differs:

    grid_based        True: ``played()`` counts grid steps (an answer's length in bars is
                      steps); False: it counts seconds at 120 bpm (performance's time shifts)
    can_accompany     accompany mode works: the voice gives ``heard_tokens`` and ``rest``
    answers_by        "token" (each token sounds as it comes) or the unit whose tokens are
                      gathered before any of them sounds ("bar" for ABC); said in messages
    lookahead_quarters how far ahead of its sounding an answer is generated, in quarter notes
                      (a voice that gathers a bar before it sounds needs a bar: 4)
    warm_up()         work done once before a duet so the first answer is not late (ABC:
                      music21's first reading); nothing by default
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

NOTE_ON, NOTE_OFF = 0x90, 0x80  # MIDI status bytes (channel 0); the channel is OR-ed in

Timed = tuple[float, list[int]]  # (wall-clock seconds, MIDI message)


class Heard(NamedTuple):
    """A note the player played: pitch, velocity, start and end (wall-clock seconds)."""

    pitch: int
    velocity: int
    start: float
    end: float


class LiveVoice:
    """One answer at a time: tokens -> timed MIDI messages, the player's notes -> tokens.

    A subclass implements ``phrase_tokens``, ``begin``, ``next_time``, ``played`` and
    ``play`` (``GridVoice`` gives the three timing ones for a voice on the grid); accompany
    also needs ``heard_tokens`` and ``rest``. ``note_on``/``note_off`` keep ``sounding``
    right, so ``end`` and the performer's silence switch off exactly what was started.
    """

    grid_based = True
    can_accompany = False
    answers_by = "token"
    lookahead_quarters = 0.0

    def __init__(self, codec: Any, channel: int = 0):
        self.codec, self.channel = codec, channel
        self.grid: Any = None  # attached by the performer once it has made it
        self.speed = 1.0  # the followed clock's tempo against 120 bpm (seconds-based voices)
        self.sounding: dict[int, float] = {}  # pitch -> when its note-on goes out
        self.tokens: list[str] = []  # what this answer played, for writing it to a file

    @property
    def steps_per_quarter(self) -> int:
        """Grid steps a quarter note: the codec's option, else sixteenths."""
        return int(self.codec.options.get("steps_per_quarter", 4))

    def warm_up(self) -> None:
        """Done once before a duet starts (the studio), so the first answer is not late."""

    # --- what the player played -> tokens ------------------------------------------------
    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        """The player's phrase (call mode, continue) as tokens for the model to read."""
        raise NotImplementedError

    def heard_tokens(self, heard: Sequence[tuple[str, int, int]], holding: bool) -> list[str]:
        """Accompany: what the player did since the last step, ``("on"|"off", pitch,
        velocity)`` events, as the tokens fed before the model's next step (``holding``:
        notes are still held). [] when nothing of it becomes a token."""
        raise NotImplementedError(f"the {self.codec.name} codec cannot accompany")

    def rest(self) -> str:
        """Accompany: the token fed for a step where neither the player nor the model has
        played anything yet."""
        raise NotImplementedError(f"the {self.codec.name} codec cannot accompany")

    # --- the answer's position and its tokens -> MIDI -----------------------------------
    def begin(self, now: float) -> None:
        """Start an answer at the first position at or after ``now``."""
        raise NotImplementedError

    def next_time(self) -> float:
        """When the next token would sound (wall-clock seconds)."""
        raise NotImplementedError

    def played(self) -> float:
        """How far the answer has got: grid steps if ``grid_based``, else seconds."""
        raise NotImplementedError

    def play(self, token: str) -> list[Timed]:
        """One token the model chose -> MIDI messages at their times; moves the position
        on and appends the token to ``tokens``."""
        raise NotImplementedError

    def end(self) -> list[Timed]:
        """Note-offs for what still sounds, at the answer's current position."""
        t = self.next_time()
        out = [(t, [NOTE_OFF | self.channel, p, 0]) for p in self.sounding]
        self.sounding.clear()
        return out

    def note_on(self, t: float, pitch: int, velocity: int) -> list[Timed]:
        """A note-on at ``t`` (ending the same pitch first if it sounds)."""
        out = self.note_off(t, pitch) if pitch in self.sounding else []
        self.sounding[pitch] = t
        return out + [(t, [NOTE_ON | self.channel, pitch, max(1, min(127, velocity))])]

    def note_off(self, t: float, pitch: int) -> list[Timed]:
        """A note-off at ``t`` if the pitch sounds; nothing otherwise."""
        if self.sounding.pop(pitch, None) is None:
            return []
        return [(t, [NOTE_OFF | self.channel, pitch, 0])]


class GridVoice(LiveVoice):
    """A voice on the grid: one position ``k`` counts grid steps (melody, ABC, drums)."""

    def begin(self, now: float) -> None:
        self.k = self.start = self.grid.first_step_at(now)
        self.sounding.clear()
        self.tokens = []

    def next_time(self) -> float:
        return self.grid.time_of(self.k)

    def played(self) -> float:
        return self.k - self.start
