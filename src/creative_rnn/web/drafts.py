"""The Write view's drafts: what a person writes, kept in the library as they type.

A draft is a piece of the library (maker ``studio-write``, marked a draft, with its model's
run and weights) whose text is replaced in place on every save, in one SQLite transaction:
a reload, a closed tab or a killed server loses only what the page had not sent yet (it
sends about a second after typing stops, and at once when the tab is hidden or closed).
A model may have any number of drafts; the page lists them, switches, starts new ones and
deletes them. Drafts are not pieces: the Library view does not list them.

GET /api/drafts?model=NAME -> {drafts: [{id, model, title, updated}]}, the latest saved first
POST /api/drafts {model, text} -> 201 {draft}: a new draft of that model
GET /api/drafts/{id} -> {draft: {id, model, title, updated, text}}
POST /api/drafts/{id} {text} -> {draft} (without its text): saved
DELETE /api/drafts/{id} -> {deleted: id}
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .guard import ApiError, fields, json_body
from .library import call, library_of, model_of, piece_id, provenance

MAX_CHARS = 20_000  # one draft: a long page of a tune book; at 3 UTF-8 bytes a character it
# still fits a request (guard.Limits.max_body, 64 KB)
TITLE_CHARS = 60  # the list shows a draft by its first line, cut to this


def described(studio, draft: dict[str, Any], text: bool = False) -> dict[str, Any]:
    """A draft as the page sees it: its id, model (served name), title and time."""
    body = draft.get("text") if draft.get("text") is not None else draft.get("preview", "")
    first = next((line.strip() for line in (body or "").splitlines() if line.strip()), "")
    m = model_of(studio, draft)
    out = {"id": draft["id"], "model": m.name if m else None, "title": first[:TITLE_CHARS],
           "updated": draft.get("updated") or draft.get("created")}
    if text:
        out["text"] = draft.get("text") or ""
    return out


async def _draft(request: Request) -> dict[str, Any]:
    lib, pid = library_of(request), piece_id(request)
    draft = await call(lib.get, pid)
    if not draft.get("draft"):
        raise ApiError(f"no draft {pid}: it is a piece of the library, not a draft", 404)
    return draft


async def listing(request: Request) -> Response:
    studio, lib = request.app.state.studio, library_of(request)
    unknown = sorted(set(request.query_params) - {"model"})
    if unknown or "model" not in request.query_params:
        raise ApiError("give the model: /api/drafts?model=NAME")
    m = studio.model(request.query_params["model"])
    rows = await call(lib.drafts, run=provenance(m)["run"])
    return JSONResponse({"drafts": [{**described(studio, r), "model": m.name} for r in rows]})


async def create(request: Request) -> Response:
    studio, lib = request.app.state.studio, library_of(request)
    req = fields(await json_body(request), {"model": (str, ..., None, 200),
                                            "text": (str, "", None, MAX_CHARS)})
    m = studio.model(req["model"])
    run = {k: v for k, v in provenance(m).items() if k != "run"}
    pid = await call(lib.save_draft, req["text"] or "", provenance(m)["run"], **run)
    return JSONResponse({"draft": described(studio, await call(lib.get, pid))},
                        status_code=201)


async def one(request: Request) -> Response:
    return JSONResponse({"draft": described(request.app.state.studio, await _draft(request),
                                            text=True)})


async def save(request: Request) -> Response:
    req = fields(await json_body(request), {"text": (str, ..., None, MAX_CHARS)})
    if req["text"] is None:
        raise ApiError("text must be str, got null")
    draft = await _draft(request)
    lib = library_of(request)
    await call(lib.save_draft, req["text"], draft.get("run"), draft_id=draft["id"])
    return JSONResponse({"draft": described(request.app.state.studio,
                                            await call(lib.get, draft["id"]))})


async def delete(request: Request) -> Response:
    draft = await _draft(request)
    await call(library_of(request).remove, draft["id"])
    return JSONResponse({"deleted": draft["id"]})


def routes() -> list[Route]:
    return [Route("/api/drafts", listing, methods=["GET"]),
            Route("/api/drafts", create, methods=["POST"]),
            Route("/api/drafts/{id}", one, methods=["GET"]),
            Route("/api/drafts/{id}", save, methods=["POST"]),
            Route("/api/drafts/{id}", delete, methods=["DELETE"])]
