"""Ensemble codec: several performers' values at one time step as one mixed-radix symbol.

The course's gesture RNN ("Neural iPad Band") models a touch-screen quartet whose players
each make one of k = 9 gesture classes a second. Its network reads, at step t, the lead
player's gesture at t and the other players' gestures at t-1, and predicts the other
players' gestures at t. Values ``g_0 … g_{n-1}`` in ``[0, k)`` are packed, order preserved, as

    code = Σ_i g_i · k^i            (g_0 is the least significant digit)

so 4 performers read give 9^4 = 6561 input symbols and 3 predicted give 9^3 = 729 outputs.

Token ids: input id = 4 + code(lead values at t ++ predicted values at t-1) (ids 0-3 stay the
shared special tokens); output class = code(predicted values at t). The predicted part of
input t+1 *is* the target of step t, so the target is a fixed function of the next input
id (``target_table``) and the trainer's next-token batches work unchanged.

Items are lists of performances; a performance is a list of time steps, each a list of one
value per performer. Files: JSONL (one performance a line, ``{"gestures": [[...], ...]}``,
other keys are metadata) or CSV (one column per performer, one row per step).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.files import atomic_write_text
from ..errors import CorpusError, UserError
from .base import Codec
from .vocab import NUM_SPECIAL, Vocabulary

IGNORE = -100  # matches data.IGNORE: a target cross-entropy skips
# Bounds on what a user types (--codec-opt, a prime or a call in the text form), checked
# before any work: the course's ensembles are 1-9 performers of 9 gesture classes
MAX_PERFORMERS, MAX_CLASSES = 16, 1024
MAX_ARRANGEMENTS = 720  # copies of each performance augmentation may make (6! seatings)
MAX_TEXT_STEPS = 100_000  # steps in one text-form performance

Performance = list[list[int]]


class EnsembleError(UserError):
    """A value outside ``[0, classes)`` or a step with the wrong number of performers."""


# --- mixed radix ----------------------------------------------------------------------------
def pack(values: Sequence[int], k: int) -> int:
    """``Σ g_i k^i`` for values ``g_i`` in ``[0, k)``; raises EnsembleError naming a bad value."""
    code = 0
    for i, g in enumerate(values):
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or not 0 <= g < k:
            raise EnsembleError(f"value {g!r} at position {i} is outside 0..{k - 1}")
        code += int(g) * k**i
    return code


def unpack(code: int, n: int, k: int) -> list[int]:
    """The ``n`` digits of ``code`` in base ``k``, least significant first (inverse of pack)."""
    if not 0 <= code < k**n:
        raise EnsembleError(f"code {code} is outside 0..{k**n - 1} for {n} values of {k} classes")
    out = []
    for _ in range(n):
        code, g = divmod(code, k)
        out.append(g)
    return out


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _shown(x: Any) -> str:
    """A value for a message, shortened so that the message stays one short line."""
    text = repr(x)
    return text if len(text) <= 40 else text[:36] + "..."


def _indices(name: str, values: Any, performers: int) -> list[int]:
    """``lead``/``predict``: a list of performer indices (their range is checked later)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or \
            len(values) > performers or not all(_is_int(i) for i in values):
        raise EnsembleError(f"{name} must be a list of performer indices such as [0], got "
                            f"{_shown(values)}")
    return [int(i) for i in values]


# --- choosing performances by their metadata -------------------------------------------------
# A condition on one metadata key: a value (equal to it), a list (one of them), or a table of
# "min"/"max" (a range, both ends included) and "not" (a value or list excluded). The course
# trains on improvisations that were not demonstrations: {"type": "improvisation",
# "context": {"not": "demonstration"}}; quartets of at least a minute: {"performers": 4,
# "length_seconds": {"min": 60}}.
RANGE_KEYS = ("min", "max", "not")
WHERE_EXAMPLE = '{"type": "improvisation", "context": {"not": "demonstration"}}'


