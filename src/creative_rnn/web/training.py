"""Training from the page: start a run on a built-in corpus or an uploaded file, follow its
loss curve and samples live, stop it.

A run trains in a background thread through ``creative_rnn.train`` (signals cannot be used off
the main thread, so stopping is the ``stop`` event train() takes). Runs go into the runs
folder chosen when the server started, in the same layout ``creative-rnn train --out`` makes;
a finished run is served as a model straight away.

An upload is read and checked before the request is answered (one file: quick, and a bad one
is refused at once). A built-in corpus can be a thousand files and minutes of reading: the
thread reads and checks it first (status ``reading``), and the page follows the files read of
the total (``progress`` events), then the loss curve and samples.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import anyio
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import codecs, corpora, rundir
from ..errors import UserError
from ..sampling.generator import load
from ..training.run import train
from .defaults import default_constraints, unfinished
from .events import sse
from .guard import ApiError, Busy, listed, log_internal, public

UPLOAD_PATH = "/api/train"
UPLOADS = "uploads"  # RUNS/uploads/NAME-xxxx/corpus.txt: each upload in a folder of its own
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
PRESETS = ("tiny", "small")  # bigger presets take hours on a CPU: use the CLI for those
POLL_SECONDS = 0.25  # how often a live view looks for new metrics lines
SAMPLE_LENGTH = 300  # a short folk tune, whole


class Job:
    """One training run started from the page."""

    def __init__(self, name: str, run: Path, max_steps: int):
        self.name, self.run, self.max_steps = name, run, max_steps
        self.status = "starting"  # reading, running, stopping, done, stopped, error
        # what the thread is doing before the first step: {what, done, total} (files)
        self.progress: dict[str, Any] | None = None
        self.check: tuple[str, Any, bool] | None = None  # (source, codec, documents) to
        # read and check in the thread: a built-in corpus, minutes for a big one
        self.error: str | None = None
        self.warning: str | None = None  # a finished run that did not learn says so
        self.stop = threading.Event()
        self.samples: list[dict[str, Any]] = []  # {step, text}
        self.sampled: set[int | str] = set()  # steps sampled, and "final"
        self.lock = threading.Lock()
        self.spec: dict[str, Any] = {}  # the keyword arguments for the trainer
        self.trainer = train  # creative_rnn.train, or library.train_on_favourites (a run
        # fine-tuned on starred pieces: web/library.py), which takes train's options too
        self.form = "the studio's Train view"  # where its values came from, for the record
        self.thread: threading.Thread | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "error")

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "error": self.error,
                "warning": self.warning, "max_steps": self.max_steps,
                "progress": self.progress}


def attach(app, studio) -> None:
    app.state.jobs = {}


def closing(app) -> None:
    """The server is shutting down: running trainings stop after their current step and save
    (a run ``creative-rnn train --resume`` continues), and open event streams end, so a
    graceful shutdown does not wait on them. Safe to call from a signal handler."""
    app.state.studio.closing.set()
    for job in app.state.jobs.values():
        job.stop.set()


@contextlib.asynccontextmanager
async def lifespan(app):
    yield
    closing(app)
    for job in app.state.jobs.values():
        if job.thread is not None:  # the final save of each run, before the process ends
            await anyio.to_thread.run_sync(job.thread.join, 120)


def studio_that_trains(request: Request):
    studio = request.app.state.studio
    if studio.runs_dir is None:
        raise ApiError("this server was started without --runs-dir, so it cannot train", 403)
    return studio


def _job(request: Request) -> Job:
    job = request.app.state.jobs.get(request.path_params["name"])
    if job is None:
        raise ApiError(f"no training run named {request.path_params['name']!r}", 404)
    return job


async def options(request: Request) -> Response:
    studio = request.app.state.studio
    return JSONResponse({
        "enabled": studio.runs_dir is not None,
        "corpora": [{"name": k, "description": v[0]} for k, v in corpora.NAMED.items()],
        "codecs": codecs.names(), "presets": list(PRESETS),
        "jobs": [j.info() for j in request.app.state.jobs.values()],
    })


async def start(request: Request) -> Response:
    """multipart form: name, codec, preset, max_steps, documents, and corpus (a built-in
    name) or file (an upload). Validates the corpus like the CLI, then trains in a thread."""
    studio = studio_that_trains(request)
    made: list[Path] = []  # folders this request created, removed again if it is refused
    try:
        job, shown = await _accept(request, studio, made)
    except BaseException:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    launch(request.app, studio, job, made)
    return JSONResponse({"job": job.info(), "corpus": shown}, status_code=201)


def launch(app, studio, job: Job, made: list[Path]) -> None:
    """Start ``job``'s thread, or refuse it (busy) and remove the folders ``made`` for it.
    Called with no await between the request's checks and here: no other request can start
    a run in between."""
    running = sum(not j.finished for j in app.state.jobs.values())
    if running >= studio.limits.max_trainings:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)
        raise Busy("training runs", studio.limits.max_trainings)
    app.state.jobs[job.name] = job
    job.status = "reading" if job.check else "running"
    job.thread = threading.Thread(target=_train, args=(job, studio), daemon=True,
                                  name=f"train-{job.name}")
    job.thread.start()


async def _accept(request: Request, studio, made: list[Path]) -> tuple[Job, str]:
    try:
        form = await request.form(max_files=1, max_fields=10)
    except UserError:  # a body over the cap (guard.BodyLimit)
        raise
    except Exception as e:  # multipart parser errors: a malformed upload
        raise ApiError(f"could not read the form: {e}") from None
    try:
        return await _prepare(request, form, studio, made)
    finally:
        await form.close()


async def _prepare(request: Request, form, studio, made: list[Path]) -> tuple[Job, str]:
    limits = studio.limits
    unknown = sorted(set(form) - {"name", "codec", "preset", "max_steps", "documents",
                                  "corpus", "file"})
    if unknown:
        raise ApiError(f"unknown form field(s) {listed(unknown)}")
    name = check_name(str(form.get("name") or "").strip())
    codec_name = str(form.get("codec") or "char")
    codec = codecs.get(codec_name)  # UserError names the choices
    preset = str(form.get("preset") or "tiny")
    if preset not in PRESETS:
        raise ApiError(f"preset must be one of {', '.join(PRESETS)}")
    try:
        max_steps = int(str(form.get("max_steps") or "200"))
    except ValueError:
        raise ApiError("max_steps must be a whole number") from None
    if not 1 <= max_steps <= limits.max_train_steps:
        raise ApiError(f"max_steps must be in [1, {limits.max_train_steps}]")
    documents = str(form.get("documents") or "").lower() in ("1", "true", "on", "yes")
    upload, named = form.get("file"), str(form.get("corpus") or "")
    if not (isinstance(upload, UploadFile) and upload.filename) and named not in corpora.NAMED:
        raise ApiError(f"unknown corpus {named[:40]!r}; choose {', '.join(corpora.NAMED)}"
                       if named else "choose a built-in corpus or upload a file")
    run = claim(studio, request.app.state.jobs, name)
    made.append(run)
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(limits.max_upload + 1)
        if len(data) > limits.max_upload:
            raise ApiError(f"the file is over the {limits.max_upload:,}-byte limit", 413)
        shown = Path(upload.filename).name
        suffix = Path(shown).suffix.lower()
        path = _store(studio.runs_dir, name, suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix)
                      else "", data, made)
        source = str(path)
    else:
        source, shown, path = named, named, None
    if path is not None:
        try:
            await anyio.to_thread.run_sync(_validate, source, codec, documents)
        except Exception as e:
            if isinstance(e, UserError):
                raise ApiError(str(e).replace(str(path), shown)) from None
            # a reader that crashed on a malformed file: still the file's fault, said plainly
            log_internal(f"reading {shown}", e)
            raise ApiError(f"{shown} could not be read as a corpus for the {codec_name} codec "
                           f"({type(e).__name__})") from None
    job = Job(name, run, max_steps)
    if path is None:  # a built-in corpus: read and checked in the thread, with progress
        job.check = (source, codec, documents)
    job.spec = dict(corpus=[source], out=str(run), codec=codec_name, preset=preset,
                    documents=documents, max_steps=max_steps)
    return job, shown


def check_name(name: str) -> str:
    if not NAME.fullmatch(name) or name == UPLOADS:
        raise ApiError("name: 1-40 letters, digits, - or _ (it becomes the run folder's name; "
                       f"not {UPLOADS!r})")
    return name


def claim(studio, jobs: dict, name: str) -> Path:
    """Make the run's folder, which claims the name: of two requests for one name only one
    can make it (train() accepts an empty folder as a new run)."""
    run = studio.runs_dir / name
    if name in jobs or name in studio.models:
        raise ApiError(f"a run named {name!r} already exists; choose another name", 409)
    try:
        run.mkdir()
    except FileExistsError:
        raise ApiError(f"a run named {name!r} already exists; choose another name",
                       409) from None
    except OSError as e:
        log_internal(f"making the run folder {run}", e)
        raise ApiError(f"could not make the run folder {name!r} ({e.strerror})", 500) from None
    return run


def _store(runs_dir: Path, name: str, suffix: str, data: bytes, made: list[Path]) -> Path:
    """Write an upload into a new folder of its own (never a file another request wrote)."""
    try:
        (runs_dir / UPLOADS).mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=runs_dir / UPLOADS))
        made.append(folder)
        path = folder / f"corpus{suffix}"
        path.write_bytes(data)
    except OSError as e:
        log_internal(f"storing the upload for {name}", e)
        raise ApiError(f"could not store the upload on the server ({e.strerror})", 500) from None
    return path


def _validate(source: str, codec, documents: bool, progress=None) -> None:
    """The same checks training makes, before training starts: readable, not empty, and
    enough tokens to split into training and validation parts. Reading fills the corpus
    cache, so training reads it again at once."""
    corpus = corpora.load([source], codec, documents=documents, progress=progress)
    codec.fit(corpus.items)
    tokens = sum(len(codec.tokenize(item)) for item in corpus.items)
    if tokens < 200:
        raise ApiError(f"the corpus has only {tokens} tokens; give at least 200")


def _train(job: Job, studio) -> None:
    spec = job.spec
    steps = spec["max_steps"]
    # a validation point (and a sample) at least every 100 steps so the page has news; the
    # validation estimate is capped so it costs little beside training
    every = max(5, min(100, steps // 8))
    try:
        if job.check is not None:
            _read(job)
            if job.stop.is_set():  # stopped while reading: nothing trained, nothing to serve
                job.status = "stopped"
                return
            job.status = "running"
        job.progress = {"what": "preparing the corpus and the model", "done": None,
                        "total": None}
        pacing = dict(eval_every=every, checkpoint_every=every, eval_max_tokens=20_000,
                      log_every=max(1, min(10, steps // 40)))
        said = {k: job.form for k in spec} | dict.fromkeys(
            pacing, "the studio (news on the page at least every 100 steps)")
        result = job.trainer(**spec, **pacing, progress_bar=False, stop=job.stop,
                             override_sources=said)
        job.warning = public(result.warning) if result.warning else None
        # served first, finished second: a page that sees the job end asks for the models at
        # once, and under load it found the run not yet served
        studio.add(job.run)
        job.status = "stopped" if result.stopped == "interrupted" else "done"
    except UserError as e:
        job.status, job.error = "error", public(str(e))
    except Exception as e:  # noqa: BLE001 - one line in the page, details in the terminal
        log_internal(f"training {job.name}", e)
        job.status, job.error = "error", "training failed inside the server (see its terminal)"


def _read(job: Job) -> None:
    """Read and check a built-in corpus, counting its files for the page."""
    source, codec, documents = job.check

    def seen(done: int, total: int) -> None:
        job.progress = {"what": "reading the corpus", "done": done, "total": total}

    seen(0, 0)
    _validate(source, codec, documents, progress=seen)
    if job.progress and job.progress["total"]:  # read from the cache: no file counted
        seen(job.progress["total"], job.progress["total"])


async def stop(request: Request) -> Response:
    job = _job(request)
    if not job.finished:
        job.stop.set()
        job.status = "stopping"
    return JSONResponse({"job": job.info()})


async def events(request: Request) -> Response:
    """An event stream: ``metrics`` {rows}, ``sample`` {step, text}, ``status`` {job}; it
    ends after the run has finished and everything has been sent."""
    job = _job(request)
    return StreamingResponse(_follow(request, job), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store"})


async def _follow(request: Request, job: Job):
    sent_rows, sent_samples, last_status, last_progress = 0, 0, None, None
    while True:
        finished = job.finished  # read first: what follows is then complete
        if job.progress != last_progress:
            last_progress = job.progress  # replaced whole, never changed in place
            yield sse("progress", {"progress": last_progress})
        rows = rundir.read_metrics(job.run, missing_ok=True)
        if len(rows) > sent_rows:
            yield sse("metrics", {"rows": rows[sent_rows:]})
            sent_rows = len(rows)
        val_steps = [r["step"] for r in rows if "val_loss" in r]
        if val_steps and val_steps[-1] not in job.sampled:
            await anyio.to_thread.run_sync(_sample, job, val_steps[-1])
        if finished and job.status in ("done", "stopped") and rows and not any(
                x["step"] == rows[-1]["step"] for x in job.samples):  # the finished run's
            await anyio.to_thread.run_sync(_sample, job, rows[-1]["step"], True)
        while sent_samples < len(job.samples):
            yield sse("sample", job.samples[sent_samples])
            sent_samples += 1
        if job.status != last_status:
            last_status = job.status
            yield sse("status", {"job": job.info()})
        if finished or await request.is_disconnected():  # nobody is watching any more
            return
        if request.app.state.studio.closing.is_set():
            yield sse("status", {"job": {**job.info(), "status": "stopping",
                                         "error": "the studio server is shutting down"}})
            return
        await anyio.sleep(POLL_SECONDS)


def _sample(job: Job, step: int, final: bool = False) -> None:
    """A short sample from the run's best weights so far, once per validation step, and
    of the finished run (``final``) when its last step has none."""
    with job.lock:
        key = "final" if final else step
        if key in job.sampled:
            return
        job.sampled.add(key)
        try:
            gen = load(job.run, device="cpu")
            ids = [t for row in gen.generate_ids(
                length=SAMPLE_LENGTH, num=1, temperature=0.8, seed=step,
                constraints=default_constraints(gen.codec)) for _, t in row]
            job.samples.append({"step": step, "final": final,
                                "text": gen.codec.render(gen.codec.decode(ids)),
                                "unfinished": unfinished(gen, ids, SAMPLE_LENGTH)})
        except Exception as e:  # noqa: BLE001 - weights mid-write or a tiny run: skip this one
            log_internal(f"sampling {job.name} at step {step}", e)


def routes() -> list[Route]:
    return [
        Route("/api/train", options, methods=["GET"]),
        Route(UPLOAD_PATH, start, methods=["POST"]),
        Route("/api/train/{name}/events", events),
        Route("/api/train/{name}/stop", stop, methods=["POST"]),
    ]

