"""The Write view's API: the model's proposals for what comes after the person's text.

POST /api/continue {model, prime, k, unit, length, method, temperature, seed} ->
{prime_ids, unit, alternatives: [{ids, text, logprob, prob, complete, notes}]}: the k most
likely continuations (sampling/cowrite.py), best first. ``notes`` (music runs) are the
notes each alternative adds, for a small piano roll; None otherwise. The routes are guarded
like every other (guard.Guard: Host, Origin, the page's token; JSON only; bounded fields) and
share the generation counter, so proposals and streams together stay within its limit.

POST /api/copied {model, text} -> {chars, spans: [{start, end, text, source}]}: the spans of
the text found verbatim in the run's training corpus (novelty/, the copy meter), as
character offsets when the codec's tokens spell the text (char, word: ``chars`` true), else
as token offsets with each span's text. The source names a file and line, never a folder.
With ``"against": "parent"`` (a run fine-tuned with train --from) the spans are those found in
the parent's training corpus instead of the run's own.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..novelty import AGAINST, copied_spans
from ..sampling.cowrite import (
    DEFAULT_LENGTH,
    MAX_CONTINUATION,
    MAX_K,
    MAX_WIDTH,
    METHODS,
    new_notes,
)
from .guard import ApiError, fields, json_body, public

MAX_PAGE_K = 10  # alternatives the page lists: more is a wall of text, and costs rows


def _spec(limits) -> dict:
    return {
        "model": (str, ..., None, 200), "prime": (str, "", None, limits.max_prime),
        "k": (int, 5, 1, min(MAX_K, MAX_PAGE_K)), "unit": (str, "token", None, 20),
        "length": (int, None, 1, min(MAX_CONTINUATION, limits.max_length)),
        "method": (str, "beam", None, 10), "width": (int, None, 1, MAX_WIDTH),
        "temperature": (float, 1.0, 0.01, 5.0), "seed": (int, None, 0, 2**31 - 1),
    }


async def propose(request: Request) -> Response:
    studio = request.app.state.studio
    opts = fields(await json_body(request), _spec(studio.limits))
    m = studio.model(opts.pop("model"))
    if opts["length"] is None:  # the studio's own cap holds for the default too
        opts["length"] = min(DEFAULT_LENGTH, studio.limits.max_length)
    if opts["method"] not in METHODS:
        raise ApiError(f"method={opts['method']!r}: choose {' or '.join(METHODS)}")
    studio.generations.acquire()
    try:
        body = await anyio.to_thread.run_sync(_answer, m, opts)
    finally:
        studio.generations.release()
    return JSONResponse(body)


def _answer(m, opts: dict) -> dict:
    """Run in a worker thread: a beam over a bar of music is a few hundred network steps."""
    gen, prime = m.gen, opts.pop("prime")
    found = gen.continuations(prime, **{k: v for k, v in opts.items() if v is not None
                                        or k == "unit"})
    prime_ids = gen.prime_ids(prime, "error")
    alternatives = []
    for c in found:
        row = c.to_json()
        row["notes"] = new_notes(gen.codec, prime_ids, c.ids) if m.music else None
        alternatives.append(row)
    return {"prime_ids": prime_ids, "unit": opts["unit"], "units": list(gen.codec.units),
            "alternatives": alternatives}


async def copied(request: Request) -> Response:
    studio = request.app.state.studio
    spec = {"model": (str, ..., None, 200), "text": (str, ..., None, 2 * studio.limits.max_prime),
            "against": (str, "corpus", None, 10)}
    req = fields(await json_body(request), spec)
    if req["text"] is None:
        raise ApiError("text must be str, got null")
    if req["against"] not in AGAINST:
        raise ApiError(f"against={req['against']!r}: choose {' or '.join(AGAINST)}")
    m = studio.model(req["model"])
    studio.generations.acquire()
    try:  # the first call on a run builds its corpus index: seconds for a big corpus
        body = await anyio.to_thread.run_sync(_copied, m, req["text"], req["against"])
    finally:
        studio.generations.release()
    return JSONResponse(body)


def _copied(m, text: str, against: str = "corpus") -> dict:
    codec = m.gen.codec
    if not text.strip():
        return {"chars": True, "spans": []}
    ids = codec.encode(text, unknown="unk")  # an unknown token is never a copy
    try:
        tokens = codec.tokenize(text)
    except NotImplementedError:  # a codec that reads text its own way (ensemble: a step a
        tokens = []  # line) has no tokens that spell it: its spans stay in tokens
    # char and word tokens spell the text, so token spans map to characters; music phrases
    # do not (``C4:4`` is four steps), so their spans stay in tokens, with their text
    chars = len(tokens) == len(ids) and sum(map(len, tokens)) == len(text)
    ends = [0]
    for t in tokens if chars else []:
        ends.append(ends[-1] + len(t))
    spans = []
    for start, end, source in copied_spans(m.gen, ids=ids, against=against):
        piece = "".join(codec.token_text(i) for i in ids[start:end])
        if chars:
            start, end, piece = ends[start], ends[end], text[ends[start]:ends[end]]
        spans.append({"start": start, "end": end, "text": piece, "source": public(source)})
    return {"chars": chars, "spans": spans}


async def units(request: Request) -> Response:
    """GET -> {model name: [units]}: what the page offers for each served model."""
    studio = request.app.state.studio
    return JSONResponse({name: list(m.gen.codec.units) for name, m in studio.models.items()})


def routes() -> list[Route]:
    return [Route("/api/continue", propose, methods=["POST"]),
            Route("/api/copied", copied, methods=["POST"]),
            Route("/api/units", units, methods=["GET"])]