def check_where(where: Any) -> None:
    """Refuse a ``where`` that is not a table of conditions, naming the bad one."""
    if where is None:
        return
    if not isinstance(where, dict) or not all(isinstance(k, str) for k in where):
        raise EnsembleError(f"where must be a table of metadata conditions, e.g. "
                            f"where={WHERE_EXAMPLE}, got {_shown(where)}")
    for key, cond in where.items():
        if not isinstance(cond, dict):
            continue  # a value or a list of values: anything JSON can hold compares
        unknown = sorted(set(cond) - set(RANGE_KEYS))
        bounds = [cond[b] for b in ("min", "max") if b in cond]
        if unknown or not cond or not all(_number(b) for b in bounds):
            raise EnsembleError(f"where's condition on {key!r} must be a value, a list of "
                                f'values, or a table of "min"/"max" numbers and "not", '
                                f"got {_shown(cond)}")


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def matches(meta: dict[str, Any], where: dict[str, Any] | None) -> bool:
    """Whether a performance's metadata meet every condition of ``where`` (checked before)."""
    for key, cond in (where or {}).items():
        value = meta.get(key)
        if isinstance(cond, dict):
            if "not" in cond:
                excluded = cond["not"] if isinstance(cond["not"], list) else [cond["not"]]
                if value in excluded:
                    return False
            if "min" in cond or "max" in cond:
                if not _number(value) or value < cond.get("min", -math.inf) or \
                        value > cond.get("max", math.inf):
                    return False
        elif isinstance(cond, list):
            if value not in cond:
                return False
        elif value != cond:
            return False
    return True


