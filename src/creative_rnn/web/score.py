"""The Music view's score: POST /api/score {model, ids} -> the sample engraved as SVG.

The SVG comes from codecs/score.py (music21 spells the notes, Verovio draws them). It is made
on request, one sample at a time, for the sample the page shows: engraving takes a second or
so, which the ``done`` event of every generation should not wait for.

Verovio's SVG is built from our own notes, but the page still never puts it into its DOM as
markup: it shows it through an <img> from a blob: URL, where an SVG cannot run scripts or
reach the page. The answer itself forbids scripts too (its Content-Security-Policy), should it
ever be opened on its own.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..codecs import score
from .guard import ApiError, fields, json_body

# guard.Guard adds nosniff and its own policy to every answer; this one adds "no scripts"
SVG_HEADERS = {"Cache-Control": "no-store",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


async def engrave(request: Request) -> Response:
    studio = request.app.state.studio
    spec = {"model": (str, ..., None, 200), "ids": (list, ..., None, 20_000)}
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
    """Run in a worker thread (codecs/score.py makes a fresh Verovio toolkit per call)."""
    item = codec.decode(ids)
    if not codec.notes(item):
        raise ApiError("this sample has no notes to engrave")
    return score.svg(codec, item)  # a SamplingError (a UserError) becomes a one-line 400


def routes() -> list[Route]:
    return [Route("/api/score", engrave, methods=["POST"])]
