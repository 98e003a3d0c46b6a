"""Scores people can read: music engraved as SVG by Verovio.

Verovio (verovio.org) engraves MusicXML (and ABC and MEI) as SVG. Every item reaches it as
MusicXML written by music21:

* an ABC tune is parsed by music21 as written, so the score keeps the tune's own bars,
  repeats, endings, ties and grace notes (``abc_svg``; the ABC codec's ``score_svg`` uses
  its own ``score``, which mends slurs written as ties);
* notes from MIDI (melody and performance items) are quantised and spelled by music21
  (keys, ties across bar lines, rests), the same path as ``--format musicxml`` (``midi_svg``).

Verovio reads ABC itself, but its ABC reader crashes the whole process (a segmentation fault,
not an exception) on some malformed tunes, which an undertrained model writes; music21
refuses those with an exception, and the MusicXML it writes has not crashed Verovio in
thousands of random tunes. So ABC goes through music21 too.

``svg(codec, item)`` is the MIDI way, for any music codec (``Codec.score_svg``, which ABC
overrides); the codecs write ``STEM.svg`` when
``outputs`` is asked for "svg". Every SVG is one picture with a viewBox and no fixed size,
so it fills the width of whatever shows it (a notebook cell, the studio, a browser tab).

Limits. Verovio's time grows faster than the music (20,000 ids of a sample kept it busy for
minutes and made a 19 MB SVG), and while it works it holds the GIL: every other thread of the
process, the web studio's event loop and its signal handlers included, waits. So music is
measured before any work (notes, notes sounding at once, length) and refused with one line
past the limits below; Verovio itself runs in a child process (core/child.py) that is killed
at ``TIME_LIMIT_S``, and an SVG larger than ``MAX_SVG_BYTES`` is refused. The studio,
``sample --format svg`` and the Python API all come through here (``musicxml_svg``, given
MusicXML rather than notes, has the time and size limits only).
"""

from __future__ import annotations

import re
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..core import child
from ..core.files import atomic_write_text
from ..errors import SamplingError

# The limits of one score, chosen from what the studio can make: a sample of up to 2,000 new
# tokens (web/guard.py Limits.max_length) after a prime.
MAX_NOTES = 3_000  # a 2,000-token sample has at most 2,000 new notes, plus its prime's;
# Verovio engraves 3,000 notes in seconds, and the time it takes grows faster than the notes
MAX_AT_ONCE = 24  # notes sounding at one moment: ten fingers, and some more held by the
# sustain pedal; far past that is a model stuck on note-ons (random performance events reach
# all 128 pitches at once), whose chords cost Verovio the most to lay out
MAX_QUARTERS = 4_000  # length in quarter notes: 1,000 bars of 4/4, over half an hour at 120
# bpm; a sample of mostly silence (long time shifts, or one note 1,000 bars long in ABC) would
# otherwise become thousands of bars for music21 and Verovio
TIME_LIMIT_S = 30.0  # one engraving: a sample within the limits above takes a few seconds even
# on a busy machine; music that would take Verovio minutes is stopped here. Read at each call
# (tests set a tiny one)
MAX_SVG_BYTES = 8_000_000  # Verovio writes about 1 kB of SVG per note: MAX_NOTES notes make
# about 3 MB, and a browser shows 8 MB of SVG without trouble
PRELOAD = ["creative_rnn.codecs.score", "verovio"]  # what a fork server imports once

# Verovio's page in its own units: 2100 wide is an A4 page at scale 100. At scale 45 a line
# holds about twice an A4 line's music and still reads well at a screen's width.
PAGE_WIDTH, SCALE = 2100, 45
MAX_PAGE_HEIGHT = 60000  # Verovio's largest page: one page holds any sample we make
OPTIONS = {
    "pageWidth": PAGE_WIDTH, "scale": SCALE, "pageHeight": MAX_PAGE_HEIGHT,
    "adjustPageHeight": True,  # the page ends where the music does
    "breaks": "auto",  # Verovio chooses the line breaks
    "header": "none", "footer": "none",  # no "Music21 Fragment" titles, no page numbers
    "svgViewBox": True,  # scales to its container instead of a fixed 2100 px
}


