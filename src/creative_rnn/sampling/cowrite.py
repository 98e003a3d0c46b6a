"""Co-writing: the k most likely continuations of a prime, each with its probability.

A continuation stops at the end of one codec *unit* (``Codec.units``: a token always; a word
for text, a bar for music), at ``</s>`` in documents mode, or after ``length`` tokens (then
it is marked incomplete). ``unit=None`` asks for exactly ``length`` tokens. A unit is searched
under the constraints the codec says make it whole (``Codec.unit_constraints``: an ABC bar
under complete bars, so it is a whole bar of the meter, the one the prime left open
finished).

Two ways to find them:

- ``beam``: beam search of ``width`` rows (at least k). Every row is scored by the sum of the
  model's own log-probabilities, so a finished continuation beats any unfinished row it
  already outscores (extending a row only lowers its score): the search stops as soon as
  the k best are finished. At each step every row also tries its k likeliest ids among
  those that can end a unit (``Codec.unit_closers``: a space, a bar line), so a word is
  found even when its closing space is never among the likeliest next tokens.
- ``sample``: ``width`` rows drawn at ``temperature`` / ``top_k`` / ``top_p``, the distinct
  ones kept and ranked by the same log-probability.

The log-probability is always the model's, at temperature 1, over its whole output
(special tokens a sample never shows included): these are the numbers the model assigns,
not the reshaped ones a draw used. Which ids may come at all follows sampling: never the
special tokens a sample never shows, nor what the codec's own processors forbid.
Continuations are prefix-free (each stops at its first unit boundary), so their
probabilities sum to at most 1.

The prime is fed once (one step of work per prime token); each new token costs one step of
the network for the whole batch of rows, as in generator.py. The step is the eager PyTorch
one: beams reorder and grow rows at every step, which the compiled loops do not do.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ..config import SampleConfig
from ..core.device import small_step_threads
from ..core.logits import choose, temperature, top_k, top_p
from ..errors import SamplingError

METHODS = ("beam", "sample")
MAX_K = 32  # alternatives one call returns: a list a person can read
MAX_WIDTH = 64  # beam rows (and draws) per step: each costs a row of every step
MAX_CONTINUATION = 1024  # tokens in one continuation: a bar of a dense performance fits
DEFAULT_LENGTH = 128  # enough for a word, a folk-tune bar, a melody or performance bar
DRAWS_PER_K = 4  # sampling draws this many rows per alternative asked, to find k distinct


@dataclass(frozen=True)
class Continuation:
    """New ids after the prime (input ids: what decoding the whole piece needs), their text,
    and the model's log-probability of them given the prime."""

    ids: list[int]
    text: str
    logprob: float  # natural log
    complete: bool  # ended a whole unit (or </s>), not cut at ``length``
    outputs: list[int] = field(default_factory=list)  # the model's answers (== ids for a
    # language model; ensemble codecs feed back another id than the class they answer)

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)

    def to_json(self) -> dict[str, Any]:
        return {"ids": self.ids, "text": self.text, "logprob": self.logprob,
                "prob": self.prob, "complete": self.complete}


