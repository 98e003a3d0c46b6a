"""The web studio: a Starlette app over the Python API (load, generate, collect, train).

The models served are the run directories named when the server starts (plus runs trained
from the page into its runs folder). Requests name models by their short name only; no
request ever names a file path. Every answer is JSON or a stream of server-sent events
(``event: NAME`` / ``data: JSON``); errors are ``{"error": message}`` with a 4xx/5xx status.
Only the studio's own page may call it: see guard.Guard (Host, Origin, the page's token).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import rundir
from ..errors import UserError
from ..sampling.generator import Generator, load
from ..viz.activations import collect, keys_for
from . import drafts, library, play, score, sounds, training, write
from .copies import sample_copies
from .defaults import constraints_of, unfinished
from .download import file_response, formats_of
from .events import ClosingStream, Disconnects, sse
from .guard import (
    ApiError,
    BodyLimit,
    Counter,
    Guard,
    Limits,
    fields,
    json_body,
    log_internal,
    on_unexpected,
    on_user_error,
    public,
)
from .library import open_library, record_generated

STATIC = Path(__file__).parent / "static"
DOCUMENT_LENGTH = 1000  # new tokens a documents run (a tune, a title) may take by default: a
# whole folk tune fits, and a sample that reaches it anyway is reported unfinished, never cut
# silently
STREAM_LENGTH = 300  # a stream has no end: this much text by default
GENERIC_NAMES = {"run", "runs", "out", "output", "model", "latest"}  # a run folder named so
# is served under its parent folder's name (~/creative-rnn-demo/run is "creative-rnn-demo")
CHUNK_SECONDS = 0.03  # tokens made within this long go out as one event: smooth, not chatty


class Model:
    """One served run: its Generator and what the page needs to know about it."""

    def __init__(self, name: str, run: Path, gen: Generator):
        self.name, self.run, self.gen = name, run, gen
        self.music = gen.codec.is_music
        cfg = gen.config.get("model", {})
        self.formats = formats_of(gen.codec)
        self.constraints = constraints_of(gen.codec)  # on unless the request says otherwise
        self.length = DOCUMENT_LENGTH if gen.documents else STREAM_LENGTH
        self.info = {
            "name": name, "codec": gen.codec.name, "documents": gen.documents,
            "music": self.music, "percussion": bool(self.music and gen.codec.percussion),
            "cell": cfg.get("cell"), "layers": cfg.get("num_layers"),
            "hidden": cfg.get("hidden_size"), "vocab": gen.codec.vocab_size,
            "formats": self.formats, "constraints": self.constraints,
            "length": self.length, "prime_example": gen.codec.prime_example,
            "live": play.live_info(gen.codec),  # None: the Play view does not list it
        }


class Studio:
    """State shared by the routes: served models, limits, busy counters, the runs folder."""

    def __init__(self, runs: Sequence[str | Path], runs_dir: str | Path | None, limits: Limits,
                 device: str = "cpu", library_at: str | Path | bool | None = None):
        self.limits, self.device = limits, device
        # where the pieces made here are kept (web/library.py); None with library_off's reason
        self.library, self.library_off = open_library(library_at)
        self.runs_dir = Path(runs_dir) if runs_dir else None
        self.models: dict[str, Model] = {}
        self.generations = Counter("generations", limits.max_generations)
        self.inside = Counter("inside-view answers", limits.max_inside)
        self.closing = threading.Event()  # set when the server shuts down: streams end
        for run in runs:
            self.add(rundir.locate(run))  # a path, or a starter model's name
        if self.runs_dir is not None:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            for run in sorted(self.runs_dir.iterdir()):
                if (run / rundir.WEIGHTS).is_file() and run.resolve() not in \
                        {m.run.resolve() for m in self.models.values()}:
                    self.add(run)

    def add(self, run: Path) -> Model:
        gen = load(run, device=self.device)
        base = served_name(run)
        name, n = base, 2
        while name in self.models:
            name, n = f"{base}-{n}", n + 1
        self.models[name] = Model(name, run, gen)
        return self.models[name]

    def model(self, name: str) -> Model:
        if name not in self.models:
            raise ApiError(f"no model named {name!r}; served: {', '.join(self.models) or 'none'}",
                           404)
        return self.models[name]


def served_name(run: Path) -> str:
    """The name a run is served under: its folder's, or its parent's for a folder with a
    name that says nothing (``run``, ``out``)."""
    name = run.name
    if name.lower() in GENERIC_NAMES or not name:
        name = run.resolve().parent.name or name or "run"
    return name


# --- generation -----------------------------------------------------------------------------
def _gen_spec(limits: Limits) -> dict:
    return {
        "model": (str, ..., None, 200), "prime": (str, "", None, limits.max_prime),
        "temperature": (float, 0.8, 0.01, 5.0), "top_k": (int, 0, 0, 100_000),
        "top_p": (float, 1.0, 0.01, 1.0), "length": (int, None, 1, limits.max_length),
        "num": (int, 1, 1, limits.max_num), "seed": (int, None, 0, 2**31 - 1),
        "greedy": (bool, False, None, None), "complete_bars": (bool, None, None, None),
    }


async def generate(request: Request) -> Response:
    """POST {model, prime, temperature, top_k, top_p, length, num, seed, complete_bars} -> an
    event stream: ``start`` {prime_ids, prime_text}, ``tokens`` {steps: [[[sample, id, text],
    ...], ...]}, ``done`` {samples: [{ids, text, notes, copies, unfinished}]} (copies:
    copies.sample_copies; unfinished: a documents sample that reached ``length`` before its
    end, as a line to show) or ``error`` {error}. ``length`` defaults to the model's
    (``length`` in /api/models); ``complete_bars`` (ABC) is on by default where the codec has
    it. Closing the connection stops the generation after the step in progress."""
    studio: Studio = request.app.state.studio
    opts = fields(await json_body(request), _gen_spec(studio.limits))
    m = studio.model(opts.pop("model"))
    prime = opts.pop("prime")  # text; music codecs read their own phrase syntax from it
    if opts["length"] is None:
        opts["length"] = min(m.length, studio.limits.max_length)
    constraints = {name: True for name in m.constraints}  # each on unless asked otherwise
    asked = opts.pop("complete_bars")
    if asked is not None:  # the page's checkbox (a codec without it refuses True, by name)
        constraints["complete_bars"] = asked
    if opts["seed"] is None:  # drawn here, so the library can make the piece again; in the
        opts["seed"] = secrets.randbelow(2**31)  # page's own range (the Seed box takes it)
    steps = m.gen.generate_ids(prime, constraints=constraints, **opts)  # checks options and
    prime_ids = m.gen.prime_ids(prime, "error")  # prime before streaming

    def keep(ids: list[list[int]]) -> tuple[list[int | None], str | None]:
        return record_generated(studio, m, prime, ids, opts, constraints)

    studio.generations.acquire()
    return ClosingStream(_stream(studio, m, prime_ids, steps, opts["num"], opts["length"], keep),
                         studio.generations.release, media_type="text/event-stream",
                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _stream(studio: Studio, m: Model, prime_ids: list[int],
                  steps: Iterator[list[tuple[int, int]]], num: int, length: int,
                  keep=None) -> AsyncIterator[bytes]:
    codec, closing = m.gen.codec, studio.closing
    ids = [list(prime_ids) for _ in range(num)]

    def chunk(first: bool) -> list | None:
        """Steps made within CHUNK_SECONDS (just one for the first chunk: fast first token)."""
        out, start = [], time.perf_counter()
        if closing.is_set():
            return None
        for step in steps:
            for i, t in step:
                ids[i].append(t)
            out.append([[i, t, codec.token_text(t)] for i, t in step])
            if first or time.perf_counter() - start > CHUNK_SECONDS:
                break
        return out or None

    try:
        yield sse("start", {"prime_ids": prime_ids,
                            "prime_text": [codec.token_text(i) for i in prime_ids]})
        first = True
        while (out := await anyio.to_thread.run_sync(chunk, first)) is not None:
            yield sse("tokens", {"steps": out})
            first = False
        samples = await anyio.to_thread.run_sync(_finish, m, ids, length, keep)
        yield sse("done", {"samples": samples})
    except UserError as e:
        yield sse("error", {"error": public(str(e))})
    except Exception as e:  # noqa: BLE001 - shown as one line, never a traceback
        log_internal("/api/generate", e)
        yield sse("error", {"error": "generation failed inside the server"})


def _finish(m: Model, ids: list[list[int]], length: int, keep=None) -> list[dict]:
    """The finished samples as the page gets them; ``keep`` records them in the library
    (web/library.record_generated): each gets its ``piece`` id, or ``recorded``: why not."""
    codec, out = m.gen.codec, []
    for seq in ids:
        item = codec.decode(seq)
        notes = codec.notes(item) if m.music else None
        out.append({"ids": seq, "text": codec.render(item),
                    "notes": [list(n) for n in notes] if notes is not None else None,
                    "copies": sample_copies(m.gen, seq),
                    "unfinished": unfinished(m.gen, seq, length)})
    pieces, why = keep(ids) if keep else ([None] * len(ids), None)
    for sample, piece in zip(out, pieces):
        sample.update(piece=piece, recorded=why)
    return out


# --- export and the inside view ---------------------------------------------------------------
async def export(request: Request) -> Response:
    """POST {model, ids, format} -> the item as a file (txt/abc/mid/wav, as the codec writes)."""
    studio: Studio = request.app.state.studio
    spec = {"model": (str, ..., None, 200), "ids": (list, ..., None, 20_000),
            "format": (str, ..., None, 10)}
    req = fields(await json_body(request), spec)
    m = studio.model(req["model"])
    if req["format"] not in m.formats:  # before the ids are checked: the clearer refusal
        raise ApiError(f"{m.name} cannot be downloaded as {req['format']!r}; choose "
                       f"{', '.join(m.formats)}")
    return await file_response(m.gen.codec, _check_ids(req["ids"], m), req["format"], m.name)


def _check_ids(ids: list, m: Model) -> list[int]:
    V = m.gen.codec.vocab_size
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < V for i in ids):
        raise ApiError(f"ids must be integers in [0, {V}) for {m.name}")
    return ids


async def activations(request: Request) -> Response:
    """POST {model, ids} -> {tokens, keys, layers, hidden, total_steps,
    values: {key: [layer][t][unit]}}: the first steps that fit the size limit."""
    studio: Studio = request.app.state.studio
    spec = {"model": (str, ..., None, 200), "ids": (list, ..., 1, 20_000)}
    req = fields(await json_body(request), spec)
    m = studio.model(req["model"])
    ids = _check_ids(req["ids"], m)
    if not ids:
        raise ApiError("ids is empty: generate something first")
    config = m.gen.model.config
    per_step = len(keys_for(config.cell)) * config.num_layers * config.hidden_size
    fits = studio.limits.max_activation_values // per_step  # steps one answer may hold
    if fits < 1:
        raise ApiError(f"{m.name} is too big for the inside view ({per_step:,} values per "
                       f"step; the limit is {studio.limits.max_activation_values:,})", 413)
    studio.inside.acquire()
    try:  # a long sample is shown from its start, and the answer says so
        body = await anyio.to_thread.run_sync(_inside_answer, m, ids[:fits], len(ids))
    finally:
        studio.inside.release()
    return Response(body, media_type="application/json")


def _inside_answer(m: Model, ids: list[int], total: int) -> bytes:
    """The answer as JSON bytes. Run in a worker thread: collecting, rounding and encoding
    a couple of million values takes a while, and the event loop serves everyone else."""
    model, codec = m.gen.model, m.gen.codec
    # rounded as float64: float32's 0.638 would print as 0.6380000114440918, three times longer
    values = {k: v.astype("float64").round(3).tolist() for k, v in collect(model, ids).items()}
    return json.dumps({
        "tokens": [codec.token_text(i) or codec.vocab.token(i) for i in ids],
        "keys": list(values), "layers": model.config.num_layers,
        "hidden": model.config.hidden_size, "values": values, "total_steps": total,
    }, separators=(",", ":")).encode()


# --- the app --------------------------------------------------------------------------------
async def models(request: Request) -> Response:
    studio: Studio = request.app.state.studio
    return JSONResponse({"models": [m.info for m in studio.models.values()],
                         "training": studio.runs_dir is not None,
                         "library": {"on": studio.library is not None,
                                     "why": studio.library_off},
                         "limits": {"max_length": studio.limits.max_length,
                                    "max_num": studio.limits.max_num,
                                    "max_upload": studio.limits.max_upload,
                                    # ids an inside-view request may send (8 bytes each
                                    # at most, "123456, "): a longer sample sends its start
                                    "max_inside_ids": studio.limits.max_body // 8,
                                    "max_train_steps": studio.limits.max_train_steps}})


async def index(request: Request) -> Response:
    """The page, with this server's token in it: only a page read from this server (which
    other sites cannot do) can send the token the API asks for."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    return HTMLResponse(page.replace("{{studio-token}}", request.app.state.token),
                        headers={"Cache-Control": "no-store"})