def _toolkit(**options: Any):
    """A fresh Verovio toolkit (one per call: the web studio renders from several threads)."""
    try:
        import verovio
    except ImportError:  # pragma: no cover - verovio is a dependency
        raise SamplingError("scores need Verovio: pip install verovio") from None
    verovio.enableLog(verovio.LOG_OFF)  # it warns on stderr about missing titles and such
    # Verovio 6 keeps its resource path (fonts) per thread and `import verovio` sets it only
    # in the importing thread: without this, a toolkit in a worker thread has no fonts and
    # loads nothing (the studio engraves in worker threads)
    verovio.setDefaultResourcePath(str(files("verovio") / "data"))
    tk = verovio.toolkit()
    tk.setOptions({**OPTIONS, **options})
    return tk


def check_size(notes: int, at_once: int, quarters: float = 0) -> None:
    """Refuse music too large to engrave (see the limits above), before any work."""
    for count, limit, what in ((notes, MAX_NOTES, "notes"),
                               (at_once, MAX_AT_ONCE, "notes sounding at once"),
                               (round(quarters), MAX_QUARTERS, "quarter notes of length")):
        if count > limit:
            raise SamplingError(f"this music is too large to engrave: {count} {what}, and a "
                                f"score takes at most {limit}; engrave a shorter sample")


def most_at_once(spans: list[tuple[float, float, int]]) -> int:
    """The most notes sounding at one moment; ``spans`` are (start, end, notes). A note that
    ends where another starts does not overlap it."""
    changes = sorted([(start, n) for start, _, n in spans] + [(end, -n) for _, end, n in spans])
    most = now = 0
    for _, n in changes:  # at one moment, ends (negative) come before starts
        now += n
        most = max(most, now)
    return most


def _engrave(data: str, what: str, **options: Any) -> str:
    """Load ``data`` (ABC or MusicXML text) and return every page as one SVG. Verovio runs in
    a child process that is killed if it has not answered within ``TIME_LIMIT_S``."""
    limit = TIME_LIMIT_S
    try:
        return child.run(_render, (data, what, options, MAX_SVG_BYTES), limit, PRELOAD)
    except child.TimedOut:
        raise SamplingError(f"this {what} took Verovio longer than {limit:g} s to engrave "
                            "(the time limit); engrave a shorter or simpler sample") from None
    except child.Failed as e:
        raise SamplingError(f"Verovio could not engrave this {what}: {e}") from None


def _render(data: str, what: str, options: dict, max_bytes: int) -> str:
    """In the child process: every page as one SVG, refused once it passes ``max_bytes``."""
    tk = _toolkit(**options)
    if not tk.loadData(data) or tk.getPageCount() < 1:
        raise SamplingError(f"Verovio cannot engrave this {what}; write it as MIDI or "
                            "MusicXML instead")
    pages, size = [], 0
    for n in range(1, tk.getPageCount() + 1):
        pages.append(tk.renderToSVG(n))
        size += len(pages[-1])
        if size > max_bytes:  # stop at the first page past the cap, not after the last
            raise SamplingError(f"this {what} makes over {max_bytes / 1e6:g} MB of SVG (the "
                                "size limit); engrave a shorter sample")
    return pages[0] if len(pages) == 1 else _stack(pages)


_VIEWBOX = re.compile(r'<svg viewBox="0 0 ([0-9.]+) ([0-9.]+)"')


