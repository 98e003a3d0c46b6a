"""Scores people can read: music engraved as SVG by Verovio.

Verovio (verovio.org) engraves MusicXML (and ABC and MEI) as SVG. Every item reaches it as
MusicXML written by music21:

* an ABC tune is parsed by music21 as written, so the score keeps the tune's own bars,
  repeats, endings, ties and grace notes (``abc_svg``; the ABC codec's own ``score``, which
  mends slurs written as ties, in ``svg``);
* notes from MIDI (melody and performance items) are quantised and spelled by music21
  (keys, ties across bar lines, rests), the same path as ``--format musicxml`` (``midi_svg``).

Verovio reads ABC itself, but its ABC reader crashes the whole process (a segmentation fault,
not an exception) on some malformed tunes, which an undertrained model writes; music21
refuses those with an exception, and the MusicXML it writes has not crashed Verovio in
thousands of random tunes. So ABC goes through music21 too.

``svg(codec, item)`` picks the way for any music codec; the codecs write ``STEM.svg`` when
``outputs`` is asked for "svg". Every SVG is one picture with a viewBox and no fixed size,
so it fills the width of whatever shows it (a notebook cell, the studio, a browser tab).
"""

from __future__ import annotations

import re
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

from ..core.files import atomic_write_text
from ..errors import SamplingError

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


def _engrave(data: str, what: str, **options: Any) -> str:
    """Load ``data`` (ABC or MusicXML text) and return every page as one SVG."""
    tk = _toolkit(**options)
    if not tk.loadData(data) or tk.getPageCount() < 1:
        raise SamplingError(f"Verovio cannot engrave this {what}; write it as MIDI or "
                            "MusicXML instead")
    pages = [tk.renderToSVG(n) for n in range(1, tk.getPageCount() + 1)]
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
    """A music21 score (or any stream) as SVG, through MusicXML."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

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


def svg(codec, item: Any) -> str:
    """The score of one item of a music codec: an ABC tune through the codec's own music21
    score, anything else through the MIDI file the codec writes for it."""
    if not codec.is_music:
        raise SamplingError(f"the {codec.name} codec is not music: it has no score")
    if codec.file_suffix == ".abc":
        return score_svg(codec.score(item))  # AbcCodec.score: ties mended, errors named
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "item.mid"
        codec.write(item, mid)  # the note codecs' own format is MIDI
        return midi_svg(mid)


def write_svg(svg_text: str, path: str | Path) -> Path:
    """Write an SVG file atomically; returns its path."""
    atomic_write_text(path, svg_text)
    return Path(path)