# --- files ----------------------------------------------------------------------------------
def read_performances(path: str | Path, performers: int, where: dict[str, Any] | None = None
                      ) -> tuple[list[Performance], dict[str, int]]:
    """Performances in a JSONL or CSV file with exactly ``performers`` columns.

    Returns the performances and counts of those skipped, by reason (``"3 performers"``,
    ``"filtered"``). ``where`` keeps only JSONL lines whose metadata meet every condition
    (``matches``).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(f"cannot read ensemble file {p} ({e})") from None
    rows: list[tuple[dict, Performance]] = []
    if p.suffix.lower() == ".csv":
        table = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
        if table and not all(c.strip().lstrip("-").isdigit() for c in table[0]):
            table = table[1:]  # a header row of performer names
        try:
            rows.append(({}, [[int(c) for c in r] for r in table]))
        except ValueError:
            raise CorpusError(f"{p}: a CSV ensemble holds one integer per performer "
                              "and row") from None
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                steps = obj["gestures"] if isinstance(obj, dict) else obj
                rows.append((obj if isinstance(obj, dict) else {},
                             [[int(v) for v in s] for s in steps]))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                raise CorpusError(f"{p} line {n} is not an ensemble performance ({e}); "
                                  'expected {"gestures": [[v, ...], ...]}') from None
    kept: list[Performance] = []
    skipped: dict[str, int] = {}
    for meta, steps in rows:
        if where and not matches(meta, where):
            skipped["filtered"] = skipped.get("filtered", 0) + 1
            continue
        widths = {len(s) for s in steps}
        if not steps or widths != {performers}:
            why = f"{'/'.join(map(str, sorted(widths))) or 'no'} performers"
            skipped[why] = skipped.get(why, 0) + 1
            continue
        kept.append(steps)
    return kept, skipped


class EnsembleCodec(Codec):
    """``performers`` values of ``classes`` each per step; ``lead`` performers are given,
    ``predict`` performers (default: all others) are predicted from the lead and their
    own previous values. ``augment``: ``true`` adds every permutation of the predicted
    performers (3! = 6 arrangements of a quartet); ``"all"`` every seating of all of them, so
    that each performer is the lead in turn, as the course's gesture-RNN notebook trains
    (4! = 24 arrangements of a quartet, each performer the lead in 6).

    Args:
        performers: Performers per step (a quartet: 4).
        classes: Values each performer's gesture takes (Metatone's gestures: 9).
        lead: Indices of the performers given live (the input).
        predict: Indices of the performers the model predicts; None = all the others.
        augment: true: also train on every seating of the predicted performers (6x the data
            for a quartet); "all": each performer in turn as the lead, with every order of
            the others (24x); false: as recorded.
        where: Keep only the JSONL performances whose metadata meet these conditions: a
            value, a list of values (one of them), or {"min": a, "max": b, "not": v} (a range
            and/or values excluded), e.g. {"type": "improvisation", "context": {"not":
            "demonstration"}, "length_seconds": {"min": 60}}; None = all.
    """

    name = "ensemble"
    file_suffix = ".jsonl"

    def __init__(self, performers: int = 4, classes: int = 9, lead: Sequence[int] = (0,),
                 predict: Sequence[int] | None = None, augment: bool | str = False,
                 where: dict[str, Any] | None = None):
        if not _is_int(performers) or not 1 <= performers <= MAX_PERFORMERS:
            raise EnsembleError(f"performers must be a whole number in 1..{MAX_PERFORMERS}, "
                                f"got {_shown(performers)}")
        if not _is_int(classes) or not 2 <= classes <= MAX_CLASSES:
            raise EnsembleError(f"classes must be a whole number in 2..{MAX_CLASSES}, "
                                f"got {_shown(classes)}")
        lead = _indices("lead", lead, performers)
        predict = [i for i in range(performers) if i not in lead] if predict is None \
            else _indices("predict", predict, performers)
        check_where(where)
        if not lead or not predict or set(lead) & set(predict) or \
                len(set(lead + predict)) != len(lead + predict) or \
                not all(0 <= i < performers for i in lead + predict):
            raise EnsembleError(f"lead {lead} and predict {predict} must be distinct, non-empty "
                                f"sets of performer indices in 0..{performers - 1}")
        if classes ** (len(lead) + len(predict)) > 2**31 - NUM_SPECIAL:
            raise EnsembleError("too many input classes: use fewer performers or classes")
        if augment not in (False, True, "all"):
            raise EnsembleError(f'augment must be true, false or "all" (the lead too), got '
                                f"{_shown(augment)}")
        augment = augment if augment == "all" else bool(augment)  # old runs: true/false
        super().__init__(performers=performers, classes=classes, lead=lead, predict=predict,
                         augment=augment, where=where)
        self.k, self.lead, self.predict = classes, lead, predict
        seated = len(lead) + len(predict) if augment == "all" else len(predict)
        arrangements = math.factorial(seated) if augment else 1  # counted, not made
        if arrangements > MAX_ARRANGEMENTS:
            raise EnsembleError(f"augment would make {arrangements:,} arrangements of every "
                                f"performance (at most {MAX_ARRANGEMENTS}); predict fewer "
                                "performers or turn augment off")
        self.n_in, self.n_out = len(lead) + len(predict), len(predict)
        self.vocab = Vocabulary([])  # the specials only: the symbols are computed, not listed

    # --- files and items ----------------------------------------------------------------
    def read(self, path: str | Path) -> list[Performance]:
        perfs, skipped = read_performances(path, self.options["performers"],
                                           self.options["where"])
        if skipped:  # reported, never silent: a quartet model trained on trios would be wrong
            shown = ", ".join(f"{n} with {why}" if why != "filtered" else f"{n} filtered out"
                              for why, n in sorted(skipped.items()))
            print(f"note: {path}: kept {len(perfs)} performance(s); skipped {shown}",
                  file=sys.stderr)
        for perf in perfs:
            for step in perf:
                self._check(step)
        return perfs

    def write(self, item: Sequence[Performance], path: str | Path) -> None:
        atomic_write_text(path, "".join(json.dumps({"gestures": p}) + "\n" for p in item))

    def render(self, item: Sequence[Performance]) -> str:
        return "\n".join(" ".join(map(str, s)) for perf in item for s in perf)

    def _check(self, step: Sequence[int]) -> None:
        if len(step) != self.options["performers"]:
            raise EnsembleError(f"a step has {len(step)} values; this ensemble has "
                                f"{self.options['performers']} performers")
        pack(step, self.k)

    # --- ids ----------------------------------------------------------------------------
    def fit(self, items: Iterable[Any]) -> None:
        """Nothing to learn: every symbol of the mixed radix is in the vocabulary."""

    def encode_performance(self, perf: Performance) -> list[int]:
        """One id per step (lead at t, predicted at t-1) plus one closing id that carries the
        last step's predicted values (so every step's target is present and decode is exact)."""
        prev = [0] * self.n_out  # before the first step the ensemble is silent (class 0)
        ids = []
        for step in [*perf, None]:
            lead = [step[i] for i in self.lead] if step is not None else [0] * len(self.lead)
            ids.append(NUM_SPECIAL + pack(lead + prev, self.k))
            if step is not None:
                prev = [step[i] for i in self.predict]
        return ids

    def decode_performance(self, ids: Sequence[int]) -> Performance:
        """Inverse of ``encode_performance``: steps of ``lead + predict`` values."""
        digits = [unpack(int(i) - NUM_SPECIAL, self.n_in, self.k) for i in ids
                  if int(i) >= NUM_SPECIAL]
        nl = len(self.lead)
        return [d[:nl] + nxt[nl:] for d, nxt in zip(digits, digits[1:])]

    def _variants(self, perf: Performance) -> list[Performance]:
        """The performance in every seating augmentation trains on (itself alone if none).

        The players are interchangeable: any seating is a real ensemble, so each is another
        training performance. ``true`` reseats the predicted performers, ``"all"`` the lead
        too; seat order and packing stay those of the codec, so the targets do not change."""
        augment = self.options["augment"]
        if not augment:
            return [perf]
        seats = self.lead + self.predict if augment == "all" else self.predict
        out = []
        for order in itertools.permutations(seats):
            mapping = dict(zip(seats, order))  # seat -> the performer who takes it
            out.append([[s[mapping.get(i, i)] for i in range(len(s))] for s in perf])
        return out

    def parse(self, text: str) -> list[Performance]:
        """The text form (what ``render`` prints, and how a prime, a --call or an --input is
        typed): one step a line, one value per performer, separated by spaces or commas."""
        lines = [line for line in text.replace("\\n", "\n").splitlines() if line.strip()]
        if len(lines) > MAX_TEXT_STEPS:
            raise EnsembleError(f"{len(lines):,} steps is more than {MAX_TEXT_STEPS:,} in one "
                                "performance; give fewer")
        digits = len(str(self.k - 1))
        perf = []
        for n, line in enumerate(lines, 1):
            values = line.replace(",", " ").split()
            bad = next((v for v in values if not (v.isascii() and v.isdigit())
                        or len(v) > digits), None)  # checked before int()
            if bad is not None:
                raise EnsembleError(f"step {n}: value {_shown(bad)} is not a class "
                                    f"0..{self.k - 1}")
            perf.append([int(v) for v in values])
        return [perf]

    def encode(self, item: Sequence[Performance] | str, unknown: str = "error") -> list[int]:
        """All performances (and their augmented copies) one after another; a string is
        read as the text form (``parse``)."""
        if isinstance(item, str):
            item = self.parse(item)
        ids: list[int] = []
        for perf in item:
            for step in perf:
                self._check(step)
            for variant in self._variants(perf):
                ids += self.encode_performance(variant)
        return ids

    def decode(self, ids: Sequence[int]) -> list[Performance]:
        return [self.decode_performance(ids)]

    def token_text(self, i: int) -> str:
        if i < NUM_SPECIAL:
            return ""
        return " ".join(map(str, unpack(i - NUM_SPECIAL, self.n_in, self.k))) + "\n"

    @property
    def vocab_size(self) -> int:
        return NUM_SPECIAL + self.k**self.n_in

    @property
    def output_size(self) -> int:
        return self.k**self.n_out

    def next_input(self, output_id: int, history: Sequence[int]) -> int:
        """Co-writing: the predicted performers play ``output_id``; the lead is not known
        ahead, so it is taken to hold its last values (silence before the first step)."""
        last = int(history[-1]) - NUM_SPECIAL if history else -1
        lead = last % self.k ** len(self.lead) if last >= 0 else 0
        return NUM_SPECIAL + lead + self.k ** len(self.lead) * int(output_id)

    def target_table(self) -> np.ndarray:
        """Output class of each input id when it is the *next* input: its predicted part."""
        codes = np.arange(self.k**self.n_in)
        # the predicted values are the high digits: code // k^len(lead) is exactly their code
        targets = codes // self.k ** len(self.lead)
        return np.concatenate([np.full(NUM_SPECIAL, IGNORE), targets]).astype(np.int64)

    # --- live call-and-response ---------------------------------------------------------
    def live_input(self, values: Sequence[str], previous: Sequence[Any] | None) -> list[int]:
        if len(values) != len(self.lead):
            raise EnsembleError(f"expected {len(self.lead)} lead value(s), got {len(values)}")
        try:
            lead = [int(v) for v in values]
        except (TypeError, ValueError):
            raise EnsembleError(f"lead values must be integers 0..{self.k - 1}, "
                                f"got {_shown(' '.join(map(str, values)))}") from None
        prev = [int(v) for v in previous] if previous else [0] * self.n_out
        return [NUM_SPECIAL + pack(lead + prev, self.k)]

    def live_output(self, output_id: int) -> list[int]:
        return unpack(int(output_id), self.n_out, self.k)

    def live_never(self) -> list[int]:
        return []  # the output classes have no special tokens

    # --- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "options": self.options}

    def load_state(self, data: dict[str, Any]) -> None:
        """The vocabulary follows from the options; nothing else to restore."""
