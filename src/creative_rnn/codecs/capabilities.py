"""What the rest of the toolkit asks of a domain beyond the core: optional capabilities.

``base.Codec`` is the core every codec implements (tokens <-> items, files, the vocabulary).
Everything here is optional: ``Codec`` inherits these mixins, so a codec that says nothing
gets the default, and one that cannot do a thing refuses it with one line ("the X codec
cannot ...", ``CapabilityError``). A codec opts in by overriding what it can do:

    Writing     formats, default_formats, outputs, writes: files beyond its own format
    Music       is_music, percussion, notes, note_tokens, score_svg, quality: notes for
                piano rolls, playback and scores; quality figures for ``evaluate``
    Constraints logits_processors: domain constraints at sampling time (ABC's complete bars)
    Copying     copy_ngram, item_noun, titled, item_title, span_text, token_pitch,
                pitch_reading: how the copy meter (novelty/) compares and names pieces
    Streaming   stream_encoder: how the token cache encodes a big plain stream in bounded
                memory (the char codec), instead of item by item
    Books       book_format, book, book_items: many pieces in one file (an ABC tunebook),
                for ``library export --format NAME``

Live play (``live_voice``, codecs/live.py) and co-writing units stay beside the core in
base.py. The toolkit outside ``codecs/`` asks these and never a codec's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import CapabilityError


class Writing:
    """Files beyond the codec's own format (the core's ``file_suffix``, which ``write``
    makes)."""

    formats: tuple[str, ...] = ()  # what ``outputs`` accepts in ``formats`` (music: mid,
    # musicxml, wav, png, svg); the codec's own file_suffix is always written

    def outputs(self, item: Any, stem: str | Path, formats: Sequence[str] = ()) -> list[Path]:
        """Write an item as files named ``stem`` + suffix: the codec's own format always, plus
        any extra ``formats`` it supports (music codecs: "mid", "musicxml", "wav", "png")."""
        if formats:
            raise CapabilityError(f"the {self.name} codec cannot write {', '.join(formats)}")
        path = Path(f"{stem}{self.file_suffix}")
        self.write(item, path)
        return [path]

    def default_formats(self) -> list[str]:
        """Extra formats ``sample --out`` writes when none are asked for (music: a piano
        roll, and audio where FluidSynth is installed). None for plain text."""
        return []

    def writes(self, fmt: str) -> bool:
        """Whether ``outputs`` can make a file of ``fmt`` ("mid", "abc", ...)."""
        return f".{fmt}" == self.file_suffix or fmt in self.formats


class Music:
    """Items that are notes: piano rolls, playback, scores and music quality figures."""

    is_music = False  # items are notes: ``notes`` gives them, outputs include piano rolls
    # the notes are General MIDI percussion (channel 10): a pitch names a drum, so the
    # studio plays them on a drum kit, not a piano
    percussion = False

    def notes(self, item: Any) -> list[tuple[int, float, float, int]] | None:
        """Music codecs: (pitch, start_s, end_s, velocity) per note, for piano rolls and
        playback. None for codecs that are not music."""
        return None

    def note_tokens(self, ids: Sequence[int]) -> list[tuple[int, int] | None] | None:
        """For each note of ``notes(decode(ids))``, in that order, the range ``(a, b)`` of
        the indices into ``ids`` of the tokens that make it (None for a note no range
        makes): what the studio needs to mark a token span's notes in a piano roll. None
        where the codec cannot tell (not music, or notes made by a parser)."""
        return None

    def score_svg(self, item: Any) -> str:
        """The item engraved as one SVG score (codecs/score.py: its notes through MIDI and
        music21, then Verovio). Refused for a codec that is not music."""
        if not self.is_music:
            raise CapabilityError(f"the {self.name} codec cannot engrave a score: its pieces "
                                  "are not music")
        from . import score  # music21 and Verovio behind it: only when a score is asked for

        return score.svg(self, item)

    def quality(self, items: Sequence[Any], reference: Sequence[Any] | None = None
                ) -> dict[str, float]:
        """Domain quality figures for generated items (and a reference corpus); none here."""
        return {}


class Constraints:
    """Domain constraints applied while sampling."""

    def logits_processors(self, **constraints: Any) -> list:
        """Domain constraints applied at sampling time, e.g. ``complete_bars=True`` for ABC.

        Returns callables ``(logits (n, V), ids so far per row, prime included) -> logits``.
        A codec that does not know a constraint refuses it, so a flag is never silently ignored.
        """
        asked = [k for k, v in constraints.items() if v]
        if asked:
            raise CapabilityError(f"the {self.name} codec has no constraint {', '.join(asked)}")
        return []


class PitchReading:
    """How a codec's notes sound where a note's pitch depends on the tokens before it (ABC:
    the key signature and the accidentals earlier in the bar), so the copy meter compares
    intervals and a transposed copy still counts. ``Copying.pitch_reading`` returns one.

    A reading is built for one fitted vocabulary (``tokens``, by id)."""

    name = "sounding-intervals"  # the comparison's name: part of the copy index's cache key

    def __init__(self, tokens: Sequence[str]):
        self.tokens = list(tokens)

    def classes(self) -> dict[int, str]:
        """Ids compared by a class name rather than as themselves (ABC: every key field as
        its mode, every accidental alike: a transposed tune spells them differently)."""
        return {}

    def note_ids(self) -> list[int]:
        """The ids that can sound a note."""
        raise NotImplementedError

    def sounding(self, ids: Sequence[int]) -> Iterable[tuple[int, int]]:
        """``(position, MIDI pitch)`` of each note of the id sequence, in order."""
        raise NotImplementedError

    def context(self, history: Sequence[int]) -> list[int]:
        """The tail of ``history`` that fixes the pitch of a note coming next (the whole
        history by default; a shorter tail keeps the originality constraint cheap)."""
        return list(history)


class Copying:
    """What the copy meter (novelty/) asks: how pieces are compared and how a copy's source
    is named. The default compares token ids as they are, in n-grams of ``copy_ngram``."""

    copy_ngram = 8  # n of the meter's n-gram share, in tokens: about a bar or a few words
    item_noun = "item"  # what one item of the corpus is called where a copy's source is named
    titled = False  # items carry a title (``item_title``) worth reading the corpus for

    def item_title(self, item: Any) -> str:
        """How a copy's source item is shown after its number: a line of text's opening
        words here; "" for none."""
        if isinstance(item, str) and not self.is_music:
            words = " ".join(item.split())
            return repr(words if len(words) <= 40 else words[:37] + "...")
        return ""

    def span_text(self, ids: Sequence[int]) -> str:
        """A run of tokens as a person reads it (the meter's longest copy): tokens apart by
        one space here; text codecs join them as they are."""
        texts = [self.token_text(int(t)) for t in ids]
        return " ".join(t.strip() for t in texts if t.strip())

    def token_pitch(self, token: str) -> tuple[int, int] | None:
        """``(MIDI pitch, kind)`` of a token that is a note by itself (kind 0 starts or
        sounds a note, 1 ends one): the meter then compares the interval from the previous
        note, so a transposed copy counts. None: not a note (compared as itself)."""
        return None

    def pitch_reading(self) -> PitchReading | None:
        """For notes whose pitch depends on the tokens before them: a ``PitchReading`` of the
        fitted vocabulary (wins over ``token_pitch``). None here."""
        return None


class StreamEncoder:
    """How the token cache encodes a plain stream of files in bounded memory, in two passes
    (the char codec's ``codecs/char_stream.py``). ``Streaming.stream_encoder`` returns one."""

    scanning = "reading the corpus"  # what the first pass's progress bar says

    def scan(self, files: list[Path], explicit: set, bar: Any = None) -> Any:
        """Pass 1: an object with ``used`` ([(file, tokens)]), ``skipped`` (reasons), and
        ``tokens()`` (every token found, for fitting the vocabulary). A file in ``explicit``
        (named directly) that cannot be read raises; others are skipped."""
        raise NotImplementedError

    def write_ids(self, out, used: list[tuple[Path, int]], vocab: Any, dtype: Any,
                  hasher: Any = None, bar: Any = None) -> None:
        """Pass 2: append the ids of every used file (as ``dtype``) to the binary file
        ``out``, feeding the same bytes to ``hasher``; exactly what encoding each file's
        item would give."""
        raise NotImplementedError


class Streaming:
    """How a corpus stream is encoded for the token cache."""

    def stream_encoder(self) -> StreamEncoder | None:
        """A ``StreamEncoder`` where a stream's ids can be made straight from its files;
        None: the corpus is read as items and each encoded (the default)."""
        return None


class Books:
    """Many pieces in one file of the codec's own format (``library export``)."""

    book_format = ""  # the format name (``library export --format``) of a book; "" none

    def book(self, texts: Sequence[str], notes: Sequence[str]) -> str:
        """The pieces (their text) as one file, each with its note (e.g. "library piece 7")
        as a comment."""
        raise CapabilityError(f"the {self.name} codec cannot write its pieces as one file; "
                              "export them as midi, text or json")

    def book_items(self, text: str) -> list[str]:
        """The pieces of a book's text (ABC: one per X: line); the whole text as one here."""
        return [text] if text.strip() else []