def create_app(runs: Sequence[str | Path], runs_dir: str | Path | None = None,
               limits: Limits | None = None, device: str = "cpu",
               hosts: Sequence[str] | None = None, token: str | None = None,
               library_at: str | Path | bool | None = None) -> Starlette:
    """The studio serving ``runs`` (run directories). With ``runs_dir`` the page can also train
    new runs there (the same layout ``creative-rnn train --out`` makes). Raises a UserError
    naming the run when one cannot be loaded.

    ``hosts``: the Host header values answered, "name:port" or "name" for any port
    (guard.served_hosts(host, port) gives those of a bound address); None: localhost,
    127.0.0.1 and [::1] on any port. ``token``: what the page sends as X-Studio-Token; a
    random one by default (app.state.token). ``library_at``: the library the pieces made
    here are kept in and the Library view shows (a path; None: library.location()'s default;
    False: none)."""
    limits = limits or Limits()
    token = token or secrets.token_urlsafe(32)
    studio = Studio(runs, runs_dir, limits, device, library_at)
    routes = [
        Route("/", index),
        Route("/api/models", models),
        Route("/api/generate", generate, methods=["POST"]),
        Route("/api/export", export, methods=["POST"]),
        Route("/api/activations", activations, methods=["POST"]),
        *training.routes(),
        *write.routes(),
        *score.routes(),  # the Music view's score (SVG)
        *library.routes(),  # the Library view: pieces kept, stars, train on favourites
        *drafts.routes(),  # the Write view's drafts
        *play.routes(),  # the Play view: a duet with a music run
        *sounds.routes(),  # its piano
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Disconnects),  # a client gone is not an internal error
                    Middleware(Guard, token=token, hosts=hosts),
                    Middleware(BodyLimit, limits=limits, upload_paths=(training.UPLOAD_PATH,))],
        exception_handlers={UserError: on_user_error, Exception: on_unexpected},
        lifespan=training.lifespan,
    )
    app.state.studio, app.state.token = studio, token
    training.attach(app, studio)
    play.attach(studio)
    return app