def _stack(pages: list[str]) -> str:
    """Several pages (a piece longer than Verovio's largest page) as one picture, one page
    below the other: each page becomes a nested <svg> placed at its offset."""
    parts, y, width = [], 0.0, 0.0
    for page in pages:
        m = _VIEWBOX.search(page)
        w, h = float(m.group(1)), float(m.group(2))
        page = page[page.index("<svg"):]  # drop any XML declaration
        parts.append(_VIEWBOX.sub(f'<svg y="{y:g}" width="{w:g}" height="{h:g}" '
                                  f'viewBox="0 0 {w:g} {h:g}"', page, count=1))
        y, width = y + h, max(width, w)
    return (f'<svg viewBox="0 0 {width:g} {y:g}" version="1.1" '
            'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
            + "".join(parts) + "</svg>\n")


def score_svg(score) -> str:
    """A music21 score (or any stream) as SVG, through MusicXML; refused before any work
    past the limits (notes, notes at once, length)."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    spans = [(float(n.offset), float(n.offset + n.quarterLength),
              max(1, len(getattr(n, "pitches", ())))) for n in score.flatten().notes]
    check_size(sum(n for _, _, n in spans), most_at_once(spans), float(score.highestTime))
    try:
        xml = GeneralObjectExporter(score).parse()
    except Exception as e:  # music21 raises many kinds on odd (generated) music
        raise SamplingError(f"music21 cannot write this music as a score "
                            f"({type(e).__name__}: {e})") from None
    return musicxml_svg(xml)


def abc_svg(abc: str) -> str:
    """An ABC tune (one ``X:`` tune, or a body with its ``M:``/``L:``/``K:`` header) as SVG."""
    from music21 import converter

    text = abc.replace("\\n", "\n")  # a --prime typed with \n for line breaks
    try:
        score = converter.parse(text, format="abc")
    except Exception as e:  # music21 raises many kinds for bad ABC
        raise SamplingError(f"music21 cannot read this ABC tune ({type(e).__name__}: {e})"
                            ) from None
    if getattr(score, "scores", None):  # a book of tunes: its first tune
        score = score.scores[0]
    return score_svg(score)


def musicxml_svg(xml: str | bytes) -> str:
    """MusicXML (text or bytes) as SVG."""
    return _engrave(xml.decode("utf-8") if isinstance(xml, bytes) else xml, "MusicXML score")


def midi_svg(midi_path: str | Path) -> str:
    """A MIDI file as SVG: music21 quantises its notes and spells them as MusicXML."""
    from music21 import converter

    try:
        score = converter.parse(Path(midi_path), forceSource=True, storePickle=False)
    except Exception as e:  # music21 raises many kinds on odd files
        raise SamplingError(f"music21 cannot read {midi_path} ({type(e).__name__}: {e})"
                            ) from None
    for inst in score.recurse().getElementsByClass("Instrument"):
        # a MIDI file's notes come in as "Piano": a score of one line needs no name
        inst.partName = inst.partAbbreviation = inst.instrumentAbbreviation = None
        inst.instrumentName = ""  # (None would be written as the name "None")
    return score_svg(score)


def engravable_notes(codec, item: Any) -> list:
    """The notes of one item of a music codec, refused when there are none or too many to
    engrave (check_size): what every codec's score checks first."""
    if not codec.is_music:
        raise SamplingError(f"the {codec.name} codec is not music: it has no score")
    notes = codec.notes(item) or []
    if not notes:
        raise SamplingError("this music has no notes to engrave")
    check_size(len(notes), most_at_once([(n[1], n[2], 1) for n in notes]))
    return notes


def svg(codec, item: Any) -> str:
    """The score of one item of a music codec through the MIDI file the codec writes for it
    (a codec with a music21 score of its own, ABC, overrides ``score_svg``)."""
    notes = engravable_notes(codec, item)
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "item.mid"
        if codec.file_suffix == ".mid":
            codec.write(item, mid)  # the note codecs' own format is MIDI
        else:  # a music codec with a format of its own (a plugin's): its notes as MIDI
            from .midi.io import Note, write_midi

            write_midi([Note(*n) for n in notes], mid)
        return midi_svg(mid)


def write_svg(svg_text: str, path: str | Path) -> Path:
    """Write an SVG file atomically; returns its path."""
    atomic_write_text(path, svg_text)
    return Path(path)
