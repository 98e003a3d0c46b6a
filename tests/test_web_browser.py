"""The web studio in a real browser: Playwright driving Debian's Chromium against a live server.

Screenshots of each view are saved under the pytest tmp dir (the path is printed).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support_web import (
    PAGE_WAIT,
    needs_chromium,
    serving,
    shared_runs,
    studio_page,
    wait_until,
)

from creative_rnn import starters
from creative_rnn.web import Limits

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory, startrek):
    runs = shared_runs(tmp_path_factory, startrek)
    # a long length cap so a stream is still running when the test presses Stop
    with serving([runs["text"], runs["docs"], runs["melody"], starters.path("shakespeare")],
                 runs_dir=tmp_path_factory.mktemp("studio"),
                 limits=Limits(max_length=100_000, max_upload=256 * 1024)) as live:
        yield live


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("screenshots")
    print(f"\nweb studio screenshots: {path}")
    return path


@pytest.fixture
def page(browser, server):
    """The studio, checked on leaving: no script or console error, no failed request, no
    error banner, nothing from the network (support_web.studio_page)."""
    with studio_page(browser, server.url + "/") as page:
        yield page


def generate(page, model: str, length: int, prime: str = "") -> None:
    page.select_option("#model", model)
    page.fill("#prime", prime)
    page.fill("#length", str(length))
    page.fill("#seed", "1")
    page.click("#go")


def test_text_streams_in_while_generating_and_stop_ends_it(page, server):
    # the longest sample the studio takes, from the 2x384 starter: a stream that takes minutes
    # (the tiny test model streamed all 100,000 characters on CI between two checks, so Stop
    # came after the end)
    generate(page, "shakespeare", 100_000, prime="Star")
    # checked inside the page in one go: text is there while the stream still runs...
    streaming = ("(n) => { const o = document.querySelector('#output pre.sample');"
                 " return o && o.textContent.length > n"
                 " && !document.querySelector('#stop').disabled; }")
    page.wait_for_function(streaming, arg=50)
    seen = len(page.inner_text("#output pre.sample"))
    page.wait_for_function(streaming, arg=seen + 200)  # ...and keeps arriving
    page.click("#stop")
    page.wait_for_function(
        "document.querySelector('#gen-status').textContent.startsWith('stopped')")
    text = page.inner_text("#output pre.sample")
    assert text.startswith("Star") and len(text) < 100_000
    assert page.is_enabled("#go") and page.is_disabled("#stop")
    studio = server.app.state.studio  # the server noticed and gave the stream's place back
    wait_until(lambda: studio.generations.running == 0, "the stopped stream was released")


def test_a_finished_generation_offers_downloads(page, shots):
    generate(page, "text", 300, prime="Star")
    page.wait_for_function("document.querySelector('#gen-status').textContent.startsWith('done')")
    text = page.inner_text("#output pre.sample")
    assert text.startswith("Star") and len(text) > 100
    assert page.is_hidden("#error")
    assert page.locator("#downloads button").count() == 1  # one sample, .txt
    page.screenshot(path=shots / "generate.png", full_page=True)


def test_documents_mode_shows_a_list_of_items(page, shots):
    page.fill("#num", "4")
    generate(page, "docs", 60)
    page.wait_for_function("document.querySelector('#gen-status').textContent.startsWith('done')")
    items = page.locator("#output ol#items li")
    assert items.count() == 4 and any(t.strip() for t in items.all_inner_texts())
    page.locator("#generate").screenshot(path=shots / "documents.png")


def test_hover_a_token_to_see_its_activations(page, shots):
    generate(page, "text", 80, prime="Star")
    page.wait_for_function("window.studioInside.tokens === 84")
    page.hover("#tokens .tok[data-t='10']")
    page.wait_for_function("window.studioInside.step === 10")
    assert page.inner_text("#step-info").startswith("step 11 of 84")
    page.fill("#cell", "3")
    page.wait_for_function("window.studioInside.cell === 3")
    colours = page.eval_on_selector_all("#tokens .tok", "els => els.map(e => e.style.background)")
    assert all(colours) and len(set(colours)) > 1  # every token coloured by cell 3's value
    page.locator("#inside").screenshot(path=shots / "inside.png")


def test_a_melody_is_drawn_and_played(page, shots):
    generate(page, "melody", 48)
    page.wait_for_function("window.studioMusic.drawn > 0")
    assert page.is_visible("#roll")
    formats = page.eval_on_selector_all("#downloads button", "bs => bs.map(b => b.dataset.format)")
    assert "mid" in formats
    page.click("#play")
    page.wait_for_function(
        "window.studioMusic.scheduled > 0 && window.studioMusic.state === 'running'")
    assert page.evaluate("window.studioMusic.scheduled") == page.evaluate(
        "window.studioMusic.drawn")  # one oscillator per note on the roll
    page.locator("#generate").screenshot(path=shots / "music.png")
    page.click("#stop-play")


def test_start_and_stop_a_training_run(page, shots, startrek):
    page.fill("#train-name", "from-page")
    page.select_option("#train-corpus", "")
    page.set_input_files("#train-file", str(startrek))
    page.fill("#train-steps", "5000")
    page.click("#train-start")
    page.wait_for_function("window.studioTrain.rows > 2 && window.studioTrain.status === 'running'")
    page.click("#train-stop")
    page.wait_for_function("window.studioTrain.status === 'stopped'")
    assert "from-page: stopped" in page.inner_text("#train-status")
    # the stopped run is served now and can be picked in the Generate view
    page.wait_for_function("[...document.querySelectorAll('#model option')]"
                           ".some(o => o.value === 'from-page')")
    page.locator("#train").screenshot(path=shots / "train.png")


def test_a_bad_upload_shows_a_clear_error(browser, server, shots):
    with studio_page(browser, server.url + "/", refused="song.txt looks binary") as page:
        page.fill("#train-name", "bad-upload")
        page.select_option("#train-corpus", "")
        page.set_input_files("#train-file", files=[{"name": "song.txt", "mimeType": "text/plain",
                                                    "buffer": b"\x00\x01\x02 not text"}])
        page.click("#train-start")
        page.wait_for_selector("#error:not([hidden])")
        message = page.inner_text("#error")
        assert "song.txt looks binary" in message and "Traceback" not in message
        page.screenshot(path=shots / "bad-upload.png")


def test_activation_page_in_a_real_browser(browser, tiny_text_run, startrek, tmp_path, shots):
    """Issue 5's `creative-rnn viz` page, opened from disk: offline, every token coloured,
    and clicking another cell recolours the text."""
    from creative_rnn.viz.activation_page import write_page

    out = write_page(tiny_text_run, startrek, tmp_path / "page.html", max_tokens=200)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    problems, requests = [], []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    spans = page.locator("#text .t")
    assert spans.count() == 200
    colours = "() => [...document.querySelectorAll('#text .t')].map(s => s.style.background)"
    before = page.evaluate(colours)
    page.locator("#cells li").nth(7).click()
    after = page.evaluate(colours)
    assert all(bg.startswith("rgb(") for bg in before + after)
    assert "on" in page.locator("#cells li").nth(7).get_attribute("class")
    assert before != after  # another cell, another colouring
    page.screenshot(path=str(shots / "activation-page.png"), full_page=True)
    assert not problems, problems
    assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
    context.close()


# --- other web pages must not drive the studio ------------------------------------------------
HOSTILE = """<!doctype html><title>cute kittens</title><body>
<iframe name="sink" hidden></iframe>
<form id="form" method="POST" action="STUDIO/api/train" enctype="multipart/form-data"
      target="sink"><input name="name" value="stolen-form"><input name="corpus" value="folk">
