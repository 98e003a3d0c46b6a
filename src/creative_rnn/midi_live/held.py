"""The player's held notes: which keys are down, since when, and what ends them.

Call-and-response answers only once the player has let go of every key, so a held note
that never ends silences the performer. Three things end one: its note-off; an
all-notes-off or all-sound-off (or any channel mode message that switches notes off) from
the input, which ends every held note at once; and time: a note held longer than
``timeout`` seconds is forgotten, since its note-off was most likely lost (a flood of notes,
a cable pulled mid-phrase, a device switched off).
"""

from __future__ import annotations

from ..codecs import Heard
from .ports import ALL_NOTES_OFF, ALL_SOUND_OFF

# control changes that end every note: all-sound-off, all-notes-off, and omni off/on and
# mono/poly, which MIDI 1.0 says switch all notes off too
ENDS_NOTES = frozenset({ALL_SOUND_OFF, ALL_NOTES_OFF, 124, 125, 126, 127})
HELD_TIMEOUT = 5.0  # seconds: longer than the notes of a phrase, short enough that a lost
# note-off costs a few seconds of silence, not the rest of the performance


class HeldNotes:
    """Pitch -> (velocity, start) of the keys down. ``press``/``release`` for note-on and
    note-off; ``release_all`` and ``forget`` end notes without one. Each note that ends
    comes back as a ``Heard``. Times are the caller's (arrival times in seconds)."""

    def __init__(self, timeout: float = HELD_TIMEOUT):
        self.timeout = timeout
        self.notes: dict[int, tuple[int, float]] = {}
        self.last = 0.0  # when the player last pressed or released a key

    def __len__(self) -> int:
        return len(self.notes)

    def press(self, pitch: int, velocity: int, t: float) -> None:
        self.notes[pitch] = (velocity, t)  # a second note-on restarts the note
        self.last = max(self.last, t)

    def release(self, pitch: int, t: float) -> Heard | None:
        """The note ``pitch`` ended at ``t``; None if it was not held."""
        held = self.notes.pop(pitch, None)
        if held is None:
            return None
        self.last = max(self.last, t)
        return Heard(pitch, held[0], held[1], t)

    def release_all(self, t: float) -> list[Heard]:
        """Every held note ends at ``t`` (all-notes-off), in the order they began."""
        return [self.release(p, t) for p in self._by_start(self.notes)]

    def forget(self, now: float) -> list[Heard]:
        """The notes held more than ``timeout`` seconds by ``now``. Their note-offs never
        came, so each is taken to end when the player last pressed or released a key."""
        stale = [p for p, (_, start) in self.notes.items() if now - start > self.timeout]
        end = self.last
        return [self.release(p, end) for p in self._by_start(stale)]

    def clear(self) -> None:
        self.notes.clear()

    def _by_start(self, pitches) -> list[int]:
        return sorted(pitches, key=lambda p: self.notes[p][1])
