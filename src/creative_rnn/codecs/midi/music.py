"""What the melody and performance codecs share: a fixed vocabulary, reading MIDI, MusicXML,
ABC and melody JSONL files, note names, the extra output formats and the quality figures.

A music codec's vocabulary is fixed by its encoding (130 melody classes, 388 performance
events), never fitted to a corpus, so a model trained on one folder can be primed with, and
compared against, any other.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ...core.files import atomic_write_bytes
from ...errors import ConfigError, CorpusError, SamplingError
from .. import score
from ..base import Codec
from ..vocab import Vocabulary
from . import render
from .io import MidiData, read_midi, score_midi_bytes

MIDI_SUFFIXES = (".mid", ".midi")
SCORE_SUFFIXES = (".xml", ".musicxml", ".mxl", ".abc", ".krn")  # parsed by music21
JSONL_SUFFIXES = (".jsonl",)

# ASCII digits only: str.isdigit() and \d also take "²" or "٣", which int() refuses or reads
_NOTE_NAME = re.compile(r"([A-Ga-g])([#b]?)(-?[0-9])", re.ASCII)
_MIDI_NUMBER = re.compile(r"[0-9]{1,3}", re.ASCII)
MAX_PHRASE_TOKENS = 4000  # a --prime phrase may expand to this many tokens: the web studio
# takes primes of up to 4000 characters and 2000 new tokens, and a written phrase is longer
# than any prime a model needs; a 10-character phrase must not buy unbounded work
_STEPS_OF = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def pitch_name(pitch: int) -> str:
    """MIDI pitch -> scientific name (60 -> "C4")."""
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def parse_pitch(text: str) -> int | None:
    """"60", "C4", "f#3" or "Bb2" -> a MIDI pitch; None when ``text`` is not a pitch."""
    if _MIDI_NUMBER.fullmatch(text):
        p = int(text)
    else:
        m = _NOTE_NAME.fullmatch(text)
        if not m:
            return None
        letter, accidental, octave = m.groups()
        shift = {"#": 1, "b": -1, "": 0}[accidental]
        p = (int(octave) + 1) * 12 + _STEPS_OF[letter.upper()] + shift
    if not 0 <= p <= 127:
        raise SamplingError(f"pitch {text!r} is outside MIDI's 0-127")
    return p


def phrase_limit(codec: str, length: int, word: str, unit: str = "tokens") -> None:
    """Refuses a phrase that would grow past ``MAX_PHRASE_TOKENS``, before it is built."""
    if length > MAX_PHRASE_TOKENS:
        raise SamplingError(f"the {codec} prime is too long at {word!r}: a prime may expand to "
                            f"at most {MAX_PHRASE_TOKENS} {unit}")


def check_option(name: str, value: Any, low: float = 0, high: float = 0,
                 kind: type = int) -> None:
    """A codec option a user typed (``--codec-opt``, JSON) has the right type and a sane
    size: ``kind`` int or float within ``low``-``high``, or bool."""
    if kind is bool:
        ok, what = isinstance(value, bool), "true or false"
    else:
        number = isinstance(value, int if kind is int else (int, float)) \
            and not isinstance(value, bool)
        ok = number and math.isfinite(value) and low <= value <= high
        what = f"{'an integer' if kind is int else 'a number'} in {low:g}-{high:g}"
    if not ok:
        raise ConfigError(f"codec option {name}={value!r}: give {what}")


def parse_scores(path: str | Path) -> list:
    """A MusicXML/ABC/Humdrum file -> music21 scores (an ABC book gives one per tune)."""
    from music21 import converter

    try:
        # forceSource and no storePickle: music21 would otherwise cache parses as pickles
        parsed = converter.parse(Path(path), forceSource=True, storePickle=False)
    except Exception as e:  # music21 raises many kinds on malformed input
        text = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        raise CorpusError(f"{path}: music21 cannot parse it ({text})") from None
    scores = list(parsed.scores) if hasattr(parsed, "scores") and parsed.scores else [parsed]
    return scores


def read_jsonl_steps(path: str | Path) -> list[list[int]]:
    """Melody JSONL: one ``{"steps": [...]}`` object per line (0-127 note-on, 128 note-off,
    129 no event). A bad line is an error naming the line."""
    melodies = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: cannot read melody JSONL ({e})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            steps = json.loads(line)["steps"]
            if not all(isinstance(v, int) and 0 <= v <= 129 for v in steps):
                raise ValueError("steps must be integers 0-129")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise CorpusError(f"{path} line {n}: not a melody object "
                              f'{{"steps": [0-129, ...]}} ({e})') from None
        melodies.append(steps)
    return melodies


def pitch_class_histogram(notes: Iterable[tuple]) -> list[float]:
    """Share of notes in each of the 12 pitch classes (all zeros when there are none)."""
    counts = [0] * 12
    for n in notes:
        counts[int(n[0]) % 12] += 1
    total = sum(counts)
    return [c / total for c in counts] if total else counts


def histogram_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Total variation distance: half the L1 distance, 0 (same) .. 1 (disjoint)."""
    return 0.5 * sum(abs(x - y) for x, y in zip(a, b))