</form>
<script>
const studio = "STUDIO", text = "To be or not to be, that is the question. ".repeat(40);
async function attempt(url, options) {
  try {
    const r = await fetch(studio + url, { method: "POST", ...options });
    return `${url}: ${r.status} ${r.type}`;
  } catch (e) { return `${url}: ${e.message}`; }
}
const upload = new FormData();
upload.append("name", "stolen"); upload.append("max_steps", "5");
upload.append("file", new Blob([text], { type: "text/plain" }), "corpus.txt");
const generate = JSON.stringify({ model: "text", length: 5 });
document.getElementById("form").submit();
Promise.all([
  attempt("/api/generate", { headers: { "Content-Type": "text/plain" }, body: generate }),
  attempt("/api/generate", { mode: "no-cors", headers: { "Content-Type": "text/plain" },
                             body: generate }),
  attempt("/api/generate", { headers: { "Content-Type": "application/json" },
                             body: generate }),
  attempt("/api/train", { body: upload }),
  attempt("/api/train", { mode: "no-cors", body: upload }),
]).then((r) => { window.results = r; });
</script>"""


@pytest.fixture
def hostile(server):
    """A little web server on another port whose one page attacks the studio."""
    page = HOSTILE.replace("STUDIO", server.url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("site", ["127.0.0.1", "evil.example"])  # same site, another site
def test_a_page_from_another_origin_cannot_use_the_studio(browser, server, hostile, site):
    studio = server.app.state.studio
    runs_before = sorted(p.name for p in studio.runs_dir.iterdir())
    jobs_before = set(server.app.state.jobs)
    # an earlier test's stopped generation may still be ending: count starts, not running ones
    started_before = studio.generations.started
    server.forget()
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(PAGE_WAIT)
    page.goto(f"http://{site}:{hostile}/")
    page.wait_for_function("window.results !== undefined")
    results = page.evaluate("window.results")
    # the form post navigates the hidden frame: wait until the studio has answered it too
    wait_until(lambda: sum(path == "/api/train" for _, path, _ in server.seen) >= 3,
               "the form post and both uploads reached the studio")
    context.close()
    assert not any(" 20" in r for r in results), results  # no script read an answer
    reached = [(method, path) for method, path, _ in server.seen]
    assert ("POST", "/api/generate") in reached and ("OPTIONS", "/api/generate") in reached
    assert all(status == 403 for _, _, status in server.seen), server.seen  # all refused
    assert set(server.app.state.jobs) == jobs_before
    assert studio.generations.started == started_before
    assert sorted(p.name for p in studio.runs_dir.iterdir()) == runs_before  # nothing trained


def test_a_rebound_host_name_gets_nothing(browser, server):
    """DNS rebinding: evil.example first served the attacker's page, then resolves to
    127.0.0.1 (here: always), so its script is same-origin with the studio's port."""
    context = browser.new_context()
    page = context.new_page()
    rebound = f"http://evil.example:{server.port}"
    response = page.goto(rebound + "/")
    assert response.status == 403 and "does not answer to host" in page.content()
    status = page.evaluate("fetch('/api/models').then((r) => r.status)")
    assert status == 403
    context.close()
