"""The Music view's score: POST /api/score {model, ids} -> the sample engraved as SVG.

The SVG comes from the codec's ``score_svg`` (codecs/score.py: music21 spells the notes,
Verovio draws them). It is made on request, one sample at a time, for the sample the page
shows: engraving takes a second or so, which the ``done`` event of every generation should
not wait for.

Verovio's SVG is built from our own notes, but the page still never puts it into its DOM as
markup: it shows it through an <img> from a blob: URL, where an SVG cannot run scripts or
reach the page. The answer itself forbids scripts too (its Content-Security-Policy), should it
ever be opened on its own.

One score must not take the server: the ids are bounded by the longest sample this studio
makes, the notes by codecs/score.py's limits before any engraving (a one-line 400 each), and
Verovio engraves in a child process killed at its time limit, so the event loop answers other
requests meanwhile (Verovio holds the GIL: in a worker thread it stopped them all).
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..codecs import MAX_PHRASE_TOKENS
from .guard import ApiError, fields, json_body

# guard.Guard adds nosniff and its own policy to every answer; this one adds "no scripts"
SVG_HEADERS = {"Cache-Control": "no-store",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


async def engrave(request: Request) -> Response:
    studio = request.app.state.studio
    # the longest sample this studio makes: max_length new tokens after a prime of at most
    # max_prime characters (a token at most each) or a music phrase's MAX_PHRASE_TOKENS
    most = studio.limits.max_length + max(studio.limits.max_prime, MAX_PHRASE_TOKENS)
    spec = {"model": (str, ..., None, 200), "ids": (list, ..., None, most)}
    req = fields(await json_body(request), spec)
    m = studio.model(req["model"])
    if not m.music:
        raise ApiError(f"{m.name} is not a music model: it has no score")
    V = m.gen.codec.vocab_size
    ids = req["ids"]
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < V for i in ids):
        raise ApiError(f"ids must be integers in [0, {V}) for {m.name}")
    # shares the generations' limit: music21 and Verovio are as heavy as a short sample
    studio.generations.acquire()
    try:
        svg = await anyio.to_thread.run_sync(_svg, m.gen.codec, ids)
    finally:
        studio.generations.release()
    return Response(svg, media_type="image/svg+xml", headers=SVG_HEADERS)


def _svg(codec, ids: list[int]) -> str:
    """Run in a worker thread: music21's part here (pure Python, which lets the event loop
    run), Verovio's in a child process that this thread waits for."""
    # too many notes, no notes, Verovio's time or size limit: a SamplingError (a UserError),
    # which becomes a one-line 400
    return codec.score_svg(codec.decode(ids))


def routes() -> list[Route]:
    return [Route("/api/score", engrave, methods=["POST"])]
