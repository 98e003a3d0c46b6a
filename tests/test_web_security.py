"""The studio refuses what a hostile web page or a hostile request can send: foreign Host and
Origin, requests without the page's token or with the wrong content type, bodies longer than
declared, answers that would amplify a request, racing uploads, and JSON built to crash a
parser. The same attacks from a real browser are in test_web_browser.py; a fuzz test over the
JSON endpoints is in test_web_fuzz.py."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from support_web import LOCAL, LiveServer, shared_runs, studio_client, wait_until

from creative_rnn.web import Limits, create_app, training
from creative_rnn.web import app as studio_module

TOKEN = "X-Studio-Token"


@pytest.fixture(scope="module")
def runs(tmp_path_factory, startrek):
    return shared_runs(tmp_path_factory, startrek)


@pytest.fixture(scope="module")
def app(runs, tmp_path_factory):
    return create_app([runs["text"]], runs_dir=tmp_path_factory.mktemp("studio"),
                      limits=Limits(max_length=20))


@pytest.fixture(scope="module")
def client(app):
    return studio_client(app)


def refused(r, status: int = 403) -> str:
    """The one-line JSON error of a refused request."""
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error and "\n" not in error and len(error) < 300, error
    return error


GENERATE = {"model": "text", "length": 5}


# --- Host, Origin, token, content type ------------------------------------------------------
def test_only_the_servers_own_host_names_are_answered(runs):
    """DNS rebinding: a page at evil.example whose name then resolves to 127.0.0.1 reaches the
    server with ``Host: evil.example``; only the names of the bound address are answered."""
    from creative_rnn.web.guard import served_hosts

    assert served_hosts("192.168.1.5", 8000) == ["192.168.1.5:8000"]
    assert set(served_hosts("127.0.0.1", 8000)) == {
        "127.0.0.1:8000", "localhost:8000", "[::1]:8000"}
    assert "localhost:8000" in served_hosts("0.0.0.0", 8000)  # reachable on loopback too
    app = create_app([runs["text"]], hosts=served_hosts("127.0.0.1", 8000))
    c = studio_client(app)
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST:8000"):
        assert c.get("/", headers={"host": host}).status_code == 200, host
    for host in ("evil.example", "evil.example:8000", "127.0.0.1:8001", "localhost", ""):
        assert "host" in refused(c.get("/api/models", headers={"host": host})), host
        refused(c.post("/api/generate", json=GENERATE, headers={"host": host}))
    # without hosts= (a library user's own server): loopback names on any port
    default = studio_client(create_app([runs["text"]]))
    assert default.get("/", headers={"host": "localhost:5000"}).status_code == 200
    refused(default.get("/", headers={"host": "evil.example:5000"}))


def test_serve_answers_only_its_own_address(monkeypatch, runs, capsys):
    from creative_rnn.cli import main

    apps = []
    monkeypatch.setattr("uvicorn.Server.run", lambda self, **kw: apps.append(self.config.app))

    def status(host: str) -> int:
        return studio_client(apps[-1]).get("/", headers={"host": host}).status_code

    assert main(["serve", str(runs["text"]), "--port", "8123"]) == 0
    assert status("127.0.0.1:8123") == status("localhost:8123") == 200
    assert status("127.0.0.1:8000") == status("evil.example:8123") == 403
    # a tunnel or another name for this machine: named when the server starts
    assert main(["serve", str(runs["text"]), "--port", "8123", "--allow-host", "Studio.lan",
                 "--allow-host", "localhost:9000"]) == 0
    assert status("studio.lan:8123") == status("localhost:9000") == 200
    assert status("studio.lan:9000") == 403
    assert main(["serve", str(runs["text"]), "--allow-host", "http://x/"]) == 2
    assert "--allow-host" in capsys.readouterr().err


def test_requests_from_other_pages_are_refused(client):
    """Origin and Sec-Fetch-Site name the page a browser request comes from: another origin
    (another site, or another port of this machine) is refused even with the right token."""
    for headers in ({"origin": "http://evil.example"}, {"origin": "http://127.0.0.1:9999"},
                    {"origin": "null"}, {"sec-fetch-site": "cross-site"},
                    {"sec-fetch-site": "same-site"}):
        assert "other web pages" in refused(client.post("/api/generate", json=GENERATE,
                                                        headers=headers))
        refused(client.get("/api/models", headers=headers))
    preflight = client.options("/api/generate", headers={
        "origin": "http://evil.example", "access-control-request-method": "POST"})
    refused(preflight)
    assert "access-control-allow-origin" not in preflight.headers
    # the page itself: same origin
    same = {"origin": LOCAL, "sec-fetch-site": "same-origin"}
    assert client.post("/api/generate", json=GENERATE, headers=same).status_code == 200
    # a link from another site may still open the page (not the API)
    link = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate",
            "sec-fetch-dest": "document"}
    assert client.get("/", headers=link).status_code == 200
    refused(client.post("/api/generate", json=GENERATE, headers=link))  # a form post


def test_the_api_needs_the_token_of_the_page(app, client):
    page = client.get("/")
    token = app.state.token
    assert f'<meta name="studio-token" content="{token}">' in page.text
    assert len(token) >= 32 and client.get("/").text == page.text  # one per server
    assert page.headers["x-frame-options"] == "DENY"  # no framing: no clickjacking
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for wrong in ({}, {TOKEN: "x" * len(token)}, {TOKEN: token[:-1]}, {TOKEN: b"\xe9"}):
        c = studio_client(app)
        c.headers.pop(TOKEN)
        c.headers.update(wrong)
        assert "X-Studio-Token" in refused(c.post("/api/generate", json=GENERATE))
        refused(c.get("/api/models"))
        refused(c.post("/api/train", data={"name": "x", "corpus": "folk"}))
        refused(c.post("/api/train/x/stop", json={}))
        refused(c.get("/api/train/x/events"))
    assert c.get("/static/api.js").status_code == 200  # the page's files need none
    assert client.post("/api/generate", json=GENERATE).status_code == 200


@pytest.mark.parametrize("path, body", [
    ("/api/generate", GENERATE), ("/api/export", {"model": "text", "ids": [1], "format": "txt"}),
    ("/api/activations", {"model": "text", "ids": [1, 2]})])
def test_json_endpoints_need_a_json_content_type(client, path, body):
    """A text/plain (or form) POST is a "simple" request any page can send without a CORS
    preflight, so JSON endpoints take only application/json."""
    body = json.dumps(body)
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                 None):
        headers = {"content-type": kind} if kind else {}
        assert "application/json" in refused(client.post(path, content=body, headers=headers),
                                             415)
    ok = client.post(path, content=body, headers={"content-type": "application/json; "
                                                  "charset=utf-8"})
    assert ok.status_code == 200, ok.text


# --- body size ------------------------------------------------------------------------------
def test_content_length_with_transfer_encoding_is_refused(app):
    """A server frames a body by Transfer-Encoding over Content-Length: the pair is how the
    cap was bypassed (a small Content-Length, then megabytes of chunks)."""
    with LiveServer(app) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.putrequest("POST", "/api/generate", skip_accept_encoding=True)
        for name, value in (("Content-Type", "application/json"), ("Content-Length", "2"),
                            ("Transfer-Encoding", "chunked"), (TOKEN, app.state.token)):
            conn.putheader(name, value)
        conn.endheaders()
        body = json.dumps(GENERATE).encode()
        conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        r = conn.getresponse()
        error = json.loads(r.read())["error"]
        conn.close()
    assert r.status == 400 and "Transfer-Encoding" in error


def test_body_bytes_are_counted_whatever_the_headers_say(app):
    """The cap holds on the bytes read, not on the Content-Length: a body longer than
    declared is cut off (413) as soon as it passes the cap, and the rest is never read."""
    chunk = b" " * 40_000  # the cap is 64 KiB: the second chunk passes it
    sent: list[int] = []

    async def receive():
        sent.append(len(sent))
        return {"type": "http.request", "body": chunk, "more_body": len(sent) < 30}

    answer: list[dict] = []

    async def send(message):
        answer.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/generate", "raw_path":
             b"/api/generate", "query_string": b"", "root_path": "", "scheme": "http",
             "http_version": "1.1", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 1),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-length", b"2"),
                         (b"content-type", b"application/json"),
                         (TOKEN.lower().encode(), app.state.token.encode())]}
    asyncio.run(app(scope, receive, send))
    assert answer[0]["status"] == 413, answer
    assert "too large" in json.loads(answer[1]["body"])["error"]
    assert len(sent) == 2  # stopped at the chunk that passed the cap


# --- the inside view ------------------------------------------------------------------------
def test_inside_view_answers_are_bounded_and_built_off_the_event_loop(runs, monkeypatch):
    """A 60 KB request once drew 35 MB of JSON encoded on the event loop: the answer is now
    capped (default limits) and its JSON is made in a worker thread."""
    encoded: list[tuple[int, bool]] = []
    dumps = json.dumps

    def spy(*args, **kwargs):
        out = dumps(*args, **kwargs)
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        encoded.append((len(out), on_loop))
        return out

    monkeypatch.setattr(json, "dumps", spy)
    c = studio_client(create_app([runs["text"]]))
    ids = [5] * 20_000
    r = c.post("/api/activations", json={"model": "text", "ids": ids})
    assert r.status_code == 200 and len(r.request.content) < 64 * 1024
    assert len(r.content) < 4_000_000, f"{len(r.content):,} bytes"  # was 14 MB: now ~2.6
    a = r.json()
    assert a["total_steps"] == 20_000 and 100 < len(a["tokens"]) < 20_000
    big = [on_loop for size, on_loop in encoded if size > 100_000]
    assert big and not any(big), encoded  # the big encoding ran in a worker thread


def test_inside_view_answers_busy_when_full(runs, monkeypatch):
    app = create_app([runs["text"]], limits=Limits(max_inside=1))
    inside, release = threading.Event(), threading.Event()
    collect = studio_module.collect

    def held(model, ids):
        if not inside.is_set():  # the first request waits here while the second comes
            inside.set()
            release.wait()
        return collect(model, ids)

    monkeypatch.setattr(studio_module, "collect", held)
    body = {"model": "text", "ids": [5, 6, 7]}
    with studio_client(app) as c, ThreadPoolExecutor(1) as pool:
        try:
            first = pool.submit(c.post, "/api/activations", json=body)
            wait_until(inside.is_set, "the first inside-view request is being computed")
            assert "busy" in refused(c.post("/api/activations", json=body), 429)
        finally:
            release.set()
        assert first.result().status_code == 200
        assert c.post("/api/activations", json=body).status_code == 200  # its place is free
    assert app.state.studio.inside.running == 0


# --- uploads --------------------------------------------------------------------------------
def test_same_name_uploads_at_once_leave_the_first_run_intact(tmp_path, startrek, monkeypatch):
    """The second of two same-name uploads is refused at once, without touching the first's
    corpus (it used to overwrite it, then delete it when its own corpus was refused)."""
    runs_dir = tmp_path / "runs"
    app = create_app([], runs_dir=runs_dir, limits=Limits(max_upload=64 * 1024,
                                                          max_trainings=2))
    checking, release = threading.Event(), threading.Event()
    validate = training._validate

    def held(*args):
        if not checking.is_set():  # the first upload waits here while the second comes
            checking.set()
            release.wait()
        return validate(*args)

    monkeypatch.setattr(training, "_validate", held)
    good = {"file": ("good.txt", startrek.read_bytes(), "text/plain")}
    bad = {"file": ("bad.txt", b"\x00\x01 binary", "text/plain")}
    with studio_client(app) as c, ThreadPoolExecutor(1) as pool:
        try:
            first = pool.submit(c.post, "/api/train", data={"name": "race", "max_steps": "10"},
                                files=good)
            wait_until(checking.is_set, "the first upload is being checked")
            second = c.post("/api/train", data={"name": "race"}, files=bad)
        finally:
            release.set()
        first = first.result()
        assert "already exists" in refused(second, 409)
        assert first.status_code == 201, first.text
        for r in (first, second):
            assert str(tmp_path) not in r.text and "/uploads" not in r.text  # no server paths
        ev = c.get("/api/train/race/events").text
    status = [json.loads(line[6:])["job"] for line in ev.splitlines()
              if line.startswith("data: {\"job\"")][-1]
    assert status["status"] == "done", status
    assert (runs_dir / "race" / "model.safetensors").is_file()
    corpora = list((runs_dir / "uploads").rglob("corpus*"))
    assert len(corpora) == 1 and corpora[0].read_bytes() == startrek.read_bytes()


def test_error_answers_never_show_server_folders(app, client, monkeypatch):
    from creative_rnn.errors import SamplingError
    from creative_rnn.web.guard import public

    assert public("cannot render /tmp/tmpab12/sample.mid: no font") == \
        "cannot render sample.mid: no font"
    assert public("20 tokens/s, 1/2 done, in a/b") == "20 tokens/s, 1/2 done, in a/b"

    def fails(item, stem, formats=()):
        raise SamplingError(f"could not write {stem}.txt")  # stem: a server temp folder

    monkeypatch.setattr(app.state.studio.models["text"].gen.codec, "outputs", fails)
    r = client.post("/api/export", json={"model": "text", "ids": [5, 6], "format": "txt"})
    assert refused(r, 400) == "could not write sample.txt"


# --- JSON built to break a parser -----------------------------------------------------------
HOSTILE_JSON = [
    (b"[" * 30_000 + b"]" * 30_000, "nested"),
    (b'{"model": "text", "seed": ' + b"9" * 5000 + b"}", "digits"),
    (b'{"model": "text", "ids": [1, ' + b"9" * 5000 + b"]}", "digits"),
    (b'{"model": "text", "temperature": NaN}', "finite"),
    (b'{"model": "text", "temperature": Infinity}', "finite"),
    (b'{"model": "text", "top_p": -Infinity}', "finite"),
    (b'{"model": "text", "temperature": 1e999}', "finite"),
    (b'{"model": "\\ud800"}', "Unicode"),
    (b'{"\\udfff": 1}', "unknown field"),
]


@pytest.mark.parametrize("path", ["/api/generate", "/api/export", "/api/activations"])
@pytest.mark.parametrize("body, words", HOSTILE_JSON, ids=lambda x: str(x)[:20])
def test_hostile_json_is_a_400_with_one_line(client, path, body, words):
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert words in refused(r, 400)
