"""DrumCodec: drum tracks for creative_rnn, through its public API only.

An item is a list of events, one a grid step (0-511: the classes struck, encoding.py); a
``str`` item is a phrase a person typed (``--prime "KH - SH -"``). The vocabulary is the
512 events as tokens "0".."511", fixed: any model of this codec reads any drum track.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from creative_rnn.codecs import Codec, Vocabulary
from creative_rnn.core.files import atomic_write_bytes
from creative_rnn.errors import CapabilityError, ConfigError, CorpusError, SamplingError

from . import encoding
from .voice import DrumVoice

MAX_STEPS = 100_000  # ~50 minutes of sixteenths at 120 bpm: more is a corrupt tick value
MAX_PHRASE = 4000  # steps a typed phrase may have (the studio's prime box is 4000 characters)


def _number(name: str, value: Any, low: float, high: float, kind: type = int) -> None:
    ok = isinstance(value, (int, float) if kind is float else int) \
        and not isinstance(value, bool) and math.isfinite(value) and low <= value <= high
    if not ok:
        what = "an integer" if kind is int else "a number"
        raise ConfigError(f"drums codec option {name}={value!r}: give {what} in {low:g}-{high:g}")


class DrumCodec(Codec):
    """General MIDI drums on a sixteenth grid: 9 drum classes, 512 events (Magenta's Drums RNN).

    Args:
        steps_per_quarter: Grid steps a quarter note (4: sixteenths, as Magenta).
        bpm: Tempo of the MIDI files written and of ``notes``.
        velocity: Loudness of the hits written (Magenta writes 100).
    """

    name = "drums"
    file_suffix = ".mid"
    formats = ("mid",)
    is_music = True  # its notes draw a piano roll in the studio
    percussion = True  # and play on a drum kit there (General MIDI channel 10)
    items_per_file = True  # read_items: one track a MIDI file, read in worker processes
    units = ("token", "bar")  # a bar: 4 quarters of steps (4/4)
    prime_example = "KH - H - SH - H - | KH KH H - SH - H -"
    copy_ngram = 16  # the copy meter's n-grams: one bar of sixteenths (a beat repeats a lot)
    item_noun = "drum track"

    def __init__(self, steps_per_quarter: int = 4, bpm: float = 120.0, velocity: int = 100):
        _number("steps_per_quarter", steps_per_quarter, 1, 16)
        _number("bpm", bpm, 20, 400, float)
        _number("velocity", velocity, 1, 127)
        super().__init__(steps_per_quarter=steps_per_quarter, bpm=bpm, velocity=velocity)
        self.vocab = Vocabulary([str(e) for e in range(encoding.EVENTS)])
        self.read_counts: Counter = Counter()  # summed and reported by the corpus reader

    # --- the fixed vocabulary -----------------------------------------------------------
    def fit(self, items: Iterable[Any]) -> None:
        """Nothing to learn: the 512 events are the vocabulary."""
        self.vocab = Vocabulary([str(e) for e in range(encoding.EVENTS)])

    def load_state(self, data: dict[str, Any]) -> None:
        if Vocabulary.from_json(data["vocab"]).tokens != self.vocab.tokens:
            raise ValueError("the drums vocabulary in codec.json is not the 512 events")

    # --- items <-> tokens ---------------------------------------------------------------
    def tokenize(self, item: Any) -> list[str]:
        events = self.parse_phrase(item) if isinstance(item, str) else item
        bad = [e for e in events if isinstance(e, bool) or not isinstance(e, int)
               or not 0 <= e < encoding.EVENTS]
        if bad:
            raise SamplingError(f"a drum event is a number 0-{encoding.EVENTS - 1}, not {bad[0]!r}")
        return [str(e) for e in events]

    def detokenize(self, tokens: Sequence[str]) -> list[int]:
        return [int(t) for t in tokens]

    def parse_phrase(self, text: str) -> list[int]:
        """``"KH - SH -"`` -> events: ``-`` none, else the letters of the classes struck."""
        events = []
        for word in text.split():
            if word == "|":
                continue
            if len(events) >= MAX_PHRASE:
                raise SamplingError(f"a drum phrase may have at most {MAX_PHRASE} steps")
            event = 0
            for ch in "" if word == "-" else word.upper():
                i = encoding.LETTERS.find(ch)
                if i < 0:
                    raise SamplingError(
                        f"drum phrase step {word!r}: use - for a rest or the letters "
                        f"{encoding.LETTERS} (kick, snare, closed and open hi-hat, low, mid "
                        "and high tom, crash, ride)")
                event |= 1 << i
            events.append(event)
        return events

    def render(self, item: Any) -> str:
        events = self.parse_phrase(item) if isinstance(item, str) else item
        words = [encoding.symbol(e) for e in events]
        bar = 4 * self.options["steps_per_quarter"]
        return " | ".join(" ".join(words[i: i + bar]) for i in range(0, len(words), bar))

    def token_text(self, i: int) -> str:
        token = self.vocab.token(i)  # a leading space: tokens stream after the prime
        return " " + encoding.symbol(int(token)) if token.isdigit() else ""

    def unit_done(self, unit: str, new: Sequence[int]) -> bool:
        if unit != "bar":
            return super().unit_done(unit, new)
        return len(new) >= 4 * self.options["steps_per_quarter"]

    # --- files ----------------------------------------------------------------------------
    def read_items(self, path: str | Path) -> list[list[int]]:
        """One drum track a MIDI file; a file without drum hits is an error the corpus
        reader reports and skips."""
        p = Path(path)
        if p.suffix.lower() not in (".mid", ".midi"):
            raise CorpusError(f"{p}: the drums codec reads MIDI files (.mid, .midi)")
        try:
            tpb, hits = encoding.read_hits(p.read_bytes())
            if not 0 < tpb < 0x8000:
                raise ValueError(f"unsupported time division {tpb}")
            events, unknown = encoding.quantize(hits, tpb, self.options["steps_per_quarter"],
                                                MAX_STEPS)
        except OSError as e:
            raise CorpusError(f"{p}: cannot read it ({e.strerror})") from None
        except Exception as e:  # mido raises many kinds on corrupt bytes
            raise CorpusError(f"{p}: not a usable MIDI file ({str(e) or type(e).__name__})") \
                from None
        if unknown:
            self.read_counts["drum hits of no drum class left out"] += unknown
        if not events:
            raise CorpusError(f"{p}: no drum hits (note-ons on MIDI channel 10 of the 9 "
                              "drum classes)")
        return [events]

    def read(self, path: str | Path) -> list[int]:
        return self.read_items(path)[0]

    def write(self, item: Any, path: str | Path) -> None:
        events = self.parse_phrase(item) if isinstance(item, str) else item
        o = self.options
        atomic_write_bytes(path, encoding.midi_bytes(events, o["steps_per_quarter"], o["bpm"],
                                                     o["velocity"]))

    def outputs(self, item: Any, stem: str | Path, formats: Sequence[str] = ()) -> list[Path]:
        """``stem.mid``: the codec's own file is its only format."""
        bad = [f for f in formats if f.lower().lstrip(".") not in ("mid", "midi")]
        if bad:
            raise CapabilityError(f"the drums codec cannot write {', '.join(bad)}; it writes mid")
        path = Path(f"{stem}.mid")
        self.write(item, path)
        return [path]

    def notes(self, item: Any) -> list[tuple[int, float, float, int]]:
        """Each hit as (pitch, start_s, end_s, velocity), one step long."""
        events = self.parse_phrase(item) if isinstance(item, str) else item
        o = self.options
        step_s = 60.0 / o["bpm"] / o["steps_per_quarter"]
        return [(p, k * step_s, (k + 1) * step_s, o["velocity"])
                for k, e in enumerate(events) for p in encoding.pitches_of(e)]

    # --- live play (creative-rnn perform, the studio's Play view) -----------------------
    def live_voice(self, channel: int = 0) -> DrumVoice:
        return DrumVoice(self, channel)
