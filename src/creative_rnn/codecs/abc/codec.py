"""The ABC codec (FolkRNN): one folk tune in ABC notation is one document of musical tokens.

Tokens come from our own tokenizer (``abc_tokens``); music21 is used for what it is good
at: key signatures and modes, reading ABC back as a score (the quality check, MIDI and
MusicXML output, note lists for piano rolls). Options:

* ``transpose_to_c``: every tune moved to tonic C with its mode kept (``K:Cmaj``,
  ``K:Cdor``, ...), as FolkRNN did, so the model learns one key per mode;
* ``augment_transpositions``: N extra copies of every tune read from a corpus, moved into
  other keys (by +2, -2, +5, -5, ... semitones). The copies are made when the corpus is read,
  so training never knows; note that copies of one tune can land in both the training
  and the validation split, so compare validation losses only between equally augmented runs;
* ``keep_titles``: keep T: (title), R: (rhythm), C: and O: headers, one token per character;
* ``normalize_unit`` (version 2 for new codecs): every tune's lengths rewritten in eighths
  (L:1/8, ``units.py``), so that one rhythm has one spelling. The value is the version of
  the rewriting (0 off; 1, written ``true`` by runs made before version 2, and the shipped
  folk starter; 2 also spells chords and grace notes one way), so an old run's tokens stay
  what it learned; a ``codec.json`` written before the option existed reads back with it off.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...core.files import atomic_write_bytes, atomic_write_text
from ...errors import ConfigError, SamplingError, UserError
from .. import score as engrave
from ..base import Codec
from ..midi import render as midi_render
from ..midi.render import default_music_formats
from ..vocab import NUM_SPECIAL
from . import notemap
from . import quality as abc_quality
from .complete import CompleteBars
from .copying import AbcPitches
from .live import AbcVoice
from .pitch import by_semitones, to_tonic_c
from .tokens import AbcError, detokenize_tune, is_bar, is_header, is_text, tokenize_tune
from .units import LATEST as LATEST_UNIT
from .units import VERSIONS as UNIT_VERSIONS
from .units import to_unit

SHIFTS = (2, -2, 5, -5, 3, -3, 4, -4, 1, -1, 6)  # augmentation order: near keys first
SUFFIXES = (".abc",)
_TITLE_FIELD = re.compile(r"^T:(.*)$", re.MULTILINE)  # a tune's title, as the copy meter shows it


def split_tunes(text: str) -> list[str]:
    """A book of tunes -> one string per tune (each starts at an ``X:`` line)."""
    parts = re.split(r"\n(?=[ \t]*X:)", "\n" + text)
    tunes = [p.strip("\n") for p in parts if p.lstrip().startswith("X:")]
    return tunes or ([text] if text.strip() else [])


def _short(path: str | Path) -> str:
    """A file as a reader knows it: relative to the current folder when inside it, else
    its folder and name (a bundled collection's file: ``oneills1850/0351-0400.abc``, not
    the site-packages path)."""
    p = Path(path)
    if not {"site-packages", "dist-packages"} & set(p.parts):
        try:
            return str(p.resolve().relative_to(Path.cwd().resolve()))
        except (OSError, ValueError):
            pass
    return str(Path(*p.parts[-2:]))


def _plain(reason: str) -> str:
    """The tokenizer's complaint in a reader's words: the symbol and its line."""
    m = re.fullmatch(r"unexpected (.+) at line (\d+), column \d+", reason)
    return f"{m[1]} on line {m[2]} is ABC these tokens do not cover" if m else reason


def _title(tune: str) -> str:
    number = re.search(r"^\s*X:\s*(\S*)", tune, re.M)
    title = re.search(r"^\s*T:\s*(.*)$", tune, re.M)
    return f"X:{number.group(1) if number else '?'}" + (f" {title.group(1).strip()!r}"
                                                      if title else "")


class AbcCodec(Codec):
    """Folk tunes in ABC as FolkRNN-style tokens. Item: one tune as a string of ABC.

    Args:
        transpose_to_c: Move every tune (and every prime) to tonic C, keeping its mode
            (K:Cmaj, K:Cdor, ...).
        augment_transpositions: N extra copies of each tune in other keys (+2, -2, +5, -5,
            ... semitones); copies may fall on both sides of the validation split, so compare
            validation losses only between equally augmented runs.
        keep_titles: Keep the T:, R:, C: and O: headers, one token per character.
        normalize_unit: Rewrite every tune in eighths (L:1/8) so that one rhythm has one
            spelling: the version of the rewriting (units.py), 2 (the default) or 1 (what
            ``true`` meant before version 2); 0 or false: off. Runs trained before the
            option read it as off.
    """

    name = "abc"
    file_suffix = ".abc"
    formats = ("mid", "musicxml", "wav", "png", "svg")  # svg: an engraved score (Verovio)
    is_music = True
    items_per_file = True
    documents = True  # each tune is one document: training defaults to documents mode
    units = ("token", "bar")  # a bar: up to and with the bar line that closes it
    prime_example = "M:6/8\nK:D\n|:A|dfa agf|"
    copy_ngram = 10  # about a bar of notes and its bar line
    item_noun = "tune"
    titled = True  # a copy's source is named by the tune's T: field
    book_format = "abc"  # a tunebook: ``library export --format abc``

    def __init__(self, transpose_to_c: bool = False, augment_transpositions: int = 0,
                 keep_titles: bool = False, normalize_unit: bool | int = LATEST_UNIT):
        if not 0 <= int(augment_transpositions) <= len(SHIFTS):
            raise ConfigError(f"augment_transpositions must be 0..{len(SHIFTS)}")
        if transpose_to_c and augment_transpositions:
            raise ConfigError("transpose_to_c moves every tune to C, which undoes "
                              "augment_transpositions; choose one")
        if normalize_unit not in (0, *UNIT_VERSIONS):  # True is 1, as old runs wrote it
            raise ConfigError(f"normalize_unit must be false or a version of the unit "
                              f"rewriting, {' or '.join(map(str, UNIT_VERSIONS))} (the "
                              f"latest), not {normalize_unit!r}")
        super().__init__(transpose_to_c=bool(transpose_to_c),
                         augment_transpositions=int(augment_transpositions),
                         keep_titles=bool(keep_titles), normalize_unit=int(normalize_unit))

    # --- tokens ------------------------------------------------------------------------
    def tokenize(self, item: str, corpus: bool = False) -> list[str]:
        """A tune of a ``corpus`` must hold notes (``read_items`` skips one that does not);
        anything else, a prime above all, may stop after its headers (``M:6/8\\nK:D``)."""
        if not isinstance(item, str):
            raise AbcError(f"an ABC item is a string of ABC text, not {type(item).__name__}")
        tokens = tokenize_tune(split_tunes(item)[0] if "X:" in item else item,
                               keep_titles=self.options["keep_titles"], fragment=not corpus)
        if self.options["transpose_to_c"]:
            tokens = to_tonic_c(tokens)
        version = self.options["normalize_unit"]
        return to_unit(tokens, version=version) if version else tokens

    def detokenize(self, tokens: Sequence[str]) -> str:
        return detokenize_tune(tokens)

    def load_state(self, data: dict[str, Any]) -> None:
        super().load_state(data)
        if "normalize_unit" not in data.get("options", {}):  # written before the option:
            self.options["normalize_unit"] = 0  # the tokens that run was trained on

    def render(self, item: str) -> str:
        return item.replace("\\n", "\n")  # a --prime typed with \n for line breaks

    def unit_done(self, unit: str, new: Sequence[int]) -> bool:
        """A bar ends at a bar line that follows at least one token of music (a bar line
        right after the prime closes the prime's bar, not a new one; after header tokens
        alone it opens the tune)."""
        if unit != "bar":
            return super().unit_done(unit, new)
        vocab = self._need_vocab()
        def bar(i: int) -> bool:
            return i >= NUM_SPECIAL and is_bar(vocab.token(i))
        def music(i: int) -> bool:
            t = vocab.token(i) if i >= NUM_SPECIAL else ""
            return bool(t) and not (is_bar(t) or is_header(t.strip("[]")) or is_text(t))
        return bool(new) and bar(new[-1]) and any(music(i) for i in new[:-1])

    def unit_constraints(self, unit: str) -> dict[str, Any]:
        return {"complete_bars": True} if unit == "bar" else {}  # a bar line closes a whole bar

    def unit_closers(self, unit: str) -> list[int] | None:
        if unit != "bar":
            return None
        tokens = self._need_vocab().tokens
        return [i for i in range(NUM_SPECIAL, len(tokens)) if is_bar(tokens[i])]

    def token_text(self, i: int) -> str:
        """Streaming view: headers on their own lines, spaced bar lines. The text of any
        token sequence reads back (a header ending no line would swallow what follows:
        ``M:4/4Eaaa`` is no meter); consecutive headers leave blank lines between them,
        which the tokenizer skips."""
        t = super().token_text(i)
        if t.startswith("@"):
            return t[1:]
        if is_header(t):  # on a line of its own whatever comes before or after it
            return f"\n{t}\n"
        if is_text(t):  # a free-text header's start: its characters follow on its line
            return f"\n{t}"
        return f" {t} " if is_bar(t) else t

    # --- the copy meter and tunebooks ----------------------------------------------------
    def pitch_reading(self) -> AbcPitches:
        return AbcPitches(self._need_vocab().tokens)

    def item_title(self, item: Any) -> str:
        found = _TITLE_FIELD.search(item) if isinstance(item, str) else None
        return repr(found.group(1).strip()) if found else ""

    def book(self, texts: Sequence[str], notes: Sequence[str]) -> str:
        """The tunes as one tunebook numbered X:1, X:2, ... in order, each tune's note as a
        comment line after its X: field."""
        tunes = []
        for n, (text, note) in enumerate(zip(texts, notes), 1):
            text = text.strip("\n")
            if re.match(r"^X:\s*\d+", text):
                text = re.sub(r"^X:\s*\d+", f"X:{n}", text)
            else:
                text = f"X:{n}\n{text}"
            head, _, rest = text.partition("\n")
            tunes.append(f"{head}\n% {note}\n{rest}\n")
        return "\n".join(tunes)

    def book_items(self, text: str) -> list[str]:
        return split_tunes(text)

    # --- files -------------------------------------------------------------------------
    def _text(self, path: str | Path) -> str:
        p = Path(path)
        if p.suffix.lower() not in SUFFIXES:
            raise AbcError(f"{p}: unsupported file type {p.suffix or '(none)'} for the abc "
                           "codec; give .abc files")
        try:
            if p.exists() and not p.is_file():  # a device or a pipe could be endless
                raise AbcError(f"{p} is not a regular file; give an .abc file")
            raw = p.read_bytes()
        except OSError as e:
            raise AbcError(f"cannot read {p}: {e.strerror}") from None
        if b"\x00" in raw:
            raise AbcError(f"{p} looks binary (NUL byte), not ABC text")
        try:
            return raw.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:  # older tune books are Latin-1
            return raw.decode("latin-1")

    def read(self, path: str | Path) -> str:
        """The first tune of an ABC file (or the fragment it holds), e.g. for --prime-file."""
        tunes = split_tunes(self._text(path))
        if not tunes:
            raise AbcError(f"{path} holds no ABC")
        return tunes[0]

    def read_items(self, path: str | Path) -> list[str]:
        """Every readable tune of a file (plus its transposed copies when augmenting).

        A tune is kept only if it tokenizes; the others are skipped with one warning per file
        naming the file, how many and why. The corpus loader times each file."""
        tunes, bad = [], []
        for tune in split_tunes(self._text(path)):
            try:
                tokens = self.tokenize(tune, corpus=True)
            except AbcError as e:
                bad.append(f"{_title(tune)}: {_plain(str(e))}")
                continue
            tunes.append(tune)
            for shift in SHIFTS[: self.options["augment_transpositions"]]:
                try:
                    tunes.append(detokenize_tune(by_semitones(tokens, shift)))
                except AbcError:
                    pass  # a key with no clean spelling: one copy fewer
        if bad and tunes:  # (a file with none is skipped whole, with the first reason)
            print(f"warning: {_short(path)}: skipped {len(bad)} of {len(bad) + len(tunes)} "
                  f"tune(s), e.g. {bad[0]}", file=sys.stderr)
        if not tunes:
            bundled = {"site-packages", "dist-packages"} & set(Path(path).parts)
            raise AbcError(f"{_short(path) if bundled else path}: no readable tune "
                           f"({bad[0] if bad else 'no X: lines'})")
        return tunes

    def write(self, item: str, path: str | Path) -> None:
        atomic_write_text(path, item.rstrip("\n") + "\n")

    # --- music21 -----------------------------------------------------------------------
    def score(self, item: str):
        """The tune as a music21 score (repeats as written)."""
        from music21 import converter, tie

        try:
            s = converter.parse(item, format="abc")
        except Exception as e:  # music21 raises many types for bad ABC
            why = " ".join(str(e).split())  # music21's messages may hold line breaks
            raise AbcError(f"music21 cannot read this tune ({type(e).__name__}: {why})") from None
        notes = list(s.flatten().notes)
        for a, b in zip(notes, notes[1:]):
            if a.tie is not None and {p.midi for p in a.pitches} != {p.midi for p in b.pitches}:
                # "g3-a" is a slur in old books; as a tie, MIDI would play g for both
                a.tie = None if a.tie.type == "start" else tie.Tie("stop")
                if b.tie is not None:
                    b.tie = None if b.tie.type == "stop" else tie.Tie("start")
        return s

    def score_svg(self, item: str) -> str:
        """The tune engraved from its own music21 score (ties mended, errors named), not
        from MIDI: repeats, endings and grace notes stay as written."""
        engrave.engravable_notes(self, item)
        return engrave.score_svg(self.score(item))

    def default_formats(self) -> list[str]:
        return default_music_formats()

    def outputs(self, item: str, stem: str | Path, formats: Sequence[str] = ()) -> list[Path]:
        """``.abc`` and ``.mid`` always; ``musicxml``, ``wav``, ``png`` and ``svg`` (a score)
        on request."""
        unknown = [f for f in formats if f not in ("abc", *self.formats)]
        if unknown:
            raise SamplingError(f"the abc codec cannot write {', '.join(unknown)}; "
                                f"choose from {', '.join(self.formats)}")
        paths = [Path(f"{stem}.abc")]
        self.write(item, paths[0])
        try:
            s, data = self._midi(item)
        except AbcError as e:
            print(f"note: no MIDI for {paths[0]}: {e}")
            return paths
        mid = Path(f"{stem}.mid")
        atomic_write_bytes(mid, data)
        paths.append(mid)
        if "musicxml" in formats:
            from music21.musicxml.m21ToXml import GeneralObjectExporter

            xml = Path(f"{stem}.musicxml")
            try:
                atomic_write_bytes(xml, GeneralObjectExporter(s).parse())
                paths.append(xml)
            except Exception as e:  # music21's exporter refuses some odd generated scores
                print(f"note: no MusicXML for {paths[0]}: {type(e).__name__}: {e}")
        if "svg" in formats:  # the score music21 made the MIDI from, engraved
            try:
                paths.append(engrave.write_svg(engrave.score_svg(s), Path(f"{stem}.svg")))
            except UserError as e:
                print(f"note: no score for {paths[0]}: {e}")
        if "wav" in formats or "png" in formats:
            paths += self._rendered(item, mid, stem, formats)
        return paths

    def _midi(self, item: str):
        """(score, MIDI bytes). music21 plays repeats out in MIDI and refuses repeats it finds
        badly formed, so a tune it refuses is tried once more played straight through."""
        from music21.midi.translate import streamToMidiFile

        last: Exception | None = None
        for text in (item, _without_repeats(item)):
            try:
                s = self.score(text)
                return s, streamToMidiFile(s).writestr()
            except Exception as e:  # music21 raises many kinds for odd (generated) scores
                last = e
        raise AbcError(f"music21 cannot make MIDI of it ({type(last).__name__}: {last})")

    def _rendered(self, item: str, mid: Path, stem: str | Path, formats: Sequence[str]
                  ) -> list[Path]:
        out = []
        if "wav" in formats:
            out.append(Path(midi_render.render_wav(mid, Path(f"{stem}.wav"))))
        if "png" in formats:
            midi_render.piano_roll_png(self.notes(item) or [], Path(f"{stem}.png"))
            out.append(Path(f"{stem}.png"))
        return out

    def notes(self, item: str, qpm: float = 120.0) -> list[tuple[int, float, float, int]]:
        """(MIDI pitch, start s, end s, velocity) per sounding note, ties joined, at
        ``qpm`` quarter notes a minute (ABC tempo marks are not kept)."""
        return notemap.joined(notemap.sounding(self.score(item)), qpm)[0]

    def live_voice(self, channel: int = 0) -> AbcVoice:
        return AbcVoice(self, channel)

    def note_tokens(self, ids: Sequence[int]) -> list[tuple[int, int] | None] | None:
        """For each note of ``notes(decode(ids))``: the ids from its first token (an
        accidental, its pitch, or a chord's ``[``) to its last (its length, a chord's ``]``
        and length; a tied note's last part), so a chord's notes share one range. None for a
        tune whose tokens and music21's notes do not agree note for note (notemap.py), or
        that music21 cannot read: no mapping rather than a wrong one."""
        vocab = self._need_vocab()
        at = [i for i, t in enumerate(ids) if int(t) >= NUM_SPECIAL]  # token -> index in ids
        tokens = [vocab.token(int(ids[i])) for i in at]
        found = notemap.events(tokens)
        if found is None:
            return None
        try:
            elements = notemap.sounding(self.score(self.detokenize(tokens)))  # = decode(ids)
        except AbcError:
            return None
        owner = notemap.owners(elements, found)
        if owner is None:
            return None
        out: list[tuple[int, int] | None] = []
        for parts in notemap.joined(elements)[1]:
            first, last = found[owner[parts[0]]], found[owner[parts[-1]]]
            out.append((at[first.start], at[last.end - 1] + 1))
        return out

    # --- quality (quality.py) -------------------------------------------------------
    def parses(self, item: str) -> bool:
        return abc_quality.parses(self, item)

    def quality(self, items: Sequence[str], reference: Sequence[str] | None = None
                ) -> dict[str, float]:
        return abc_quality.row(self, items, reference)

    # --- sampling ----------------------------------------------------------------------
    def logits_processors(self, complete_bars: bool = False, **others: Any) -> list:
        procs = super().logits_processors(**others)  # refuses constraints we do not know
        if complete_bars:
            procs.append(CompleteBars(self._need_vocab().tokens))
        return procs


def _without_repeats(item: str) -> str:
    """The tune with repeat signs made plain bar lines and ending marks dropped."""
    try:
        tokens = tokenize_tune(item, keep_titles=True)
    except AbcError:
        return item
    plain = {":|": "|", "|:": "|", "::": "|"}
    return detokenize_tune([plain.get(t, t) for t in tokens
                            if not (t.startswith("[") and t[1:2].isdigit())])
