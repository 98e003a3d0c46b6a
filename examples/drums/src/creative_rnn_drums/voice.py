"""DrumVoice: how ``creative-rnn perform`` plays drum tokens and hears a player's drums
(creative_rnn's live-voice protocol: ``creative_rnn.codecs.GridVoice``)."""

from __future__ import annotations

from collections.abc import Sequence

from creative_rnn.codecs import GridVoice, Heard

from . import encoding


class DrumVoice(GridVoice):
    """One token a grid step: each class struck sounds its first note for half a step, on
    MIDI channel 10 whatever output channel the performer uses (General MIDI synths play
    percussion only there). Accompany hears the classes struck at each step."""

    can_accompany = True

    def __init__(self, codec, channel: int = 0):
        super().__init__(codec, encoding.DRUM_CHANNEL)

    def phrase_tokens(self, notes: Sequence[Heard]) -> list[str]:
        """The player's hits on the grid from the first one: one event a step."""
        hits = [n for n in notes if n.pitch in encoding.CLASS_OF]
        if not hits:
            return []
        t0, step_s = min(n.start for n in hits), self.grid.step_s
        events: dict[int, int] = {}
        for n in hits:
            k = int((n.start - t0) / step_s + 0.5)
            events[k] = events.get(k, 0) | encoding.event_of([n.pitch])
        return [str(events.get(k, 0)) for k in range(max(events) + 1)]

    def heard_tokens(self, heard: Sequence[tuple[str, int, int]], holding: bool) -> list[str]:
        event = encoding.event_of([p for kind, p, _ in heard if kind == "on"])
        return [str(event)] if event else []

    def rest(self) -> str:
        return "0"

    def play(self, token: str) -> list[tuple[float, list[int]]]:
        t, half = self.next_time(), self.grid.step_s / 2
        self.tokens.append(token)
        self.k += 1
        out = []
        for p in encoding.pitches_of(int(token)):
            out += self.note_on(t, p, self.codec.options["velocity"])
            out += self.note_off(t + half, p)
        return out
