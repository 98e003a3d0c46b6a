"""Helpers shared by the web studio tests: tiny runs, a stand-in music codec, a live server.

The music codec here is used only when the real "melody" codec is not registered (it was
being written at the same time as the studio); it has the same hooks: ``notes`` and
``outputs`` writing ``.mid`` (and ``.wav`` on request).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading
import time
import warnings
import wave
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from support import shared_file

import creative_rnn as cr
from creative_rnn import codecs
from creative_rnn.codecs.base import Codec
from creative_rnn.core.files import atomic_write_bytes, atomic_write_text
from creative_rnn.errors import CorpusError, SamplingError
from creative_rnn.web import create_app
from creative_rnn.web.guard import served_hosts

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x asks for httpx2; httpx works the same here
    from starlette.testclient import TestClient

STEP_S = 0.125
# the address TestClient requests name: a loopback Host, as a browser on this machine sends
LOCAL = "http://127.0.0.1:8000"


class StandInMelody(Codec):
    """Pitches as tokens, one eighth note each; files are pitches separated by spaces."""

    name = "test-melody"
    file_suffix = ".mid"

    def tokenize(self, item: Any) -> list[str]:
        return item.split() if isinstance(item, str) else [str(p) for p in item]

    def detokenize(self, tokens: Sequence[str]) -> list[int]:
        return [int(t) for t in tokens]

    def read(self, path) -> list[int]:
        words = Path(path).read_text().split()
        if not all(w.isdigit() for w in words):
            raise CorpusError(f"{path}: not a list of pitches")
        return [int(w) for w in words]

    def write(self, item, path) -> None:
        atomic_write_bytes(path, midi_bytes(self.notes(item)))

    def notes(self, item: Any) -> list[tuple[int, float, float, int]]:
        return [(int(p), i * STEP_S, (i + 1) * STEP_S, 90) for i, p in enumerate(item)]

    def outputs(self, item, stem, formats=()) -> list[Path]:
        if set(formats) - {"wav"}:
            raise SamplingError(f"cannot write {formats}")
        mid = Path(f"{stem}.mid")
        self.write(item, mid)
        out = [mid]
        if "wav" in formats:
            out.append(Path(f"{stem}.wav"))
            with wave.open(str(out[-1]), "wb") as w:  # silence is enough for a download test
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(8000)
                w.writeframes(b"\0\0" * 800)
        return out


def midi_bytes(notes) -> bytes:
    """A one-track standard MIDI file (format 0, 96 ticks per quarter at 120 bpm)."""
    events, now = b"", 0
    for pitch, start, end, vel in notes:
        for t, status, v in ((start, 0x90, vel), (end, 0x80, 0)):
            tick = round(t * 192)  # 96 ticks per quarter, 2 quarters per second
            events += _vlq(tick - now) + bytes([status, pitch, v])
            now = tick
    events += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, 96) + b"MTrk" + struct.pack(
        ">I", len(events)) + events


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.insert(0, (n & 0x7F) | 0x80)
    return bytes(out)


def music_run(root: Path) -> Path:
    """A tiny run of the real melody codec when it is registered, else of the stand-in."""
    out = root / "melody"
    if "melody" in codecs.names():
        corpus, codec = str(shared_file("melody/melodies.jsonl")), "melody"
    else:
        codecs.register(StandInMelody)
        path = root / "tunes.txt"
        scale = [60, 62, 64, 65, 67, 69, 71, 72]
        atomic_write_text(path, " ".join(str(scale[(i * 3 + i // 5) % 8]) for i in range(600)))
        corpus, codec = str(path), StandInMelody.name
    cr.train(corpus=[corpus], out=out, codec=codec, preset="tiny", hidden_size=16,
             embedding_size=8, max_steps=8, eval_every=4, checkpoint_every=4, eval_max_tokens=2000,
             progress_bar=False)
    return out


def text_run(root: Path, startrek: Path, documents: bool = False) -> Path:
    out = root / ("docs" if documents else "text")
    cr.train(corpus=[str(startrek)], out=out, preset="tiny", hidden_size=32, embedding_size=16,
             max_steps=30 if not documents else 20, eval_every=15, checkpoint_every=15,
             documents=documents, progress_bar=False)
    return out


def ensemble_run(root: Path, gestures: Path) -> Path:
    """A tiny run of the ensemble codec (the metatone quartets): the copy routes' odd one out,
    whose text form is one step a line and whose vocabulary lists no token texts."""
    out = root / "ensemble"
    cr.train(corpus=[str(gestures)], out=out, codec="ensemble", preset="tiny", hidden_size=8,
             embedding_size=4, max_steps=1, eval_every=1, checkpoint_every=1,
             progress_bar=False)
    return out


def studio_client(app, **kw) -> TestClient:
    """A TestClient that talks like the studio's own page: a loopback Host, and the token the
    page is given on every request."""
    return TestClient(app, base_url=LOCAL,
                      headers={"X-Studio-Token": app.state.token}, **kw)


def events(body: str) -> list[tuple[str, dict]]:
    """Parse a text/event-stream body (a generation's answer) into (event, data) pairs."""
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


class LiveServer:
    """uvicorn serving an app in a thread on a free loopback port (bound before start, so
    ``port`` is known before the app is made). ``seen`` lists (method, path, status) of every
    answer, to check what reached the server and what it said (``forget`` starts it anew)."""

    def __init__(self, app=None):
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.seen: list[tuple[str, str, int]] = []
        self._epoch = 0  # which forget() a request came after

    def forget(self) -> None:
        """Clear ``seen``, and leave out the later answers to requests made before: a closed
        page's last request (a score being engraved) can be answered seconds later."""
        self._epoch += 1
        self.seen.clear()

    async def _recording(self, scope, receive, send):
        epoch = self._epoch

        async def record(message):
            if message["type"] == "http.response.start" and epoch == self._epoch:
                self.seen.append((scope["method"], scope["path"], message["status"]))
            await send(message)
        await self.app(scope, receive, record if scope["type"] == "http" else send)

    def __enter__(self) -> LiveServer:
        self.server = uvicorn.Server(uvicorn.Config(self._recording, log_level="warning",
                                                    lifespan="off", interface="asgi3"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # readiness, not timing: start-up is ~0.1 s
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        # at once: an answer still being worked out for a page already closed (a score being
        # engraved in a child process) is dropped, not waited for (seconds a module)
        self.server.force_exit = True
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@contextlib.contextmanager
def serving(runs: Sequence[str | Path], **options: Any) -> Iterator[LiveServer]:
    """The studio serving ``runs`` on a free loopback port, answering only that address (as
    served); ``options`` go to create_app (runs_dir, limits, library_at)."""
    live = LiveServer()  # the port first: the studio answers only its own address
    live.app = create_app(runs, hosts=served_hosts("127.0.0.1", live.port), **options)
    with live:
        yield live


def wait_until(condition, what: str, limit_s: float = 30.0) -> None:
    """Poll for a state another thread reaches (a readiness check, not a timing assertion)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


_RUNS: dict[str, Path] = {}


def shared_runs(tmp_path_factory, startrek: Path) -> dict[str, Path]:
    """The three tiny runs, trained once per test session for both web test files."""
    if not _RUNS:
        root = tmp_path_factory.mktemp("webruns")
        _RUNS.update(text=text_run(root, startrek), docs=text_run(root, startrek, True),
                     melody=music_run(root))
    return dict(_RUNS)


# --- a real browser (Debian's chromium driven by Playwright) -------------------------------
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
                "--host-resolver-rules=MAP evil.example 127.0.0.1"]  # a hostile site, locally
# Without chromium the browser tests skip; in CI (CI=true, set by .ci/run, which installs it)
# they run and fail at launch instead of passing silently.
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
    reason=f"{CHROMIUM} is absent (apt-get install chromium)")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless chromium (a Playwright Browser), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# a MIDIAccess as Chromium gives one, with one keyboard in and one synth out that records
STAND_IN_MIDI = """() => {
  const input = { id: "in-1", name: "stand-in keyboard", onmidimessage: null };
  const sent = [];
  const output = { id: "out-1", name: "stand-in synth", send: (data) => sent.push([...data]) };
  window.standInMidi = { input, output, sent };
  navigator.requestMIDIAccess = async () => ({
    inputs: new Map([[input.id, input]]), outputs: new Map([[output.id, output]]),
    onstatechange: null });
}"""


PAGE_WAIT = 60_000  # ms: an upper bound for a busy CI machine, not a timing assertion


def _console_error(problems: list[str], allow: Sequence[str]):
    def seen(message) -> None:
        if message.type == "error" and not any(a in message.text for a in allow):
            problems.append(f"console error: {message.text} ({message.location.get('url')})")
    return seen


def _failed_request(problems: list[str]):
    def seen(request) -> None:
        # the page's own aborts (Stop, a proposal overtaken by typing) are not failures
        if request.failure != "net::ERR_ABORTED":
            problems.append(f"request failed: {request.url} ({request.failure})")
    return seen


@contextlib.contextmanager
def studio_page(browser, url: str, shot: tuple[str, Path] | None = None,
                refused: str | None = None) -> Iterator[Any]:
    """A page of the studio at ``url``, once it says it is ready. On leaving: a screenshot of
    ``shot`` (selector, path) for a person to look at, then no uncaught script error, no
    console error (a 404, an invalid attribute), no failed request, no error banner, and
    nothing fetched from anywhere but the studio itself. ``refused``: a test that makes the
    server refuse a request on purpose; the banner must then say this, and the console's
    line about the refused (4xx) answer is allowed."""
    allow = ["the server responded with a status of 4"] if refused else []
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    try:
        page = context.new_page()
        page.set_default_timeout(PAGE_WAIT)
        problems: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", _console_error(problems, allow))
        page.on("requestfailed", _failed_request(problems))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(url)
        page.wait_for_function("window.studioReady === true")
        yield page
        if shot:
            page.locator(shot[0]).screenshot(path=shot[1])
        assert not problems, problems
        if refused:
            assert refused in page.inner_text("#error")
        else:
            assert page.is_hidden("#error"), page.inner_text("#error")
        origin = url.split("/", 3)[:3]
        foreign = [u for u in requests
                   if not (u.split("/", 3)[:3] == origin or u.startswith(("blob:", "data:")))]
        assert not foreign, f"the page fetched from the network: {foreign}"
    finally:
        context.close()