def check(k: int, unit: str | None, length: int | None, method: str, width: int | None,
          codec) -> tuple[int, int]:
    """Bounds checked before any work; returns (length, width). One-line errors name the
    option and its range."""
    def whole(name: str, value: Any, low: int, high: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SamplingError(f"{name} must be a whole number in {low}..{high}, "
                                f"got {value!r}")
    whole("k", k, 1, MAX_K)
    if method not in METHODS:
        raise SamplingError(f"method={method!r}: choose {' or '.join(METHODS)}")
    if unit is not None and unit not in codec.units:
        raise SamplingError(f"unit={unit!r}: the {codec.name} codec knows "
                            f"{', '.join(codec.units)} (or none, for a fixed length)")
    length = DEFAULT_LENGTH if length is None else length
    whole("length", length, 1, MAX_CONTINUATION)
    width = k if width is None else width
    whole("width", width, k, MAX_WIDTH)
    return length, width


def continuations(gen, prime: Any = "", k: int = 5, unit: str | None = "token",
                  length: int | None = None, method: str = "beam", width: int | None = None,
                  temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
                  seed: int | None = None, unknown: str = "error") -> list[Continuation]:
    """The ``k`` most likely continuations of ``prime`` for a Generator ``gen``, best first.

    ``unit``: one of ``gen.codec.units`` or None (exactly ``length`` tokens); ``length``: the
    most tokens one continuation may take (default ``DEFAULT_LENGTH``, at most
    ``MAX_CONTINUATION``); ``method``: "beam" (``width`` rows, default k) or "sample"
    (``width`` draws, default ``DRAWS_PER_K`` x k, at the given temperature, top_k, top_p
    and seed). Fewer than k come back when fewer distinct ones exist (or were drawn)."""
    codec = gen.codec
    if method == "sample" and width is None and isinstance(k, int):
        width = min(MAX_WIDTH, max(k, DRAWS_PER_K * k))
    length, width = check(k, unit, length, method, width, codec)
    sc = SampleConfig(length=length, num=width, temperature=temperature, top_k=top_k,
                      top_p=top_p, seed=seed)
    sc.validate()  # the sampling options' own bounds and messages
    if unknown not in ("error", "skip"):
        raise SamplingError(f"unknown={unknown!r}: choose error or skip")
    prime_ids = gen.prime_ids(prime, unknown)
    search = _Search(gen, prime_ids, unit, length)
    if method == "beam":
        return search.beam(k, width)
    seed = sc.seed if sc.seed is not None else int.from_bytes(os.urandom(4), "little")
    return search.sample(k, sc, seed)


def new_notes(codec, prime_ids: Sequence[int], ids: Sequence[int]) -> list[list] | None:
    """The notes a continuation adds to the prime's (pitch, start_s, end_s, velocity), for a
    piano roll of the alternative; None for a codec that is not music or a piece it cannot
    read yet (an unfinished ABC tune, say). A note the continuation lengthens counts as new."""
    if not codec.is_music:
        return None
    try:
        before = codec.notes(codec.decode(list(prime_ids))) or []
        after = codec.notes(codec.decode(list(prime_ids) + list(ids))) or []
    except Exception:  # noqa: BLE001 - a piece cut mid-bar may not parse; no roll then
        return None
    left = [tuple(n) for n in before]
    out = []
    for n in after:
        if tuple(n) in left:
            left.remove(tuple(n))
        else:
            out.append(list(n))
    return out


# --- the search ------------------------------------------------------------------------------
@dataclass
class _Row:
    ids: list[int]
    outputs: list[int]
    logprob: float
    complete: bool = False


class _Search:
    """One prime, fed once; rows of continuations stepped together."""

    def __init__(self, gen, prime_ids: list[int], unit: str | None, length: int):
        self.gen, self.codec, self.model = gen, gen.codec, gen.model
        self.prime_ids, self.unit, self.length = prime_ids, unit, length
        lm = self.codec.output_size == self.codec.vocab_size
        self.never = gen._never() if lm else self.codec.live_never()
        self.eos = self.codec.vocab.eos if gen.documents and lm else None
        # the codec's own masks, and what makes a unit whole (ABC's bar: complete bars, so
        # a bar ends at the bar line that closes a whole bar, not after its first note)
        self.domain = self.codec.logits_processors(
            **(self.codec.unit_constraints(unit) if unit is not None else {}))
        # the ids that can end a unit (None: any; </s> always ends one)
        closers = self.codec.unit_closers(unit) if unit is not None else []
        if closers is not None and self.eos is not None:
            closers = [*closers, self.eos]
        self.closers = None if closers is None else torch.tensor(closers, dtype=torch.long,
                                                                 device=gen.device)
        with torch.no_grad():
            x = torch.tensor([prime_ids], device=gen.device)
            logits, self.state = self.model(x, None)
        self.logits = logits[:, -1].float()

    def _logprobs(self, logits: torch.Tensor, rows: list[_Row]
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the model's log-probabilities, the same with -inf where an id may not come: the
        special tokens a sample never shows, and what the codec forbids, such as a melody's
        notes out of range). The codec's processors only choose ids; scores stay the model's."""
        lp = torch.log_softmax(logits.float(), -1)
        z = lp.clone()
        z[:, self.never] = float("-inf")
        histories = [self.prime_ids + r.ids for r in rows]
        for proc in self.domain:
            z = proc(z, histories)
        return lp, torch.where(torch.isfinite(z), lp, torch.full_like(lp, float("-inf")))

    def _extend(self, row: _Row, out: int, lp: float) -> _Row:
        fed = self.codec.next_input(out, self.prime_ids + row.ids)
        ids = row.ids + [fed]
        done = (out == self.eos) or (self.unit is not None
                                     and self.codec.unit_done(self.unit, ids))
        return _Row(ids, row.outputs + [out], row.logprob + lp, done)

    def _repeat(self, n: int) -> None:
        """The prime's state and next-token scores in each of ``n`` rows."""
        index = torch.zeros(n, dtype=torch.long, device=self.gen.device)
        self.state = self.model.select_state(self.state, index)
        self.logits = self.logits[index]

    @torch.no_grad()
    def _advance(self, parents: list[int], rows: list[_Row]) -> None:
        """Reorder the state to ``parents`` and feed each row's newest id."""
        index = torch.tensor(parents, device=self.gen.device)
        state = self.model.select_state(self.state, index)
        x = torch.tensor([[r.ids[-1]] for r in rows], device=self.gen.device)
        with small_step_threads(self.gen.device, len(rows)):
            logits, self.state = self.model(x, state)
        self.logits = logits[:, -1].float()

    def beam(self, k: int, width: int) -> list[Continuation]:
        alive, done = [_Row([], [], 0.0)], []
        for _ in range(self.length):
            _, allowed = self._logprobs(self.logits, alive)
            scores = allowed + torch.tensor([r.logprob for r in alive],
                                            device=allowed.device).unsqueeze(1)
            tried: set[tuple[int, int]] = set()
            done += self._finishers(alive, allowed, scores, k, tried)
            flat = scores.flatten()
            n = min(width, int(torch.isfinite(flat).sum()))
            if n == 0:
                break
            V = scores.size(1)
            new, parents = [], []
            for i in torch.topk(flat, n).indices.tolist():
                parent, out = divmod(i, V)
                if (parent, out) in tried:
                    continue  # a finisher already taken, or one that does not finish
                row = self._extend(alive[parent], out, float(allowed[parent, out]))
                if row.complete:
                    done.append(row)
                else:
                    new.append(row)
                    parents.append(parent)
            done = sorted(done, key=lambda r: -r.logprob)[:k]
            # every unfinished row only loses probability from here: stop when the k
            # finished ones beat the best of them
            if not new or (len(done) >= k and done[-1].logprob >= new[0].logprob):
                alive = []
                break
            alive = new
            self._advance(parents, alive)
        rows = sorted(done + alive, key=lambda r: -r.logprob)[:k]
        return [self._result(r) for r in rows]

    def _finishers(self, alive: list[_Row], allowed: torch.Tensor, scores: torch.Tensor,
                   k: int, tried: set[tuple[int, int]]) -> list[_Row]:
        """Each row's k likeliest extensions among the ids that can end a unit, kept when
        they do. Without this a beam of likely letters never tries the unlikely space that
        ends a word, and returns long unfinished rows far less probable than a short word."""
        if self.closers is not None and not len(self.closers):
            return []
        sub = scores if self.closers is None else scores[:, self.closers]
        top = torch.topk(sub, min(k, sub.size(1)), dim=1)
        found = []
        for parent, (values, columns) in enumerate(zip(top.values.tolist(),
                                                       top.indices.tolist())):
            for value, j in zip(values, columns):
                if not math.isfinite(value):
                    break
                out = j if self.closers is None else int(self.closers[j])
                tried.add((parent, out))
                row = self._extend(alive[parent], out, float(allowed[parent, out]))
                if row.complete:
                    found.append(row)
                else:  # tried, and not a unit's end: it may still be kept as a beam
                    tried.discard((parent, out))
        return found

    def sample(self, k: int, sc: SampleConfig, seed: int) -> list[Continuation]:
        gen = torch.Generator(device=self.gen.device).manual_seed(seed)
        procs = [temperature(sc.temperature), top_k(sc.top_k), top_p(sc.top_p)]
        rows = [_Row([], [], 0.0) for _ in range(sc.num)]
        self._repeat(sc.num)
        active = list(range(sc.num))
        for _ in range(self.length):
            lp, allowed = self._logprobs(self.logits, [rows[i] for i in active])
            z = allowed
            for proc in procs:
                z = proc(z, [])
            picks = choose(z, False, gen).tolist()
            keep = []
            for j, (row_i, out) in enumerate(zip(active, picks)):
                rows[row_i] = self._extend(rows[row_i], out, float(lp[j, out]))
                if not rows[row_i].complete:
                    keep.append(j)
            if not keep:
                break
            active = [active[j] for j in keep]
            self._advance(keep, [rows[i] for i in active])
        best: dict[tuple[int, ...], _Row] = {}
        for r in rows:
            best.setdefault(tuple(r.ids), r)
        ranked = sorted(best.values(), key=lambda r: -r.logprob)[:k]
        return [self._result(r) for r in ranked]

    def _result(self, r: _Row) -> Continuation:
        text = "".join(self.codec.token_text(i) for i in r.ids)
        return Continuation(r.ids, text, r.logprob, r.complete, r.outputs)
