"""The studio's Library view: the pieces in the library (creative_rnn.library), curated from
the page, and training on the starred ones.

GET /api/library?run=&tag=&q=&starred=&limit=&offset= -> {pieces, total, runs, tags}: whole
    pieces, newest first; ``runs`` and ``tags`` [{name, count}] are the filters' choices
GET /api/library/{id} -> {piece}: with its token ids and, for music, its notes (``roll``)
POST /api/library/{id}/star {star} -> {piece}
POST /api/library/{id}/tags {add, remove} -> {piece}
DELETE /api/library/{id} -> {removed: id}
GET /api/library/{id}/file?format=F -> the piece as a file, as its codec writes it
POST /api/library/train {model, name, mix, max_steps} -> 201 {job, pieces}: a new run from
    the model's weights on its starred pieces (library.train_on_favourites), trained and
    followed like every run started from the page (web/training.py)

A page sees pieces by id and runs by name only: ``library.for_page`` drops the server's
paths, and a run is named as the studio serves it (or by its folder's name). A piece is
played, scored, downloaded and written on through the served model of its run (matched by
the run's resolved folder), so what the page can do with a piece is what that model can.

The generation route records what it makes here (``record_generated``): the run, its
weights' checksum and step, the seed (drawn by the studio when the page gave none), every
sampling setting. A library that cannot be written never stops a generation: the sample
says why it was not kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import library
from ..library import LibraryError
from ..library.provenance import run_fields, sample_piece
from . import training
from .download import file_response
from .guard import ApiError, fields, json_body, log_internal, public

PAGE = 50  # pieces one answer holds by default
MAX_PAGE = 200  # and at most: each is a whole piece
MAX_MIX = 0.9  # the run's own corpus may be most of the new corpus, never all of it
MAX_TAGS = 20  # tags one request adds or removes


def open_library(where: str | Path | bool | None) -> tuple[library.Library | None, str | None]:
    """The studio's library and, when there is none, why. ``where``: a path, None for the
    default place (library.location), False to switch it off. Nothing is opened yet: a
    locked or damaged file is reported by the request that meets it."""
    path = None if where is False else library.location(where)
    if path is None and where is not None:  # False, or "off" (cli/library.library_arg)
        return None, "the studio was started with --no-library"
    if path is None:
        return None, "recording is switched off ($CREATIVE_RNN_LIBRARY=off)"
    return library.Library(path), None


def library_of(request: Request) -> library.Library:
    studio = request.app.state.studio
    if studio.library is None:
        raise ApiError(f"there is no library: {studio.library_off}", 403)
    return studio.library


async def call(fn, *args, **kw) -> Any:
    """A library call in a worker thread (SQLite may wait for another writer's lock), its
    errors one line for the page: a missing piece 404, anything else 503."""
    try:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kw))
    except LibraryError as e:
        # library.pieces words a missing piece "no piece N in the library" (LibraryError has
        # no subclass for it; asked for in the report)
        raise ApiError(public(str(e)), 404 if str(e).startswith("no piece") else 503) from None


def piece_id(request: Request) -> int:
    raw = request.path_params["id"]
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(f"no piece {raw[:40]!r}: piece ids are whole numbers", 404)
    return int(raw)


# --- the served runs and their pieces ---------------------------------------------------------
def provenance(m) -> dict[str, Any]:
    """The run fields of a served model's pieces, read once per model (a header read)."""
    if getattr(m, "provenance", None) is None:
        m.provenance = run_fields(m.run, m.gen)
    return m.provenance


def model_of(studio, piece: dict[str, Any]):
    """The served model that made ``piece`` (same run folder), or None."""
    for m in studio.models.values():
        mine = provenance(m)
        if piece.get("run_path") and piece["run_path"] == mine["run_path"]:
            return m
        if piece.get("starter") and piece["starter"] == mine["starter"]:
            return m
    return None


def run_names(studio, runs: list[tuple[str, int]]) -> dict[str, tuple[str, int]]:
    """The library's runs (as recorded) under names a page may see -> (run, count): the
    served name where the studio serves it, else the folder's name, made unique."""
    served = {}
    for m in studio.models.values():
        p = provenance(m)
        served.update({p["run"]: m.name, p["run_path"]: m.name})
        if p["starter"]:
            served[p["starter"]] = m.name
    out: dict[str, tuple[str, int]] = {}
    for run, count in runs:
        base = served.get(run) or Path(str(run)).name or "run"
        name, n = base, 2
        while name in out:
            name, n = f"{base}-{n}", n + 1
        out[name] = (run, count)
    return out


def for_page(studio, piece: dict[str, Any], full: bool = False) -> dict[str, Any]:
    """A piece as the page sees it: no paths, its run by name, the served model that made it
    (for play, score, Write and downloads) and the formats it downloads as. ``full``: with
    its token ids and, for music, its notes."""
    m = model_of(studio, piece)
    out = library.for_page(piece)
    out.pop("files", None)  # names of files on the server: of no use to a page
    if m is not None:
        out["run"] = m.name
    out.update(model=m.name if m else None, formats=m.formats if m and piece.get("ids") else [],
               music=bool(m and m.music))
    if not full:
        out.pop("ids", None)
    elif m is not None and m.music and piece.get("ids"):
        try:
            notes = m.gen.codec.notes(m.gen.codec.decode(piece["ids"]))
            out["roll"] = [list(n) for n in notes]
        except Exception as e:  # noqa: BLE001 - a piece that no longer decodes: no roll
            log_internal(f"the notes of piece {piece.get('id')}", e)
            out["roll"] = []
    return out


# --- recording what the studio makes -----------------------------------------------------------
def record_generated(studio, m, prime: str, ids: list[list[int]], opts: dict[str, Any],
                     constraints: dict[str, bool]) -> tuple[list[int | None], str | None]:
    """Keep the samples of one generation; their piece ids (None each when not kept) and
    why not. Never raises: the samples are shown whatever the library does."""
    if studio.library is None:
        return [None] * len(ids), None
    try:
        options = {k: opts[k] for k in ("temperature", "top_k", "top_p", "greedy")}
        options["constraints"] = constraints
        pieces = [sample_piece(m.gen, provenance(m)["run"], seq, maker="studio-generate",
                               seed=opts["seed"], options=options, length=opts["length"],
                               num=opts["num"], index=i, prime=prime, last=False, draws="one")
                  for i, seq in enumerate(ids)]
    except Exception as e:  # noqa: BLE001 - provenance that cannot be read: not kept
        log_internal("recording a generation", e)
        return [None] * len(ids), "not kept in the library: its provenance could not be read"
    done = library.record(pieces, studio.library)
    if done.why:
        return [None] * len(ids), public(f"not kept in the library: {done.why}")
    return list(done.ids), None


# --- routes ---------------------------------------------------------------------------------
def _flag(value: str | None, name: str) -> bool | None:
    if value in (None, ""):
        return None
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise ApiError(f"{name}={value[:20]!r}: give true or false")


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    if not value.isdigit() or len(value) > 9 or not low <= int(value) <= high:
        raise ApiError(f"{name}={value[:20]!r}: give a whole number in [{low}, {high}]")
    return int(value)


async def listing(request: Request) -> Response:
    studio, lib = request.app.state.studio, library_of(request)
    q = request.query_params
    unknown = sorted(set(q) - {"run", "tag", "q", "starred", "limit", "offset"})
    if unknown:
        raise ApiError(f"unknown parameter(s) {', '.join(unknown)[:100]}; allowed: run, tag, q, "
                       "starred, limit, offset")
    limit = _int(q.get("limit"), "limit", PAGE, 1, MAX_PAGE)
    offset = _int(q.get("offset"), "offset", 0, 0, 10**9)
    starred = _flag(q.get("starred"), "starred")
    search = q.get("q") or None
    if search is not None and len(search) > 200:
        raise ApiError("q is too long (200 characters at most)")

    def work() -> dict[str, Any]:
        runs = run_names(studio, lib.runs())
        run = None
        if q.get("run"):
            if q["run"] not in runs:
                raise ApiError(f"no pieces of a run named {q['run'][:60]!r}", 404)
            run = runs[q["run"]][0]
        filters = dict(starred=starred or None, tag=q.get("tag") or None, run=run,
                       search=search)
        rows = lib.list(**filters, limit=limit, offset=offset)
        pieces = [for_page(studio, lib.get(r["id"])) for r in rows]
        return {"pieces": pieces, "total": lib.count(**filters),
                "runs": [{"name": k, "count": v[1]} for k, v in runs.items()],
                "tags": [{"name": t, "count": n} for t, n in lib.tags()]}
    return JSONResponse(await call(work))


async def one(request: Request) -> Response:
    studio, lib, pid = request.app.state.studio, library_of(request), piece_id(request)
    piece = await call(lib.get, pid)
    if piece.get("draft"):
        raise ApiError(f"no piece {pid}: it is a Write draft", 404)
    return JSONResponse({"piece": await anyio.to_thread.run_sync(for_page, studio, piece, True)})


async def star(request: Request) -> Response:
    studio, lib, pid = request.app.state.studio, library_of(request), piece_id(request)
    req = fields(await json_body(request), {"star": (bool, True, None, None)})
    await call(lib.star, pid, bool(req["star"]))
    return JSONResponse({"piece": for_page(studio, await call(lib.get, pid))})


async def tags(request: Request) -> Response:
    studio, lib, pid = request.app.state.studio, library_of(request), piece_id(request)
    req = fields(await json_body(request), {"add": (list, [], None, MAX_TAGS),
                                            "remove": (list, [], None, MAX_TAGS)})
    for name in ("add", "remove"):
        if not all(isinstance(t, str) for t in req[name] or []):
            raise ApiError(f"{name} must be a list of tags (strings)")
    try:
        await call(lib.tag, pid, add=req["add"] or (), remove=req["remove"] or ())
    except ApiError as e:  # a bad tag is the request's fault, not the library's
        raise ApiError(str(e), 404 if e.status == 404 else 400) from None
    return JSONResponse({"piece": for_page(studio, await call(lib.get, pid))})


async def remove(request: Request) -> Response:
    lib, pid = library_of(request), piece_id(request)
    piece = await call(lib.get, pid)
    if piece.get("draft"):
        raise ApiError(f"no piece {pid}: it is a Write draft (delete it in the Write view)",
                       404)
    await call(lib.remove, pid)
    return JSONResponse({"removed": pid})


async def download(request: Request) -> Response:
    studio, lib, pid = request.app.state.studio, library_of(request), piece_id(request)
    unknown = sorted(set(request.query_params) - {"format"})
    if unknown:
        raise ApiError(f"unknown parameter(s) {', '.join(unknown)[:100]}; allowed: format")
    piece = await call(lib.get, pid)
    m = model_of(studio, piece)
    if m is None or piece.get("draft"):
        raise ApiError(f"piece {pid} cannot be written here: its run is not served by this "
                       "studio (serve it: creative-rnn serve RUN)", 409)
    if not piece.get("ids"):
        raise ApiError(f"piece {pid} was kept as text only: it has no tokens to write", 409)
    ids = piece["ids"]
    if not all(isinstance(i, int) and 0 <= i < m.gen.codec.vocab_size for i in ids):
        raise ApiError(f"piece {pid} does not fit {m.name}'s vocabulary", 409)
    return await file_response(m.gen.codec, ids, request.query_params.get("format", ""),
                               f"{m.name}-{pid}")


async def train_favourites(request: Request) -> Response:
    """A new run, child of the model's run, trained on its starred pieces."""
    studio = training.studio_that_trains(request)
    lib = library_of(request)
    limits = studio.limits
    req = fields(await json_body(request), {
        "model": (str, ..., None, 200), "name": (str, ..., None, 40),
        "mix": (float, 0.0, 0.0, MAX_MIX), "max_steps": (int, 100, 1, limits.max_train_steps)})
    m = studio.model(req["model"])
    name = training.check_name(req["name"])
    run = provenance(m)["run"]
    starred = await call(lib.count, starred=True, run=run)
    if not starred:
        raise ApiError(f"no starred pieces of {m.name} yet: star some in Generate or the Library "
                       "first")
    if starred < 2 and m.gen.documents and not req["mix"]:  # said now, not by a failed run
        raise ApiError(f"one starred piece of {m.name}: a run of whole pieces needs two (one is "
                       "kept aside to validate); star another, or mix in the run's own corpus")
    folder = training.claim(studio, request.app.state.jobs, name)
    job = training.Job(name, folder, req["max_steps"])
    job.trainer = library.train_on_favourites
    job.form = "the studio's Library view (train on favourites)"
    job.spec = dict(run=run, out=str(folder), lib=lib, mix=req["mix"],
                    max_steps=req["max_steps"])
    training.launch(request.app, studio, job, [folder])
    return JSONResponse({"job": job.info(), "pieces": starred}, status_code=201)


def routes() -> list[Route]:
    return [Route("/api/library", listing, methods=["GET"]),
            Route("/api/library/train", train_favourites, methods=["POST"]),
            Route("/api/library/{id}", one, methods=["GET"]),
            Route("/api/library/{id}", remove, methods=["DELETE"]),
            Route("/api/library/{id}/star", star, methods=["POST"]),
            Route("/api/library/{id}/tags", tags, methods=["POST"]),
            Route("/api/library/{id}/file", download, methods=["GET"])]
