"""A client that leaves (a closed tab, a stopped stream, a request cut off while its body
was being sent) is no error of the server's: nothing is logged as an internal error, no
traceback is printed, the generation's slot is given back, and the server goes on serving."""

from __future__ import annotations

import json
import logging
import socket
import warnings
from pathlib import Path

import anyio
import httpx
import pytest
from support_web import LiveServer, text_run, wait_until

from creative_rnn.web import create_app

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(tmp_path_factory, startrek) -> Path:
    return text_run(tmp_path_factory.mktemp("disconnect"), startrek)


def request_bytes(app, port: int, body: bytes, sent: int | None = None) -> bytes:
    """A POST /api/generate as the page sends it; only ``sent`` bytes of its body."""
    head = (f"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Origin: http://127.0.0.1:{port}\r\nX-Studio-Token: {app.state.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body[:sent]


def generation(length: int) -> bytes:
    # under 1,000 tokens: the eager step, no compiled engine to warm up
    return json.dumps({"model": "text", "length": length, "seed": 1}).encode()


class Errors(logging.Handler):
    """Error records of the server's logger (uvicorn prints its tracebacks there)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def served(run):
    """(app, live server, error records, finished requests): the studio under uvicorn, each
    request counted once the app is done with it."""
    app = create_app([run])
    finished: list[str] = []

    async def counted(scope, receive, send):
        try:
            await app(scope, receive, send)
        finally:
            finished.append(scope.get("path", ""))

    errors = Errors()
    with LiveServer(counted) as live:
        logger = logging.getLogger("uvicorn.error")  # after uvicorn configured its logging
        logger.addHandler(errors)
        try:
            yield app, live, errors.records, finished
        finally:
            logger.removeHandler(errors)


def still_serving(app, live) -> None:
    r = httpx.get(f"{live.url}/api/models", headers={"X-Studio-Token": app.state.token})
    assert r.status_code == 200 and r.json()["models"][0]["name"] == "text"
    assert app.state.studio.generations.running == 0


def test_a_request_cut_off_in_its_body_is_not_an_internal_error(capsys, served):
    app, live, errors, finished = served
    body = generation(50)
    with socket.create_connection(("127.0.0.1", live.port)) as s:
        s.sendall(request_bytes(app, live.port, body, sent=len(body) // 2))
    wait_until(lambda: finished, "the server finished with the cut-off request")
    assert not errors, [r.getMessage() for r in errors]
    assert "internal error" not in capsys.readouterr().err
    assert all(status != 500 for _, _, status in live.seen)
    still_serving(app, live)


def test_a_stream_closed_midway_is_not_an_internal_error(capsys, served):
    app, live, errors, finished = served
    with socket.create_connection(("127.0.0.1", live.port)) as s:
        s.sendall(request_bytes(app, live.port, generation(999)))
        seen = b""
        while b"event: tokens" not in seen:  # the stream has begun: now leave
            chunk = s.recv(4096)
            assert chunk, f"the server closed first: {seen[-200:]!r}"
            seen += chunk
    wait_until(lambda: finished, "the server finished with the closed stream")
    assert not errors, [r.getMessage() for r in errors]
    assert "internal error" not in capsys.readouterr().err
    still_serving(app, live)


# --- the same at the ASGI interface, where each way of leaving is exact --------------------
def scope_for(app, body: bytes, spec: str) -> dict:
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": spec},
            "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/api/generate", "raw_path": b"/api/generate", "query_string": b"",
            "root_path": "", "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
            "headers": [(b"host", b"127.0.0.1:8000"),
                        (b"x-studio-token", app.state.token.encode()),
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
            "state": {}}


def call(app, scope, receive, send) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an exception left in a stream would show here too
        anyio.run(app, scope, receive, send)


def test_asgi_body_cut_off(capsys, run):
    app = create_app([run])
    body = generation(50)
    messages = [{"type": "http.request", "body": body[:10], "more_body": True},
                {"type": "http.disconnect"}]
    sent: list[dict] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    call(app, scope_for(app, body, "2.3"), receive, send)  # raised ClientDisconnect before
    assert not [m for m in sent if m.get("status") == 500]
    assert "internal error" not in capsys.readouterr().err
    assert app.state.studio.generations.running == 0


def test_asgi_spec_2_4_stream_send_fails(capsys, run):
    """Servers of ASGI spec 2.4 make a send to a client that has gone raise OSError; Starlette
    turns it into ClientDisconnect in the middle of the stream."""
    app = create_app([run])
    body = generation(999)
    delivered = [{"type": "http.request", "body": body, "more_body": False}]
    chunks: list[bytes] = []

    async def receive():
        if delivered:
            return delivered.pop(0)
        await anyio.sleep_forever()  # spec 2.4: the stream is not watched through receive

    async def send(message):
        if message["type"] == "http.response.body":
            if any(b"event: tokens" in c for c in chunks):
                raise OSError("the client has gone")
            chunks.append(message["body"])

    call(app, scope_for(app, body, "2.4"), receive, send)
    assert any(b"event: tokens" in c for c in chunks)  # it did leave in the middle
    assert not any(b"event: done" in c for c in chunks)
    assert "internal error" not in capsys.readouterr().err
    assert app.state.studio.generations.running == 0