class MusicCodec(Codec):
    """Base of the music codecs: fixed vocabulary, files in, MIDI (and more) out.

    Subclasses give ``fixed_tokens()`` and turn sources into items: ``from_midi(MidiData)``,
    ``from_score(music21 score)`` and ``from_steps(melody steps)``.
    """

    file_suffix = ".mid"
    formats = ("mid", "musicxml", "wav", "png", "svg")  # svg: an engraved score (Verovio)
    is_music = True
    items_per_file = True
    item_unit = "item"  # used in the "no notes" message

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.vocab = Vocabulary(self.fixed_tokens())
        # what reading did that a corpus summary reports (corpora/parallel.py adds these up),
        # e.g. melodies moved into the pitch range phrase by phrase
        self.read_counts: Counter = Counter()

    def fixed_tokens(self) -> list[str]:
        raise NotImplementedError

    def fit(self, items: Iterable[Any]) -> None:
        """Nothing to learn: the vocabulary is the encoding's fixed set of classes."""
        self.vocab = Vocabulary(self.fixed_tokens())

    def load_state(self, data: dict[str, Any]) -> None:
        vocab = Vocabulary.from_json(data["vocab"])
        if vocab.tokens != self.vocab.tokens:
            raise ValueError(f"the {self.name} vocabulary in codec.json is not the fixed one "
                             "of these options")

    # --- reading ------------------------------------------------------------------------
    def from_midi(self, midi: MidiData) -> Any:
        raise NotImplementedError

    def from_score(self, score) -> Any:
        return self.from_midi(read_midi(data=score_midi_bytes(score)))

    def from_steps(self, steps: list[int]) -> Any:
        raise NotImplementedError

    def read_items(self, path: str | Path) -> list[Any]:
        """Every item in a file: one per MIDI file, one per tune of an ABC book or score,
        one per line of a melody JSONL file. Empty items are dropped; a file with none is
        an error (a corpus loader skips it and says why)."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix in MIDI_SUFFIXES:
            items = [self.from_midi(read_midi(p))]
        elif suffix in SCORE_SUFFIXES:
            items = [self.from_score(s) for s in parse_scores(p)]
        elif suffix in JSONL_SUFFIXES:
            items = [self.from_steps(s) for s in read_jsonl_steps(p)]
        else:
            kinds = ", ".join(MIDI_SUFFIXES + SCORE_SUFFIXES + JSONL_SUFFIXES)
            raise CorpusError(f"{p}: unsupported file type {suffix or '(none)'!r} for the "
                              f"{self.name} codec; give {kinds}")
        items = [item for item in items if self.notes(item)]
        if not items:
            raise CorpusError(f"{p}: no notes (zero-note {self.item_unit})")
        return items

    def read(self, path: str | Path) -> Any:
        """One item from a file (the first, for a book of several): e.g. a ``--prime-file``."""
        return self.read_items(path)[0]

    def item_to_json(self, item: Any) -> Any:
        """A JSON-able form of an item, for the corpus cache."""
        return item

    def item_from_json(self, data: Any) -> Any:
        return data

    # --- writing ------------------------------------------------------------------------
    def default_formats(self) -> list[str]:
        return render.default_music_formats()

    def outputs(self, item: Any, stem: str | Path, formats: Sequence[str] = ()) -> list[Path]:
        """``stem.mid`` always, plus "musicxml", "wav", "png" and "svg" (a score) on request.
        Everything a format needs is checked before the first file is written."""
        wanted = [f.lower().lstrip(".") for f in formats]
        wanted = ["mid" if f == "midi" else "musicxml" if f == "xml" else f for f in wanted]
        bad = [f for f in wanted if f not in self.formats]
        if bad:
            raise SamplingError(f"the {self.name} codec cannot write {', '.join(bad)}; "
                                f"choose from {', '.join(self.formats)}")
        if "wav" in wanted:
            render.find_fluidsynth()
            render.find_soundfont()
        mid = Path(f"{stem}.mid")
        self.write(item, mid)
        written = [mid]
        if "musicxml" in wanted:
            written.append(self._write_musicxml(mid, Path(f"{stem}.musicxml")))
        if "wav" in wanted:
            written.append(render.render_wav(mid, Path(f"{stem}.wav")))
        if "png" in wanted:
            written.append(render.piano_roll_png(self.notes(item) or [], Path(f"{stem}.png"),
                                                 title=Path(str(stem)).name))
        if "svg" in wanted:
            written.append(score.write_svg(score.midi_svg(mid), Path(f"{stem}.svg")))
        return written

    @staticmethod
    def _write_musicxml(mid: Path, out: Path) -> Path:
        """MusicXML through music21's own MIDI import (quantised to its default grid)."""
        import tempfile

        from music21 import converter


        score = converter.parse(mid, forceSource=True, storePickle=False)
        with tempfile.TemporaryDirectory() as tmp:
            written = Path(score.write("musicxml", fp=Path(tmp) / "score.musicxml"))
            atomic_write_bytes(out, written.read_bytes())
        return out

    # --- quality ------------------------------------------------------------------------
    def quality(self, items: Sequence[Any], reference: Sequence[Any] | None = None
                ) -> dict[str, float]:
        """Pitch-class histogram distance to ``reference`` (0 = same distribution), notes per
        second and mean length in seconds; subclasses add their own figures."""
        notes = [self.notes(item) or [] for item in items]
        flat = [n for ns in notes for n in ns]
        seconds = [max((n[2] for n in ns), default=0.0) for ns in notes]
        row = {}
        if reference is not None:
            ref = pitch_class_histogram(n for item in reference for n in (self.notes(item) or []))
            row["pc_distance"] = histogram_distance(pitch_class_histogram(flat), ref)
        row["notes_per_s"] = len(flat) / max(sum(seconds), 1e-9)
        row["mean_seconds"] = sum(seconds) / max(len(items), 1)
        return row
