"""ABC text <-> musical tokens, FolkRNN style (Sturm et al. 2016, "Music transcription
modelling and composition using deep learning").

One tune becomes header tokens (``M:6/8``, ``L:1/8``, ``K:Gmaj``; titles optionally, as
``T:`` followed by one ``@c`` token per character) and body tokens: accidentals (``^ _ =``),
pitches with octave marks (``C, c c'``), durations in units of L (``2 /2 3/2``), rests
(``z``), bar lines and repeats (``| || |] |: :| ::``), endings (``[1``), tuplets (``(3``),
broken rhythms (``> <``), ties (``-``), chords (``[ ]``), grace notes (``{ }``) and inline
field changes (``[M:3/4]``). Slurs, decorations, chord symbols, spacing and line breaks are
dropped: they do not change the notes. ``detokenize`` writes valid ABC back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from ...errors import CorpusError


class AbcError(CorpusError):
    """ABC text that is not a tune we can read (the message says what and where)."""


LETTERS = "CDEFGAB"
NATURAL = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}  # semitones above C
ACCIDENTALS = {"^^": 2, "^": 1, "=": 0, "_": -1, "__": -2}
ACC_TOKEN = {v: k for k, v in ACCIDENTALS.items()}
MODES = {"": "maj", "maj": "maj", "ion": "maj", "m": "min", "min": "min", "aeo": "min",
         "dor": "dor", "phr": "phr", "lyd": "lyd", "mix": "mix", "loc": "loc"}
# ABC 2.1 section 4.14: H-W and h-w are decorations (user-definable); x is a rest, y a spacer
# free-text header fields kept by keep_titles (title, rhythm, composer, origin)
TEXT_FIELDS = ("T", "R", "C", "O")
BARS = ("|", "||", "|]", "[|", "|:", ":|", "::")
TEXT = "@"  # prefix of one character of a free-text header

_BODY = re.compile(r"""
  (?P<space>[\s\\`$y*]+)
| (?P<comment>%.*)
| (?P<quoted>"[^"\n]*"?)
| (?P<deco>![^!\n]*!|\+[^+\n]*\+|[.~H-Wh-w])
| (?P<field>\[(?P<fname>[A-Za-z]):(?P<fval>[^\]\n]*)\])
| (?P<bar>\[\||:*\|+\]?:*|:+)(?P<ending>\[?\d+(?:[,-]\d+)*)?
| (?P<end2>\[\d+(?:[,-]\d+)*)
| (?P<tuplet>\((?P<p>[2-9])(?::(?P<q>\d*)(?::(?P<r>\d*))?)?)
| (?P<slur>[()])
| (?P<grace>\{/?|\})
| (?P<chord>\[|\](?P<cdur>\d*/*\d*))
| (?P<note>(?P<acc>\^\^|\^|__|_|=)?(?P<pitch>[A-Ga-g])(?P<oct>[,']*)
          (?P<dur>\d*/*\d*))
| (?P<rest>[zx](?P<rdur>\d*/*\d*))
| (?P<broken>[<>]{1,3})
| (?P<tie>-)
""", re.VERBOSE)


_KINDS = ("space", "comment", "quoted", "deco", "field", "bar", "end2", "tuplet", "slur", "grace",
          "chord", "note", "rest", "broken", "tie")


# Bounds on every number a tune (or a prime) can hold, checked on the digits before int()
# (which refuses more than 4300 digits with a ValueError) and before any work. The folk
# corpora use note lengths up to 32 units, halves to eighths, tuplets up to (9 and (6:6:6,
# and endings up to 4 digits (one book's "|1646").
MAX_LENGTH = 64  # a note's length numerator, and its denominator (a power of two)
MAX_TUPLET = 16  # q and r of a tuplet (p:q:r
MAX_ENDING_DIGITS, MAX_ENDINGS = 4, 8  # an ending's numbers ([1,3 or |1-3) and how many
MAX_PARTS = 8  # added meter numerators (M:2+3+2/8)


def _shown(text: str) -> str:
    """A piece of input for a message: long numbers shortened, so the message is one line."""
    return repr(text if len(text) <= 24 else text[:20] + "...")


def _small_int(digits: str, limit: int, what: str) -> int:
    """``digits`` as an int no larger than ``limit``; an AbcError naming ``what`` if not."""
    if not digits.isdigit() or len(digits) > len(str(limit)) or int(digits) > limit:
        raise AbcError(f"{what}: {_shown(digits)} is out of range (at most {limit})")
    return int(digits)


# --- small parsers -------------------------------------------------------------------------
def parse_duration(text: str) -> Fraction:
    """``2`` -> 2, ``/`` -> 1/2, ``//`` -> 1/4, ``3/2`` -> 3/2, ``/4`` -> 1/4 (units of L).
    Lengths are at most 64 units and at least 1/64; denominators are powers of two (thirds
    and fifths are written as tuplets)."""
    m = re.fullmatch(r"(\d*)(/*)(\d*)", text)
    if not m or (m.group(3) and not m.group(2)) or (len(m.group(2)) > 1 and m.group(3)):
        raise AbcError(f"bad note length {_shown(text)}")
    slashes = len(m.group(2))
    if len(m.group(1)) > 2 or len(m.group(3)) > 2 or slashes > 6:  # before int() and 2**
        raise AbcError(f"note length {_shown(text)} is absurd (at most {MAX_LENGTH} units, "
                       f"at least 1/{MAX_LENGTH})")
    num = int(m.group(1)) if m.group(1) else 1
    den = int(m.group(3)) if m.group(3) else 2 ** slashes
    if num == 0 or den == 0 or num > MAX_LENGTH or den > MAX_LENGTH:
        raise AbcError(f"note length {_shown(text)} is zero or absurd")
    if den & (den - 1):
        raise AbcError(f"note length {_shown(text)}: the denominator must be 2, 4, 8, ... "
                       "(write thirds as a tuplet, e.g. (3)")
    return Fraction(num, den)


def duration_token(d: Fraction) -> str:
    """The canonical token of a length in units of L ('' for 1)."""
    if d == 1:
        return ""
    if d.denominator == 1:
        return str(d.numerator)
    return f"{'' if d.numerator == 1 else d.numerator}/{d.denominator}"


def parse_meter(value: str) -> str:
    """``C`` -> ``4/4``, ``C|`` -> ``2/2``, ``2+3/8`` -> ``5/8``, none -> ``none``."""
    v = value.split("%")[0].strip().replace(" ", "")
    if v in ("", "none", "None", "NONE"):
        return "none"
    if v == "C":
        return "4/4"
    if v == "C|":
        return "2/2"
    m = re.fullmatch(r"\(?([\d+]+)\)?/(\d+)", v)
    if not m or not all(p.isdigit() for p in m.group(1).split("+")):
        raise AbcError(f"unreadable meter M:{_shown(value)}")
    parts = m.group(1).split("+")
    if len(parts) > MAX_PARTS:
        raise AbcError(f"unsupported meter M:{_shown(value)} (at most {MAX_PARTS} parts)")
    num = sum(_small_int(p, 64, f"meter M:{_shown(value)}") for p in parts)
    den = _small_int(m.group(2), 64, f"meter M:{_shown(value)}")
    if not (0 < num <= 64 and den in (1, 2, 4, 8, 16, 32, 64)):
        raise AbcError(f"unsupported meter M:{_shown(value)}")
    return f"{num}/{den}"


def meter_fraction(meter: str) -> Fraction | None:
    if meter == "none":
        return None
    num, den = meter.split("/")
    return Fraction(int(num), int(den))


def parse_unit(value: str) -> str:
    m = re.fullmatch(r"\s*1\s*/\s*(\d+)\s*(%.*)?", value)
    if not m or len(m.group(1)) > 2 or int(m.group(1)) not in (1, 2, 4, 8, 16, 32, 64):
        raise AbcError(f"unsupported unit note length L:{_shown(value.strip())} "
                       "(1/1, 1/2, ... 1/64)")
    return f"1/{int(m.group(1))}"


def default_unit(meter: str) -> str:
    """ABC 2.1 section 3.1.7: L defaults to 1/16 below a meter of 3/4, else 1/8."""
    f = meter_fraction(meter)
    return "1/16" if f is not None and f < Fraction(3, 4) else "1/8"


def parse_key(value: str) -> str:
    """``G`` -> ``Gmaj``, ``Ador`` -> ``Ador``, ``F#m`` -> ``F#min``, ``Bb`` -> ``Bbmaj``."""
    v = value.split("%")[0].strip()
    words = [w for w in v.split() if "=" not in w]  # clef=..., middle=... do not change pitch
    if not words or words[0].lower() == "none":
        return "Cmaj"
    first = words[0]
    m = re.fullmatch(r"([A-G])([#b]?)([A-Za-z]*)", first)
    if m is None:
        raise AbcError(f"unsupported key K:{value.strip()} (Highland pipes or explicit "
                       "accidentals are not supported)")
    mode_word = m.group(3) or (words[1] if len(words) > 1 else "")
    mode = MODES.get(mode_word.lower()[:3] if mode_word.lower() not in ("m",) else "m")
    if mode is None or any(w[:1] in "^_=" for w in words[1:]):
        raise AbcError(f"unsupported key K:{value.strip()}")
    return f"{m.group(1)}{m.group(2)}{mode}"


def pitch_token(letter: str, octave: int) -> str:
    """Canonical spelling: octave 0 is C..B (uppercase), 1 is c..b, marks beyond."""
    if octave >= 1:
        return letter.lower() + "'" * (octave - 1)
    return letter.upper() + "," * (-octave)


def parse_pitch(token: str) -> tuple[str, int]:
    """``c'`` -> ("C", 2); ``B,`` -> ("B", -1)."""
    octave = (1 if token[0].islower() else 0) + token.count("'") - token.count(",")
    return token[0].upper(), octave


# --- tokenizer -----------------------------------------------------------------------------
def tokenize_tune(text: str, keep_titles: bool = False, fragment: bool = False) -> list[str]:
    """One ABC tune (or a fragment such as ``K:D\\n|:d2 fd``) -> tokens. Raises AbcError.

    A tune must hold notes; a ``fragment`` (a prime) may stop anywhere after whole header
    lines (``M:6/8\\nK:D``, every tune's opening), as long as it holds something. Before
    its ``K:`` line it gives only the headers up to the last one written (``M:6/8`` alone:
    ``["M:6/8"]``), so the model, not a default ``K:Cmaj``, picks the key."""
    text = text.replace("\\n", "\n").replace("\r\n", "\n").replace("\r", "\n")
    header: dict[str, str] = {}
    texts: list[str] = []
    body: list[str] = []
    in_body = False
    for line_no, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        field = re.match(r"([A-Za-z]):(.*)", stripped)
        if field and not (in_body and re.match(r"[A-Ga-g]:\|", stripped)):
            name, value = field.group(1), field.group(2)
            if name == "V":
                raise AbcError("multi-voice tunes (V:) are not supported")
            if name in "MLK":
                token = _field_token(name, value)
                if in_body:
                    body.append(f"[{token}]")
                else:
                    header[name] = token
                    in_body = name == "K"
            elif keep_titles and name in TEXT_FIELDS and not in_body and value.strip():
                texts += [f"{name}:"] + [TEXT + ch for ch in value.strip()]
            continue
        in_body = True
        body += _tokenize_body(stripped, line_no)
    body = _merge_bars(body)
    if not any(_is_note(t) for t in body) and not (fragment and (header or texts or body)):
        raise AbcError("no notes in the tune" if not fragment else
                       "no ABC in it: give header lines (M:6/8, K:D) or notes")
    meter = header.get("M", "M:none" if "M" in header else "M:4/4")
    unit = header.get("L", "L:" + default_unit(meter[2:]))
    heads = [meter, unit, header.get("K", "K:Cmaj")]
    if not in_body:  # a fragment that stops before its K: line: the rest is the model's to
        heads = heads[:1 + max(map("MLK".index, header))] if header else []  # write (no K:C)
    return texts + heads + body


def _merge_bars(body: list[str]) -> list[str]:
    """Bar lines with nothing between them (``|`` ending one line, ``|`` starting the next;
    ``:| |:``) are one bar line, not an empty bar."""
    out: list[str] = []
    for t in body:
        if t in BARS and out and out[-1] in BARS:
            prev = out.pop()
            left, right = prev in (":|", "::"), t in ("|:", "::")
            t = "::" if left and right else ":|" if left else "|:" if right else \
                (prev if t == "|" else t)
        out.append(t)
    return out


def _field_token(name: str, value: str) -> str:
    if name == "M":
        return "M:" + parse_meter(value)
    if name == "L":
        return "L:" + parse_unit(value)
    return "K:" + parse_key(value)


def _tokenize_body(line: str, line_no: int) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(line):
        m = _BODY.match(line, pos)
        if m is None or m.end() == pos:
            raise AbcError(f"unexpected {line[pos]!r} at line {line_no}, column {pos + 1}")
        pos = m.end()
        kind = next(k for k in _KINDS if m.group(k) is not None)
        if kind == "field":
            if m.group("fname") in "MLK":
                out.append(f"[{_field_token(m.group('fname'), m.group('fval'))}]")
        elif kind == "bar":
            out.append(_bar_token(m.group("bar")))
            if m.group("ending"):
                out.append(_ending_token(m.group("ending")))
        elif kind == "end2":
            out.append(_ending_token(m.group("end2")))
        elif kind == "tuplet":
            out.append(_tuplet_token(m.group("p"), m.group("q"), m.group("r")))
        elif kind == "grace":
            out.append(m.group("grace")[0])
        elif kind == "chord":
            out.append(m.group("chord")[:1])
            d = duration_token(parse_duration(m.group("cdur"))) if m.group("cdur") else ""
            if d:
                out.append(d)
        elif kind == "note":
            if m.group("acc"):
                out.append(m.group("acc"))
            letter, octave = parse_pitch(m.group("pitch") + m.group("oct"))
            out.append(pitch_token(letter, octave))
            d = duration_token(parse_duration(m.group("dur"))) if m.group("dur") else ""
            if d:
                out.append(d)
        elif kind == "rest":
            out.append("z")
            if m.group("rdur"):
                d = duration_token(parse_duration(m.group("rdur")))
                if d:
                    out.append(d)
        elif kind in ("broken", "tie"):
            out.append(m.group(kind))
        # space, comment, quoted, deco, slur: nothing
    return out


def _bar_token(bar: str) -> str:
    left, right = bar.startswith(":"), bar.endswith(":")
    if left and right:
        return "::"
    if left:
        return ":|"
    if right:
        return "|:"
    if bar in BARS:
        return bar
    return "||" if bar.count("|") > 1 else "|"


def _ending_token(text: str) -> str:
    """``[1``, ``1,3`` or ``2-3`` after a bar line -> ``[1``, ``[1,3``, ``[2-3``."""
    numbers = re.split(r"[,-]", text.lstrip("["))
    if len(numbers) > MAX_ENDINGS or any(len(n) > MAX_ENDING_DIGITS for n in numbers):
        raise AbcError(f"ending {_shown(text)}: at most {MAX_ENDINGS} numbers of at most "
                       f"{MAX_ENDING_DIGITS} digits")
    return "[" + text.lstrip("[")


def _tuplet_token(p: str, q: str | None, r: str | None) -> str:
    n = int(p)  # one digit, 2-9, by the pattern
    q_default = tuplet_default_q(n)
    what = f"tuplet ({n}"
    qi = _small_int(q, MAX_TUPLET, what) if q else q_default
    ri = _small_int(r, MAX_TUPLET, what) if r else n
    if qi == 0 or ri == 0:
        raise AbcError(f"tuplet ({n}:{qi}:{ri}: q and r must be 1 or more")
    return f"({n}" if (qi, ri) == (q_default, n) else f"({n}:{qi}:{ri}"


def tuplet_default_q(p: int) -> int:
    """ABC 2.1 section 4.13 (for 5, 7, 9 we take the simple-meter value 2)."""
    return {2: 3, 3: 2, 4: 3, 6: 2, 8: 3}.get(p, 2)


def parse_tuplet(token: str) -> tuple[int, int, int]:
    parts = token[1:].split(":")
    p = int(parts[0])
    q = int(parts[1]) if len(parts) > 1 else tuplet_default_q(p)
    r = int(parts[2]) if len(parts) > 2 else p
    return p, q, r


# --- token classes -------------------------------------------------------------------------
def _is_note(t: str) -> bool:
    return t[:1] in LETTERS or t[:1] in LETTERS.lower()


def is_pitch(t: str) -> bool:
    return bool(t) and _is_note(t) and ":" not in t


def is_duration(t: str) -> bool:
    return bool(re.fullmatch(r"\d+|\d*/\d+", t))


def is_header(t: str) -> bool:
    return len(t) > 2 and t[0] in "MLK" and t[1] == ":"


def is_bar(t: str) -> bool:
    return t in BARS


def is_text(t: str) -> bool:
    """A free-text header's start (``T:``) or one of its characters (``@x``)."""
    return t.startswith(TEXT) or (len(t) == 2 and t[1] == ":" and t[0] in TEXT_FIELDS)


# --- detokenizer ---------------------------------------------------------------------------
def detokenize_tune(tokens: Sequence[str], number: int = 1) -> str:
    """Tokens -> an ABC tune with an ``X:`` line. Tolerant of generated nonsense: the
    result may be unmusical, but it is always text music21 can try to read."""
    head: list[str] = []
    fields: dict[str, str] = {}
    i = 0
    while i < len(tokens) and "K" not in fields:
        t = tokens[i]
        if t.endswith(":") and t[:-1] in TEXT_FIELDS:
            value = []
            while i + 1 < len(tokens) and tokens[i + 1].startswith(TEXT):
                i += 1
                value.append(tokens[i][1:])
            head.append(f"{t}{''.join(value)}")
        elif is_header(t) and t[0] not in fields:
            fields[t[0]] = t
        elif not t.startswith(TEXT):
            break
        i += 1
    lines = [f"X:{number}", *head, fields.get("M", "M:4/4"), fields.get("L", "L:1/8"),
             fields.get("K", "K:Cmaj")]
    body_text = _body_text(tokens[i:])
    return "\n".join(lines) + "\n" + body_text + "\n"


def _body_text(tokens: Sequence[str]) -> str:
    """Body tokens as ABC: notes run together, spaced bar lines, four bars a line."""
    out: list[str] = []
    last_bar, bars_in_line = "", 0
    for t in tokens:
        if is_text(t):
            continue  # stray title characters in the body: nothing to write
        if t.startswith("[") and t[1:2].isdigit():  # an ending: "|1", ":|2" after its bar
            out.append(t[1:] if last_bar and last_bar != "[|" else f" {t}")
            last_bar = ""
            continue
        if last_bar:
            out.append("\n" if bars_in_line >= 4 and last_bar not in ("|:", "::") else " ")
            bars_in_line = 0 if out[-1] == "\n" else bars_in_line
        last_bar = ""
        if is_bar(t):
            out.append(f" {t}")
            last_bar, bars_in_line = t, bars_in_line + 1
        else:
            # a field change gets a line of its own: music21 ignores some inline [K:...]
            out.append(f"\n{t.strip('[]')}\n" if is_header(t.strip("[]")) else t)
    text = re.sub(r" +", " ", "".join(out)).replace(" \n", "\n").replace("\n ", "\n")
    return re.sub(r"\n+", "\n", text).strip()
